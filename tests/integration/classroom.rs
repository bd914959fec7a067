//! `promlab classroom`, the real binary, as Instruqt tests its tracks (check before solve must fail,
//! after it must pass), for every lab: the untouched starter fails each of the lab's work criteria,
//! with its fix, and passes the others (the stack's files stay valid); after `solve` every static
//! criterion passes; a student who did the work another correct way passes too, and seeded mistakes
//! fail the criterion they break. The judges are promtool and amtool (the grader's timing tests).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::grade::{LIVE_KINDS, grade_json, judges_missing, results};
use crate::support::binary::{Promlab, stderr};
use crate::support::fs::scratch;
use crate::support::skip;

fn classroom(args: &[&str]) {
    let output = Promlab::new().args(["classroom"]).args_slice(args).output();
    assert!(
        output.status.success(),
        "promlab classroom {args:?}: {}",
        stderr(&output)
    );
}

/// A new starter of `lab` in a fresh folder.
fn starter(lab: u8, name: &str) -> PathBuf {
    let out = scratch(name);
    let _ = std::fs::remove_dir_all(&out);
    classroom(&[
        "starter",
        "--lab",
        &lab.to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    out
}

fn solve(lab: u8, repo: &Path) {
    classroom(&[
        "solve",
        "--lab",
        &lab.to_string(),
        "--dir",
        &repo.display().to_string(),
    ]);
}

/// Each static criterion's status and message, or `None` when a judge is missing here.
fn statics(lab: u8, repo: &Path, test: &str) -> Option<Vec<(String, String, String)>> {
    let (_, report) = grade_json(lab, repo, &[]);
    if let Some(missing) = judges_missing(&report) {
        skip(test, &missing);
        return None;
    }
    Some(
        results(&report)
            .into_iter()
            .filter(|(.., kind)| !LIVE_KINDS.contains(&kind.as_str()))
            .map(|(id, status, message, _)| (id, status, message))
            .collect(),
    )
}

#[test]
fn every_labs_starter_fails_its_work_and_passes_once_solved() {
    let test = "every_labs_starter_fails_its_work_and_passes_once_solved";
    let mut problems = Vec::new();
    for hole in promlab::classroom::HOLES {
        let lab = hole.lab;
        let repo = starter(lab, &format!("classroom/lab{lab}"));
        // The stack still starts: compose accepts the starter's file (promtool and amtool accept the
        // rest: the lab's config criteria below must pass).
        match crate::compose_stack::compose_command() {
            Ok(compose) => {
                let config = std::process::Command::new(compose[0])
                    .args(&compose[1..])
                    .args(["-f", "compose/compose.yaml", "config", "-q"])
                    .current_dir(&repo)
                    .output()
                    .expect("compose runs");
                if !config.status.success() {
                    problems.push(format!(
                        "lab {lab} starter: compose refuses its file: {}",
                        stderr(&config)
                    ));
                }
            }
            // The compose part alone is skipped: the criteria below still run.
            Err(missing) => skip(test, &missing),
        }
        let Some(before) = statics(lab, &repo, test) else {
            return;
        };
        for id in hole.work {
            if !before.iter().any(|(found, ..)| found == id) {
                problems.push(format!("lab {lab} has no criterion {id}"));
            }
        }
        let (_, report) = grade_json(lab, &repo, &[]);
        for (id, status, message) in &before {
            let work = hole.work.contains(&id.as_str());
            if work && status != "fail" {
                problems.push(format!(
                    "lab {lab} starter: work criterion {id} is {status}: {message}"
                ));
            }
            if !work && status != "pass" {
                problems.push(format!(
                    "lab {lab} starter: {id} (not the lab's work) is {status}: {message}"
                ));
            }
        }
        // Each failure carries its fix.
        for result in report["results"].as_array().into_iter().flatten() {
            if result["status"] == "fail" && result["fix"].as_str().is_none_or(str::is_empty) {
                problems.push(format!(
                    "lab {lab} starter: {} fails without a fix",
                    result["id"]
                ));
            }
        }
        solve(lab, &repo);
        let Some(after) = statics(lab, &repo, test) else {
            return;
        };
        for (id, status, message) in after {
            if status != "pass" {
                problems.push(format!("lab {lab} solved: {id} is {status}: {message}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One way a student finished a lab: edits made to the lab's solved starter, and the verdicts expected
/// (criteria not named must pass).
struct Case {
    name: &'static str,
    lab: u8,
    edit: fn(&Path),
    fail: &'static [&'static str],
}

fn write(repo: &Path, path: &str, text: &str) {
    let path = repo.join(path);
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("the test's files");
    std::fs::write(path, text).expect("the test's files");
}

fn replace(repo: &Path, path: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(repo.join(path)).expect("the test's files");
    assert!(text.contains(from), "{from:?} is not in {path}");
    write(repo, path, &text.replace(from, to));
}

/// `ModelResultHigh` in its own file (`alerts/model-high.yml`, listed by a glob in `rule_files`), written
/// `model_result>0.9`, and its test in a file of another name.
fn model_rule_elsewhere(repo: &Path) {
    write(repo, "prometheus/rules/model.yml", "groups: []\n");
    write(
        repo,
        "prometheus/alerts/model-high.yml",
        "groups:\n- name: mine\n  rules:\n  - alert: ModelResultHigh\n    expr: model_result>0.9\n    for: 30s\n    labels: {severity: warning}\n    annotations: {summary: 'my own words'}\n",
    );
    replace(
        repo,
        "prometheus/prometheus.yml",
        "rule_files:\n",
        "rule_files:\n  - alerts/*.yml\n",
    );
    let test = std::fs::read_to_string(repo.join("prometheus/rules/model.test.yml"))
        .expect("the solved test")
        .replace("  - model.yml", "  - ../alerts/model-high.yml")
        .replace(
            "            exp_annotations:\n              summary: \"model_result is above 0.9 on model-mock:5000\"\n              description: \"model_result has stayed above 0.9 for 30s (now 0.95).\"\n",
            "            exp_annotations: {summary: 'my own words'}\n",
        );
    std::fs::remove_file(repo.join("prometheus/rules/model.test.yml")).expect("removed");
    write(repo, "prometheus/rules/high-model.test.yml", &test);
}

/// Alertmanager written another way: a named receiver on a child route, the older match maps.
fn alertmanager_other_way(repo: &Path) {
    write(
        repo,
        "alertmanager/alertmanager.yml",
        "route:\n  receiver: blackhole\n  group_by: [alertname]\n  group_wait: 10s\n  routes:\n    - receiver: team-discord\n      matchers: ['severity=~\"warning|critical\"']\nreceivers:\n  - name: blackhole\n  - name: team-discord\n    discord_configs:\n      - webhook_url_file: /etc/alertmanager/secrets/discord_webhook_url\ninhibit_rules:\n  - source_match: {alertname: TargetDown}\n    target_match_re: {alertname: 'ModelResultHigh|NodeCpuHigh'}\n    equal: [instance]\n",
    );
}

/// `NodeCpuHigh` in `cpu.yml` with `for: 180s`, its busy ratio written with other spacing and order.
fn cpu_rule_elsewhere(repo: &Path) {
    write(repo, "prometheus/rules/node.yml", "groups: []\n");
    write(
        repo,
        "prometheus/rules/cpu.yml",
        "groups:\n  - name: cpu\n    rules:\n      - alert: NodeCpuHigh\n        expr: (1-avg by(instance,job)(rate(node_cpu_seconds_total{mode=\"idle\"}[1m])))>0.8\n        for: 180s\n        labels:\n          severity: warning\n",
    );
    replace(
        repo,
        "prometheus/prometheus.yml",
        "  - rules/node.yml\n",
        "  - rules/node.yml\n  - rules/cpu.yml\n",
    );
    // Lab 5's starter has no node.test.yml: the reference solution's, written for its rule, goes.
    std::fs::remove_file(repo.join("prometheus/rules/node.test.yml")).expect("removed");
}

/// The dashboard as Grafana's UI exports it for sharing: `__inputs`, the data source as a variable,
/// panels in another order with other ids, the threshold colour in hex, lines and area.
fn dashboard_from_the_ui(repo: &Path) {
    let path = repo.join("grafana/dashboards/model.json");
    let mut dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the solved dashboard"))
            .expect("JSON");
    let panels = dashboard["panels"].as_array_mut().expect("panels");
    panels.reverse();
    for (index, panel) in panels.iter_mut().enumerate() {
        panel["id"] = Value::from(100 + index);
        panel["datasource"] = serde_json::json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"});
        let steps = panel
            .pointer_mut("/fieldConfig/defaults/thresholds/steps")
            .and_then(Value::as_array_mut);
        for step in steps.into_iter().flatten() {
            if step["color"] == "red" {
                step["color"] = Value::from("#F2495C");
            }
        }
        if let Some(mode) = panel.pointer_mut("/fieldConfig/defaults/custom/thresholdsStyle/mode")
            && mode == "line"
        {
            *mode = Value::from("line+area");
        }
    }
    dashboard["__inputs"] = serde_json::json!([{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}]);
    dashboard["id"] = Value::Null;
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&dashboard).expect("JSON"),
    )
    .expect("written");
}

/// `ForecastAnomaly` the other way round: the info metric multiplied by the score kept above 2 (not 1.5),
/// matched `on` the series' labels, written without spaces.
fn anomaly_rule_other_way(repo: &Path) {
    write(
        repo,
        "prometheus/rules/forecast.yml",
        "groups:\n  - name: anomalies\n    rules:\n      - alert: ForecastAnomaly\n        expr: forecaster_auto_model*on(job,instance,metric)group_left()(predicted_values_auto_anomaly_score>2)\n        for: 30s\n        labels: {severity: warning}\n",
    );
    // Lab 6's starter has no forecast.test.yml: the reference solution's, written for its rule, goes.
    std::fs::remove_file(repo.join("prometheus/rules/forecast.test.yml")).expect("removed");
}

const CASES: &[Case] = &[
    Case {
        name: "model-rule-elsewhere",
        lab: 4,
        edit: model_rule_elsewhere,
        fail: &[],
    },
    Case {
        name: "alertmanager-other-way",
        lab: 4,
        edit: alertmanager_other_way,
        fail: &[],
    },
    Case {
        name: "cpu-rule-elsewhere",
        lab: 5,
        edit: cpu_rule_elsewhere,
        fail: &[],
    },
    Case {
        name: "dashboard-from-the-ui",
        lab: 3,
        edit: dashboard_from_the_ui,
        fail: &[],
    },
    Case {
        name: "anomaly-rule-other-way",
        lab: 6,
        edit: anomaly_rule_other_way,
        fail: &[],
    },
    // Seeded mistakes: each fails what it breaks, and only that.
    Case {
        name: "model-rule-at-or-above",
        lab: 4,
        edit: |repo| {
            replace(
                repo,
                "prometheus/rules/model.yml",
                "model_result > 0.9",
                "model_result >= 0.9",
            );
        },
        fail: &["model-rule", "model-rule-timing"],
    },
    Case {
        name: "cpu-rule-two-minutes",
        lab: 5,
        edit: |repo| replace(repo, "prometheus/rules/node.yml", "for: 3m", "for: 2m"),
        fail: &["cpu-rule-for", "cpu-rule-timing"],
    },
    Case {
        name: "inhibition-everywhere",
        lab: 4,
        edit: |repo| {
            replace(
                repo,
                "alertmanager/alertmanager.yml",
                "    equal: [instance]\n",
                "",
            );
        },
        fail: &["inhibition"],
    },
    Case {
        name: "rule-not-in-rule-files",
        lab: 5,
        edit: |repo| {
            cpu_rule_elsewhere(repo);
            replace(repo, "prometheus/prometheus.yml", "  - rules/cpu.yml\n", "");
        },
        fail: &["cpu-rule-for", "cpu-rule-timing"],
    },
    Case {
        name: "anomaly-on-any-models-flag",
        lab: 6,
        edit: |repo| {
            replace(
                repo,
                "prometheus/rules/forecast.yml",
                "(predicted_values_auto_anomaly_score > 1.5) * ignoring(model) group_left(model) forecaster_auto_model",
                "label_replace({__name__=~\"predicted_values_.+_anomaly\"}, \"model\", \"$1\", \"__name__\", \"predicted_values_(.+)_anomaly\") == 1",
            );
        },
        fail: &["anomaly-timing", "rule-tests"],
    },
    Case {
        name: "test-that-tests-nothing",
        lab: 4,
        edit: |repo| {
            let path = "prometheus/rules/model.test.yml";
            let text = std::fs::read_to_string(repo.join(path)).expect("the solved test");
            let cut = text.find("    alert_rule_test:").expect("alert tests");
            write(
                repo,
                path,
                &format!("{}    alert_rule_test: []\n", &text[..cut]),
            );
        },
        fail: &["rule-tests"],
    },
];

#[test]
fn work_done_another_correct_way_passes_and_seeded_mistakes_fail() {
    let test = "work_done_another_correct_way_passes_and_seeded_mistakes_fail";
    let mut problems = Vec::new();
    for case in CASES {
        let repo = starter(case.lab, &format!("classroom/{}", case.name));
        solve(case.lab, &repo);
        (case.edit)(&repo);
        let Some(graded) = statics(case.lab, &repo, test) else {
            return;
        };
        for (id, status, message) in graded {
            let expected = if case.fail.contains(&id.as_str()) {
                "fail"
            } else {
                "pass"
            };
            if status != expected {
                problems.push(format!(
                    "{}: {id} is {status}, expected {expected}: {message}",
                    case.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_starter_refuses_a_folder_that_is_not_empty() {
    let out = scratch("classroom/not-empty");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("a folder");
    std::fs::write(out.join("notes.txt"), "mine").expect("a file");
    let output = Promlab::new()
        .args(["classroom", "starter", "--lab", "1", "--out"])
        .args_slice(&[&out.display().to_string()])
        .output();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is not empty"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).expect("kept"),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&out).expect("a folder").count(), 1);
}

/// The gradebook: a class of an untouched starter and a solved one, one CSV row each, the solved one
/// earning every static point and the starter none of the lab's work.
#[test]
fn a_class_gradebook_gives_points_per_criterion_and_the_total() {
    let test = "a_class_gradebook_gives_points_per_criterion_and_the_total";
    let class = scratch("classroom/gradebook");
    let _ = std::fs::remove_dir_all(&class);
    std::fs::create_dir_all(&class).expect("a folder");
    for name in ["alice", "bob"] {
        classroom(&[
            "starter",
            "--lab",
            "5",
            "--out",
            &class.join(name).display().to_string(),
        ]);
    }
    solve(5, &class.join("bob"));
    let probe = class.join("bob");
    if statics(5, &probe, test).is_none() {
        return;
    }
    let output = crate::grade::grade(&[
        "--lab",
        "5",
        "--class",
        &class.display().to_string(),
        "--format",
        "csv",
    ]);
    let gradebook = String::from_utf8_lossy(&output.stdout).into_owned();
    let rows: Vec<Vec<&str>> = gradebook
        .lines()
        .map(|line| line.split(',').collect())
        .collect();
    let criteria = promlab::grade::LabSource::BuiltIn(5)
        .criteria()
        .expect("lab 5");
    let header: Vec<&str> = std::iter::once("student")
        .chain(criteria.criteria.iter().map(|c| c.id.as_str()))
        .chain(["total", "max"])
        .collect();
    assert_eq!(rows[0], header, "{gradebook}");
    let static_points: u32 = criteria
        .criteria
        .iter()
        .filter(|c| !c.check.is_live())
        .map(|c| c.points)
        .sum();
    let all_points: u32 = criteria.criteria.iter().map(|c| c.points).sum();
    let total = |row: &[&str]| row[row.len() - 2].parse::<u32>().expect("a total");
    assert_eq!(rows[2][0], "bob");
    assert_eq!(total(&rows[2]), static_points, "{gradebook}");
    assert_eq!(rows[2][rows[2].len() - 1], all_points.to_string());
    let work: u32 = criteria
        .criteria
        .iter()
        .filter(|c| ["cpu-rule-for", "cpu-rule-timing"].contains(&c.id.as_str()))
        .map(|c| c.points)
        .sum();
    assert_eq!(rows[1][0], "alice");
    assert_eq!(total(&rows[1]), static_points - work, "{gradebook}");
}
