#!/usr/bin/env bash
# Benchmark: a class of 30 repositories made by `promlab classroom`, per lab: 10 untouched starters, 10
# solved ones, 10 with a seeded mistake (cycling through the lab's list below), graded in batch with
# `promlab grade --class --format json` (static criteria; every judge real: promtool and amtool from the
# pinned images when the host's are older). Reports the time per class and the confusion table of
# expected against given verdicts per criterion. Target (issue 13): no wrong verdict, under 60 s a class.
#
# Needs: docker with the Prometheus and Alertmanager images (PROMLAB_PROMETHEUS_IMAGE,
# PROMLAB_ALERTMANAGER_IMAGE; .ci/build-images makes stand-ins), python3, cargo.
# Usage: bench/classroom.sh [LABS] (default "1 2 3 4 5 6 7"). PROMLAB_BIN=path uses that binary instead
# of a release build. Prints Markdown (also written to bench/results/classroom.md).
set -euo pipefail
cd "$(dirname "$0")/.."
labs=${1:-1 2 3 4 5 6 7}
if [ -z "${PROMLAB_BIN:-}" ]; then
  cargo build --release --quiet
  PROMLAB_BIN=target/release/promlab
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p bench/results

python3 - "$PROMLAB_BIN" "$work" $labs <<'PY' | tee bench/results/classroom.md
import json, pathlib, re, subprocess, sys, time

promlab, work, labs = sys.argv[1], pathlib.Path(sys.argv[2]), [int(lab) for lab in sys.argv[3:]]

# The lab's work criteria (what the starter leaves failing), as `promlab classroom` defines them.
WORK = {
    1: ["mock-scraped"],
    2: ["node-job", "alertmanager-job"],
    3: ["dashboard-file", "refresh", "time-range", "threshold-line"],
    4: ["discord-receiver", "inhibition", "model-rule", "model-rule-timing", "rule-tests"],
    5: ["cpu-rule-for", "cpu-rule-timing"],
    6: ["anomaly-rule", "anomaly-timing"],
    7: ["export-csv", "backup-report"],
}

def sub(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))

# Seeded mistakes per lab: (name, edit of a solved repository, the criteria it must fail).
MISTAKES = {
    1: [("mock-on-localhost", lambda r: sub(r / "prometheus/prometheus.yml", "model-mock:5000", "localhost:5000"), ["mock-scraped"]),
        ("config-typo", lambda r: sub(r / "prometheus/prometheus.yml", "scrape_configs:", "scrape_config:"), ["config-valid", "mock-scraped"])],
    2: [("node-wrong-port", lambda r: sub(r / "prometheus/prometheus.yml", "node-exporter:9100", "node-exporter:9090"), ["node-job"]),
        ("interval-15s", lambda r: sub(r / "prometheus/prometheus.yml", "scrape_interval: 5s", "scrape_interval: 15s"), ["scrape-interval"])],
    3: [("threshold-green", lambda r: (r / "grafana/dashboards/model.json").write_text((r / "grafana/dashboards/model.json").read_text().replace('"color": "red",\n                "value": 0.9', '"color": "green",\n                "value": 0.9')), ["threshold-line"]),
        ("refresh-1m", lambda r: sub(r / "grafana/dashboards/model.json", '"refresh": "5s"', '"refresh": "1m"'), ["refresh"])],
    4: [("model-at-or-above", lambda r: sub(r / "prometheus/rules/model.yml", "model_result > 0.9", "model_result >= 0.9"), ["model-rule", "model-rule-timing"]),
        ("model-for-10s", lambda r: sub(r / "prometheus/rules/model.yml", "for: 30s", "for: 10s"), ["model-rule", "model-rule-timing", "rule-tests"]),
        ("no-resolved", lambda r: sub(r / "alertmanager/alertmanager.yml", "send_resolved: true", "send_resolved: false"), ["discord-receiver"]),
        ("inhibit-everywhere", lambda r: sub(r / "alertmanager/alertmanager.yml", "    equal: [instance]\n", ""), ["inhibition"])],
    5: [("cpu-for-1m", lambda r: sub(r / "prometheus/rules/node.yml", "for: 3m", "for: 1m"), ["cpu-rule-for", "cpu-rule-timing", "rule-tests"]),
        ("cpu-for-5m", lambda r: sub(r / "prometheus/rules/node.yml", "for: 3m", "for: 5m"), ["cpu-rule-for", "cpu-rule-timing", "rule-tests"]),
        ("cpu-threshold-0.9", lambda r: sub(r / "prometheus/rules/node.yml", "> 0.8", "> 0.95"), ["cpu-rule-timing", "rule-tests"])],
    6: [("anomaly-for-0", lambda r: sub(r / "prometheus/rules/forecast.yml", "for: 30s", "for: 0s"), ["anomaly-rule", "anomaly-timing", "rule-tests"]),
        ("anomaly-no-model", lambda r: sub(r / "prometheus/rules/forecast.yml", 'label_replace({__name__=~"predicted_values_.+_anomaly"}, "model", "$1", "__name__", "predicted_values_(.+)_anomaly") == 1', '\'{__name__=~"predicted_values_.+_anomaly"} == 1\''), ["anomaly-timing", "rule-tests"])],
    7: [("no-export", lambda r: (r / "exports/model_result.csv").unlink(), ["export-csv"]),
        ("empty-report", lambda r: (r / "exports/backup-verify.txt").write_text(""), ["backup-report"]),
        ("export-five-minutes", lambda r: (r / "exports/model_result.csv").write_text("".join((r / "exports/model_result.csv").read_text().splitlines(True)[:61])), ["export-csv"])],
}

