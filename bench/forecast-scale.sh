#!/usr/bin/env bash
# Benchmark (issue 18): how many series one forecaster replica retrains per 5-minute cycle on this
# machine's cores with the fast models, where the time goes, and how the cost per series grows (1k, 5k,
# 10k series); then the same series fitted by promlab and by statsforecast (Nixtla) on the same split:
# time and sMAPE.
#
# The series (bench/forecast_scale_series.py): one day at 1-minute steps (1,440 points), four shapes in
# turn (an hourly season and noise; with a trend; with a level shift; no season, an AR(1) wander).
# 1. The forecaster: one training cycle per size against a real Prometheus (blocks made by promtool),
#    with MODELS (default seasonal_naive, fourier, ets), `season: 1h`, 2 holdouts per model (the
#    default): its own measure of the cycle (forecaster_training_duration_seconds), of its phases (pull,
#    fit) and of each model's fit seconds, and its peak memory.
# 2. Fit only, the same series: each model fitted once on all but the last hour and scored on that hour.
#    promlab: examples/forecast_scale.rs; statsforecast 2.1.1: bench/forecast_scale_python.py
#    (SeasonalNaive, and MSTL with an AutoETS trend: statsforecast's form of promlab's seasonally
#    adjusted `ets`), both on all cores.
#
# Needs: docker with the Prometheus image (PROMLAB_PROMETHEUS_IMAGE, default prom/prometheus:v2.53.3),
# curl, python3, cargo, and statsforecast==2.1.1 in target/promlab-py (installed when missing).
# Usage: [SIZES='1000 5000 10000'] [MODELS='[seasonal_naive, fourier, ets]'] [COMPARE=0]
#   [COMPARE_SIZES='1000 10000'] [CYCLE=0] bench/forecast-scale.sh. COMPARE=0 skips step 2, CYCLE=0
#   step 1; COMPARE_SIZES (default SIZES) sets step 2's sizes. Writes bench/results/forecast-scale.md.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${SIZES:-1000 5000 10000}
image=${PROMLAB_PROMETHEUS_IMAGE:-prom/prometheus:v2.53.3}
models=${MODELS:-[seasonal_naive, fourier, ets]}
compare=${COMPARE:-1}
cycle=${CYCLE:-1}
compare_sizes=${COMPARE_SIZES:-$sizes}
venv=target/promlab-py
largest=$(tr ' ' '\n' <<<"$sizes" | sort -n | tail -1)
for size in $sizes; do
  [ $((size % 1000)) -eq 0 ] || { echo "SIZES are whole thousands (the series come in batches of 1,000): $size" >&2; exit 2; }
done
cargo build --release --quiet
cargo build --release --quiet --example forecast_scale
if [ "$compare" = 1 ] && ! "$venv/bin/python" -c 'import statsforecast' 2>/dev/null; then
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check statsforecast==2.1.1
fi
work=$(mktemp -d)
. bench/lib/forecaster.sh
trap bench_cleanup EXIT

end=$(( $(date +%s) / 60 * 60 - 60 ))
python3 bench/forecast_scale_series.py "$largest" "$end" "$work/series.om" "$work/series.csv"
out=bench/results/forecast-scale.md
mkdir -p bench/results
: > "$out"
[ "$cycle" = 1 ] && prometheus_from_openmetrics "$work/series.om"
rm "$work/series.om"

[ "$cycle" = 1 ] && {
  echo "## The forecaster's cycle: $models, 2 holdouts, 1,440 points per series, $(nproc) cores"
  echo
  echo "| series | cycle (s) | series per 300 s | ms per series | pull (s) | fit (s) | fit seconds by model (summed over cores) | ready | peak RSS (MB) |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >> "$out"
[ "$cycle" = 1 ] && for size in $sizes; do
  batches=$(seq -s '|' 0 $((size / 1000 - 1)))
  cat > "$work/forecaster.yaml" <<YAML
targets: [{query: 'bench_value{batch=~"$batches"}'}]
step: 1m
training_window: 1d
retrain_interval: 1h
horizon: 1h
season: 1h
min_points: 50
max_series: $size
models: $models
prometheus: {timeout: 5m}
YAML
  forecaster_cycle "$work/forecaster.yaml"
  cycle=$(cycle_value forecaster_training_duration_seconds)
  pull=$(cycle_value forecaster_training_phase_duration_seconds 'phase="pull"')
  fit=$(cycle_value forecaster_training_phase_duration_seconds 'phase="fit"')
  ready=$(cycle_value forecaster_series 'status="ready"')
  by_model=$(awk '/^forecaster_model_fit_duration_seconds\{/ { match($1, /model="[^"]+"/); printf "%s%s %.1f", sep, substr($1, RSTART + 7, RLENGTH - 8), $2; sep = ", " }' <<<"$cycle_metrics")
  awk -v n="$size" -v c="$cycle" -v p="$pull" -v f="$fit" -v m="$by_model" -v r="${ready%.*}" -v rss="$peak_rss_mb" \
    'BEGIN { printf "| %d | %.1f | %d | %.2f | %.1f | %.1f | %s | %d | %d |\n", n, c, n * 300 / c, 1000 * c / n, p, f, m, r, rss }' >> "$out"
  tail -1 "$out"
done

if [ "$compare" = 1 ]; then
  {
    echo
    echo "## Fit only, the same series and split (all but the last hour; sMAPE on that hour), $(nproc) cores"
    echo
    echo "| series | tool | model | seconds | ms per series | mean sMAPE (%) | failed |"
    echo "|---|---|---|---|---|---|---|"
  } >> "$out"
  for size in $compare_sizes; do
    head -n $((1 + size * 1440)) "$work/series.csv" > "$work/subset.csv"
    {
      target/release/examples/forecast_scale "$work/subset.csv" seasonal_naive,fourier,ets 60 60
      "$venv/bin/python" bench/forecast_scale_python.py "$work/subset.csv" 60 60
    } | python3 -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    row["per_series"] = 1000 * row["seconds"] / row["series"]
    print("| {series} | {tool} | {model} | {seconds:.1f} | {per_series:.2f} | {smape:.3f} | {failed} |".format(**row), flush=True)
' | tee -a "$out"
  done
fi
cat "$out"
