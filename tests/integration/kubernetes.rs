//! `generate --target kubernetes`: the committed manifests are what the lab config produces, the
//! upstream schemas accept them (core kinds: `kubernetes-validate`; the operator's kinds: their CRDs'
//! schemas), and the rules extracted from the `PrometheusRule`s pass promtool's checks and the lab's
//! rule tests. No cluster runs here: README.md lists what a first run on one must check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::time::Duration;

use promlab::mock::Scenario;

use crate::require;
use crate::support::binary::{Promlab, stderr};
use crate::support::containers::Prometheus;
use crate::support::fs::{copy_tree, open_to_containers, scratch};
use crate::support::mock::RunningMock;
use crate::support::{Missing, containers, fixture, free_port, skip};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The Kubernetes version whose schemas judge the core kinds (the oldest the manifests aim at).
const KUBERNETES_VERSION: &str = "1.30.0";

fn committed() -> PathBuf {
    Path::new(ROOT).join("deploy/kubernetes")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the manifests' folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn python_with_judges() -> Result<PathBuf, Missing> {
    let python = Path::new(ROOT).join("target/promlab-py/bin/python");
    let works = std::process::Command::new(&python)
        .args(["-c", "import kubernetes_validate, jsonschema, yaml"])
        .output()
        .is_ok_and(|output| output.status.success());
    if works {
        Ok(python)
    } else {
        Err(Missing(
            "no Python with kubernetes-validate and jsonschema (.ci/run installs them into target/promlab-py)"
                .to_owned(),
        ))
    }
}

/// The judge's verdict on every object of `files`: (success, each object's line).
fn judge(python: &Path, files: &[PathBuf]) -> (bool, Vec<String>) {
    let output = std::process::Command::new(python)
        .arg(Path::new(ROOT).join("tests/k8s_judge.py"))
        .arg(fixture("k8s-crds"))
        .arg(KUBERNETES_VERSION)
        .args(files)
        .output()
        .expect("python runs");
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "the judge crashed: {}",
        stderr(&output)
    );
    (output.status.success(), lines)
}

fn kinds(lines: &[String]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for line in lines {
        let kind = line.split(' ').nth(1).unwrap_or_default().to_owned();
        *kinds.entry(kind).or_insert(0) += 1;
    }
    kinds
}

fn generate_classroom(roster: &str, out: &Path) -> std::process::Output {
    let roster_path = out.with_extension("csv");
    std::fs::write(&roster_path, roster).expect("the scratch folder is writable");
    Promlab::new()
        .args(["generate", "--target", "kubernetes", "--out"])
        .args_slice(&[&out.display().to_string(), "--students"])
        .args_slice(&[&roster_path.display().to_string()])
        .output()
}

#[test]
fn the_committed_manifests_match_the_lab_config() {
    let output = Promlab::new()
        .args(["generate", "--check", "--target", "kubernetes", "--out"])
        .args_slice(&[&committed().display().to_string()])
        .args([
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/promlab.yaml"),
        ])
        .output();
    assert!(
        output.status.success(),
        "run `promlab generate --config promlab.yaml --target kubernetes --out deploy/kubernetes` and commit: {}",
        stderr(&output)
    );
    // And the check sees an edited manifest.
    let out = scratch("kubernetes-drift");
    copy_tree(&committed(), &out);
    std::fs::write(out.join("forecaster.yaml"), "kind: Edited\n").unwrap();
    let drifted = Promlab::new()
        .args(["generate", "--check", "--target", "kubernetes", "--out"])
        .args_slice(&[&out.display().to_string()])
        .args([
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/promlab.yaml"),
        ])
        .output();
    assert_eq!(drifted.status.code(), Some(1));
    assert!(
        stderr(&drifted).contains("forecaster.yaml"),
        "{}",
        stderr(&drifted)
    );
}

