#!/usr/bin/env bash
# Benchmark: `promlab export` against the seeds' Python exporter (requests + pandas, bench/export_python.py)
# doing the same range requests against the same real Prometheus in the same run: a week of 15-second
# samples of 20 series (806,400 samples, 4 requests of at most 11,000 points per series), long layout,
# CSV and Parquet. Prints samples per second and the ratio (also bench/results/export.md).
# Target (issue 5): at least 5x the Python exporter.
#
# Needs: docker with the Prometheus image (PROMLAB_PROMETHEUS_IMAGE, .ci/build-images), python3 with venv
# (pandas, pyarrow, requests go into target/promlab-py as .ci/run installs them), cargo.
# Usage: bench/export.sh
set -euo pipefail
cd "$(dirname "$0")/.."
image=${PROMLAB_PROMETHEUS_IMAGE:-promlab-ci/prometheus:2.53.3}
venv=target/promlab-py
if ! "$venv/bin/python" -c 'import pandas, pyarrow, requests' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'pyarrow>=15' 'pandas>=2' 'requests>=2.31'
fi
cargo build --release --quiet
work=$(mktemp -d)
container=""
cleanup() { [ -n "$container" ] && docker rm -f "$container" >/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A week ending at the last midnight (UTC), 20 series, 15 s apart.
now=$(date +%s); end=$(( now / 86400 * 86400 - 15 )); start=$(( end - 7 * 86400 + 15 ))
python3 - "$work/history.om" "$start" "$end" <<'PY'
import math, sys
path, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as out:
    out.write("# TYPE bench_value gauge\n")
    for series in range(20):
        for t in range(start, end + 1, 15):
            out.write(f'bench_value{{series="{series}"}} {50 + 10 * math.sin(t / 3600 + series) + (t % 97) / 97} {t}\n')
    out.write("# EOF\n")
PY
mkdir -p "$work/data" && chmod -R a+rwX "$work"
docker run --rm --network none -v "$work:/work" --entrypoint promtool "$image" \
  tsdb create-blocks-from openmetrics /work/history.om /work/data >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
container=$(docker run -d --network host -v "$work/data:/prometheus" "$image" \
  --storage.tsdb.path=/prometheus --storage.tsdb.retention.time=60d --web.listen-address=127.0.0.1:$port \
  --config.file=/etc/prometheus/prometheus.yml)
url=http://127.0.0.1:$port
for _ in $(seq 1 60); do
  curl -sf "$url/api/v1/query?query=count(count_over_time(bench_value%5B1d%5D%20@%20$end))" | grep -q '"value"' && break
  sleep 1
done

timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); python3 -c "print($t1 - $t0)"; }
samples=$(( 20 * ((end - start) / 15 + 1) ))
# Warm Prometheus' caches once, so neither side pays for the first read of the blocks.
target/release/promlab export --prometheus-url "$url" --query bench_value --start "$start" --end "$end" \
  --step 15s --format csv -o "$work/warm.csv" >/dev/null 2>&1
mkdir -p bench/results
{
  echo "| format | promlab export | Python requests + pandas | ratio |"
  echo "|---|---|---|---|"
  for format in csv parquet; do
    rust=$(timed target/release/promlab export --prometheus-url "$url" --query bench_value --start "$start" \
      --end "$end" --step 15s --format "$format" -o "$work/promlab.$format")
    py=$(timed "$venv/bin/python" bench/export_python.py "$url" bench_value "$start" "$end" 15 "$work/python.$format")
    python3 -c "
r, p, n = $rust, $py, $samples
print(f'| {\"$format\"} | {n / r:,.0f} samples/s ({r:.2f} s) | {n / p:,.0f} samples/s ({p:.2f} s) | {p / r:.1f}x |')"
  done
} > bench/results/export.md
echo "$samples samples (20 series x 7 days at 15 s), Prometheus $image, $(nproc) cores"
cat bench/results/export.md
