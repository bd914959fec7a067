//! Evidence of live work, end to end with the real binary: a real Prometheus and Alertmanager run a
//! fast lab (the model mock, a stand-in node-exporter the test loads, promlab's webhook sink as
//! Discord); `promlab grade --record` saves the evidence of labs 1, 4 and 5; then `promlab grade
//! --class` grades a batch of repositories made from it (good, missing, edited verdict, edited data,
//! stale, mismatched), each with its reason.

use std::path::{Path, PathBuf};
use std::time::Duration;

use promlab::mock::Scenario;
use serde_json::Value;

use crate::support::binary::{Promlab, stderr};
use crate::support::containers;
use crate::support::eventually::eventually;
use crate::support::fs::{copy_tree, scratch};
use crate::support::lab_stack::{AlertingLab, LabFiles};
use crate::support::mock::RunningMock;
use crate::support::node_cpu::LoadedCpu;
use crate::support::sink::RunningSink;
use crate::support::{free_port, skip};

/// The webhook token Alertmanager posts with, which no evidence file may hold.
const TOKEN: &str = "s3cr3t-webhook-t0ken";

/// The judges' images `promlab grade` runs for the static checks, passed on by their variables.
const JUDGES: [containers::Pin; 2] = [containers::PROMETHEUS_IMAGE, containers::ALERTMANAGER_IMAGE];

fn promlab(args: &[&str]) -> std::process::Output {
    let mut promlab = Promlab::new().args_slice(args);
    for pin in JUDGES {
        if let Ok(reference) = containers::image(pin) {
            promlab = promlab.env(pin.variable, &reference);
        }
    }
    promlab.output()
}

/// A lab generated into `dir` with fast timings: scraped and evaluated every second, `ModelResultHigh`
/// after 2 s, `NodeCpuHigh` after 5 s over a 4 s window, Alertmanager grouping in a second.
fn fast_lab(dir: &Path, mock: &str, node: &str, ports: (u16, u16)) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("the test's folder");
    let nowhere = format!("127.0.0.1:{}", free_port());
    let config = format!(
        "scrape_interval: 1s\nevaluation_interval: 1s\nmodel: {{threshold: 0.9, for: 2s}}\ntarget_down: {{for: 1h}}\n\
         node: {{cpu_threshold: 0.8, for: 5s, window: 4s}}\n\
         alertmanager: {{group_wait: 1s, group_interval: 2s, repeat_interval: 1h}}\n\
         targets:\n  prometheus: 127.0.0.1:{}\n  model_mock: {mock}\n  forecaster: {nowhere}\n  \
         node_exporter: {node}\n  alertmanager: 127.0.0.1:{}\n",
        ports.0, ports.1
    );
    std::fs::write(dir.join("promlab.yaml"), config).expect("the test's folder");
    let output = Promlab::new()
        .args(["generate", "--out", &dir.display().to_string()])
        .args(["--config", &dir.join("promlab.yaml").display().to_string()])
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("{} cannot be read: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).expect("JSON"))
        .expect("the test's folder");
}

/// Records lab `lab`'s evidence of `repo` into `file` (relative to the current directory).
fn record(lab: u8, repo: &Path, file: &Path, urls: &[&str]) {
    let lab = lab.to_string();
    let dir = repo.display().to_string();
    let file = file.display().to_string();
    let mut args = vec!["grade", "--lab", &lab, "--dir", &dir, "--format", "json"];
    args.extend_from_slice(urls);
    args.extend_from_slice(&["--record", &file]);
    let output = promlab(&args);
    assert!(
        Path::new(&file).is_file(),
        "lab {lab}: no evidence written: {}",
        stderr(&output)
    );
}

