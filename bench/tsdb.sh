#!/usr/bin/env bash
# Benchmark: reading TSDB blocks with `promlab tsdb dump` (release build) against `promtool tsdb dump`
# on the same blocks, output to /dev/null. The blocks: 1,000 series x 1 day at 15 s (5.76 million
# samples) written by the pinned image's `promtool tsdb create-blocks-from openmetrics`. promtool runs
# from the pinned image (Prometheus 2.53.3, in a container: its start-up is part of its time) and from
# the host when it has one (Debian bookworm: 2.42). Each reader runs RUNS times; the best run counts.
# Target (issue 5): promlab at least 2x faster. Prints a Markdown table (also bench/results/tsdb.md).
#
# Needs: docker with $PROMLAB_PROMETHEUS_IMAGE (default promlab-ci/prometheus:2.53.3), python3, bc, cargo.
# Usage: bench/tsdb.sh [SERIES] [RUNS]   (defaults 1000 and 3)
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-1000}
runs=${2:-3}
image=${PROMLAB_PROMETHEUS_IMAGE:-promlab-ci/prometheus:2.53.3}
work=target/bench-tsdb
mkdir -p bench/results

cargo build --release --locked --quiet

if [ ! -f "$work/$series.done" ]; then
  rm -rf "$work" && mkdir -p "$work/data"
  python3 - "$series" >"$work/in.om" <<'PY'
import math, sys, time
series = int(sys.argv[1])
end = int(time.time()) // 7200 * 7200 - 7200
start = end - 86400
out = sys.stdout
out.write("# TYPE bench_value gauge\n")
for s in range(series):
    labels = f'bench_value{{instance="host-{s % 50:02d}:9100",job="node",series="{s}"}}'
    for i in range(5760):
        t = start + i * 15
        v = round(50 + 40 * math.sin(i / 240 + s) + (i * 7919 + s) % 13 / 10, 3) if s % 2 else float(i * (s + 1))
        out.write(f"{labels} {v} {t}\n")
out.write("# EOF\n")
PY
  chmod -R a+rwX "$work"
  docker run --rm --network none -v "$PWD/$work:/work" --entrypoint promtool "$image" \
    tsdb create-blocks-from openmetrics /work/in.om /work/data >/dev/null
  rm -f "$work/in.om"
  # promtool opens the folder as a database: it wants a wal folder and writes a sandbox.
  mkdir -p "$work/data/wal" && chmod -R a+rwX "$work"
  touch "$work/$series.done"
fi

# best_of COMMAND... -> the fastest wall time in seconds over $runs runs
best_of() {
  local best=""
  for _ in $(seq 1 "$runs"); do
    local t0 t1 took
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    took=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$took < $best" | bc -l)" = 1 ]; then best=$took; fi
  done
  printf '%.2f' "$best"
}

lines=$(target/release/promlab tsdb dump "$work/data" | wc -l)
same=$(docker run --rm --network none -v "$PWD/$work/data:/data" --entrypoint promtool "$image" \
  tsdb dump --sandbox-dir-root=/tmp /data | cmp -s - <(target/release/promlab tsdb dump "$work/data") && echo yes || echo NO)
promlab=$(best_of target/release/promlab tsdb dump "$work/data")
container=$(best_of docker run --rm --network none -v "$PWD/$work/data:/data" --entrypoint promtool "$image" \
  tsdb dump --sandbox-dir-root=/tmp /data)
startup=$(best_of docker run --rm --network none --entrypoint promtool "$image" --version)
host=""
if command -v promtool >/dev/null; then
  host=$(best_of promtool tsdb dump "$work/data")
  host_version=$(promtool --version 2>&1 | awk 'NR==1 {print $3}')
fi

{
  echo "| reader | best of $runs (s) | promlab is faster by |"
  echo "|---|---:|---:|"
  echo "| promlab tsdb dump (release) | $promlab | |"
  echo "| promtool tsdb dump 2.53.3 (container) | $container | $(echo "scale=1; $container / $promlab" | bc -l)x |"
  echo "| the same, less the container's start-up ($startup s) | $(echo "$container - $startup" | bc -l) | $(echo "scale=1; ($container - $startup) / $promlab" | bc -l)x |"
  if [ -n "$host" ]; then
    echo "| promtool tsdb dump $host_version (host) | $host | $(echo "scale=1; $host / $promlab" | bc -l)x |"
  fi
  echo
  echo "$series series, $lines samples; outputs identical to promtool 2.53.3's: $same"
} | tee bench/results/tsdb.md
