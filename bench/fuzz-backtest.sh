#!/usr/bin/env bash
# Long mutation-fuzzing run of `promlab forecast backtest` on CSV files (stable Rust: no cargo-fuzz
# here): the unit test mutated_csv_files_never_panic_the_backtest with many cases. A panic names its seeds.
#   bash bench/fuzz-backtest.sh [CASES] [SEED]      (defaults: 20000 cases, a seed from the clock)
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-20000}"
seed="${2:-$(date +%s)}"
PROMLAB_BACKTEST_FUZZ_CASES="$cases" PROMLAB_BACKTEST_FUZZ_SEED="$seed" \
    cargo test --locked --release --lib mutated_csv_files_never_panic_the_backtest -- --nocapture 2>&1 |
    grep -E "backtest fuzz:|panicked|seeds panicked|test result"
