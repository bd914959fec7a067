#!/usr/bin/env bash
# Load check of the servers' limits (src/serve.rs): opens 2,000 connections on loopback to each of the
# mock, the webhook sink and the forecaster, sends one `GET /healthz` on each and keeps them all open,
# then closes them; prints each server's RSS before, while held and after, and how many connections were
# answered while the others waited for the connection cap (512). Bounded: 2,000 connections per server,
# at most 20 s per server, loopback only.
#
# Needs: python3, curl. Usage: bench/servers.sh [PROMLAB_BINARY] (default target/release/promlab, else
# target/debug/promlab; the figures in BENCHMARKS.md say which).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-}
if [ -z "$binary" ]; then
  if [ -x target/release/promlab ]; then binary=target/release/promlab; else binary=target/debug/promlab; fi
fi
[ -x "$binary" ] || { echo "$binary is missing: cargo build --release" >&2; exit 1; }
connections=2000
# Each connection is a file descriptor on both sides.
ulimit -n "$((connections * 2 + 256))" 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 200); do curl -fsS "$1" >/dev/null 2>&1 && return; sleep 0.1; done; echo "$1 never answered" >&2; exit 1; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Opens the connections, sends a request on each, waits for the answers that come within the time
# limit, prints "answered waiting" and keeps everything open until told to close (a line on stdin).
load() {
  python3 - "$1" "$connections" <<'PY'
import asyncio, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
async def one(results):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    except Exception:
        results.append("unconnected"); return None
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
        results.append("answered" if line.startswith(b"HTTP/1.1 200") else "closed")
    except Exception:
        results.append("waiting")
    return writer
async def main():
    results = []
    writers = await asyncio.gather(*(one(results) for _ in range(count)))
    print(f"{results.count('answered')} {results.count('waiting')} {results.count('unconnected') + results.count('closed')}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for writer in writers:
        if writer: writer.close()
asyncio.run(main())
PY
}

echo "Kernel accept backlog (net.core.somaxconn): $(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo '?')"
echo
echo "| server | RSS before | RSS with $connections connections | RSS after closing | answered at once | accepted by the kernel, waiting for the cap | not connected within 5 s (backlog full) or closed |"
echo "|---|---|---|---|---|---|---|"
for server in mock webhook-sink forecast; do
  port=$(free_port)
  case $server in
    mock) args=(mock --listen "127.0.0.1:$port" --seed 1) ;;
    webhook-sink) args=(webhook-sink --listen "127.0.0.1:$port") ;;
    # No Prometheus behind it: the forecaster serves while its trainer retries in the background.
    forecast) args=(forecast --listen "127.0.0.1:$port" --prometheus-url http://127.0.0.1:9) ;;
  esac
  RUST_LOG=error "$binary" "${args[@]}" >/dev/null 2>&1 &
  pid=$!
  wait_up "http://127.0.0.1:$port/healthz"
  before=$(rss_kib "$pid")
  fifo=$(mktemp -u) && mkfifo "$fifo"
  exec 3<>"$fifo"
  result=$(mktemp)
  timeout 20 bash -c "$(declare -f load); connections=$connections; load $port" <&3 >"$result" &
  loader=$!
  for _ in $(seq 1 200); do [ -s "$result" ] && break; sleep 0.1; done
  held=$(rss_kib "$pid")
  read -r answered waiting unconnected <"$result" || true
  echo >&3
  wait "$loader" || true
  exec 3>&-
  rm -f "$fifo" "$result"
  sleep 1
  after=$(rss_kib "$pid")
  kill -TERM "$pid"
  wait "$pid" || true
  echo "| $server | $((before / 1024)) MiB | $((held / 1024)) MiB | $((after / 1024)) MiB | ${answered:-?} | ${waiting:-?} | ${unconnected:-?} |"
done
