#!/usr/bin/env bash
# Benchmark: one full training cycle of `promlab forecast` over 1,000 series of one day at 1-minute steps
# (1,440 points each), the default models of the image's build (the `prophet` feature: every model but
# lstm) or MODELS (a YAML list), pulled from a real Prometheus (blocks made by promtool), on this machine's
# cores. Target (issue 4): within one 5-minute cycle. Prints the cycle's duration as the forecaster itself
# measures it (forecaster_training_duration_seconds) and its peak memory.
#
# Needs: docker with the Prometheus image (PROMLAB_PROMETHEUS_IMAGE, default prom/prometheus:v2.53.3),
# curl, python3, cargo. Usage: [MODELS='[fourier, prophet]'] bench/forecast-retrain.sh [SERIES] (default 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-1000}
image=${PROMLAB_PROMETHEUS_IMAGE:-prom/prometheus:v2.53.3}
models=${MODELS:-[seasonal_naive, fourier, ets, mstl, arima, prophet]}
cargo build --release --quiet --features prophet
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
container=""
forecaster=""
cleanup() {
  [ -z "$forecaster" ] || kill "$forecaster" 2>/dev/null || true
  [ -z "$container" ] || docker rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The series: a daily shape, each with its own phase, level and noise, ending now.
python3 - "$work/series.om" "$series" <<'PY'
import math, random, sys, time
random.seed(1)
path, count = sys.argv[1], int(sys.argv[2])
end = int(time.time()) // 60 * 60 - 60
with open(path, "w") as out:
    out.write("# TYPE bench_value gauge\n")
    for s in range(count):
        phase, level = random.random() * 2 * math.pi, 10 + 90 * random.random()
        for t in range(1440):
            value = level + 5 * math.sin(2 * math.pi * t / 1440 + phase) + random.gauss(0, 1)
            out.write(f'bench_value{{series="s{s:04d}"}} {value:.3f} {end - 60 * (1439 - t)}\n')
    out.write("# EOF\n")
PY
mkdir -p "$work/data"
chmod -R a+rwX "$work"
docker run --rm --network none -v "$work:/work" --entrypoint promtool "$image" \
  tsdb create-blocks-from openmetrics /work/series.om /work/data >/dev/null
port=$(free_port)
printf 'global:\n  scrape_interval: 1m\n' > "$work/prometheus.yml"
chmod a+r "$work/prometheus.yml"
container=$(docker run -d --network host -v "$work/data:/prometheus" \
  -v "$work/prometheus.yml:/etc/prometheus/prometheus.yml:ro" "$image" \
  --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus \
  --storage.tsdb.retention.time=30d --web.listen-address="127.0.0.1:$port")
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null || { docker logs "$container" >&2; echo "Prometheus never got ready" >&2; exit 1; }

cat > "$work/forecaster.yaml" <<YAML
targets: [{query: bench_value}]
step: 1m
training_window: 1d
retrain_interval: 1h
horizon: 1h
min_points: 50
max_series: $series
models: $models
prometheus: {timeout: 2m}
YAML
forecaster_port=$(free_port)
RUST_LOG=warn target/release/promlab forecast --config "$work/forecaster.yaml" \
  --listen "127.0.0.1:$forecaster_port" --prometheus-url "http://127.0.0.1:$port" &
forecaster=$!
duration=""
for _ in $(seq 1 600); do
  duration=$(curl -fsS "http://127.0.0.1:$forecaster_port/metrics" 2>/dev/null \
    | awk '/^forecaster_last_training_success_timestamp_seconds/ {done=1} /^forecaster_training_duration_seconds / {d=$2} END {if (done) print d}')
  [ -n "$duration" ] && break
  sleep 1
done
[ -n "$duration" ] || { echo "no training cycle finished within 10 minutes" >&2; exit 1; }
rss_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$forecaster/status")
ready=$(curl -fsS "http://127.0.0.1:$forecaster_port/metrics" | awk -F' ' '/^forecaster_series\{status="ready"\}/ {print $2}')
kill "$forecaster"; wait "$forecaster" 2>/dev/null || true; forecaster=""
mkdir -p bench/results
{
  echo "| series | points each | models | training cycle (s) | target (s) | ready series | peak RSS (MB) |"
  echo "|---|---|---|---|---|---|---|"
  echo "| $series | 1440 | $models | $(printf '%.1f' "$duration") | 300 | ${ready%.*} | $(( rss_kb / 1024 )) |"
} > bench/results/forecast-retrain.md
cat bench/results/forecast-retrain.md
