//! `promlab doctor` finds each mistake students make, seeded one by one into the lab's own files, a
//! real Prometheus and Alertmanager (the lab's images), a fake Discord that refuses the webhook, a
//! port already taken, a folder and Docker volumes owned by the wrong user; and says a healthy setup
//! is healthy. Grafana's live checks run here against a stand-in of its documented API; the compose test
//! runs them against the real Grafana wherever its image can be had.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use promlab::generate::compose;

use crate::require;
use crate::support::binary::Promlab;
use crate::support::containers;
use crate::support::discord::{FakeDiscord, Reply};
use crate::support::eventually::eventually_body;
use crate::support::fs::{copy_tree, scratch};
use crate::support::lab_stack::{AlertingLab, LabFiles, rule_files};
use crate::support::{Missing, free_port};

/// How long the running stack gets to reach a state the test waits for.
const MINUTE: Duration = Duration::from_secs(60);

/// The lab's files, copied from the repository so a test can break them.
const LAB_FILES: [&str; 5] = [
    "prometheus",
    "alertmanager",
    "grafana",
    "compose",
    "forecaster.yaml",
];

/// One expected finding: its id, the service, and a part of its message.
struct Expected {
    fault: &'static str,
    id: &'static str,
    service: &'static str,
    message: String,
}

/// A fresh copy of the lab's committed files in the test's own folder.
fn lab_copy(name: &str) -> PathBuf {
    let dir = scratch(&format!("doctor-{name}"));
    for file in LAB_FILES {
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(file),
            &dir.join(file),
        );
    }
    dir
}

/// Replaces `from` (which must be there) by `to` in the lab file `path`.
fn edit(dir: &Path, path: &str, from: &str, to: &str) {
    let path = dir.join(path);
    let text = std::fs::read_to_string(&path).expect("a lab file");
    assert!(text.contains(from), "{from:?} is not in {}", path.display());
    std::fs::write(&path, text.replacen(from, to, 1)).expect("the edited file");
}

/// Points the lab copy's promlab services at `promlab` and Prometheus at `prometheus`: the images this
/// machine has (a student's has the ones compose pulled). The doctor looks into the volumes with
/// Prometheus' image, which has `stat` (promlab's has none).
fn with_local_images(dir: &Path, promlab: &str, prometheus: &str) {
    let path = dir.join("compose/compose.yaml");
    let text = std::fs::read_to_string(&path).expect("the lab's compose file");
    let pinned = format!("${{PROMLAB_IMAGE:-{}}}", compose::PROMLAB_IMAGE);
    assert!(
        text.contains(&pinned),
        "{pinned} is not in {}",
        path.display()
    );
    let text = text.replace(&pinned, promlab).replace(
        &format!("image: {}", compose::PROMETHEUS_IMAGE),
        &format!("image: {prometheus}"),
    );
    std::fs::write(&path, text).expect("the edited file");
}

/// The doctor's JSON report and how it exited.
fn doctor(args: &[&str], env: &[(String, String)]) -> (Output, Value) {
    let mut promlab = Promlab::new();
    for (key, value) in env {
        promlab = promlab.env(key, value);
    }
    let output = promlab
        .args(["doctor", "--format", "json"])
        .args_slice(args)
        .output();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "the report is JSON ({error}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, report)
}

fn problems(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|finding| finding["severity"] == "problem")
        .collect()
}

/// Asserts every expected finding is in the report as a problem.
fn assert_found(report: &Value, expected: &[Expected]) {
    for expected in expected {
        let found = problems(report).into_iter().any(|finding| {
            finding["id"] == expected.id
                && finding["service"] == expected.service
                && finding["message"]
                    .as_str()
                    .is_some_and(|message| message.contains(&expected.message))
                && finding["fix"].as_str().is_some_and(|fix| !fix.is_empty())
        });
        assert!(
            found,
            "{}: no {} finding about {} saying {:?} in {report:#}",
            expected.fault, expected.id, expected.service, expected.message
        );
    }
}

/// A fault seeded into a fresh copy of the lab's files, and what the doctor must say about it.
type Fault = (Expected, fn(&Path));

fn seed(seed: fn(&Path)) -> fn(&Path) {
    seed
}

