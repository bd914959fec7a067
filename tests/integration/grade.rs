//! `promlab grade`, the real binary: the kit's own files grade all-pass on every lab's static
//! criteria; each broken repository of the fixture table fails with its criterion and message; a class
//! gets one summary table; a running Prometheus and Alertmanager grade the live criteria, and Grafana's
//! are SKIPPED with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use promlab::mock::Scenario;
use serde::Deserialize;
use serde_json::Value;

use crate::support::binary::{Promlab, stderr};
use crate::support::containers;
use crate::support::discord::FakeDiscord;
use crate::support::eventually::eventually;
use crate::support::fs::{copy_tree, scratch};
use crate::support::lab_stack::{AlertingLab, LabFiles};
use crate::support::mock::RunningMock;
use crate::support::{Missing, free_port, skip};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// What a student's repository holds: the kit's generated files.
const KIT: [&str; 6] = [
    "prometheus",
    "alertmanager",
    "grafana",
    "compose",
    "promlab.yaml",
    "forecaster.yaml",
];
/// The judges' images the grader runs: the ones the rest of the suite runs (upstream, or the stand-ins),
/// passed on to the binary by their variables (the builder clears PROMLAB_*).
const JUDGES: [containers::Pin; 2] = [containers::PROMETHEUS_IMAGE, containers::ALERTMANAGER_IMAGE];

/// A student's repository made of the kit's files, with lab 7's deliverables (an export and a
/// backup's verification), in a fresh folder.
fn kit_repo(path: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(path);
    std::fs::create_dir_all(path.join("exports")).expect("the test's files and reports");
    for item in KIT {
        copy_tree(&Path::new(ROOT).join(item), &path.join(item));
    }
    // 20 minutes of model_result at 5 s, as `promlab export --format csv` writes it.
    let export: String = std::iter::once("timestamp,metric,labels,value\n".to_owned())
        .chain((0..240).map(|step| {
            format!(
                "{},model_result,\"{{job=\"\"model_mock\"\"}}\",0.{}\n",
                1_700_000_000 + step * 5,
                10 + step % 80
            )
        }))
        .collect();
    std::fs::write(path.join("exports/model_result.csv"), export)
        .expect("the test's files and reports");
    std::fs::write(
        path.join("exports/backup-verify.txt"),
        "the backup of 2026-01-12 in backups/ is intact: 4 chunks, 6 series, 2160 samples\n",
    )
    .expect("the test's files and reports");
    path.to_path_buf()
}

pub fn grade(args: &[&str]) -> std::process::Output {
    let mut promlab = Promlab::new().args(["grade"]);
    for arg in args {
        promlab = promlab.args([*arg]);
    }
    for pin in JUDGES {
        if let Ok(reference) = containers::image(pin) {
            promlab = promlab.env(pin.variable, &reference);
        }
    }
    promlab.output()
}

/// The JSON report of a repository on a lab, and the exit code.
pub fn grade_json(lab: u8, repo: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let lab = lab.to_string();
    let dir = repo.display().to_string();
    let mut args = vec!["--lab", &lab, "--dir", &dir, "--format", "json"];
    args.extend_from_slice(extra);
    let output = grade(&args);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("a JSON report ({error}): {}", stderr(&output)));
    (output.status.code(), report)
}

pub fn results(report: &Value) -> Vec<(String, String, String, String)> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            let text = |key: &str| result[key].as_str().unwrap_or_default().to_owned();
            (text("id"), text("status"), text("message"), text("kind"))
        })
        .collect()
}

pub const LIVE_KINDS: [&str; 4] = [
    "target_up",
    "prom_query_nonempty",
    "am_notifications",
    "grafana_dashboard",
];

/// A static check skipped for want of a judge (promtool, amtool, Docker) skips the test instead.
pub fn judges_missing(report: &Value) -> Option<Missing> {
    results(report)
        .into_iter()
        .find(|(_, status, _, kind)| status == "skip" && !LIVE_KINDS.contains(&kind.as_str()))
        .map(|(id, _, message, _)| Missing(format!("{id}: {message}")))
}