#[test]
fn the_upstream_schemas_accept_the_lab_and_the_classroom() {
    let test = "the_upstream_schemas_accept_the_lab_and_the_classroom";
    let python = match python_with_judges() {
        Ok(python) => python,
        Err(missing) => return skip(test, &missing),
    };
    let (valid, lines) = judge(&python, &yaml_files(&committed()));
    assert!(valid, "{lines:#?}");
    let expected: BTreeMap<String, usize> = [
        ("AlertmanagerConfig", 1),
        ("ConfigMap", 3),
        ("Deployment", 2),
        ("Kustomization", 1),
        ("Namespace", 1),
        ("PrometheusRule", 4),
        ("Service", 3),
        ("ServiceMonitor", 3),
        ("StatefulSet", 1),
    ]
    .into_iter()
    .map(|(kind, count)| (kind.to_owned(), count))
    .collect();
    assert_eq!(kinds(&lines), expected, "{lines:#?}");

    let out = scratch("kubernetes-classroom");
    let generated = generate_classroom(
        "student,namespace\nAda Lovelace,lab-ada\n\"Hopper, Grace\",lab-grace\n",
        &out,
    );
    assert!(generated.status.success(), "{}", stderr(&generated));
    let (valid, lines) = judge(&python, &yaml_files(&out));
    assert!(valid, "{lines:#?}");
    let classroom = kinds(&lines);
    assert_eq!(classroom["NetworkPolicy"], 4, "{lines:#?}");
    assert_eq!(classroom["Namespace"], 2, "{lines:#?}");
    assert_eq!(classroom["Kustomization"], 3, "{lines:#?}");

    // The judge is strict: a misspelt field of either family is refused, naming it.
    let broken = scratch("kubernetes-broken");
    for (file, from, to, field) in [
        (
            "model-mock.yaml",
            "  replicas: 1",
            "  replica: 1",
            "replica",
        ),
        (
            "servicemonitors.yaml",
            "honorLabels:",
            "honourLabels:",
            "honourLabels",
        ),
    ] {
        let manifest = std::fs::read_to_string(committed().join(file)).unwrap();
        assert!(manifest.contains(from), "{file} has {from:?}");
        let path = broken.join(file);
        std::fs::write(&path, manifest.replacen(from, to, 1)).unwrap();
        let (valid, lines) = judge(&python, &[path]);
        assert!(!valid, "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("INVALID") && l.contains(field)),
            "{lines:#?}"
        );
    }
}

/// The `groups` of a `PrometheusRule` as a rule file, as `kubectl get prometheusrule -o yaml` would
/// give them back to Prometheus.
fn extracted(manifest: &Path) -> String {
    let object: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(manifest).expect("a manifest"))
            .expect("YAML");
    assert_eq!(object["kind"], "PrometheusRule", "{}", manifest.display());
    serde_yaml_ng::to_string(&object["spec"]).expect("YAML")
}

fn promtool(test: &str, dir: &Path, args: &[&str]) -> Option<String> {
    let output = match containers::tool(containers::PROMETHEUS_IMAGE, "promtool", dir, args) {
        Ok(output) => output,
        Err(missing) => {
            skip(test, &missing);
            return None;
        }
    };
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(output.status.success(), "promtool {args:?}: {printed}");
    Some(printed)
}