/// Every mistake in the files, one by one.
// One table, read top to bottom: splitting it would hide the faults from each other.
#[allow(clippy::too_many_lines)]
fn file_faults() -> Vec<Fault> {
    let uid = std::fs::metadata(env!("CARGO_TARGET_TMPDIR"))
        .map(|metadata| std::os::unix::fs::MetadataExt::uid(&metadata))
        .expect("the temporary folder");
    // (fault, how to seed it in a fresh copy of the lab, what the doctor must say)
    vec![
        (
            Expected {
                fault: "a target on localhost inside a container",
                id: "target-localhost",
                service: "prometheus",
                message: "job \"model_mock\" targets localhost:5000".to_owned(),
            },
            seed(|dir| {
                edit(
                    dir,
                    "prometheus/prometheus.yml",
                    "'model-mock:5000'",
                    "'localhost:5000'",
                );
            }),
        ),
        (
            Expected {
                fault: "a Grafana data source on localhost:9090",
                id: "datasource-localhost",
                service: "grafana",
                message: "points at http://localhost:9090".to_owned(),
            },
            seed(|dir| {
                edit(
                    dir,
                    "grafana/provisioning/datasources/prometheus.yml",
                    "url: http://prometheus:9090",
                    "url: http://localhost:9090",
                );
            }),
        ),
        (
            Expected {
                fault: "Prometheus not pointed at Alertmanager",
                id: "no-alerting",
                service: "prometheus",
                message: "has no `alerting:` block".to_owned(),
            },
            seed(|dir| {
                edit(
                    dir,
                    "prometheus/prometheus.yml",
                    "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['alertmanager:9093']\n",
                    "",
                );
            }),
        ),
        (
            Expected {
                fault: "a rule file listed that does not exist",
                id: "rule-file-missing",
                service: "prometheus",
                message: "rule_files lists \"rules/latency.yml\", which matches no file".to_owned(),
            },
            seed(|dir| {
                edit(
                    dir,
                    "prometheus/prometheus.yml",
                    "  - rules/model.yml\n",
                    "  - rules/model.yml\n  - rules/latency.yml\n",
                );
            }),
        ),
        (
            Expected {
                fault: "an Alertmanager without a webhook",
                id: "no-webhook",
                service: "alertmanager",
                message: "has no receiver with a webhook".to_owned(),
            },
            seed(|dir| {
                edit(
                    dir,
                    "alertmanager/alertmanager.yml",
                    "    discord_configs:\n      - webhook_url_file: /etc/alertmanager/secrets/discord_webhook_url\n        # A second message, in green, when the alert ends.\n        send_resolved: true\n",
                    "",
                );
            }),
        ),
        (
            Expected {
                fault: "a webhook_url_file that does not exist",
                id: "webhook-file-missing",
                service: "alertmanager",
                message: "the webhook URL file /etc/alertmanager/config/discord_webhook_url"
                    .to_owned(),
            },
            seed(|dir| {
                edit(
                    dir,
                    "alertmanager/alertmanager.yml",
                    "webhook_url_file: /etc/alertmanager/secrets/discord_webhook_url",
                    "webhook_url_file: /etc/alertmanager/config/discord_webhook_url",
                );
            }),
        ),
        (
            Expected {
                fault: "a port open to every network (compose lint)",
                id: "compose-lint",
                service: "grafana",
                message: "is open to every network".to_owned(),
            },
            seed(|dir| {
                edit(
                    dir,
                    "compose/compose.yaml",
                    "127.0.0.1:${PROMLAB_GRAFANA_PORT:-3000}:3000",
                    "3000:3000",
                );
            }),
        ),
        (
            Expected {
                fault: "Prometheus' data folder owned by the wrong uid",
                id: "data-permissions",
                service: "prometheus",
                message: format!(
                    "belongs to uid {}, but Prometheus runs as uid 65534",
                    if uid == 0 { 0 } else { uid }
                ),
            },
            seed(|dir| {
                edit(
                    dir,
                    "compose/compose.yaml",
                    "prometheus-data:/prometheus",
                    "../prometheus-data:/prometheus",
                );
                let data = dir.join("prometheus-data");
                std::fs::create_dir(&data).expect("the data folder");
                std::fs::set_permissions(
                    &data,
                    std::os::unix::fs::PermissionsExt::from_mode(0o755),
                )
                .expect("its mode");
                // As root (CI), give it to root as Docker does when it creates a missing folder.
                if std::fs::metadata(&data)
                    .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
                {
                    std::os::unix::fs::chown(&data, Some(0), Some(0)).expect("chown");
                }
            }),
        ),
    ]
}

