# node-exporter from Debian's package, laid out like the upstream prom/node-exporter image.
# busybox's wget, as in the upstream image, for the compose healthchecks.
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox prometheus-node-exporter \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget
USER 65534
EXPOSE 9100
ENTRYPOINT ["/usr/bin/prometheus-node-exporter"]