def run(*args):
    return subprocess.run([promlab, *args], capture_output=True, text=True)

print("| lab | repositories | class graded (s) | criteria × repositories | wrong verdicts |")
print("|---|---|---|---|---|")
confusions = []
for lab in labs:
    klass = work / f"lab{lab}"
    expected = {}
    for n in range(30):
        repo = klass / f"student-{n:02d}"
        out = run("classroom", "starter", "--lab", str(lab), "--out", str(repo))
        assert out.returncode == 0, out.stderr
        if n < 10:
            expected[repo.name] = ("starter", set(WORK[lab]))
            continue
        assert run("classroom", "solve", "--lab", str(lab), "--dir", str(repo)).returncode == 0
        if n < 20:
            expected[repo.name] = ("solved", set())
            continue
        name, edit, fails = MISTAKES[lab][n % len(MISTAKES[lab])]
        edit(repo)
        expected[repo.name] = (name, set(fails))
    start = time.monotonic()
    out = run("grade", "--lab", str(lab), "--class", str(klass), "--format", "json")
    seconds = time.monotonic() - start
    report = json.loads(out.stdout)
    table = {}
    wrong = []
    judged = 0
    for student in report["students"]:
        kind, fails = expected[student["student"]]
        for result in student["results"]:
            if result["kind"] in ("target_up", "prom_query_nonempty", "am_notifications", "grafana_dashboard"):
                continue
            judged += 1
            want = "fail" if result["id"] in fails else "pass"
            got = result["status"]
            cell = table.setdefault(result["id"], {})
            cell[(want, got)] = cell.get((want, got), 0) + 1
            if want != got:
                wrong.append(f"{student['student']} ({kind}) {result['id']}: expected {want}, got {got}: {result['message'][:160]}")
    print(f"| {lab} | 30 (10 starters, 10 solved, 10 mistakes) | {seconds:.1f} | {judged} | {len(wrong)} |")
    confusions.append((lab, table, wrong))

for lab, table, wrong in confusions:
    print(f"\nLab {lab}, expected × given per criterion (pass→pass, fail→fail are right; pass→fail, fail→pass, anything→skip wrong):\n")
    print("| criterion | pass→pass | fail→fail | pass→fail | fail→pass | skipped |")
    print("|---|---|---|---|---|---|")
    for criterion, cell in table.items():
        skipped = sum(count for (want, got), count in cell.items() if got == "skip")
        print(f"| `{criterion}` | {cell.get(('pass','pass'),0)} | {cell.get(('fail','fail'),0)} | {cell.get(('pass','fail'),0)} | {cell.get(('fail','pass'),0)} | {skipped} |")
    for line in wrong:
        print(f"- WRONG: {line}")
PY
