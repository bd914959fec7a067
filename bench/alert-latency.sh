#!/usr/bin/env bash
# Benchmark: alert latency through the lab, with the lab's own timings (promlab.yaml): from the moment
# the mock enters `spike` to the Discord message (received by `promlab webhook-sink`), against its floor
# scrape_interval + evaluation_interval + model.for + alertmanager.group_wait. Target: within 1 s of the
# floor. Real Prometheus and Alertmanager containers on the host network, everything on 127.0.0.1.
# Prints a Markdown table (also written to bench/results/alert-latency.md).
#
# Needs: docker with the Prometheus and Alertmanager images (PROMLAB_PROMETHEUS_IMAGE,
# PROMLAB_ALERTMANAGER_IMAGE, defaults the upstream ones; .ci/build-images makes stand-ins), curl,
# python3, cargo. Usage: bench/alert-latency.sh [RUNS] (default 3; about 90 s per run).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
prometheus_image=${PROMLAB_PROMETHEUS_IMAGE:-prom/prometheus:v2.53.3}
alertmanager_image=${PROMLAB_ALERTMANAGER_IMAGE:-prom/alertmanager:v0.28.1}
cargo build --release --quiet
promlab=target/release/promlab

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 300); do curl -fsS "$1" >/dev/null 2>&1 && return; sleep 0.2; done; echo "$1 never answered" >&2; exit 1; }

mock_port=$(free_port); sink_port=$(free_port); prometheus_port=$(free_port); alertmanager_port=$(free_port)
work=$(mktemp -d)
containers=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  [ ${#containers[@]} -eq 0 ] || docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
pids=()
trap cleanup EXIT

# The committed lab config's timings, with every target on loopback.
python3 - "$work/lab.yaml" "$mock_port" "$prometheus_port" "$alertmanager_port" <<'PY'
import sys, re
out, mock, prom, am = sys.argv[1:]
text = open("promlab.yaml").read()
text = text[: text.index("\ntargets:")] + f"""
targets:
  prometheus: 127.0.0.1:{prom}
  model_mock: 127.0.0.1:{mock}
  forecaster: 127.0.0.1:1
  node_exporter: 127.0.0.1:1
  alertmanager: 127.0.0.1:{am}
"""
# Only the model alert matters here: the absent targets must not page.
text = re.sub(r"target_down:\n  #[^\n]*\n  for: \S+", "target_down:\n  for: 1h", text)
open(out, "w").write(text)
PY
"$promlab" generate --config "$work/lab.yaml" --out "$work" >/dev/null 2>&1
floor=$(python3 - "$work/lab.yaml" <<'PY'
import sys, re
text = open(sys.argv[1]).read()
def seconds(key_path):
    section, key = key_path
    block = text if section is None else text[text.index(f"\n{section}:"):]
    value = re.search(rf"^\s*{key}: (\S+)", block, re.M).group(1)
    total = 0
    for amount, unit in re.findall(r"(\d+)([smhd])", value):
        total += int(amount) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    return total
print(seconds((None, "scrape_interval")) + seconds((None, "evaluation_interval"))
      + seconds(("model", "for")) + seconds(("alertmanager", "group_wait")))
PY
)

RUST_LOG=warn "$promlab" mock --listen "127.0.0.1:$mock_port" --scenario drift --seed 1 & pids+=($!)
RUST_LOG=warn "$promlab" webhook-sink --listen "127.0.0.1:$sink_port" & pids+=($!)
printf 'http://127.0.0.1:%s/api/webhooks/1/bench' "$sink_port" > "$work/discord_webhook_url"
chmod -R a+rX "$work"
containers+=("$(docker run -d --network host \
  -v "$work/alertmanager:/etc/alertmanager/config:ro" \
  -v "$work/discord_webhook_url:/etc/alertmanager/secrets/discord_webhook_url:ro" \
  "$alertmanager_image" --config.file=/etc/alertmanager/config/alertmanager.yml \
  --storage.path=/alertmanager --web.listen-address="127.0.0.1:$alertmanager_port" --cluster.listen-address=)")
containers+=("$(docker run -d --network host -v "$work/prometheus:/etc/prometheus:ro" \
  "$prometheus_image" --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus \
  --web.listen-address="127.0.0.1:$prometheus_port")")
wait_up "http://127.0.0.1:$mock_port/healthz"
wait_up "http://127.0.0.1:$sink_port/healthz"
wait_up "http://127.0.0.1:$alertmanager_port/-/ready"
wait_up "http://127.0.0.1:$prometheus_port/-/ready"
# Prometheus has scraped the mock at least twice.
for _ in $(seq 1 120); do
  count=$(curl -fsS "http://127.0.0.1:$prometheus_port/api/v1/query" --data-urlencode 'query=count_over_time(up{job="model_mock"}[1m])' \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
  [ "${count%.*}" -ge 2 ] && break
  sleep 1
done

# newest_ms STATUS -> received_at (ms since the epoch) of the newest ModelResultHigh message of STATUS, or 0
newest_ms() {
  curl -fsS "http://127.0.0.1:$sink_port/api/messages" | python3 -c '
import json, sys, datetime
status = sys.argv[1]
for m in json.load(sys.stdin):
    title = (m["embeds"] or [{}])[0].get("title", "")
    if m["status"] == status and "ModelResultHigh" in title:
        at = datetime.datetime.fromisoformat(m["received_at"].replace("Z", "+00:00"))
        print(int(at.timestamp() * 1000)); break
else:
    print(0)' "$1"
}
now_ms() { python3 -c 'import time; print(int(time.time()*1000))'; }

mkdir -p bench/results
{
  echo "| run | latency (s) | floor (s) | over the floor (s) |"
  echo "|---|---|---|---|"
} > bench/results/alert-latency.md
for run in $(seq 1 "$runs"); do
  previous=$(newest_ms firing)
  start=$(now_ms)
  curl -fsS -X PUT --data spike "http://127.0.0.1:$mock_port/scenario" >/dev/null
  for _ in $(seq 1 1800); do
    received=$(newest_ms firing)
    [ "$received" != "$previous" ] && [ "$received" -gt "$start" ] && break
    sleep 0.1
  done
  latency=$(python3 -c "print(f'{($received - $start) / 1000:.2f}')")
  over=$(python3 -c "print(f'{($received - $start) / 1000 - $floor:+.2f}')")
  echo "| $run | $latency | $floor | $over |" >> bench/results/alert-latency.md
  echo "run $run: $latency s (floor $floor s, $over s)" >&2
  # Calm again; wait for the resolved message so the next run starts a new notification group.
  resolved_before=$(newest_ms resolved)
  curl -fsS -X PUT --data drift "http://127.0.0.1:$mock_port/scenario" >/dev/null
  for _ in $(seq 1 1800); do
    [ "$(newest_ms resolved)" != "$resolved_before" ] && break
    sleep 0.2
  done
done
cat bench/results/alert-latency.md
