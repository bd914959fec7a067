# node-exporter from Debian's package, laid out like the upstream prom/node-exporter image.
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus-node-exporter \
 && rm -rf /var/lib/apt/lists/*
USER 65534
EXPOSE 9100
ENTRYPOINT ["/usr/bin/prometheus-node-exporter"]
