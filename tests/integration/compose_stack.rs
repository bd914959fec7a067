//! The compose file brought up as a student would (`docker compose up`): every service turns healthy,
//! every Prometheus target is up, an alert reaches the sink, Grafana (where its image can be had) takes
//! the generated password and refuses `admin/admin`, and data survives `down` + `up`.
//!
//! The images are the pinned upstream ones where the engine has them or can pull them; where it cannot,
//! an override file (written by the test, next to nothing of the student's) points the services at the
//! stand-ins under their own names. Nothing is ever tagged with an upstream or published name.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::support::containers::{
    self, ALERTMANAGER_IMAGE, GRAFANA_IMAGE, NODE_EXPORTER_IMAGE, PROMETHEUS_IMAGE, PROMLAB_IMAGE,
};
use crate::support::{Missing, free_port};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TEST: &str = "the_compose_stack_comes_up_healthy_alerts_and_keeps_its_data";

/// `docker compose` (v2) or Debian's `docker-compose` (1.29).
pub fn compose_command() -> Result<Vec<&'static str>, Missing> {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if works("docker", &["compose", "version"]) {
        Ok(vec!["docker", "compose"])
    } else if works("docker-compose", &["version"]) {
        Ok(vec!["docker-compose"])
    } else {
        Err(Missing(
            "neither `docker compose` nor `docker-compose` runs (.ci/run installs Debian's docker-compose)"
                .to_owned(),
        ))
    }
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs")
}

/// The override file that runs `services` on `image` wherever it is not the one compose.yaml names,
/// and mounts `tools_folder` as the `promlab` tools service's repository (compose merges volumes by
/// their container path: this one replaces `..:/lab`, so the test never writes into the checkout).
fn image_override(choices: &[(&[&str], Option<String>)], tools_folder: &Path) -> String {
    let mut text =
        String::from("# Written by the compose test: the images this machine has.\nservices:\n");
    for (services, image) in choices {
        for service in *services {
            let mut lines = Vec::new();
            if let Some(image) = image {
                lines.push(format!("image: {image}"));
            }
            if *service == "promlab" {
                lines.push(format!("volumes: [\"{}:/lab\"]", tools_folder.display()));
            }
            if !lines.is_empty() {
                let _ = writeln!(text, "  {service}:");
                for line in lines {
                    let _ = writeln!(text, "    {line}");
                }
            }
        }
    }
    text
}

/// A compose project of the lab on free loopback ports; `down -v` when dropped, whatever happened.
struct Stack {
    compose: Vec<&'static str>,
    /// The override file naming the images to run (see [`image_override`]).
    images: std::path::PathBuf,
    /// The folder the `promlab` tools service sees as the repository (`/lab`).
    tools_folder: std::path::PathBuf,
    project: String,
    ports: Vec<(&'static str, u16)>,
    services: Vec<&'static str>,
}

impl Stack {
    fn run(&self, args: &[&str]) -> Output {
        let file = format!("{ROOT}/compose/compose.yaml");
        let mut command = Command::new(self.compose[0]);
        command
            .args(&self.compose[1..])
            .args(["--file", &file, "--file"])
            .arg(&self.images)
            .args(["--project-name", &self.project])
            .args(args)
            .env_remove("DISCORD_WEBHOOK_URL")
            // The project's own secrets folder, never the student's `secrets/` in the checkout.
            .env("PROMLAB_SECRETS_FOLDER", self.secrets_folder());
        for (variable, port) in &self.ports {
            command.env(variable, port.to_string());
        }
        command.output().expect("compose runs")
    }

    fn must(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "compose {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn port(&self, variable: &str) -> u16 {
        self.ports
            .iter()
            .find(|(name, _)| *name == variable)
            .expect("a known port")
            .1
    }

    fn up(&self) {
        let mut args = vec!["up", "--detach", "--no-build"];
        args.extend(&self.services);
        self.must(&args);
    }

