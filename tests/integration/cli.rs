//! The real binary: flags, errors, logs, and stopping cleanly.

use std::net::TcpListener;

use crate::support::binary::{Promlab, stderr};
use crate::support::get_text;

#[test]
fn help_lists_the_mock_and_its_flags() {
    let output = Promlab::new().args(["mock", "--help"]).output();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--listen",
        "--interval",
        "--scenario",
        "--seed",
        "--log-format",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(help.contains("PROMLAB_LISTEN"), "flags name their env vars");
}

#[test]
fn an_unknown_scenario_flag_exits_2_naming_the_valid_ones() {
    let output = Promlab::new()
        .args(["mock", "--scenario", "chaos"])
        .output();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "unknown scenario \"chaos\": choose one of steady, spike, drift, flatline, sine"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_flags_exit_2_with_clap_messages() {
    for (args, expected) in [
        (&["mock", "--interval", "5ms"][..], "at least 10ms"),
        (&["mock", "--interval", "0s"][..], "longer than 0"),
        (&["mock", "--interval", "soon"][..], "write it as 500ms"),
        (
            &["grade", "--lab", "1", "--timeout", "2h"][..],
            "too long for a --timeout",
        ),
        (
            &["mock", "--listen", "nowhere"][..],
            "invalid socket address",
        ),
        (
            &["mock", "--seed=-1"][..],
            "invalid value '-1' for '--seed <SEED>'",
        ),
        (&["mock", "--frobnicate"][..], "unexpected argument"),
        (
            &["--log-format", "xml", "mock"][..],
            "possible values: human, json",
        ),
    ] {
        let mut promlab = Promlab::new();
        for arg in args {
            promlab = promlab.args([*arg]);
        }
        let output = promlab.output();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn a_taken_port_is_a_clear_error_naming_the_fix() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Promlab::new().args(["mock", "--listen", &address]).output();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("error: cannot listen on {address}")),
        "{message}"
    );
    assert!(message.contains("--listen or PROMLAB_LISTEN"), "{message}");
}

#[tokio::test]
async fn the_mock_serves_then_stops_cleanly_on_sigterm() {
    let mock = Promlab::new()
        .args(["mock", "--listen", "127.0.0.1:0", "--interval", "100ms"])
        .serve();
    assert_eq!(get_text(&mock.url("/healthz")).await, "ok\n");
    let (status, lines) = mock.terminate();
    assert!(status.success(), "exit status {status}: {lines:#?}");
    let log = lines.join("\n");
    assert!(log.contains("SIGTERM received, shutting down"), "{log}");
    assert!(log.contains("model mock stopped"), "{log}");
}

#[tokio::test]
async fn environment_variables_configure_the_mock() {
    let mock = Promlab::new()
        .env("PROMLAB_LISTEN", "127.0.0.1:0")
        .env("PROMLAB_SCENARIO", "spike")
        .args(["mock"])
        .serve();
    assert_eq!(get_text(&mock.url("/scenario")).await, "spike\n");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let mock = Promlab::new()
        .args(["--log-format", "json", "mock", "--listen", "127.0.0.1:0"])
        .serve();
    let (status, lines) = mock.terminate();
    assert!(status.success());
    for line in &lines {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            event["level"].is_string() && event["message"].is_string(),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|line| line.contains("\"scenario\":\"steady\""))
    );
}

#[tokio::test]
async fn the_same_seed_serves_the_same_values() {
    let mut first_values = Vec::new();
    for _ in 0..2 {
        let mock = Promlab::new()
            .args([
                "mock",
                "--listen",
                "127.0.0.1:0",
                "--seed",
                "42",
                "--interval",
                "1h",
            ])
            .serve();
        let body = get_text(&mock.url("/metrics")).await;
        let value = body
            .lines()
            .find_map(|line| line.strip_prefix("model_result "))
            .expect("model_result is exported")
            .to_owned();
        first_values.push(value);
    }
    assert_eq!(first_values[0], first_values[1]);
}

#[test]
fn probe_passes_on_a_healthy_mock_and_fails_naming_the_problem() {
    let mock = Promlab::new()
        .args(["mock", "--listen", "127.0.0.1:0"])
        .serve();
    let healthy = Promlab::new()
        .args(["probe", &mock.url("/healthz")])
        .output();
    assert!(healthy.status.success(), "{}", stderr(&healthy));

    let listen = mock.address.to_string();
    let by_listen = Promlab::new()
        .env("PROMLAB_LISTEN", &listen)
        .args(["probe"])
        .output();
    assert!(by_listen.status.success(), "{}", stderr(&by_listen));

    let missing = Promlab::new()
        .args(["probe", &mock.url("/missing")])
        .output();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("answered \"HTTP/1.1 404 Not Found\""),
        "{}",
        stderr(&missing)
    );

    drop(mock);
    let down = Promlab::new()
        .args(["probe", &format!("http://{listen}/healthz")])
        .output();
    assert_eq!(down.status.code(), Some(1));
    assert!(
        stderr(&down).contains("is unreachable"),
        "{}",
        stderr(&down)
    );
}

/// `promlab --version` names the crate's version and the revision it was built from, and every server's
/// `/metrics` carries the same in `promlab_build_info`.
#[tokio::test]
async fn the_version_names_the_crate_version_and_the_git_revision() {
    let output = Promlab::new().args(["--version"]).output();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let version = env!("CARGO_PKG_VERSION");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        );
    assert_eq!(printed, format!("promlab {version} ({head})"));

    let info = format!("promlab_build_info{{version=\"{version}\",revision=\"{head}\"}} 1");
    for server in [
        vec!["mock", "--listen", "127.0.0.1:0"],
        vec!["webhook-sink", "--listen", "127.0.0.1:0"],
    ] {
        let serving = Promlab::new().args_slice(&server).serve();
        let metrics = get_text(&serving.url("/metrics")).await;
        assert!(metrics.contains(&info), "{server:?}: {metrics}");
    }
}

#[test]
fn a_renamed_variable_is_still_read_and_names_the_new_one() {
    let nowhere = crate::support::fs::scratch("cli-renamed").join("no-such-lab");
    let nowhere = nowhere.display().to_string();
    for (variable, renamed) in [("PROMLAB_DOCTOR_DIR", true), ("PROMLAB_DIR", false)] {
        let output = Promlab::new()
            .env(variable, &nowhere)
            .args(["doctor", "--offline"])
            .output();
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{variable}: {message}");
        assert!(
            message.contains(&format!("{nowhere} is not a folder")),
            "{variable} is read: {message}"
        );
        assert_eq!(
            message.contains("PROMLAB_DOCTOR_DIR is now PROMLAB_DIR"),
            renamed,
            "{variable}: {message}"
        );
    }
}
