# A Rust builder like the upstream rust:*-slim images (cargo and rustc on the PATH, a C toolchain),
# from Debian trixie's rustc-web/cargo-web (1.96: newer than the crate's MSRV). CI-only: it also trusts
# the build host's CA bundle (host-ca.crt, put in the context by build-images; empty when the host has none).
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends rustc-web cargo-web gcc libc6-dev ca-certificates pkg-config \
 && rm -rf /var/lib/apt/lists/*
COPY host-ca.crt /usr/local/share/ca-certificates/host-ca.crt
RUN update-ca-certificates
