//! Faults and bad input, one table per kind: each command given something wrong, and each server given
//! a hostile request, must answer with what the user sees (an exit code or a status, and a message
//! that names the problem and the fix) and must lose nothing: a file that was there is byte for byte
//! the same, a server's state is as it was. No secret given on the command line or in a URL shows up
//! in any output. Servers run on loopback only.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::binary::{Promlab, stderr};
use crate::support::free_port;
use crate::support::fs::scratch;

/// One command given something wrong.
struct Row {
    name: &'static str,
    /// Writes what the row needs into its folder; returns the arguments.
    args: fn(&Path, u16) -> Vec<String>,
    /// The environment the command runs with.
    env: &'static [(&'static str, &'static str)],
    code: i32,
    /// What standard error must say.
    says: &'static [&'static str],
    /// Files in the row's folder that must be untouched (their contents before the command).
    kept: &'static [(&'static str, &'static str)],
    /// What must not appear in anything the command printed.
    never: &'static [&'static str],
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

const ROWS: &[Row] = &[
    Row {
        name: "export to an existing file from an unreachable Prometheus",
        args: |dir, closed| {
            let mut args = strings(&["export", "--prometheus-url"]);
            args.push(format!("http://127.0.0.1:{closed}"));
            args.extend(strings(&[
                "--query",
                "up",
                "--start",
                "1700000000",
                "--end",
                "1700003600",
                "--step",
                "15s",
                "--format",
                "csv",
                "-o",
            ]));
            args.push(path(dir, "out.csv"));
            args
        },
        env: &[],
        code: 1,
        says: &["127.0.0.1"],
        kept: &[("out.csv", "yesterday's export\n")],
        never: &[],
    },
    Row {
        name: "a backtest CSV with a timestamp in milliseconds",
        args: |dir, _| {
            std::fs::write(
                dir.join("series.csv"),
                "timestamp,value\n1400000000,1\n1400000300000,2\n",
            )
            .expect("written");
            let mut args = strings(&["forecast", "backtest", "--csv"]);
            args.push(path(dir, "series.csv"));
            args.push("--forecasts".to_owned());
            args.push(path(dir, "forecasts.csv"));
            args
        },
        env: &[],
        code: 1,
        says: &["line 3", "milliseconds? divide by 1000"],
        kept: &[("forecasts.csv", "the last run's forecasts\n")],
        never: &[],
    },
    Row {
        name: "a lab config with a threshold out of range",
        args: |dir, _| {
            std::fs::write(dir.join("lab.yaml"), "model: {threshold: 2}\n").expect("written");
            let mut args = strings(&["generate", "--config"]);
            args.push(path(dir, "lab.yaml"));
            args.push("--out".to_owned());
            args.push(dir.display().to_string());
            args
        },
        env: &[],
        code: 1,
        says: &["model.threshold is 2", "strictly between 0 and 1"],
        kept: &[("prometheus/prometheus.yml", "# the student's edited file\n")],
        never: &[],
    },
    Row {
        name: "tsdb on a folder that holds no block",
        args: |dir, _| {
            let mut args = strings(&["tsdb", "export", "--format", "csv", "-o"]);
            args.push(path(dir, "samples.csv"));
            args.push(dir.display().to_string());
            args
        },
        env: &[],
        code: 1,
        says: &["holds no TSDB block", "a snapshot folder"],
        kept: &[("samples.csv", "kept samples\n")],
        never: &[],
    },
    Row {
        name: "a Grafana password on the command line",
        args: |dir, _| {
            let mut args = strings(&["grade", "--lab", "1", "--dir"]);
            args.push(dir.display().to_string());
            args.extend(strings(&["--grafana-password", "hunter2-grafana"]));
            args
        },
        env: &[],
        code: 2,
        says: &[
            "refused",
            "PROMLAB_GRAFANA_PASSWORD",
            "--grafana-password-file",
        ],
        kept: &[],
        never: &["hunter2-grafana"],
    },
    Row {
        name: "a Discord webhook URL on the command line",
        args: |dir, _| {
            let mut args = strings(&["secrets", "--dir"]);
            args.push(dir.display().to_string());
            args.extend(strings(&[
                "--discord-webhook-url",
                "https://discord.com/api/webhooks/1/hunter2-discord",
            ]));
            args
        },
        env: &[],
        code: 2,
        says: &["refused", "--discord-webhook-url-file"],
        kept: &[],
        never: &["hunter2-discord"],
    },
    Row {
        name: "a password in a Prometheus URL that does not answer",
        args: |dir, closed| {
            let mut args = strings(&["metrics", "list", "--prometheus-url"]);
            args.push(format!("http://alice:hunter2-url@127.0.0.1:{closed}"));
            let _ = dir;
            args
        },
        env: &[],
        code: 1,
        says: &["***@127.0.0.1"],
        kept: &[],
        never: &["hunter2-url"],
    },
];

