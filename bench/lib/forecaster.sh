# Shared by bench/forecast-retrain.sh and bench/forecast-scale.sh (source it): a real Prometheus serving
# blocks made by promtool from an OpenMetrics file, and one training cycle of promlab's forecaster
# against it, read from the forecaster's own metrics.
#
# The caller sets `work` (a scratch folder), `image` (the Prometheus image) and an EXIT trap that calls
# bench_cleanup.

bench_container=""
bench_forecaster=""

bench_cleanup() {
  [ -z "$bench_forecaster" ] || kill "$bench_forecaster" 2>/dev/null || true
  [ -z "$bench_container" ] || docker rm -f "$bench_container" >/dev/null 2>&1 || true
  rm -rf "$work"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# prometheus_from_openmetrics FILE: blocks from FILE, then Prometheus on them; sets prometheus_url.
prometheus_from_openmetrics() {
  mkdir -p "$work/data"
  chmod -R a+rwX "$work"
  docker run --rm --network none -v "$work:/work" --entrypoint promtool "$image" \
    tsdb create-blocks-from openmetrics "/work/${1#"$work"/}" /work/data >/dev/null
  local port
  port=$(free_port)
  printf 'global:\n  scrape_interval: 1m\n' > "$work/prometheus.yml"
  chmod a+r "$work/prometheus.yml"
  bench_container=$(docker run -d --network host -v "$work/data:/prometheus" \
    -v "$work/prometheus.yml:/etc/prometheus/prometheus.yml:ro" "$image" \
    --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus \
    --storage.tsdb.retention.time=30d --web.listen-address="127.0.0.1:$port")
  prometheus_url="http://127.0.0.1:$port"
  for _ in $(seq 1 120); do curl -fsS "$prometheus_url/-/ready" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fsS "$prometheus_url/-/ready" >/dev/null \
    || { docker logs "$bench_container" >&2; echo "Prometheus never got ready" >&2; exit 1; }
}

# forecaster_cycle CONFIG: runs target/release/promlab's forecaster with CONFIG against prometheus_url
# until its first training cycle ends (at most 20 minutes), then stops it. Sets cycle_metrics (its
# /metrics text then) and peak_rss_mb.
forecaster_cycle() {
  local port
  port=$(free_port)
  RUST_LOG=warn target/release/promlab forecast --config "$1" \
    --listen "127.0.0.1:$port" --prometheus-url "$prometheus_url" &
  bench_forecaster=$!
  cycle_metrics=""
  for _ in $(seq 1 1200); do
    cycle_metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null || true)
    grep -q '^forecaster_last_training_success_timestamp_seconds' <<<"$cycle_metrics" && break
    cycle_metrics=""
    sleep 1
  done
  [ -n "$cycle_metrics" ] || { echo "no training cycle finished within 20 minutes" >&2; exit 1; }
  peak_rss_mb=$(( $(awk '/^VmHWM/ {print $2}' "/proc/$bench_forecaster/status") / 1024 ))
  kill "$bench_forecaster"; wait "$bench_forecaster" 2>/dev/null || true; bench_forecaster=""
}

# cycle_value NAME [LABELS]: one sample's value from cycle_metrics, e.g.
# `cycle_value forecaster_training_phase_duration_seconds 'phase="pull"'`.
cycle_value() {
  awk -v name="$1" -v labels="${2:-}" '
    { split($1, parts, "{"); sample = parts[1]; rest = substr($1, length(sample) + 1) }
    sample == name && (labels == "" ? rest == "" : index(rest, labels) > 0) { print $2; exit }
  ' <<<"$cycle_metrics"
}
