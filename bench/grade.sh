#!/usr/bin/env bash
# Benchmark: `promlab grade --class` on a class of 30 student repositories (copies of the kit's files,
# one in three with a seeded fault), static checks only, every judge real (promtool and amtool from the
# pinned images when the host's are older). Target (issue 6): under one minute. Also times the static
# grade of one repository. Prints the wall times and the class's failures.
#
# Needs: docker with the Prometheus and Alertmanager images (PROMLAB_PROMETHEUS_IMAGE,
# PROMLAB_ALERTMANAGER_IMAGE, defaults prom/prometheus:v2.53.3, prom/alertmanager:v0.28.1), cargo.
# Usage: bench/grade.sh [STUDENTS] [LAB] (defaults 30 and 5; lab 5 runs promtool's rule tests twice
# per student).
set -euo pipefail
cd "$(dirname "$0")/.."
students=${1:-30}
lab=${2:-5}
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for n in $(seq -w 1 "$students"); do
  repo="$work/class/student-$n"
  mkdir -p "$repo"
  cp -r prometheus alertmanager grafana compose promlab.yaml forecaster.yaml "$repo/"
  case $((10#$n % 3)) in
    1) sed -i 's/for: 3m/for: 1m/' "$repo/prometheus/rules/node.yml" ;;           # fires too early
    2) sed -i 's/send_resolved: true/send_resolved: false/' "$repo/alertmanager/alertmanager.yml" ;;
    *) ;;
  esac
done

start=$(date +%s.%N)
target/release/promlab grade --lab "$lab" --class "$work/class" --format markdown >"$work/class.md" || true
end=$(date +%s.%N)
class_seconds=$(echo "$end - $start" | bc)

start=$(date +%s.%N)
target/release/promlab grade --lab "$lab" --dir "$work/class/student-03" --format json >/dev/null
end=$(date +%s.%N)
one_seconds=$(echo "$end - $start" | bc)

failed=$(grep -c '| FAIL |' "$work/class.md" || true)
printf 'lab %s, %s students: class graded in %.1f s (target 60 s); one repository in %.1f s; %s students with failures\n' \
  "$lab" "$students" "$class_seconds" "$one_seconds" "$failed"