/// The class report's live outcomes: (student, criterion) -> (status, message, fix).
fn class_outcomes(
    lab: u8,
    class: &Path,
    window: &[&str],
) -> std::collections::BTreeMap<(String, String), (String, String, String)> {
    let lab = lab.to_string();
    let class = class.display().to_string();
    let mut args = vec![
        "grade", "--lab", &lab, "--class", &class, "--format", "json",
    ];
    args.extend_from_slice(window);
    let output = promlab(&args);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("a JSON report ({error}): {}", stderr(&output)));
    let mut outcomes = std::collections::BTreeMap::new();
    for student in report["students"].as_array().expect("students") {
        for result in student["results"].as_array().expect("results") {
            let text = |key: &str| result[key].as_str().unwrap_or_default().to_owned();
            outcomes.insert(
                (
                    student["student"].as_str().expect("a name").to_owned(),
                    text("id"),
                ),
                (text("status"), text("message"), text("fix")),
            );
        }
    }
    outcomes
}

/// A copy of `repo` as student `name` of `class`.
fn student(class: &Path, name: &str, repo: &Path) -> PathBuf {
    let copy = class.join(name);
    copy_tree(repo, &copy);
    copy
}

/// The unix seconds of an RFC 3339 time.
fn seconds(rfc3339: &str) -> i64 {
    let at = humantime::parse_rfc3339(rfc3339).expect("an RFC 3339 time");
    i64::try_from(
        at.duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("a time")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_stack_records_evidence_and_a_class_is_graded_from_it() {
    let test = "a_running_stack_records_evidence_and_a_class_is_graded_from_it";
    let mock = RunningMock::start(Scenario::Steady, Duration::from_secs(1), 5).await;
    let cpu = LoadedCpu::start().await;
    let sink = RunningSink::start().await;
    let root = scratch("evidence/live");
    let repo = root.join("repo");
    let ports = (free_port(), free_port());
    fast_lab(
        &repo,
        &mock.address.to_string(),
        &cpu.address.to_string(),
        ports,
    );
    let lab =
        match AlertingLab::start(ports, &LabFiles::read(&repo), &sink.webhook_url(TOKEN)).await {
            Ok(lab) => lab,
            Err(missing) => return skip(test, &missing),
        };
    drive(&lab, &mock, &cpu, &sink).await;

    let prometheus_url = format!("http://127.0.0.1:{}", ports.0);
    let alertmanager_url = format!("http://127.0.0.1:{}", ports.1);
    let sink_url = sink.url();
    let urls = [
        "--prometheus-url",
        prometheus_url.as_str(),
        "--alertmanager-url",
        alertmanager_url.as_str(),
        "--sink-url",
        sink_url.as_str(),
    ];
    // An early recording of lab 5, before the assignment's window opens.
    let early = root.join("early-lab-5.json");
    record(5, &repo, &early, &urls);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for lab_number in [1, 4, 5] {
        record(
            lab_number,
            &repo,
            &repo.join(format!("evidence/lab-{lab_number}.json")),
            &urls,
        );
    }
    drop(lab);

    let pending = check_lab_5_evidence(&repo);
    grade_the_batch(&root, &repo, &early, pending);
    labs_1_and_4_grade_from_their_evidence(&root, &repo);
}

/// The live work: the model alert fires and resolves (lab 4), the CPUs are loaded until `NodeCpuHigh`
/// fires, then unloaded until it resolves (lab 5), and Alertmanager notifies each.
async fn drive(lab: &AlertingLab, mock: &RunningMock, cpu: &LoadedCpu, sink: &RunningSink) {
    let up = |result: &[Value]| result.first().is_some_and(|s| s["value"][1] == "1");
    for job in ["model_mock", "node_exporter", "alertmanager"] {
        lab.prometheus
            .wait_for(&format!("up{{job=\"{job}\"}}"), Duration::from_secs(30), up)
            .await;
    }
    let alert =
        |name: &str, state: &str| format!("ALERTS{{alertname=\"{name}\", alertstate=\"{state}\"}}");
    let any = |result: &[Value]| !result.is_empty();
    let none = |result: &[Value]| result.is_empty();
    // Lab 4: the model alert fires and resolves, two notifications.
    mock.switch("spike").await;
    lab.prometheus
        .wait_for(
            &alert("ModelResultHigh", "firing"),
            Duration::from_secs(60),
            any,
        )
        .await;
    // Notified before it resolves (a group resolved within its group_wait sends nothing).
    sink.wait_for(1).await;
    mock.switch("steady").await;
    // Lab 5: the CPUs loaded until NodeCpuHigh fires, then unloaded until it resolves.
    cpu.load(true);
    lab.prometheus
        .wait_for(
            &alert("NodeCpuHigh", "pending"),
            Duration::from_secs(60),
            any,
        )
        .await;
    lab.prometheus
        .wait_for(
            &alert("NodeCpuHigh", "firing"),
            Duration::from_secs(60),
            any,
        )
        .await;
    sink.wait_for(3).await;
    cpu.load(false);
    lab.prometheus
        .wait_for(
            "ALERTS{alertname=\"NodeCpuHigh\"}",
            Duration::from_secs(60),
            none,
        )
        .await;
    // Both alerts' firing and resolved messages.
    eventually(
        "Alertmanager sends 4 notifications",
        Duration::from_secs(60),
        || {
            lab.alertmanager_metric(
                "alertmanager_notifications_total",
                "integration=\"discord\"",
            )
        },
        |sent| *sent >= 4.0,
    )
    .await;
    lab.prometheus
        .wait_for(
            "rate(model_predictions_total[1m]) > 0",
            Duration::from_secs(30),
            any,
        )
        .await;
}

/// What lab 5's evidence holds; the first time `NodeCpuHigh` went pending (unix ms).
fn check_lab_5_evidence(repo: &Path) -> i64 {
    let evidence_file = repo.join("evidence/lab-5.json");
    let recorded = std::fs::read_to_string(&evidence_file).expect("the evidence");
    assert!(
        !recorded.contains(TOKEN),
        "the webhook token is in the evidence"
    );
    let evidence: Value = serde_json::from_str(&recorded).expect("JSON evidence");
    assert_eq!(evidence["format"], "promlab-evidence/1");
    assert_eq!(evidence["lab"], 5);
    assert!(
        evidence["promlab_version"]
            .as_str()
            .is_some_and(|v| v.starts_with(env!("CARGO_PKG_VERSION"))),
        "{}",
        evidence["promlab_version"]
    );
    let files = evidence["files"].as_object().expect("files");
    let node_rules = std::fs::read(repo.join("prometheus/rules/node.yml")).expect("node.yml");
    assert_eq!(
        files["prometheus/rules/node.yml"],
        promlab::fs::sha256(&node_rules)
    );
    for path in [
        "alertmanager/alertmanager.yml",
        "compose/compose.yaml",
        "promlab.yaml",
    ] {
        assert!(files.contains_key(path), "{path} is not hashed: {files:?}");
    }
    let history = evidence["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|h| h["alert"] == "NodeCpuHigh")
        .expect("NodeCpuHigh's history");
    let first = |state: &str| {
        history["alerts"]["series"]
            .as_array()
            .expect("series")
            .iter()
            .filter(|s| s["labels"]["alertstate"] == state)
            .filter_map(|s| s["samples"][0][0].as_i64())
            .min()
            .unwrap_or_else(|| panic!("no {state} sample: {history:#}"))
    };
    let (pending, firing) = (first("pending"), first("firing"));
    assert!(
        firing - pending >= 5000,
        "fired {} ms after pending",
        firing - pending
    );
    let measure = &history["measure"];
    assert!(
        measure["query"]
            .as_str()
            .is_some_and(|q| q.contains("node_cpu_seconds_total") && !q.contains("> 0.8")),
        "{measure}"
    );
    let busy: Vec<f64> = measure["series"][0]["samples"]
        .as_array()
        .expect("the busy ratio's samples")
        .iter()
        .filter_map(|s| s[1].as_str()?.parse().ok())
        .collect();
    assert!(
        busy.iter().any(|&b| b > 0.9) && busy.iter().any(|&b| b < 0.1),
        "the busy ratio rose and fell: {busy:?}"
    );
    assert!(
        evidence["notifications"]["discord"]["sent"]
            .as_f64()
            .is_some_and(|sent| sent >= 4.0),
        "{}",
        evidence["notifications"]
    );
    let messages = evidence["messages"].as_array().expect("messages");
    assert!(
        messages
            .iter()
            .any(|m| m.to_string().contains("NodeCpuHigh")),
        "the sink's messages name the alert: {messages:?}"
    );
    for criterion in evidence["criteria"].as_array().expect("criteria") {
        assert_eq!(criterion["status"], "pass", "{criterion:#}");
    }
    pending
}

/// The class folder: a student per case, each a copy of `repo` with its evidence as the case says.
fn make_batch(root: &Path, repo: &Path, early: &Path, pending: i64) -> PathBuf {
    // The batch.
    let class = root.join("class");
    let _ = std::fs::remove_dir_all(&class);
    student(&class, "good", repo);
    let missing = student(&class, "missing", repo);
    std::fs::remove_file(missing.join("evidence/lab-5.json")).expect("the copy");
    // A verdict flipped by hand.
    let flipped = student(&class, "edited-verdict", repo);
    let mut edited = read_json(&flipped.join("evidence/lab-5.json"));
    for criterion in edited["criteria"].as_array_mut().expect("criteria") {
        if criterion["id"] == "node-up" {
            criterion["status"] = "fail".into();
        }
    }
    write_json(&flipped.join("evidence/lab-5.json"), &edited);
    // Raw data altered: the firing samples moved to a second after the alert went pending.
    let moved = student(&class, "edited-data", repo);
    let mut edited = read_json(&moved.join("evidence/lab-5.json"));
    for history in edited["alerts"].as_array_mut().expect("alerts") {
        for series in history["alerts"]["series"].as_array_mut().expect("series") {
            if series["labels"]["alertstate"] == "firing" {
                let samples = series["samples"].as_array_mut().expect("samples");
                for (index, sample) in samples.iter_mut().enumerate() {
                    sample[0] =
                        (pending + 1000 + 1000 * i64::try_from(index).expect("an index")).into();
                }
            }
        }
    }
    write_json(&moved.join("evidence/lab-5.json"), &edited);
    // Recorded before the window opened.
    let stale = student(&class, "stale", repo);
    std::fs::copy(early, stale.join("evidence/lab-5.json")).expect("the early evidence");
    // The rule changed after recording.
    let changed = student(&class, "mismatched", repo);
    let rules = changed.join("prometheus/rules/node.yml");
    let written = std::fs::read_to_string(&rules).expect("node.yml");
    assert!(written.contains("for: 5s"), "{written}");
    std::fs::write(&rules, written.replace("for: 5s", "for: 1s")).expect("node.yml");
    class
}

/// A batch made from the recording: good, missing, edited verdict, edited data, stale, mismatched.
fn grade_the_batch(root: &Path, repo: &Path, early: &Path, pending: i64) {
    let evidence = read_json(&repo.join("evidence/lab-5.json"));
    let class = make_batch(root, repo, early, pending);
    let recorded_at = evidence["recorded_at"].as_str().expect("recorded_at");
    let early_at = read_json(early)["recorded_at"]
        .as_str()
        .expect("recorded_at")
        .to_owned();
    let since = (seconds(&early_at) + 1).to_string();
    assert!(
        seconds(recorded_at) > seconds(&early_at),
        "{recorded_at} {early_at}"
    );
    let outcomes = class_outcomes(5, &class, &["--since", &since, "--until", "now"]);
    let live = ["node-up", "cpu-alert-fired", "delivered"];
    let outcome = |name: &str, id: &str| {
        outcomes
            .get(&(name.to_owned(), id.to_owned()))
            .unwrap_or_else(|| panic!("{name} {id} is not graded: {outcomes:#?}"))
            .clone()
    };
    for id in live {
        let (status, message, _) = outcome("good", id);
        assert_eq!(status, "pass", "good {id}: {message}");
        assert!(message.contains("evidence/lab-5.json"), "{message}");
    }
    let expectations: [(&str, &str, &str); 5] = [
        (
            "missing",
            "evidence/lab-5.json is missing",
            "--record evidence/lab-5.json",
        ),
        (
            "stale",
            "before the assignment opened",
            "inside the assignment's dates",
        ),
        (
            "mismatched",
            "prometheus/rules/node.yml (changed since)",
            "after your last change",
        ),
        (
            "edited-data",
            "sooner than its rule's for: 5 s",
            "never edited by hand",
        ),
        (
            "edited-verdict",
            "its own data says pass",
            "never edited by hand",
        ),
    ];
    for (name, reason, fix) in expectations {
        for id in live {
            let (status, message, given_fix) = outcome(name, id);
            if name == "edited-verdict" && id != "node-up" {
                assert_eq!(
                    status, "pass",
                    "{name} {id}: only node-up was flipped: {message}"
                );
                continue;
            }
            assert_eq!(status, "fail", "{name} {id}: {message}");
            assert!(message.contains(reason), "{name} {id}: {message}");
            assert!(given_fix.contains(fix), "{name} {id}: {given_fix}");
        }
    }
    one_repository_from_its_evidence(&class, &since, &outcomes);
    let (_, message, _) = outcome("mismatched", "node-up");
    assert!(
        message.contains("the rule NodeCpuHigh recorded") && message.contains("for 1s"),
        "{message}"
    );
}

/// Labs 1 and 4 from the same stack: every live criterion passes from the evidence.
fn labs_1_and_4_grade_from_their_evidence(root: &Path, repo: &Path) {
    for (lab_number, ids) in [
        (
            1,
            vec!["mock-up", "gauge", "counter", "histogram", "summary"],
        ),
        (4, vec!["delivered", "alertmanager-up"]),
    ] {
        let class = root.join(format!("class-{lab_number}"));
        let _ = std::fs::remove_dir_all(&class);
        student(&class, "good", repo);
        let outcomes = class_outcomes(lab_number, &class, &[]);
        for id in ids {
            let (status, message, _) = outcomes
                .get(&("good".to_owned(), id.to_owned()))
                .unwrap_or_else(|| panic!("lab {lab_number} {id}: {outcomes:#?}"))
                .clone();
            assert_eq!(status, "pass", "lab {lab_number} {id}: {message}");
        }
    }
}

/// `--from-evidence` grades one repository's live criteria exactly as `--class` grades them in the batch.
fn one_repository_from_its_evidence(
    class: &Path,
    since: &str,
    batch: &std::collections::BTreeMap<(String, String), (String, String, String)>,
) {
    for name in ["good", "missing", "stale", "edited-verdict"] {
        let dir = class.join(name).display().to_string();
        let output = promlab(&[
            "grade",
            "--lab",
            "5",
            "--dir",
            &dir,
            "--from-evidence",
            "--since",
            since,
            "--format",
            "json",
        ]);
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{name}: a JSON report ({error}): {}", stderr(&output)));
        for id in ["node-up", "cpu-alert-fired", "delivered"] {
            let result = report["results"]
                .as_array()
                .expect("results")
                .iter()
                .find(|result| result["id"] == id)
                .unwrap_or_else(|| panic!("{name}: no {id} in {report}"));
            let (status, message, _) = &batch[&(name.to_owned(), id.to_owned())];
            assert_eq!(result["status"], status.as_str(), "{name} {id}: {result}");
            assert_eq!(result["message"], message.as_str(), "{name} {id}: {result}");
        }
    }
}