#[test]
fn the_rules_extracted_from_the_prometheus_rules_pass_the_lab_rule_tests() {
    let test = "the_rules_extracted_from_the_prometheus_rules_pass_the_lab_rule_tests";
    let dir = scratch("kubernetes-rules");
    let mut tests = Vec::new();
    for manifest in yaml_files(&committed().join("rules")) {
        let name = manifest.file_stem().unwrap().to_string_lossy().into_owned();
        std::fs::write(dir.join(format!("{name}.yml")), extracted(&manifest)).unwrap();
        // The compose lab's test of the same rule file, unchanged: it names `{name}.yml`.
        let rule_test = format!("{name}.test.yml");
        std::fs::copy(
            Path::new(ROOT).join("prometheus/rules").join(&rule_test),
            dir.join(&rule_test),
        )
        .unwrap();
        tests.push(rule_test);
    }
    assert_eq!(tests.len(), 4);
    // The classroom's scoped rules are checked too (their tests would need a namespace label).
    let class = scratch("kubernetes-rules-classroom");
    let generated = generate_classroom("student,namespace\nAda,lab-ada\n", &class);
    assert!(generated.status.success(), "{}", stderr(&generated));
    std::fs::write(
        dir.join("student.yml"),
        extracted(&class.join("lab-ada/rules.yaml")),
    )
    .unwrap();
    open_to_containers(&dir);

    let mut files: Vec<String> = tests.iter().map(|t| t.replace(".test", "")).collect();
    files.push("student.yml".to_owned());
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let Some(checked) = promtool(test, &dir, &args) else {
        return;
    };
    assert_eq!(checked.matches("SUCCESS").count(), 5, "{checked}");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    promtool(test, &dir, &args);
}

#[test]
fn a_bad_roster_is_refused_naming_the_line_and_the_fix() {
    let out = scratch("kubernetes-bad-roster");
    let output = generate_classroom("student,namespace\nAda,lab-ada\nBob,Lab_Bob\n", &out);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("line 3"), "{message}");
    assert!(
        message.contains("lowercase letters, digits and '-'"),
        "{message}"
    );
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing written"
    );
}

/// The grade of one live criterion of lab 1 for a namespace: (status, message).
fn live_grade(prometheus: u16, namespace: &str, id: &str) -> (String, String) {
    let output = Promlab::new()
        .args(["grade", "--lab", "1", "--format", "json", "--dir", ROOT])
        .args_slice(&[
            "--prometheus-url",
            &format!("http://127.0.0.1:{prometheus}"),
        ])
        .args_slice(&["--kubernetes", namespace])
        .output();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("a JSON report ({error}): {}", stderr(&output)));
    let result = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|result| result["id"] == id)
        .unwrap_or_else(|| panic!("no criterion {id}: {report}"));
    let text = |key: &str| result[key].as_str().unwrap_or_default().to_owned();
    (text("status"), text("message"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grading_a_namespace_reads_only_that_students_series() {
    let test = "grading_a_namespace_reads_only_that_students_series";
    // Two students' mocks as the cluster's Prometheus sees them: lab-ada's answers, lab-bob's is down.
    let mock = RunningMock::start(Scenario::Steady, Duration::from_secs(1), 7).await;
    let down = free_port();
    let port = free_port();
    let scrape = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: model_mock\n    static_configs:\n\
         \x20     - targets: ['{}']\n        labels: {{namespace: lab-ada}}\n\
         \x20     - targets: ['127.0.0.1:{down}']\n        labels: {{namespace: lab-bob}}\n",
        mock.address
    );
    let prometheus = require!(test, Prometheus::start_with(port, &scrape, &[]).await);
    prometheus
        .wait_for("up", Duration::from_secs(30), |result| {
            result.len() == 2 && result.iter().any(|series| series["value"][1] == "1")
        })
        .await;
    prometheus
        .wait_for("model_result", Duration::from_secs(30), |r| !r.is_empty())
        .await;

    let (status, message) = live_grade(port, "lab-ada", "mock-up");
    assert_eq!(status, "pass", "{message}");
    let (status, message) = live_grade(port, "lab-ada", "gauge");
    assert_eq!(status, "pass", "{message}");
    // Unscoped, lab-ada's series would pass lab-bob's criteria: scoped, they fail.
    let (status, message) = live_grade(port, "lab-bob", "mock-up");
    assert_eq!(status, "fail", "{message}");
    assert!(message.contains("down"), "{message}");
    let (status, message) = live_grade(port, "lab-bob", "gauge");
    assert_eq!(status, "fail", "{message}");
    assert!(message.contains(r#"namespace="lab-bob""#), "{message}");
}