    /// Waits until every long-running service is healthy and `secrets` exited 0.
    async fn wait_healthy(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
        loop {
            let mut states = Vec::new();
            for service in &self.services {
                // `-a`: `secrets` has exited, and compose v2 lists running containers only.
                let id = self.must(&["ps", "-a", "-q", service]).trim().to_owned();
                let format = if *service == "secrets" {
                    "{{.State.Status}} {{.State.ExitCode}}"
                } else {
                    "{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}"
                };
                let state = if id.is_empty() {
                    "absent".to_owned()
                } else {
                    String::from_utf8_lossy(&docker(&["inspect", "--format", format, &id]).stdout)
                        .trim()
                        .to_owned()
                };
                states.push((*service, state));
            }
            let ready = states.iter().all(|(service, state)| {
                if *service == "secrets" {
                    state == "exited 0"
                } else {
                    state == "healthy"
                }
            });
            if ready {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let logs = self.run(&["logs", "--no-color", "--tail", "20"]);
                panic!(
                    "services not healthy within 180 s: {states:?}\n{}",
                    String::from_utf8_lossy(&logs.stdout)
                );
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.run(&["down", "--volumes", "--remove-orphans", "--timeout", "5"]);
        let _ = std::fs::remove_file(&self.images);
    }
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url)
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON")
}

/// Polls `url` until `done` accepts its JSON, or fails after `limit` with the last answer.
async fn wait_json(what: &str, url: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Ok(response) = reqwest::get(url).await
            && let Ok(value) = response.json::<Value>().await
        {
            if done(&value) {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} within {limit:?}; last: {value:#}"
            );
        } else {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: {url} never answered JSON"
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The Grafana password in the newest line of `secrets`' logs that shows it.
fn password_line(logs: &str) -> String {
    logs.lines()
        .rev()
        .find_map(|line| line.split("password ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("secrets printed the Grafana password")
        .to_owned()
}

/// The stack on free ports, with every image it needs, or why it cannot run here.
fn stack() -> Result<Stack, Missing> {
    let compose = compose_command()?;
    let promlab = ["secrets", "model-mock", "webhook-sink", "forecaster"];
    // Every service of promlab's image, those under a profile (not started by `up`) among them.
    let promlab_images = promlab::generate::compose::PROMLAB_SERVICES;
    let mut choices: Vec<(&[&str], Option<String>)> = Vec::new();
    for (services, pin) in [
        (&promlab_images[..], PROMLAB_IMAGE),
        (&["prometheus"][..], PROMETHEUS_IMAGE),
        (&["alertmanager"][..], ALERTMANAGER_IMAGE),
        (&["node-exporter"][..], NODE_EXPORTER_IMAGE),
    ] {
        let image = containers::image(pin)?;
        // promlab's own image is always the one built from this tree, never the published one.
        let named = pin.variable != PROMLAB_IMAGE.variable && image == pin.upstream;
        choices.push((services, (!named).then_some(image)));
    }
    let mut services = promlab.to_vec();
    services.extend(["prometheus", "alertmanager", "node-exporter"]);
    match containers::image(GRAFANA_IMAGE) {
        Ok(image) => {
            services.push("grafana");
            choices.push((
                &["grafana"],
                (image != GRAFANA_IMAGE.upstream).then_some(image),
            ));
        }
        Err(missing) => crate::support::skip_grafana(
            &format!("{TEST} (its Grafana part)"),
            &format!("{}; the stack runs without Grafana here", missing.0),
        ),
    }
    let project = format!("promlab-e2e-{}", std::process::id());
    let images = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{project}.images.yaml"));
    let tools_folder = crate::support::fs::scratch(&format!("{project}.tools"));
    std::fs::write(&images, image_override(&choices, &tools_folder))
        .expect("the override file written");
    Ok(Stack {
        compose,
        images,
        tools_folder,
        project,
        ports: [
            "PROMLAB_MODEL_MOCK_PORT",
            "PROMLAB_WEBHOOK_SINK_PORT",
            "PROMLAB_FORECASTER_PORT",
            "PROMLAB_PROMETHEUS_PORT",
            "PROMLAB_ALERTMANAGER_PORT",
            "PROMLAB_NODE_EXPORTER_PORT",
            "PROMLAB_GRAFANA_PORT",
        ]
        .map(|variable| (variable, free_port()))
        .to_vec(),
        services,
    })
}

impl Stack {
    fn url(&self, variable: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(variable))
    }

    /// Every target up, the forecaster's included.
    async fn assert_targets_up(&self) {
        let prometheus = self.url("PROMLAB_PROMETHEUS_PORT");
        wait_json(
            "every lab target up",
            &format!("{prometheus}/api/v1/targets"),
            Duration::from_secs(60),
            |answer| {
                let active = answer["data"]["activeTargets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                active.len() == 5 && active.iter().all(|target| target["health"] == "up")
            },
        )
        .await;
    }

    /// The model alert reaches the sink after a spike (its floor: 5 s + 5 s + 30 s + 10 s).
    async fn assert_alert_reaches_the_sink(&self) {
        let switched = reqwest::Client::new()
            .put(format!("{}/scenario", self.url("PROMLAB_MODEL_MOCK_PORT")))
            .body("spike")
            .send()
            .await
            .expect("the mock answers");
        assert!(switched.status().is_success());
        wait_json(
            "ModelResultHigh at the sink",
            &format!("{}/api/messages", self.url("PROMLAB_WEBHOOK_SINK_PORT")),
            Duration::from_secs(150),
            |messages| {
                messages.as_array().into_iter().flatten().any(|message| {
                    message["status"] == "firing"
                        && message["embeds"][0]["title"]
                            .as_str()
                            .is_some_and(|title| title.contains("ModelResultHigh"))
                })
            },
        )
        .await;
    }

    /// Data survives `down` + `up`: a Prometheus sample, an Alertmanager silence, the Grafana password.
    async fn assert_data_survives_a_restart(&self) {
        let prometheus = self.url("PROMLAB_PROMETHEUS_PORT");
        let alertmanager = self.url("PROMLAB_ALERTMANAGER_PORT");
        let password = password_line(&self.must(&["logs", "--no-color", "secrets"]));
        let before = get_json(&format!("{prometheus}/api/v1/query?query=model_result")).await;
        let at = before["data"]["result"][0]["value"][0]
            .as_f64()
            .expect("a sample time");
        let value = before["data"]["result"][0]["value"][1].clone();
        let silence = reqwest::Client::new()
            .post(format!("{alertmanager}/api/v2/silences"))
            .json(&serde_json::json!({
                "matchers": [{"name": "alertname", "value": "NodeCpuHigh", "isRegex": false}],
                "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2999-01-01T00:00:00Z",
                "createdBy": "promlab test", "comment": "kept across down and up",
            }))
            .send()
            .await
            .expect("Alertmanager answers");
        assert!(silence.status().is_success(), "{:?}", silence.text().await);

        // Prometheus writes its head to disk on a clean shutdown: give it the time.
        self.must(&["down", "--timeout", "30"]);
        self.up();
        self.wait_healthy().await;
        let after = wait_json(
            "the sample from before the restart",
            &format!("{prometheus}/api/v1/query?query=model_result&time={at}"),
            Duration::from_secs(30),
            |answer| answer["status"] == "success",
        )
        .await;
        assert_eq!(after["data"]["result"][0]["value"][1], value, "{after:#}");
        let silences = get_json(&format!("{alertmanager}/api/v2/silences")).await;
        assert!(
            silences
                .as_array()
                .into_iter()
                .flatten()
                .any(|silence| silence["comment"] == "kept across down and up"),
            "{silences:#}"
        );
        let logs = self.must(&["logs", "--no-color", "secrets"]);
        assert!(logs.contains("kept from an earlier start"), "{logs}");
        assert_eq!(password_line(&logs), password);
    }
}

impl Stack {
    /// Grafana, where it runs: the password `secrets` made logs in and `admin/admin` does not, every
    /// committed dashboard is provisioned, and the doctor's live Grafana checks pass against it.
    async fn assert_grafana_takes_the_generated_password(&self) {
        if !self.services.contains(&"grafana") {
            return;
        }
        let grafana = self.url("PROMLAB_GRAFANA_PORT");
        let password = password_line(&self.must(&["logs", "--no-color", "secrets"]));
        let client = reqwest::Client::new();
        let login = async |password: &str| {
            client
                .get(format!("{grafana}/api/user"))
                .basic_auth("admin", Some(password))
                .send()
                .await
                .expect("Grafana answers")
                .status()
        };
        assert_eq!(
            login(&password).await,
            reqwest::StatusCode::OK,
            "the generated password"
        );
        assert_eq!(
            login("admin").await,
            reqwest::StatusCode::UNAUTHORIZED,
            "admin/admin"
        );
        for dashboard in std::fs::read_dir(Path::new(ROOT).join("grafana/dashboards"))
            .expect("the dashboards folder")
        {
            let path = dashboard.expect("a readable folder").path();
            let json: Value = serde_json::from_str(
                &std::fs::read_to_string(&path).expect("a committed dashboard"),
            )
            .expect("JSON");
            let uid = json["uid"].as_str().expect("a uid");
            let found = client
                .get(format!("{grafana}/api/dashboards/uid/{uid}"))
                .basic_auth("admin", Some(&password))
                .send()
                .await
                .expect("Grafana answers");
            assert!(
                found.status().is_success(),
                "{}: uid {uid} not provisioned",
                path.display()
            );
        }
        let doctor = crate::support::binary::Promlab::new()
            .env("PROMLAB_GRAFANA_PASSWORD", &password)
            .args([
                "doctor",
                "--format",
                "json",
                "--dir",
                ROOT,
                "--project",
                &self.project,
            ])
            .args(["--prometheus", &self.url("PROMLAB_PROMETHEUS_PORT")])
            .args(["--alertmanager", &self.url("PROMLAB_ALERTMANAGER_PORT")])
            .args(["--grafana", &grafana])
            .output();
        let report: Value = serde_json::from_slice(&doctor.stdout).expect("a JSON report");
        for id in ["grafana", "datasource-failing"] {
            let finding = report["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|finding| finding["id"] == id)
                .unwrap_or_else(|| panic!("the doctor says nothing of {id}: {report:#}"));
            assert_eq!(finding["severity"], "ok", "{finding}");
        }
    }
}

impl Stack {
    /// The folder the `secrets` service reads the student's files from (`../secrets` by default).
    fn secrets_folder(&self) -> std::path::PathBuf {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.secrets", self.project))
    }

    /// Writes the webhook URL the way the guides tell students to (a file, never a variable or a
    /// flag): a Discord-shaped URL with a random token, pointing at the sink so the alerts still arrive.
    fn write_webhook_url_file(&self) {
        use rand::distr::Alphanumeric;
        use rand::{Rng as _, SeedableRng as _};
        let token: String = rand::rngs::StdRng::from_os_rng()
            .sample_iter(Alphanumeric)
            .take(40)
            .map(char::from)
            .collect();
        let folder = self.secrets_folder();
        std::fs::create_dir_all(&folder).expect("the secrets folder");
        std::fs::write(
            folder.join("discord_webhook_url"),
            format!("http://webhook-sink:8080/api/webhooks/4242/tok{token}\n"),
        )
        .expect("the webhook URL file");
    }

    /// The webhook token shows in no `docker inspect`, `docker compose config`, log or `ps`; each secret
    /// sits in its reader's own volume, owned by its uid, mode 0400, out of the other service's reach.
    fn assert_secrets_stay_secret(&self) {
        let url = std::fs::read_to_string(self.secrets_folder().join("discord_webhook_url"))
            .expect("the webhook URL file");
        let url = url.trim();
        let token = url.rsplit('/').next().expect("a token");
        let text = |output: Output| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        };
        let project = format!("label=com.docker.compose.project={}", self.project);
        let ids = text(docker(&["ps", "-a", "-q", "--filter", &project]));
        let ids: Vec<&str> = ids.split_whitespace().collect();
        assert!(ids.len() >= self.services.len(), "containers: {ids:?}");
        let mut inspect = vec!["inspect"];
        inspect.extend(&ids);
        let ps = Command::new("ps")
            .args(["-e", "-ww", "-o", "args"])
            .output()
            .expect("ps runs");
        for (what, shown) in [
            ("docker inspect", text(docker(&inspect))),
            ("docker compose config", self.must(&["config"])),
            ("the logs", self.must(&["logs", "--no-color"])),
            ("ps", text(ps)),
        ] {
            assert!(!shown.is_empty(), "{what} shows something");
            assert!(!shown.contains(token), "{what} shows the webhook token");
        }

        // Alertmanager reads its webhook file, and the password is nowhere it can look.
        let alertmanager = self.must(&["ps", "-q", "alertmanager"]).trim().to_owned();
        let cat = |path: &str| docker(&["exec", &alertmanager, "cat", path]);
        let webhook = cat("/etc/alertmanager/secrets/discord_webhook_url");
        assert!(webhook.status.success(), "{}", text(webhook));
        assert_eq!(String::from_utf8_lossy(&webhook.stdout), url);
        let password = cat("/etc/alertmanager/secrets/grafana_admin_password");
        assert!(
            !password.status.success(),
            "Alertmanager reads the Grafana password"
        );
        let mounts = text(docker(&[
            "inspect",
            "--format",
            "{{range .Mounts}}{{.Name}} {{end}}",
            &alertmanager,
        ]));
        assert!(!mounts.contains("grafana-secrets"), "{mounts}");

        // Each file's owner and mode, seen from inside its volume.
        // Prometheus' image has `stat` and `ls` (promlab's holds its binary only).
        let prometheus = containers::image(PROMETHEUS_IMAGE).expect("Prometheus' image");
        for (volume, file, uid) in [
            ("alertmanager-secrets", "discord_webhook_url", "65534"),
            ("grafana-secrets", "grafana_admin_password", "472"),
        ] {
            let mount = format!("{}_{volume}:/v:ro", self.project);
            // A command run as root in Prometheus' image, the volume at /v, read-only and offline.
            let in_volume = |program: &str, args: &[&str]| {
                let mut command = vec!["run", "--rm", "--network", "none", "--user", "0"];
                command.extend(["--volume", &mount, "--entrypoint", program, &prometheus]);
                command.extend(args);
                text(docker(&command))
            };
            let stat = in_volume("stat", &["-c", "%u %a", &format!("/v/{file}")]);
            assert_eq!(stat.trim(), format!("{uid} 400"), "{volume}/{file}");
            let listed = in_volume("ls", &["-A", "/v"]);
            assert_eq!(listed.trim(), file, "volume {volume} holds one secret");
        }
    }
}

impl Stack {
    /// promlab's commands through the `tools` service (`run --rm promlab …`) write files that belong to
    /// the repository's owner (a uid that is neither root nor the image's 10001), and reach the stack by
    /// service name: `generate` writes the lab's files, `export` a dataset out of the stack's Prometheus
    /// (the service's own `PROMLAB_PROMETHEUS_URL`).
    fn assert_tools_write_files_the_caller_owns(&self) {
        use std::os::unix::fs::{MetadataExt as _, chown};
        const OWNER: (u32, u32) = (4321, 4322);
        let lab = &self.tools_folder;
        std::fs::copy(
            Path::new(ROOT).join("promlab.yaml"),
            lab.join("promlab.yaml"),
        )
        .expect("the lab config copied");
        for path in [lab.as_path(), &lab.join("promlab.yaml")] {
            chown(path, Some(OWNER.0), Some(OWNER.1)).expect("chown (the suite runs as root)");
        }
        self.must(&[
            "run",
            "--rm",
            "promlab",
            "generate",
            "--config",
            "promlab.yaml",
        ]);
        self.must(&[
            "run", "--rm", "promlab", "export",
            // No --prometheus-url: the service points promlab at the stack's Prometheus.
            "--query", "up", "--start", "now-2m", "--end", "now", "--step", "15s", "--format",
            "csv", "--output", "up.csv",
        ]);
        let export = std::fs::read_to_string(lab.join("up.csv")).expect("the export");
        assert!(export.contains("node_exporter"), "{export}");
        let mut written = Vec::new();
        let mut folders = vec![lab.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("the folder lists") {
                let path = entry.expect("an entry").path();
                let metadata = std::fs::symlink_metadata(&path).expect("its metadata");
                assert_eq!(
                    (metadata.uid(), metadata.gid()),
                    OWNER,
                    "{} belongs to the caller",
                    path.display()
                );
                if metadata.is_dir() {
                    folders.push(path.clone());
                }
                written.push(path);
            }
        }
        for expected in [
            "compose/compose.yaml",
            "prometheus/prometheus.yml",
            "up.csv",
        ] {
            assert!(
                written.contains(&lab.join(expected)),
                "{expected} in {written:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_stack_comes_up_healthy_alerts_and_keeps_its_data() {
    let stack = crate::require!(TEST, stack());
    assert!(Path::new(ROOT).join("compose/compose.yaml").exists());
    stack.write_webhook_url_file();
    stack.up();
    stack.wait_healthy().await;
    stack.assert_secrets_stay_secret();
    stack.assert_targets_up().await;
    stack.assert_tools_write_files_the_caller_owns();
    stack.assert_alert_reaches_the_sink().await;
    stack.assert_grafana_takes_the_generated_password().await;
    stack.assert_data_survives_a_restart().await;
}
