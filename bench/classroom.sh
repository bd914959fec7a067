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
        ("anomaly-no-model", lambda r: sub(r / "prometheus/rules/forecast.yml", "(predicted_values_auto_anomaly_score > 1.5) * ignoring(model) group_left(model) forecaster_auto_model", "predicted_values_auto_anomaly_score > 1.5"), ["anomaly-timing", "rule-tests"]),
        ("anomaly-any-flag", lambda r: sub(r / "prometheus/rules/forecast.yml", "(predicted_values_auto_anomaly_score > 1.5) * ignoring(model) group_left(model) forecaster_auto_model", 'label_replace({__name__=~"predicted_values_.+_anomaly"}, "model", "$1", "__name__", "predicted_values_(.+)_anomaly") == 1'), ["anomaly-timing", "rule-tests"])],
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

# --- Evidence: a class graded from its recordings (lab 1) ---------------------------------------------
# A real Prometheus (host network) scrapes the model mock; `promlab grade --record` saves lab 1's evidence
# twice (an early recording, then the real one); 30 copies of that repository make the class: 10 with
# the evidence, 10 without, 10 with bad evidence (cycling: a verdict flipped by hand, a query's data
# emptied by hand, the early recording from before --since, a lab file changed after recording). Graded
# with --class --since; expected: good passes every live criterion, missing and stale and changed fail
# all five, a flipped verdict or emptied data fails that criterion alone.
image=${PROMLAB_PROMETHEUS_IMAGE:-prom/prometheus:v2.53.3}
if ! docker image inspect "$image" >/dev/null 2>&1 && ! docker pull --quiet "$image" >/dev/null 2>&1; then
  echo "SKIPPED: the evidence class: the Prometheus image $image is neither here nor pullable (set PROMLAB_PROMETHEUS_IMAGE)" \
    | tee -a bench/results/classroom.md
  exit 0
fi
python3 - "$PROMLAB_BIN" "$work" "$image" <<'PY' | tee -a bench/results/classroom.md
import json, pathlib, shutil, socket, subprocess, sys, time, urllib.request

promlab, work, image = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
LIVE = ["mock-up", "gauge", "counter", "histogram", "summary"]

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def run(*args, check=True):
    out = subprocess.run([promlab, *args], capture_output=True, text=True)
    if check and out.returncode not in (0, 1):
        raise SystemExit(f"promlab {' '.join(args)}: {out.stderr}")
    return out

mock_port, prom_port = free_port(), free_port()
repo = work / "evidence" / "repo"
repo.mkdir(parents=True)
(repo / "promlab.yaml").write_text(
    "scrape_interval: 1s\nevaluation_interval: 1s\ntargets:\n"
    f"  prometheus: 127.0.0.1:{prom_port}\n  model_mock: 127.0.0.1:{mock_port}\n"
    f"  forecaster: 127.0.0.1:{free_port()}\n  node_exporter: 127.0.0.1:{free_port()}\n"
    f"  alertmanager: 127.0.0.1:{free_port()}\n")
run("generate", "--out", str(repo), "--config", str(repo / "promlab.yaml"))
mock = subprocess.Popen([promlab, "mock", "--listen", f"127.0.0.1:{mock_port}", "--interval", "1s"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
container = subprocess.run(
    ["docker", "run", "-d", "--rm", "--network", "host", "-v", f"{repo / 'prometheus'}:/etc/prometheus:ro",
     image, "--config.file=/etc/prometheus/prometheus.yml", f"--web.listen-address=127.0.0.1:{prom_port}",
     "--storage.tsdb.path=/tmp/prometheus"], capture_output=True, text=True, check=True).stdout.strip()
try:
    url = f"http://127.0.0.1:{prom_port}"
    for _ in range(120):
        try:
            query = urllib.request.quote('up{job="model_mock"} == 1')
            with urllib.request.urlopen(f"{url}/api/v1/query?query={query}", timeout=2) as answer:
                if json.load(answer)["data"]["result"]:
                    break
        except OSError:
            pass
        time.sleep(1)
    time.sleep(3)
    early = work / "evidence" / "early.json"
    run("grade", "--lab", "1", "--dir", str(repo), "--prometheus-url", url, "--record", str(early))
    since = int(time.time()) + 1
    time.sleep(2.5)
    run("grade", "--lab", "1", "--dir", str(repo), "--prometheus-url", url, "--record", str(repo / "evidence/lab-1.json"))
finally:
    subprocess.run(["docker", "rm", "-f", container], capture_output=True)
    mock.kill()

def edit_evidence(student, change):
    path = student / "evidence/lab-1.json"
    evidence = json.loads(path.read_text())
    change(evidence)
    path.write_text(json.dumps(evidence, indent=2))

def flip(evidence):
    for criterion in evidence["criteria"]:
        if criterion["id"] == "gauge":
            criterion["status"] = "fail"

def empty(evidence):
    for criterion in evidence["criteria"]:
        if criterion["id"] == "counter":
            criterion["data"]["result"] = []

BAD = [
    ("verdict-flipped", lambda s: edit_evidence(s, flip), {"gauge"}),
    ("data-emptied", lambda s: edit_evidence(s, empty), {"counter"}),
    ("stale", lambda s: shutil.copy(early, s / "evidence/lab-1.json"), set(LIVE)),
    ("file-changed", lambda s: (s / "prometheus/prometheus.yml").write_text((s / "prometheus/prometheus.yml").read_text() + "# changed after recording\n"), set(LIVE)),
]
klass = work / "evidence" / "class"
expected = {}
for n in range(30):
    student = klass / f"student-{n:02d}"
    shutil.copytree(repo, student)
    if n < 10:
        expected[student.name] = ("good", set())
    elif n < 20:
        (student / "evidence/lab-1.json").unlink()
        expected[student.name] = ("missing", set(LIVE))
    else:
        name, change, fails = BAD[n % len(BAD)]
        change(student)
        expected[student.name] = (name, fails)
start = time.monotonic()
out = run("grade", "--lab", "1", "--class", str(klass), "--format", "json", "--since", str(since), "--until", "now")
seconds = time.monotonic() - start
report = json.loads(out.stdout)
table, wrong, judged = {}, [], 0
for student in report["students"]:
    kind, fails = expected[student["student"]]
    for result in student["results"]:
        if result["id"] not in LIVE:
            continue
        judged += 1
        want = "fail" if result["id"] in fails else "pass"
        cell = table.setdefault(kind, {})
        cell[(want, result["status"])] = cell.get((want, result["status"]), 0) + 1
        if want != result["status"]:
            wrong.append(f"{student['student']} ({kind}) {result['id']}: expected {want}, got {result['status']}: {result['message'][:160]}")
print("\nEvidence (lab 1, live criteria graded from each repository's evidence/lab-1.json, --since between the two recordings):\n")
print("| class | repositories | class graded (s) | live criteria × repositories | wrong verdicts |")
print("|---|---|---|---|---|")
print(f"| lab 1 with evidence | 30 (10 good, 10 missing, 10 bad) | {seconds:.1f} | {judged} | {len(wrong)} |\n")
print("| evidence | pass→pass | fail→fail | pass→fail | fail→pass | skipped |")
print("|---|---|---|---|---|---|")
for kind, cell in table.items():
    skipped = sum(count for (want, got), count in cell.items() if got == "skip")
    print(f"| {kind} | {cell.get(('pass','pass'),0)} | {cell.get(('fail','fail'),0)} | {cell.get(('pass','fail'),0)} | {cell.get(('fail','pass'),0)} | {skipped} |")
for line in wrong:
    print(f"- WRONG: {line}")
PY
