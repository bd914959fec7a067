#!/usr/bin/env bash
# Benchmark (issue 15): the forecaster's anomaly scoring streamed over NAB's whole corpus (58 files,
# 365,551 rows), each point judged only on what came before it, scored as NAB scores detectors (the
# windows, the scaled sigmoid, the three cost profiles, normalisation between the null and the perfect
# detector, the threshold optimised per profile: src/forecast/backtest/nab.rs, whose test reproduces
# Numenta HTM's published 70.1). Prints promlab's three profile scores to set beside the scoreboard.
#
# Needs NAB's corpus (data files and combined_windows.json), by default ../shared/nab; cargo.
# Usage: bench/nab-stream.sh [MODELS] [EVERY] [WINDOW] [MEMORY] [DETECTOR]
#   (default: seasonal_naive,fourier 10 4000 1000 consensus: refit every 10 rows on the last 4,000, the
#    consensus score (the smallest of the models' and the usual range's, measured on those 4,000 rows),
#    kept only where it exceeds the 1,000 before it; the other detector is auto, the followed model's
#    score). Writes bench/results/nab-stream.md too.
set -euo pipefail
cd "$(dirname "$0")/.."
nab=${NAB_DIR:-../shared/nab}
[ -f "$nab/combined_windows.json" ] || { echo "no NAB corpus at $nab: set NAB_DIR" >&2; exit 2; }
cargo build --release --quiet --example nab_stream
mkdir -p bench/results
target/release/examples/nab_stream "$nab" "${1:-seasonal_naive,fourier}" "${2:-10}" "${3:-4000}" "${4:-1000}" "${5:-consensus}" \
  | tee bench/results/nab-stream.md
