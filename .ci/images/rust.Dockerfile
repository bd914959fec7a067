# A Rust builder like the upstream rust:*-slim images (cargo and rustc on the PATH, a C toolchain),
# from Debian trixie's rustc-web/cargo-web (1.96: newer than the crate's MSRV).
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends rustc-web cargo-web gcc libc6-dev ca-certificates pkg-config \
 && rm -rf /var/lib/apt/lists/*