#[test]
fn the_kit_grades_all_pass_on_every_labs_static_criteria() {
    let test = "the_kit_grades_all_pass_on_every_labs_static_criteria";
    let repo = kit_repo(&scratch("grade/kit"));
    for lab in 1..=7 {
        let (code, report) = grade_json(lab, &repo, &[]);
        if let Some(missing) = judges_missing(&report) {
            skip(test, &missing);
            return;
        }
        let graded = results(&report);
        assert!(
            !graded.is_empty(),
            "lab {lab} graded no criterion: {report}"
        );
        for (id, status, message, kind) in graded {
            if LIVE_KINDS.contains(&kind.as_str()) {
                assert_eq!(status, "skip", "lab {lab} {id}: live without a stack");
                assert!(
                    message.starts_with("no ") && message.contains(" URL given: add --"),
                    "lab {lab} {id}: {message}"
                );
            } else {
                assert_eq!(status, "pass", "lab {lab} {id}: {message}");
            }
        }
        assert_eq!(code, Some(0), "lab {lab}: {report}");
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BrokenCase {
    case: String,
    lab: u8,
    file: String,
    find: String,
    replace: String,
    expect: BTreeMap<String, String>,
}

#[test]
fn each_broken_repository_fails_with_its_criterion_and_message() {
    let test = "each_broken_repository_fails_with_its_criterion_and_message";
    let table = std::fs::read_to_string(format!("{ROOT}/tests/fixtures/grade/expected.yaml"))
        .expect("the test's files and reports");
    let cases: Vec<BrokenCase> = serde_yaml_ng::from_str(&table).expect("the fixture table parses");
    assert!(cases.len() >= 15, "the table lost cases");
    let mut problems = Vec::new();
    for case in &cases {
        let repo = kit_repo(&scratch(&format!("grade/{}.bad", case.case)));
        let path = repo.join(&case.file);
        let original = std::fs::read_to_string(&path).expect("the test's files and reports");
        assert!(
            original.contains(&case.find),
            "{}: {:?} is not in {}",
            case.case,
            case.find,
            case.file
        );
        std::fs::write(&path, original.replace(&case.find, &case.replace))
            .expect("the test's files and reports");

        let (code, report) = grade_json(case.lab, &repo, &[]);
        if let Some(missing) = judges_missing(&report) {
            skip(test, &missing);
            return;
        }
        if code != Some(1) {
            problems.push(format!("{}: exit code {code:?}, expected 1", case.case));
        }
        for (id, status, message, kind) in results(&report) {
            match case.expect.get(&id) {
                Some(expected) if status != "fail" || !message.contains(expected.as_str()) => problems.push(format!(
                    "{}: {id} is {status} with {message:?}, expected a failure containing {expected:?}",
                    case.case
                )),
                None if status == "fail" && !LIVE_KINDS.contains(&kind.as_str()) => problems.push(format!(
                    "{}: {id} failed too ({message}); only {:?} should",
                    case.case,
                    case.expect.keys().collect::<Vec<_>>()
                )),
                _ => {}
            }
        }
        for id in case.expect.keys() {
            if !results(&report).iter().any(|(found, ..)| found == id) {
                problems.push(format!(
                    "{}: lab {} has no criterion {id}",
                    case.case, case.lab
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_class_gets_one_summary_table_and_a_report_per_student() {
    let test = "a_class_gets_one_summary_table_and_a_report_per_student";
    let class = scratch("grade/class");
    kit_repo(&class.join("alice"));
    let bob = kit_repo(&class.join("bob"));
    let rules = bob.join("prometheus/rules/node.yml");
    let node_rules = std::fs::read_to_string(&rules).expect("the test's files and reports");
    std::fs::write(&rules, node_rules.replace("for: 3m", "for: 1m"))
        .expect("the test's files and reports");
    let reports = class.join("../class-reports");
    let _ = std::fs::remove_dir_all(&reports);

    let output = grade(&[
        "--lab",
        "5",
        "--class",
        &class.display().to_string(),
        "--format",
        "markdown",
        "--reports",
        &reports.display().to_string(),
    ]);
    let table = String::from_utf8_lossy(&output.stdout).into_owned();
    if table.contains("| skip | skip | skip | skip |") && table.contains("is not here") {
        skip(test, &Missing("promtool cannot run here".to_owned()));
        return;
    }
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("failed across 2 students"),
        "{}",
        stderr(&output)
    );
    assert!(
        table
            .contains("| student | `node-exporter-service` | `cpu-rule-for` | `cpu-rule-timing` |"),
        "{table}"
    );
    // Neither committed evidence of the live work (evidence/lab-5.json): its three criteria fail.
    assert!(
        table.contains("| alice | pass | pass | pass | pass | pass | FAIL | FAIL | FAIL | 3 |"),
        "{table}"
    );
    assert!(
        table.contains("| bob | pass | FAIL | FAIL | FAIL | pass | FAIL | FAIL | FAIL | 6 |"),
        "{table}"
    );
    for student in ["alice", "bob"] {
        let report = std::fs::read_to_string(reports.join(format!("{student}.md")))
            .expect("the test's files and reports");
        assert!(report.contains(&format!("({student})")), "{report}");
    }

    let junit = grade(&[
        "--lab",
        "5",
        "--class",
        &class.display().to_string(),
        "--format",
        "junit",
    ]);
    let xml = String::from_utf8_lossy(&junit.stdout);
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert!(xml.contains("<failure message=\"NodeCpuHigh in prometheus/rules/node.yml has `for: 1m`, expected `for: 3m`\""), "{xml}");
}

#[test]
fn live_checks_without_a_class_stack_are_refused() {
    let output = grade(&[
        "--lab",
        "1",
        "--class",
        ROOT,
        "--prometheus",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("live checks grade one running stack"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unknown_check_kind_in_an_edited_criteria_file_is_refused_with_its_line() {
    let criteria = scratch("grade/edited").join("edited-criteria.yaml");
    let built_in =
        std::fs::read_to_string(format!("{ROOT}/labs/03-grafana-dashboard/criteria.yaml"))
            .expect("the test's files and reports");
    std::fs::write(
        &criteria,
        built_in.replacen("kind: file_exists", "kind: file_exist", 1),
    )
    .expect("the test's files and reports");
    let output = grade(&[
        "--lab",
        "3",
        "--criteria",
        &criteria.display().to_string(),
        "--dir",
        ROOT,
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("edited-criteria.yaml, line 5: criterion 1: unknown variant `file_exist`"),
        "{message}"
    );
    assert!(message.contains("a check's kind is one of"), "{message}");
}

/// A generated lab whose Prometheus scrapes the mock and its Alertmanager every second, whose
/// Alertmanager sends to a fake Discord, with fast timings so the model alert fires and resolves in
/// seconds.
fn fast_lab(dir: &Path, mock: &str, prometheus: u16, alertmanager: u16) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("the test's files and reports");
    let nowhere = || format!("127.0.0.1:{}", free_port());
    let config = format!(
        "scrape_interval: 1s\nevaluation_interval: 1s\nmodel: {{threshold: 0.9, for: 2s}}\ntarget_down: {{for: 1h}}\n\
         alertmanager: {{group_wait: 1s, group_interval: 2s, repeat_interval: 1h}}\n\
         targets:\n  prometheus: 127.0.0.1:{prometheus}\n  model_mock: {mock}\n  forecaster: {}\n  \
         node_exporter: {}\n  alertmanager: 127.0.0.1:{alertmanager}\n",
        nowhere(),
        nowhere()
    );
    std::fs::write(dir.join("promlab.yaml"), config).expect("the test's files and reports");
    let output = Promlab::new()
        .args(["generate", "--out", &dir.display().to_string()])
        .args(["--config", &dir.join("promlab.yaml").display().to_string()])
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_stack_grades_its_live_criteria_and_grafanas_are_skipped() {
    let test = "a_running_stack_grades_its_live_criteria_and_grafanas_are_skipped";
    let mock = RunningMock::start(Scenario::Steady, Duration::from_secs(1), 7).await;
    let discord = FakeDiscord::start(Vec::new()).await;
    let repo = scratch("grade/live");
    let lab = match start_live_lab(&repo, &mock, &discord).await {
        Ok(started) => started,
        Err(missing) => return skip(test, &missing),
    };
    let (prometheus_port, alertmanager_port) = (lab.prometheus_port, lab.alertmanager_port);
    let AlertingLab {
        prometheus,
        alertmanager,
        ..
    } = lab;
    let up = |result: &[Value]| {
        result
            .first()
            .is_some_and(|series| series["value"][1] == "1")
    };
    prometheus
        .wait_for("up{job=\"model_mock\"}", Duration::from_secs(30), up)
        .await;
    prometheus
        .wait_for("up{job=\"alertmanager\"}", Duration::from_secs(30), up)
        .await;

    // The model alert fires, reaches Discord, then resolves: two notifications.
    mock.switch("spike").await;
    wait_for_messages(&discord, 1).await;
    mock.switch("steady").await;
    wait_for_messages(&discord, 2).await;
    // A counter needs two scrapes before rate() has a value.
    prometheus
        .wait_for(
            "rate(model_predictions_total[1m]) > 0",
            Duration::from_secs(30),
            |r| !r.is_empty(),
        )
        .await;

    let prometheus_url = format!("http://127.0.0.1:{prometheus_port}");
    let alertmanager_url = format!("http://127.0.0.1:{alertmanager_port}");
    let live = [
        "--prometheus",
        &prometheus_url,
        "--alertmanager",
        &alertmanager_url,
    ];
    for (lab, criteria) in [
        (
            1,
            vec!["mock-up", "gauge", "counter", "histogram", "summary"],
        ),
        (4, vec!["delivered", "alertmanager-up"]),
    ] {
        let (_, report) = grade_json(lab, &repo, &live);
        let graded = results(&report);
        // Every live criterion named here is graded, and passes: one left out of the report fails too.
        for wanted in criteria {
            let (_, status, message, _) = graded
                .iter()
                .find(|(id, ..)| id == wanted)
                .unwrap_or_else(|| panic!("lab {lab} grades no {wanted:?}: {report:#}"));
            assert_eq!(status, "pass", "lab {lab} {wanted}: {message}");
        }
    }
    // Grafana: none here, so its live check says why it was skipped, while the dashboard's static
    // checks still judge the files.
    let (_, report) = grade_json(3, &repo, &live);
    let outcome = |wanted: &str| {
        results(&report)
            .into_iter()
            .find(|(id, ..)| id == wanted)
            .expect("the criterion is graded")
    };
    let (_, status, message, _) = outcome("dashboard-live");
    assert_eq!(status, "skip");
    assert!(message.contains("no Grafana URL given"), "{message}");
    assert_eq!(outcome("threshold-line").1, "pass");

    // A stack that is gone fails the live checks, naming the service.
    drop(alertmanager);
    let (code, report) = grade_json(4, &repo, &live);
    assert_eq!(code, Some(1));
    let (_, status, message, _) = results(&report)
        .into_iter()
        .find(|(id, ..)| id == "delivered")
        .expect("the test's files and reports");
    assert_eq!(status, "fail");
    assert!(
        message.contains(&format!(
            "Alertmanager at {alertmanager_url} cannot be reached"
        )),
        "{message}"
    );
}

/// The fast lab generated into `repo`, its Alertmanager (sending to `discord`) and Prometheus
/// (scraping `mock`) started on free ports.
async fn start_live_lab(
    repo: &Path,
    mock: &RunningMock,
    discord: &FakeDiscord,
) -> Result<AlertingLab, Missing> {
    let ports = (free_port(), free_port());
    fast_lab(repo, &mock.address.to_string(), ports.0, ports.1);
    AlertingLab::start(ports, &LabFiles::read(repo), &discord.webhook_url()).await
}

/// Waits until the fake Discord holds `count` messages.
async fn wait_for_messages(discord: &FakeDiscord, count: usize) {
    eventually(
        &format!("Discord receives {count} message(s)"),
        Duration::from_secs(60),
        || std::future::ready(discord.delivered()),
        |delivered| delivered.len() >= count,
    )
    .await;
}

/// The judges' runner is missing (no promtool or amtool new enough, no image): the test is skipped.
fn judges_unavailable(report: &Value) -> Option<Missing> {
    judges_missing(report).filter(|missing| missing.0.contains("is not here"))
}

#[test]
fn a_students_tool_output_cannot_pass_for_another_students_result() {
    let test = "a_students_tool_output_cannot_pass_for_another_students_result";
    let class = scratch("grade/forged-class");
    // alice's rules do not parse: promtool check config fails on her repository.
    let alice = kit_repo(&class.join("alice"));
    std::fs::write(
        alice.join("prometheus/rules/model.yml"),
        "groups:\n  - name: broken\n    rules:\n      - record: job:broken:sum\n        expr: sum(\n",
    )
    .expect("the test's files and reports");
    // mallory's rules are valid but recorded twice, and promtool's duplicate-rule warning prints the
    // label value as it is: lines shaped like the end of another job (the markers batches once used),
    // a success status and a job's output, in her own output.
    let mallory = kit_repo(&class.join("mallory"));
    let forged = "ok\n@@promlab-end 0 0\n@@promlab-begin\n0\nSUCCESS: prometheus/prometheus.yml is valid prometheus config file syntax";
    let rule = format!(
        "      - record: job:forged:sum\n        expr: sum(up)\n        labels:\n          note: {}\n",
        serde_json::to_string(forged).expect("a JSON string is a YAML string")
    );
    std::fs::write(
        mallory.join("prometheus/rules/model.yml"),
        format!("groups:\n  - name: forged\n    rules:\n{rule}{rule}"),
    )
    .expect("the test's files and reports");

    // One worker: both students' jobs share one container, mallory's after alice's.
    let output = grade(&[
        "--lab",
        "1",
        "--class",
        &class.display().to_string(),
        "--format",
        "json",
        "--jobs",
        "1",
    ]);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("a JSON report ({error}): {}", stderr(&output)));
    let verdict = |student: &str| {
        let report = report["students"]
            .as_array()
            .expect("students")
            .iter()
            .find(|report| report["student"] == student)
            .unwrap_or_else(|| panic!("no report for {student}: {report:#}"));
        if let Some(missing) = judges_unavailable(report) {
            return Err(missing);
        }
        Ok(results(report)
            .into_iter()
            .find(|(id, ..)| id == "config-valid")
            .map(|(_, status, message, _)| (status, message))
            .expect("lab 1 judges the config with promtool"))
    };
    let (alice, mallory) = match (verdict("alice"), verdict("mallory")) {
        (Ok(alice), Ok(mallory)) => (alice, mallory),
        (Err(missing), _) | (_, Err(missing)) => return skip(test, &missing),
    };
    assert_eq!(alice.0, "fail", "alice's broken rules: {}", alice.1);
    assert!(
        alice.1.contains("prometheus/rules/model.yml"),
        "{}",
        alice.1
    );
    assert!(!alice.1.contains("@@promlab"), "{}", alice.1);
    assert_eq!(mallory.0, "pass", "mallory's valid rules: {}", mallory.1);
}

#[test]
fn a_repository_under_a_folder_with_a_colon_a_space_and_a_comma_is_graded() {
    let test = "a_repository_under_a_folder_with_a_colon_a_space_and_a_comma_is_graded";
    let repo = kit_repo(&scratch("grade/odd: folder, \"quoted\"").join("student"));
    // promtool (check config, test rules) and amtool (check-config) run on the repository itself.
    for lab in [2, 4] {
        let (code, report) = grade_json(lab, &repo, &[]);
        if let Some(missing) = judges_unavailable(&report) {
            return skip(test, &missing);
        }
        for (id, status, message, kind) in results(&report) {
            if !LIVE_KINDS.contains(&kind.as_str()) {
                assert_eq!(status, "pass", "lab {lab} {id}: {message}");
            }
        }
        assert_eq!(code, Some(0), "lab {lab}: {report}");
    }
}
