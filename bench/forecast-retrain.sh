#!/usr/bin/env bash
# Benchmark: one full training cycle of `promlab forecast` over 1,000 series of one day at 1-minute steps
# (1,440 points each), the default models of the image's build (the `prophet` feature: every model but
# lstm) or MODELS (a YAML list), pulled from a real Prometheus (blocks made by promtool), on this machine's
# cores. Target (issue 4): within one 5-minute cycle. Prints the cycle's duration as the forecaster itself
# measures it (forecaster_training_duration_seconds) and its peak memory.
#
# Needs: docker with the Prometheus image (PROMLAB_PROMETHEUS_IMAGE, default prom/prometheus:v2.53.3),
# curl, python3, cargo. Usage: [MODELS='[fourier, prophet]'] bench/forecast-retrain.sh [SERIES] (default 1000).
# bench/forecast-scale.sh measures the fast models at 1k, 5k and 10k series, with where the time goes.
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-1000}
image=${PROMLAB_PROMETHEUS_IMAGE:-prom/prometheus:v2.53.3}
models=${MODELS:-[seasonal_naive, fourier, ets, mstl, arima, prophet]}
cargo build --release --quiet --features prophet
work=$(mktemp -d)
. bench/lib/forecaster.sh
trap bench_cleanup EXIT

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
prometheus_from_openmetrics "$work/series.om"

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
forecaster_cycle "$work/forecaster.yaml"
duration=$(cycle_value forecaster_training_duration_seconds)
ready=$(cycle_value forecaster_series 'status="ready"')
mkdir -p bench/results
{
  echo "| series | points each | models | training cycle (s) | target (s) | ready series | peak RSS (MB) |"
  echo "|---|---|---|---|---|---|---|"
  echo "| $series | 1440 | $models | $(printf '%.1f' "$duration") | 300 | ${ready%.*} | $peak_rss_mb |"
} > bench/results/forecast-retrain.md
cat bench/results/forecast-retrain.md