#[test]
fn each_command_refuses_bad_input_clearly_and_loses_nothing() {
    let mut problems = Vec::new();
    for (index, row) in ROWS.iter().enumerate() {
        let dir = scratch(&format!("faults/command-{index}"));
        for (file, contents) in row.kept {
            let kept = dir.join(file);
            std::fs::create_dir_all(kept.parent().expect("a folder")).expect("a folder");
            std::fs::write(kept, contents).expect("written");
        }
        let args = (row.args)(&dir, free_port());
        let mut promlab = Promlab::new();
        for (key, value) in row.env {
            promlab = promlab.env(key, value);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = promlab.args_slice(&args).output();
        let said = stderr(&output);
        let printed = format!("{}{said}", String::from_utf8_lossy(&output.stdout));
        if output.status.code() != Some(row.code) {
            problems.push(format!(
                "{}: exit {:?}, expected {}: {said}",
                row.name,
                output.status.code(),
                row.code
            ));
        }
        for fragment in row.says {
            if !said.contains(fragment) {
                problems.push(format!("{}: {fragment:?} not in {said:?}", row.name));
            }
        }
        for secret in row.never {
            if printed.contains(secret) {
                problems.push(format!("{}: the secret {secret:?} was printed", row.name));
            }
        }
        for (file, contents) in row.kept {
            let now = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
            if now != *contents {
                problems.push(format!("{}: {file} changed to {now:?}", row.name));
            }
        }
        // No temporary file left beside anything.
        let leftovers: Vec<String> = walk(&dir)
            .into_iter()
            .filter(|name| {
                Path::new(name)
                    .extension()
                    .is_some_and(|ext| ext.eq_ignore_ascii_case("tmp"))
            })
            .collect();
        if !leftovers.is_empty() {
            problems.push(format!("{}: left {leftovers:?}", row.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every file name under `dir`.
fn walk(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            names.extend(walk(&path));
        } else {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names
}

/// A request a browser on another site, or a careless client, could send.
struct Hostile {
    name: &'static str,
    method: reqwest::Method,
    path: &'static str,
    origin: Option<&'static str>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
}

async fn send(base: &str, request: &Hostile) -> (u16, String) {
    let mut builder =
        reqwest::Client::new().request(request.method.clone(), format!("{base}{}", request.path));
    if let Some(origin) = request.origin {
        builder = builder.header("Origin", origin);
    }
    if let Some(content_type) = request.content_type {
        builder = builder.header("Content-Type", content_type);
    }
    let response = builder
        .body(request.body.clone())
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn the_mock_refuses_hostile_requests_and_keeps_its_scenario() {
    let mock = Promlab::new()
        .args(["mock", "--listen", "127.0.0.1:0", "--scenario", "sine"])
        .serve();
    let base = format!("http://{}", mock.address);
    let rows = [
        Hostile {
            name: "a cross-site form switching the scenario",
            method: reqwest::Method::PUT,
            path: "/scenario",
            origin: Some("http://evil.example"),
            content_type: Some("application/x-www-form-urlencoded"),
            body: b"spike".to_vec(),
            status: 403,
        },
        Hostile {
            name: "a 2 MB unknown scenario",
            method: reqwest::Method::PUT,
            path: "/scenario",
            origin: None,
            content_type: Some("text/plain"),
            body: vec![b'x'; 2 << 20],
            status: 413,
        },
        Hostile {
            name: "an unknown scenario",
            method: reqwest::Method::PUT,
            path: "/scenario",
            origin: None,
            content_type: Some("text/plain"),
            body: b"meteor".to_vec(),
            status: 400,
        },
    ];
    for row in &rows {
        let (status, body) = send(&base, row).await;
        assert_eq!(status, row.status, "{}: {body}", row.name);
        // Nothing changed: still the scenario it started with.
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("the mock answers")
            .text()
            .await
            .expect("a body");
        assert!(
            metrics.contains("model_scenario{scenario=\"sine\"} 1"),
            "{}: the scenario changed\n{metrics}",
            row.name
        );
    }
    // The logs quote the hostile body briefly, not 2 MB of it.
    let (status, lines) = mock.terminate();
    assert!(status.success());
    let longest = lines.iter().map(String::len).max().unwrap_or(0);
    assert!(longest < 4_096, "a log line of {longest} bytes");
}

#[tokio::test]
async fn the_sink_refuses_hostile_requests_and_keeps_its_messages() {
    let sink = Promlab::new()
        .args(["webhook-sink", "--listen", "127.0.0.1:0"])
        .serve();
    let base = format!("http://{}", sink.address);
    let message = serde_json::json!({"content": "", "embeds": [{"title": "[FIRING:1] Kept", "description": "d", "color": 10_038_562}]});
    let kept = reqwest::Client::new()
        .post(format!("{base}/api/webhooks/1/token"))
        .json(&message)
        .send()
        .await
        .expect("the sink answers");
    assert!(kept.status().is_success());
    let long_title = serde_json::json!({"embeds": [{"title": "x".repeat(257)}]});
    let rows = [
        Hostile {
            name: "a cross-site page emptying the messages",
            method: reqwest::Method::DELETE,
            path: "/api/messages",
            origin: Some("http://evil.example"),
            content_type: None,
            body: Vec::new(),
            status: 403,
        },
        Hostile {
            name: "a cross-site form posting a message",
            method: reqwest::Method::POST,
            path: "/api/webhooks/1/token",
            origin: Some("http://evil.example"),
            content_type: Some("text/plain"),
            body: message.to_string().into_bytes(),
            status: 403,
        },
        Hostile {
            name: "an embed title over Discord's 256 characters",
            method: reqwest::Method::POST,
            path: "/api/webhooks/1/token",
            origin: None,
            content_type: Some("application/json"),
            body: long_title.to_string().into_bytes(),
            status: 400,
        },
        Hostile {
            name: "a webhook id over Discord's length",
            method: reqwest::Method::POST,
            path: "/api/webhooks/123456789012345678901234567890/token",
            origin: None,
            content_type: Some("application/json"),
            body: message.to_string().into_bytes(),
            status: 400,
        },
    ];
    for row in &rows {
        let (status, body) = send(&base, row).await;
        assert_eq!(status, row.status, "{}: {body}", row.name);
        let listed: Value = reqwest::get(format!("{base}/api/messages"))
            .await
            .expect("the sink answers")
            .json()
            .await
            .expect("JSON");
        let titles: Vec<&str> = listed
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|message| message["embeds"][0]["title"].as_str())
            .collect();
        assert_eq!(titles, ["[FIRING:1] Kept"], "{}", row.name);
    }
}

#[tokio::test]
async fn the_forecaster_says_it_is_unhealthy_when_training_stalls() {
    let dir = scratch("faults/forecaster");
    let config = dir.join("forecaster.yaml");
    std::fs::write(
        &config,
        "targets: [{query: model_result}]\nstep: 1s\ntraining_window: 1m\nretrain_interval: 1s\n\
         horizon: 10s\nmin_points: 10\n",
    )
    .expect("written");
    // Nothing answers on its Prometheus port: no training can succeed.
    let forecaster = Promlab::new()
        .args(["forecast", "--listen", "127.0.0.1:0"])
        .args(["--config", &config.display().to_string()])
        .args([
            "--prometheus-url",
            &format!("http://127.0.0.1:{}", free_port()),
        ])
        .serve();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = reqwest::get(forecaster.url("/healthz"))
            .await
            .expect("the forecaster answers");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status == 503 {
            assert!(
                body.contains("no training has succeeded") && body.contains("127.0.0.1"),
                "{body}"
            );
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "still healthy after 30 s without a training"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The probe the compose healthcheck runs says so too.
    let probe = Promlab::new()
        .args(["probe", &forecaster.url("/healthz")])
        .output();
    assert!(!probe.status.success(), "{}", stderr(&probe));
}