#[test]
fn doctor_finds_each_mistake_in_the_lab_files() {
    let faults = file_faults();
    let good = lab_copy("good-files");
    let (output, report) = doctor(&["--offline", "--dir", &good.display().to_string()], &[]);
    assert!(output.status.success(), "the lab's own files: {report:#}");
    assert!(problems(&report).is_empty(), "{report:#}");

    for (index, (expected, seed)) in faults.iter().enumerate() {
        let dir = lab_copy(&format!("fault-{index}"));
        seed(&dir);
        let (output, report) = doctor(&["--offline", "--dir", &dir.display().to_string()], &[]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}: {report:#}",
            expected.fault
        );
        assert_found(&report, std::slice::from_ref(expected));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Docker volumes made as compose names them for `project`, removed when dropped.
struct Volumes(Vec<String>);

impl Volumes {
    fn create(project: &str, volumes: &[&str]) -> Self {
        let mut created = Vec::new();
        for volume in volumes {
            let name = format!("{project}_{volume}");
            let status = Command::new("docker")
                .args(["volume", "create"])
                .args(["--label", &format!("com.docker.compose.project={project}")])
                .args(["--label", &format!("com.docker.compose.volume={volume}")])
                .arg(&name)
                .output()
                .expect("docker runs");
            assert!(status.status.success(), "docker volume create {name}");
            created.push(name);
        }
        Self(created)
    }
}

impl Drop for Volumes {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", name])
                .output();
        }
    }
}

/// The ports the doctor reads from compose, each pointed at a free port unless given.
fn ports(given: &[(&str, u16)]) -> Vec<(String, String)> {
    [
        "PROMLAB_PROMETHEUS_PORT",
        "PROMLAB_ALERTMANAGER_PORT",
        "PROMLAB_GRAFANA_PORT",
        "PROMLAB_MODEL_MOCK_PORT",
        "PROMLAB_WEBHOOK_SINK_PORT",
        "PROMLAB_NODE_EXPORTER_PORT",
        "PROMLAB_FORECASTER_PORT",
    ]
    .iter()
    .map(|variable| {
        let port = given
            .iter()
            .find(|(name, _)| name == variable)
            .map_or_else(free_port, |(_, port)| *port);
        ((*variable).to_owned(), port.to_string())
    })
    .collect()
}

/// A Prometheus on `port` scraping itself (and `extra` targets), every second.
fn prometheus_config(port: u16, alerting: Option<u16>, rules: bool, extra: &str) -> String {
    let mut config = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n".to_owned();
    if let Some(alertmanager) = alerting {
        let _ = write!(
            config,
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{alertmanager}']\n"
        );
    }
    if rules {
        config.push_str("rule_files:\n  - rules/*.yml\n");
    }
    let _ = write!(
        config,
        "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n{extra}"
    );
    config
}

fn alertmanager_config() -> &'static str {
    "route:\n  receiver: discord\n  group_wait: 0s\n  group_interval: 1s\n\
     receivers:\n  - name: discord\n    discord_configs:\n      - webhook_url_file: /etc/alertmanager/secrets/discord_webhook_url\n"
}

/// Starts Alertmanager and Prometheus (with `prometheus` as its config and, if `rules`, the
/// repository's own rule files) on the two ports.
async fn start_live(
    prometheus_port: u16,
    prometheus: &str,
    rules: bool,
    alertmanager_port: u16,
    webhook_url: &str,
) -> Result<AlertingLab, Missing> {
    let files = LabFiles {
        prometheus: prometheus.to_owned(),
        rules: if rules {
            rule_files(Path::new(env!("CARGO_MANIFEST_DIR")))
        } else {
            Vec::new()
        },
        alertmanager: alertmanager_config().to_owned(),
    };
    AlertingLab::start((prometheus_port, alertmanager_port), &files, webhook_url).await
}

