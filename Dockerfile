# promlab: `docker build -t promlab .` then `docker run -p 5000:5000 promlab` (the model mock).
# The base images are build arguments so a machine without a registry can point them at images it
# built itself (see .ci/build-images); the defaults are the upstream images.
#
# The image is the binary, the C libraries it links and a CA bundle on an empty base (docker/rootfs.sh):
# no shell, no package manager. Commands that need one (a shell in the image) use another image.
ARG BUILDER_IMAGE=rust:1.91-slim-trixie
ARG RUNTIME_IMAGE=debian:trixie-slim

# The builder's CA bundle, for the prebuilt image (the slim runtime has none).
FROM ${BUILDER_IMAGE} AS certs

# Every promlab image but its files (added by the last stage of each kind, below).
FROM scratch AS runtime
# Not root: an unprivileged uid with no login.
USER 10001:10001
# The servers bind 127.0.0.1 by default on a host; in a container they must take connections from the
# other containers and from published ports: every interface, each on its usual port.
ENV PROMLAB_LISTEN=0.0.0.0:5000 \
    PROMLAB_SINK_LISTEN=0.0.0.0:8080 \
    PROMLAB_FORECAST_LISTEN=0.0.0.0:8000 \
    PATH=/usr/local/bin
EXPOSE 5000
STOPSIGNAL SIGTERM
# `promlab probe` GETs /healthz on the port of PROMLAB_LISTEN: no curl needed in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["promlab", "probe"]
ENTRYPOINT ["promlab"]
CMD ["mock"]

# CI's smoke-test image: the binary CI's tests were built with (.ci/build-images puts it in
# .ci/prebuilt/) with its libraries from the runtime image, by `docker build --target prebuilt`. The
# classic builder builds the stages in order up to the target, so that target never compiles the cargo
# stage below; a full build passes through these two (with no binary there, they make an empty folder).
FROM ${RUNTIME_IMAGE} AS prebuilt-files
COPY docker/rootfs.sh /usr/local/bin/promlab-rootfs
COPY .ci/prebuilt/ /prebuilt/
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /prebuilt/ca-certificates.crt
RUN mkdir /rootfs && if [ -f /prebuilt/promlab ]; then \
      promlab-rootfs /prebuilt/promlab /prebuilt/ca-certificates.crt /rootfs; fi

FROM runtime AS prebuilt
COPY --from=prebuilt-files /rootfs/ /

FROM ${BUILDER_IMAGE} AS build
# The optional models the image ships (cargo features): Prophet fitted by the exact solver, without
# Stan's program and wasmtime (BENCHMARKS.md, "The image").
ARG FEATURES=prophet
WORKDIR /src
# Dependencies first, in a layer of their own: editing promlab's code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && cargo build --profile image --locked --features "$FEATURES" \
 && rm -rf src
COPY build.rs ./
COPY src src
COPY templates templates
# The labs' criteria and guides are built into the grader and `promlab classroom`, with the
# forecaster's config every student repository holds.
COPY labs labs
COPY forecaster.yaml ./
# The git revision `promlab --version` and /metrics name (the build context has no .git): declared
# after the dependency layer, so a new revision does not rebuild the dependencies.
# `docker build --build-arg PROMLAB_REVISION=$(git rev-parse --short=12 HEAD) .`
ARG PROMLAB_REVISION=unknown
# COPY keeps the context's modification times, which can predate the layer above: touch, so cargo rebuilds.
RUN touch src/main.rs src/lib.rs && cargo build --profile image --locked --features "$FEATURES"
COPY docker/rootfs.sh /usr/local/bin/promlab-rootfs
RUN promlab-rootfs target/image/promlab /etc/ssl/certs/ca-certificates.crt /rootfs

# The image: the runtime with the binary built above.
FROM runtime
COPY --from=build /rootfs/ /
