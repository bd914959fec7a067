#!/usr/bin/env bash
# Benchmark: fit + forecast time and sMAPE of each promlab model on one week of a 1-minute series
# (10,080 points) with a 60-step horizon, against Python Prophet and a numpy Fourier extrapolation
# (train-prometheus' model), all on the same series in the same run. Prints a Markdown table (also
# bench/results/forecast.md). Targets (issue 4): the fast models at least 100x faster than Python Prophet
# at no worse sMAPE; promlab's Prophet (the `prophet` feature) at least 5x faster than Python's with yhat
# within 1 %. Then the trainer's view: each model's mean fit + forecast time on one day of the same
# series (1,440 points, 5 origins), and what one training cycle of 1,000 such series would cost on 2 cores
# (the trainer fits every model twice per series: on the history without its holdout, then on all of it).
#
# Needs: python3 with venv/pip (numpy, pandas and prophet are installed into a venv under target/), cargo
# (the release build includes the `prophet` and `lstm` features).
# Usage: bench/forecast.sh
set -euo pipefail
cd "$(dirname "$0")/.."
horizon=60
venv=target/bench-venv-forecast
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy pandas prophet
fi
cargo build --release --quiet --features prophet,lstm
models=seasonal_naive,fourier,ets,mstl,arima,prophet,lstm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One week of a 1-minute series with a daily season, a trend and noise (seeded), plus the horizon.
python3 - "$work/week.csv" "$horizon" <<'PY'
import math, random, sys
random.seed(42)
path, horizon = sys.argv[1], int(sys.argv[2])
start = 1_700_000_000
with open(path, "w") as out:
    out.write("timestamp,value\n")
    for t in range(10_080 + horizon):
        value = 50 + 0.001 * t + 10 * math.sin(2 * math.pi * t / 1440) + 3 * math.sin(2 * math.pi * t / 60) + random.gauss(0, 1)
        out.write(f"{start + 60 * t},{value:.4f}\n")
PY

# promlab: one origin at the end, the whole week as history (each model timed by the backtest itself).
target/release/promlab forecast backtest --csv "$work/week.csv" --horizon "$horizon" --origins 1 \
  --train 10080 --models "$models" --forecasts "$work/forecasts.csv" > "$work/promlab.md"
"$venv/bin/python" bench/forecast_python.py "$work/week.csv" "$horizon" "$work/python-yhat.txt" \
  > "$work/python.txt" 2>/dev/null
# promlab's Prophet against Python's, step by step: the largest relative difference of yhat.
yhat_difference=$(python3 - "$work/forecasts.csv" "$work/python-yhat.txt" <<'PY'
import csv, sys
ours = [float(row["yhat"]) for row in csv.DictReader(open(sys.argv[1])) if row["model"] == "prophet"]
theirs = [float(line) for line in open(sys.argv[2]) if line.strip()]
assert len(ours) == len(theirs), (len(ours), len(theirs))
print(f"{max(abs(a - b) / abs(b) for a, b in zip(ours, theirs)) * 100:.3f}")
PY
)
# The trainer's view: one day of history per fit, five origins an hour apart.
head -n $((1 + 1440 + 4 * horizon + horizon)) "$work/week.csv" > "$work/day.csv"
target/release/promlab forecast backtest --csv "$work/day.csv" --horizon "$horizon" --origins 5 \
  --train 1440 --models "$models" > "$work/day.md"

prophet_seconds=$(awk '$1=="python_prophet" {print $2}' "$work/python.txt")
mkdir -p bench/results
{
  echo "| model | fit + forecast | sMAPE % | speed vs Python Prophet |"
  echo "|---|---|---|---|"
  grep -E '^\| (seasonal_naive|fourier|ets|mstl|prophet|arima|lstm) ' "$work/promlab.md" | while IFS='|' read -r _ model smape _ _ _ millis _; do
    model=$(echo "$model" | xargs); smape=$(echo "$smape" | xargs); millis=$(echo "$millis" | xargs)
    ratio=$(python3 -c "r = $prophet_seconds / max($millis / 1000, 1e-6); print(f'{r:,.0f}x' if r >= 10 else f'{r:.2f}x')")
    echo "| promlab $model | ${millis} ms | $smape | $ratio |"
  done
  while read -r model seconds smape; do
    ratio=$(python3 -c "print(f'{$prophet_seconds / $seconds:,.1f}x')")
    echo "| $model | $(python3 -c "print(f'{$seconds * 1000:.2f}')") ms | $(python3 -c "print(f'{$smape:.2f}')") | $ratio |"
  done < "$work/python.txt"
  echo
  echo "promlab prophet's yhat differs from Python Prophet's by at most ${yhat_difference} % over the horizon."
  echo
  echo "| model (one day, 1,440 points) | fit + forecast | sMAPE % | 1,000 series x 2 fits on 2 cores |"
  echo "|---|---|---|---|"
  grep -E '^\| (seasonal_naive|fourier|ets|mstl|arima|prophet|lstm) ' "$work/day.md" | while IFS='|' read -r _ model smape _ _ _ millis _; do
    model=$(echo "$model" | xargs); smape=$(echo "$smape" | xargs); millis=$(echo "$millis" | xargs)
    echo "| promlab $model | ${millis} ms | $smape | $(python3 -c "print(f'{$millis * 1000 * 2 / 2 / 1000:.1f}')") s |"
  done
} > bench/results/forecast.md
cat "$work/promlab.md" | head -1
cat bench/results/forecast.md