/// The mistakes seeded into the running stack, and what the doctor must say about each.
fn live_faults(project: &str, closed: u16, taken_port: u16) -> Vec<Expected> {
    vec![
        Expected {
            fault: "a target on localhost inside a container, down",
            id: "target-down-localhost",
            service: "prometheus",
            message: format!("target localhost:{closed} (job \"model_mock\") is down"),
        },
        Expected {
            fault: "Prometheus not pointed at Alertmanager",
            id: "no-alertmanager",
            service: "prometheus",
            message: "sends alerts to no Alertmanager".to_owned(),
        },
        Expected {
            fault: "the rule files not loaded",
            id: "rules-not-loaded",
            service: "prometheus",
            message: "has not loaded the rule group(s) model (from".to_owned(),
        },
        Expected {
            fault: "a Discord webhook Discord rejects",
            id: "webhook-rejected",
            service: "alertmanager",
            message: "discord notification(s)".to_owned(),
        },
        Expected {
            fault: "a port already taken",
            id: "port-taken",
            service: "webhook-sink",
            message: format!("port {taken_port} (127.0.0.1:{taken_port}) is already taken by"),
        },
        Expected {
            fault: "Grafana's volume owned by root",
            id: "data-permissions",
            service: "grafana",
            message: format!(
                "volume {project}_grafana-data belongs to uid 0, but Grafana runs as uid 472"
            ),
        },
        Expected {
            fault: "the webhook URL file missing from Alertmanager's secrets volume",
            id: "webhook-file-missing",
            service: "alertmanager",
            message: format!("is missing from volume {project}_alertmanager-secrets"),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_finds_each_mistake_in_the_running_stack() {
    let test = "doctor_finds_each_mistake_in_the_running_stack";
    let project = format!("promlab-doctor-{}", std::process::id());
    // A Discord that refuses the webhook (a deleted one answers 401/404): every notification fails.
    let discord = FakeDiscord::start(vec![Reply::Status(401); 50]).await;
    let (prometheus_port, alertmanager_port, closed) = (free_port(), free_port(), free_port());
    // The student wrote the model mock's published port on localhost, where nothing listens for
    // Prometheus: `localhost:<published port>`, with no alerting block and the rule files not loaded.
    let config = prometheus_config(
        prometheus_port,
        None,
        false,
        &format!(
            "  - job_name: model_mock\n    static_configs:\n      - targets: ['localhost:{closed}']\n"
        ),
    );
    let _lab = require!(
        test,
        start_live(
            prometheus_port,
            &config,
            false,
            alertmanager_port,
            &discord.webhook_url()
        )
        .await
    );
    let alerts = format!("http://127.0.0.1:{alertmanager_port}/api/v2/alerts");
    let sent = reqwest::Client::new()
        .post(&alerts)
        .json(&serde_json::json!([{"labels": {"alertname": "DoctorTest", "severity": "warning"}}]))
        .send()
        .await
        .expect("Alertmanager takes the alert");
    assert!(
        sent.status().is_success(),
        "POST {alerts}: {}",
        sent.status()
    );
    eventually_body(
        "Alertmanager counts the failed Discord notification",
        MINUTE,
        &format!("http://127.0.0.1:{alertmanager_port}/metrics"),
        |metrics| {
            metrics.lines().any(|line| {
                line.starts_with("alertmanager_notifications_failed_total{")
                    && line.contains("integration=\"discord\"")
                    && !line.ends_with(" 0")
            })
        },
    )
    .await;
    eventually_body(
        "Prometheus scrapes the localhost target (down)",
        MINUTE,
        &format!("http://127.0.0.1:{prometheus_port}/api/v1/targets"),
        |targets| targets.contains("\"health\":\"down\""),
    )
    .await;
    // Something else already listens on the port the webhook sink would publish.
    let taken = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let taken_port = taken.local_addr().expect("its address").port();
    // The volumes as Docker makes them before any container wrote to them: owned by root, empty.
    let _volumes = Volumes::create(&project, &["grafana-data", "alertmanager-secrets"]);

    let dir = lab_copy("live-faults");
    let promlab = require!(test, containers::image(containers::PROMLAB_IMAGE));
    let prometheus = require!(test, containers::image(containers::PROMETHEUS_IMAGE));
    with_local_images(&dir, &promlab, &prometheus);
    let env = ports(&[
        ("PROMLAB_PROMETHEUS_PORT", prometheus_port),
        ("PROMLAB_ALERTMANAGER_PORT", alertmanager_port),
        ("PROMLAB_MODEL_MOCK_PORT", closed),
        ("PROMLAB_WEBHOOK_SINK_PORT", taken_port),
    ]);
    let (output, report) = doctor(
        &["--dir", &dir.display().to_string(), "--project", &project],
        &env,
    );
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    assert_found(&report, &live_faults(&project, closed, taken_port));
    let localhost_fix = problems(&report)
        .into_iter()
        .find(|finding| finding["id"] == "target-down-localhost")
        .and_then(|finding| finding["fix"].as_str().map(str::to_owned))
        .unwrap_or_default();
    assert!(
        localhost_fix.contains("use the service name model-mock:5000"),
        "{localhost_fix}"
    );
    assert!(
        discord
            .attempts()
            .iter()
            .all(|attempt| attempt.status == 401),
        "the fake Discord refused every message"
    );
    // Ports the stack's own services hold are theirs, not a fault.
    for own in ["prometheus", "alertmanager"] {
        assert!(
            !problems(&report)
                .into_iter()
                .any(|f| f["id"] == "port-taken" && f["service"] == own),
            "{own}'s port is its own: {report:#}"
        );
    }
    drop(taken);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_says_a_healthy_stack_is_healthy() {
    let test = "doctor_says_a_healthy_stack_is_healthy";
    let discord = FakeDiscord::start(Vec::new()).await;
    let (prometheus_port, alertmanager_port) = (free_port(), free_port());
    let config = prometheus_config(prometheus_port, Some(alertmanager_port), true, "");
    let _lab = require!(
        test,
        start_live(
            prometheus_port,
            &config,
            true,
            alertmanager_port,
            &discord.webhook_url()
        )
        .await
    );
    eventually_body(
        "Prometheus finds its Alertmanager",
        MINUTE,
        &format!("http://127.0.0.1:{prometheus_port}/api/v1/alertmanagers"),
        |answer| answer.contains(&format!("127.0.0.1:{alertmanager_port}")),
    )
    .await;
    eventually_body(
        "Prometheus scrapes itself",
        MINUTE,
        &format!("http://127.0.0.1:{prometheus_port}/api/v1/targets"),
        |targets| targets.contains("\"health\":\"up\""),
    )
    .await;
    let dir = lab_copy("healthy");
    let project = format!("promlab-doctor-healthy-{}", std::process::id());
    let env = ports(&[
        ("PROMLAB_PROMETHEUS_PORT", prometheus_port),
        ("PROMLAB_ALERTMANAGER_PORT", alertmanager_port),
    ]);
    let (output, report) = doctor(
        &["--dir", &dir.display().to_string(), "--project", &project],
        &env,
    );
    assert!(output.status.success(), "{report:#}");
    assert!(problems(&report).is_empty(), "{report:#}");
    assert_eq!(report["summary"]["healthy"], true, "{report:#}");
    let grafana = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|finding| finding["id"] == "grafana")
        .expect("a Grafana finding");
    assert_eq!(grafana["severity"], "skipped", "{grafana}");
    assert!(
        grafana["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot be reached")),
        "{grafana}"
    );

    let mut promlab = Promlab::new();
    for (key, value) in &env {
        promlab = promlab.env(key, value);
    }
    let human = promlab
        .args([
            "doctor",
            "--dir",
            &dir.display().to_string(),
            "--project",
            &project,
        ])
        .output();
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert!(human.status.success(), "{stdout}");
    assert!(
        stdout.contains("Summary: no problem found: the stack is healthy"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn doctor_skips_the_docker_checks_without_docker() {
    let dir = lab_copy("no-docker");
    let project = format!("promlab-doctor-nodocker-{}", std::process::id());
    let mut env = ports(&[]);
    // No docker on the PATH, as on a student's machine without Docker.
    env.push(("PATH".to_owned(), "/nonexistent".to_owned()));
    let (output, report) = doctor(
        &[
            "--dir",
            &dir.display().to_string(),
            "--project",
            &project,
            "--timeout",
            "500ms",
        ],
        &env,
    );
    let volumes = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|finding| finding["id"] == "volumes")
        .expect("a finding about the volumes");
    assert_eq!(volumes["severity"], "skipped", "{volumes}");
    assert!(
        volumes["message"]
            .as_str()
            .is_some_and(|m| m.contains("Docker does not answer (cannot run docker")),
        "{volumes}"
    );
    // Nothing runs: Prometheus and Alertmanager unreachable are problems, not crashes.
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    for service in ["prometheus", "alertmanager"] {
        assert!(
            problems(&report)
                .iter()
                .any(|f| f["id"] == "unreachable" && f["service"] == service),
            "{service}: {report:#}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stand-in for Grafana's HTTP API, answering as Grafana 11 documents it: the real one cannot run
/// here. Its one data source points at localhost:9090, and its test fails as Grafana's does then.
async fn grafana_stand_in() -> std::net::SocketAddr {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    use axum::{Json, Router};
    // admin:secret in HTTP basic authentication.
    let logged_in = |headers: &HeaderMap| {
        headers
            .get("authorization")
            .is_some_and(|value| value == "Basic YWRtaW46c2VjcmV0")
    };
    let app = Router::new()
        .route(
            "/api/health",
            get(|| async {
                Json(serde_json::json!({"commit": "x", "database": "ok", "version": "11.6.0"}))
            }),
        )
        .route(
            "/api/datasources",
            get(move |headers: HeaderMap| async move {
                if !logged_in(&headers) {
                    return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"message": "Unauthorized"})));
                }
                (
                    StatusCode::OK,
                    Json(serde_json::json!([{
                        "id": 1, "uid": "promlab-prometheus", "orgId": 1, "name": "Prometheus",
                        "type": "prometheus", "access": "proxy", "url": "http://localhost:9090",
                        "isDefault": true, "readOnly": true
                    }])),
                )
            }),
        )
        .route(
            "/api/datasources/uid/{uid}/health",
            get(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    Json(serde_json::json!({
                        "status": "ERROR",
                        "message": "Post \"http://localhost:9090/api/v1/query\": dial tcp [::1]:9090: connect: connection refused"
                    })),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_tests_grafanas_data_sources_through_its_api() {
    let grafana = format!("http://{}", grafana_stand_in().await);
    let dir = lab_copy("grafana-api");
    let mut env = ports(&[]);
    env.push(("PATH".to_owned(), "/nonexistent".to_owned()));
    // The password comes from the environment or from a file: on the command line it is refused.
    let secrets = tempfile::tempdir().expect("a folder for the password file");
    let run = |password: &'static str, from_file: bool| {
        let mut args = vec![
            "--dir".to_owned(),
            dir.display().to_string(),
            "--grafana".to_owned(),
            grafana.clone(),
        ];
        let mut env = env.clone();
        if from_file {
            let file = secrets.path().join("grafana-password");
            std::fs::write(&file, format!("{password}\n")).expect("a password file");
            args.extend([
                "--grafana-password-file".to_owned(),
                file.display().to_string(),
            ]);
        } else {
            env.push(("PROMLAB_GRAFANA_PASSWORD".to_owned(), password.to_owned()));
        }
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                doctor(&args, &env)
            })
            .await
            .expect("the doctor runs")
        }
    };
    let (_, report) = run("secret", false).await;
    assert_found(
        &report,
        &[
            Expected {
                fault: "a live data source on localhost:9090",
                id: "datasource-localhost",
                service: "grafana",
                message: "the data source \"Prometheus\" points at http://localhost:9090"
                    .to_owned(),
            },
            Expected {
                fault: "a data source whose test fails",
                id: "datasource-failing",
                service: "grafana",
                message: "connection refused".to_owned(),
            },
        ],
    );
    let (_, report) = run("wrong", true).await;
    assert_found(
        &report,
        &[Expected {
            fault: "a wrong Grafana password",
            id: "grafana-login",
            service: "grafana",
            message: "answered 401 to /api/datasources: the user or password is wrong".to_owned(),
        }],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
