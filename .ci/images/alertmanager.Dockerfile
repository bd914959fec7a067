# Alertmanager (with amtool) from Debian's package, laid out like the upstream prom/alertmanager image.
# busybox's wget, as in the upstream image, for the compose healthchecks.
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox prometheus-alertmanager ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /bin/busybox /usr/local/bin/wget \
 && mkdir -p /alertmanager /etc/alertmanager \
 && chown -R 65534:65534 /alertmanager /etc/alertmanager
USER 65534
WORKDIR /alertmanager
EXPOSE 9093
ENTRYPOINT ["/usr/bin/prometheus-alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
