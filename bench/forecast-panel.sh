#!/usr/bin/env bash
# Benchmark (issue 15): every model, and the selected forecast (`auto`), streamed as the forecaster runs
# them (refit every EVERY steps on the last WINDOW, bands calibrated on 3 rolling holdouts) over a panel:
# trend plus season, two seasons, a level shift, a counter's rate, noise only (2,016 points each), and
# NAB's real series (when the corpus is there). Per series and model: sMAPE and its ratio to
# seasonal-naive's, the 95 % band's coverage, the fit time per refit, and the share of points outside
# NAB's labelled windows scored above 1.5 band half-widths (ForecastAnomaly's threshold).
# Targets: every coverage in [90 %, 98 %]; auto's sMAPE within 5 % of the best single model's.
#
# Needs cargo; NAB's corpus at NAB_DIR (default ../shared/nab) for its series.
# Usage: bench/forecast-panel.sh [EVERY] [WINDOW] (default 24 576). Writes bench/results/forecast-panel.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example forecast_panel
mkdir -p bench/results
target/release/examples/forecast_panel "${NAB_DIR:-../shared/nab}" "${1:-24}" "${2:-576}" \
  | tee bench/results/forecast-panel.md
