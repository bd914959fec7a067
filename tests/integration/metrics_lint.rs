//! `promtool check metrics` (the upstream linter) finds nothing to say about the mock's exposition.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use promlab::mock::Scenario;

use crate::require;
use crate::support::get_text;
use crate::support::mock::RunningMock;
use crate::support::which;

#[tokio::test]
async fn promtool_finds_nothing_to_lint_in_the_exposition() {
    let promtool = require!(
        "promtool_finds_nothing_to_lint_in_the_exposition",
        which("promtool")
    );
    let mock = RunningMock::start(Scenario::Steady, Duration::from_millis(20), 9).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = get_text(&mock.url("/metrics")).await;
    for family in [
        "model_result",
        "model_predictions_total",
        "model_inference_duration_seconds",
        "model_request_duration_seconds",
        "model_scenario",
        "model_build_info",
    ] {
        assert!(
            body.contains(&format!("# TYPE {family} ")),
            "{family} in\n{body}"
        );
    }

    let mut lint = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    lint.stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let output = lint.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool failed: {said}\n{body}");
    assert_eq!(said.trim(), "", "promtool has remarks on\n{body}");
}
