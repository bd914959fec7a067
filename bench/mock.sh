#!/usr/bin/env bash
# Benchmark: /metrics of `promlab mock` against the lab's Python mock (prometheus_client), both started
# here in the same run, under wrk at 50 connections. Prints a Markdown table (also written to
# bench/results/mock.md). Targets (issue 2): >= 50x the Python mock's requests/s, p99 < 2 ms, RSS < 10 MB.
#
# Needs: wrk (Debian package), python3 with venv/pip (prometheus_client is installed into a venv under
# target/), cargo. Usage: bench/mock.sh [DURATION_SECONDS] (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-15}
connections=50
# wrk's own threads: on a 2-core machine, one core for the load generator and one for the server
# under test. The table also shows a run with 2 wrk threads, where both fight for the same cores.
threads=1

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet prometheus_client
fi
cargo build --release --quiet

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return; sleep 0.1; done; echo "$1 never answered" >&2; exit 1; }

promlab_port=$(free_port)
python_port=$(free_port)
RUST_LOG=warn target/release/promlab mock --listen "127.0.0.1:$promlab_port" --seed 1 &
promlab_pid=$!
"$venv/bin/python" bench/python_mock.py "$python_port" &
python_pid=$!
trap 'kill $promlab_pid $python_pid 2>/dev/null || true' EXIT
wait_up "http://127.0.0.1:$promlab_port/metrics"
wait_up "http://127.0.0.1:$python_port/metrics"

# run THREADS URL -> "requests_per_second p50_ms p99_ms"
run() {
  wrk -t"$1" -c"$connections" -d2s "$2" >/dev/null 2>&1 # warm-up
  local out
  out=$(wrk -t"$1" -c"$connections" -d"${duration}s" --latency "$2")
  echo "$out" >&2
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
# wrk prints 812.00us, 1.52ms, 2.01s
to_ms() { python3 -c 'import sys,re; v=sys.argv[1]; n,u=re.match(r"([0-9.]+)(us|ms|s|m)",v).groups(); print(round(float(n)*{"us":1e-3,"ms":1,"s":1e3,"m":6e4}[u],3))' "$1"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

read -r promlab_rps promlab_p50 promlab_p99 < <(run "$threads" "http://127.0.0.1:$promlab_port/metrics")
read -r promlab2_rps promlab2_p50 promlab2_p99 < <(run 2 "http://127.0.0.1:$promlab_port/metrics")
promlab_rss=$(rss_kb $promlab_pid); promlab_hwm=$(hwm_kb $promlab_pid)
read -r python_rps python_p50 python_p99 < <(run "$threads" "http://127.0.0.1:$python_port/metrics")
read -r python2_rps python2_p50 python2_p99 < <(run 2 "http://127.0.0.1:$python_port/metrics")
python_rss=$(rss_kb $python_pid)

ratio=$(python3 -c "print(round($promlab_rps/$python_rps, 1))")
mkdir -p bench/results
{
  echo "| server | wrk threads | requests/s | p50 (ms) | p99 (ms) | RSS after load (MB) |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '| promlab mock | %s | %s | %s | %s | %s (peak %s) |\n' "$threads" "$promlab_rps" "$promlab_p50" "$promlab_p99" \
    "$(python3 -c "print(round($promlab_rss/1024,1))")" "$(python3 -c "print(round($promlab_hwm/1024,1))")"
  printf '| Python prometheus_client mock | %s | %s | %s | %s | %s |\n' "$threads" "$python_rps" "$python_p50" "$python_p99" \
    "$(python3 -c "print(round($python_rss/1024,1))")"
  printf '| promlab mock | 2 | %s | %s | %s | |\n' "$promlab2_rps" "$promlab2_p50" "$promlab2_p99"
  printf '| Python prometheus_client mock | 2 | %s | %s | %s | |\n' "$python2_rps" "$python2_p50" "$python2_p99"
  echo
  echo "promlab/Python requests/s: ${ratio}x with wrk -t$threads, $(python3 -c "print(round($promlab2_rps/$python2_rps, 1))")x with wrk -t2 (-c$connections -d${duration}s, $(nproc) cores, $(date -u +%F))"
} | tee bench/results/mock.md
