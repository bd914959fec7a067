# promlab: `docker build -t promlab .` then `docker run -p 5000:5000 promlab` (the model mock).
# The base images are build arguments so a machine without a registry can point them at images it
# built itself (see .ci/build-images); the defaults are the upstream images.
ARG BUILDER_IMAGE=rust:1.91-slim-trixie
ARG RUNTIME_IMAGE=debian:trixie-slim

# The builder's CA bundle, for `promlab backup --to s3://` over https (the slim runtime has none).
FROM ${BUILDER_IMAGE} AS certs

# Every promlab image but its binary.
FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# promlab's state (the compose stack's secrets volume mounts here): a new named volume takes this
# folder's owner, so the unprivileged user below can write to it.
RUN mkdir -p /var/lib/promlab && chown 10001:10001 /var/lib/promlab
# Not root: an unprivileged uid with no login.
USER 10001:10001
# The servers bind 127.0.0.1 by default on a host; in a container they must take connections from the
# other containers and from published ports: every interface, each on its usual port.
ENV PROMLAB_LISTEN=0.0.0.0:5000 \
    PROMLAB_SINK_LISTEN=0.0.0.0:8080 \
    PROMLAB_FORECAST_LISTEN=0.0.0.0:8000
EXPOSE 5000
STOPSIGNAL SIGTERM
# `promlab probe` GETs /healthz on the port of PROMLAB_LISTEN: no curl needed in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["promlab", "probe"]
ENTRYPOINT ["promlab"]
CMD ["mock"]

# CI's smoke-test image: the binary CI's tests were built with (.ci/build-images puts it in
# .ci/prebuilt/) in the same runtime, by `docker build --target prebuilt`. Stages build in order, so that
# target never compiles the cargo stage below; a full build passes through this one (copying a README).
FROM runtime AS prebuilt
COPY .ci/prebuilt/ /usr/local/bin/

FROM ${BUILDER_IMAGE} AS build
# The optional models the image ships (cargo features).
ARG FEATURES=prophet
WORKDIR /src
# Dependencies first, in a layer of their own: editing promlab's code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && cargo build --release --locked --features "$FEATURES" \
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
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --features "$FEATURES"

# The image: the runtime with the binary built above.
FROM runtime
COPY --from=build /src/target/release/promlab /usr/local/bin/promlab
