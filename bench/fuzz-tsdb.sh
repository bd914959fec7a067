#!/usr/bin/env bash
# Long mutation-fuzzing run of the TSDB reader (stable Rust: no cargo-fuzz here). Runs the test
# tsdb_reader_never_panics_on_mutated_blocks with many cases; a panic keeps the mutated block in
# target/tmp/tsdb-fuzz-crash and names the case and seed.
#   bash bench/fuzz-tsdb.sh [CASES] [SEED]      (defaults: 20000 cases, a seed from the clock)
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-20000}"
seed="${2:-$(date +%s)}"
PROMLAB_TSDB_FUZZ_CASES="$cases" PROMLAB_TSDB_FUZZ_SEED="$seed" \
    cargo test --locked --test integration tsdb_reader_never_panics_on_mutated_blocks -- --nocapture 2>&1 |
    grep -E "tsdb fuzz:|panicked|test result"
