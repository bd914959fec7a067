//! Containers the tests start: the pinned upstream images where the engine has them or can pull them,
//! the stand-ins `.ci/build-images` makes from Debian's packages (under their own `promlab-ci/` names) only
//! where it cannot; host networking on 127.0.0.1, removed when dropped. Which one ran is reported.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use promlab::generate::compose;
use serde_json::Value;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::Missing;

/// An image the tests run: the upstream one the lab pins, and the stand-in `.ci/build-images` builds
/// where no registry serves it. `PROMLAB_<NAME>_IMAGE` overrides both.
#[derive(Debug, Clone, Copy)]
pub struct Pin {
    pub variable: &'static str,
    pub upstream: &'static str,
    pub stand_in: Option<&'static str>,
}

/// Prometheus (and promtool), as the lab pins it.
pub const PROMETHEUS_IMAGE: Pin = Pin {
    variable: "PROMLAB_PROMETHEUS_IMAGE",
    upstream: compose::PROMETHEUS_IMAGE,
    stand_in: Some("promlab-ci/prometheus:2.53.3"),
};
/// Alertmanager (and amtool), as the lab pins it.
pub const ALERTMANAGER_IMAGE: Pin = Pin {
    variable: "PROMLAB_ALERTMANAGER_IMAGE",
    upstream: compose::ALERTMANAGER_IMAGE,
    stand_in: Some("promlab-ci/alertmanager:0.28.1"),
};
/// node-exporter, as the lab pins it.
pub const NODE_EXPORTER_IMAGE: Pin = Pin {
    variable: "PROMLAB_NODE_EXPORTER_IMAGE",
    upstream: compose::NODE_EXPORTER_IMAGE,
    stand_in: Some("promlab-ci/node-exporter:1.9.0"),
};
/// Grafana, as the lab pins it: no stand-in can be made from Debian's packages.
pub const GRAFANA_IMAGE: Pin = Pin {
    variable: "PROMLAB_GRAFANA_IMAGE",
    upstream: compose::GRAFANA_IMAGE,
    stand_in: None,
};
/// promlab's own image: always the one built from this tree (`.ci/build-images` sets the variable),
/// never a published one.
pub const PROMLAB_IMAGE: Pin = Pin {
    variable: "PROMLAB_IMAGE",
    upstream: "promlab:ci",
    stand_in: None,
};

/// The image to run for `pin`, chosen once per test process and reported (on standard error and in
/// `target/promlab-images.txt`): the override, else the upstream image when it is here or can be
/// pulled, else the stand-in when it is here.
pub fn image(pin: Pin) -> Result<String, Missing> {
    static CHOSEN: OnceLock<Mutex<BTreeMap<&'static str, Result<String, String>>>> =
        OnceLock::new();
    let mut chosen = CHOSEN
        .get_or_init(|| Mutex::new(BTreeMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    chosen
        .entry(pin.variable)
        .or_insert_with(|| {
            let choice = choose(pin);
            report_choice(pin, &choice);
            choice
        })
        .clone()
        .map_err(Missing)
}

fn choose(pin: Pin) -> Result<String, String> {
    engine().map_err(|missing| missing.0)?;
    if let Ok(reference) = std::env::var(pin.variable) {
        return if present(&reference) || pull(&reference) {
            Ok(reference)
        } else {
            Err(format!(
                "{} names {reference}, which is not here and cannot be pulled",
                pin.variable
            ))
        };
    }
    if (present(pin.upstream) && !is_stand_in(pin.upstream)) || pull(pin.upstream) {
        return Ok(pin.upstream.to_owned());
    }
    match pin.stand_in {
        Some(stand_in) if present(stand_in) => Ok(stand_in.to_owned()),
        Some(stand_in) => Err(format!(
            "image {} cannot be pulled here and its stand-in {stand_in} is not built: run .ci/build-images",
            pin.upstream
        )),
        None => Err(format!(
            "image {} is not here and cannot be pulled (no registry reachable); set {} to an image that is",
            pin.upstream, pin.variable
        )),
    }
}

/// Says which image a test process runs for `pin`, and why.
fn report_choice(pin: Pin, choice: &Result<String, String>) {
    let line = match choice {
        Ok(reference) if reference == pin.upstream => {
            format!("{}: {reference} (upstream)", pin.variable)
        }
        Ok(reference) if Some(reference.as_str()) == pin.stand_in => format!(
            "{}: {reference} (stand-in built from Debian: {} cannot be pulled here)",
            pin.variable, pin.upstream
        ),
        Ok(reference) => format!("{}: {reference} (set by {})", pin.variable, pin.variable),
        Err(reason) => format!("{}: none ({reason})", pin.variable),
    };
    eprintln!("IMAGE {line}");
    let log = concat!(env!("CARGO_TARGET_TMPDIR"), "/../promlab-images.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(file, "{line}");
    }
}

fn engine() -> Result<(), Missing> {
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map_err(|error| Missing(format!("no docker client: {error}")))?;
    if engine.status.success() {
        Ok(())
    } else {
        Err(Missing(
            "no Docker engine answers `docker info` (.ci/run starts one)".to_owned(),
        ))
    }
}

fn present(reference: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", reference])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn pull(reference: &str) -> bool {
    Command::new("docker")
        .args(["pull", "--quiet", reference])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Whether `reference` is a stand-in under an upstream name (older suites tagged them so): the
/// stand-ins carry the `promlab.recipe` label, upstream images do not.
fn is_stand_in(reference: &str) -> bool {
    Command::new("docker")
        .args([
            "image",
            "inspect",
            "--format",
            "{{ index .Config.Labels \"promlab.recipe\" }}",
            reference,
        ])
        .output()
        .is_ok_and(|output| {
            let label = String::from_utf8_lossy(&output.stdout);
            output.status.success() && !label.trim().is_empty() && label.trim() != "<no value>"
        })
}

/// Splits `name:tag` (a registry port is not a tag).
pub fn generic_image(reference: &str) -> GenericImage {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => GenericImage::new(name, tag),
        _ => GenericImage::new(reference, "latest"),
    }
}

/// A real Prometheus on 127.0.0.1 (host network), started with `config` as its configuration.
pub struct Prometheus {
    container: ContainerAsync<GenericImage>,
    pub port: u16,
    client: reqwest::Client,
}

impl Prometheus {
    pub async fn start(config: &str) -> Result<Self, Missing> {
        Self::start_with(super::free_port(), config, &[]).await
    }

    /// Starts Prometheus on `port` with `config` at `/etc/prometheus/prometheus.yml` and each of `files`
    /// (a path relative to it, and its contents) beside it, e.g. `rules/model.yml`.
    pub async fn start_with(
        port: u16,
        config: &str,
        files: &[(String, String)],
    ) -> Result<Self, Missing> {
        Self::launch(port, config, files, None, &[]).await
    }

    /// Starts Prometheus on `port` over the TSDB in `data` (a host folder, e.g. blocks made by
    /// `promtool tsdb create-blocks-from`), kept for 60 days.
    pub async fn start_on_data(
        port: u16,
        config: &str,
        data: &std::path::Path,
    ) -> Result<Self, Missing> {
        Self::launch(port, config, &[], Some(data), &[]).await
    }

    /// As [`Self::start_on_data`], with more command-line flags (e.g. `--web.enable-admin-api`).
    pub async fn start_on_data_with_flags(
        port: u16,
        config: &str,
        data: &std::path::Path,
        flags: &[&str],
    ) -> Result<Self, Missing> {
        Self::launch(port, config, &[], Some(data), flags).await
    }

    async fn launch(
        port: u16,
        config: &str,
        files: &[(String, String)],
        data: Option<&std::path::Path>,
        flags: &[&str],
    ) -> Result<Self, Missing> {
        let reference = image(PROMETHEUS_IMAGE)?;
        let mut request = generic_image(&reference)
            .with_wait_for(WaitFor::message_on_stderr(
                "Server is ready to receive web requests.",
            ))
            .with_network("host")
            .with_copy_to("/etc/prometheus/prometheus.yml", config.as_bytes().to_vec());
        for (path, contents) in files {
            request = request.with_copy_to(
                format!("/etc/prometheus/{path}"),
                contents.as_bytes().to_vec(),
            );
        }
        if let Some(data) = data {
            request = request.with_mount(testcontainers::core::Mount::bind_mount(
                data.display().to_string(),
                "/prometheus",
            ));
        }
        let container = request
            .with_cmd(
                [
                    "--config.file=/etc/prometheus/prometheus.yml".to_owned(),
                    "--storage.tsdb.path=/prometheus".to_owned(),
                    "--storage.tsdb.retention.time=60d".to_owned(),
                    format!("--web.listen-address=127.0.0.1:{port}"),
                ]
                .into_iter()
                .chain(flags.iter().map(|flag| (*flag).to_owned())),
            )
            .with_startup_timeout(Duration::from_secs(60))
            .start()
            .await
            .expect("the Prometheus container starts");
        Ok(Self {
            container,
            port,
            client: reqwest::Client::new(),
        })
    }

    /// Stops the server (its data stays in the container), as when Prometheus goes down mid-run.
    pub async fn stop(&self) {
        self.container
            .stop_with_timeout(Some(10))
            .await
            .expect("Prometheus stops");
    }

    /// Starts a stopped server again, on the same port, and waits until it is ready.
    pub async fn restart(&self) {
        self.container
            .start()
            .await
            .expect("Prometheus starts again");
        let ready = format!("http://127.0.0.1:{}/-/ready", self.port);
        for _ in 0..120 {
            if self
                .client
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("Prometheus was not ready within 30 s of its restart");
    }

    /// `data.result` of an instant query; panics on an API error, which is a test failure.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        let response: Value = self
            .client
            .get(format!("http://127.0.0.1:{}/api/v1/query", self.port))
            .query(&[("query", promql)])
            .send()
            .await
            .expect("Prometheus answers")
            .json()
            .await
            .expect("Prometheus answers JSON");
        assert_eq!(response["status"], "success", "{promql}: {response}");
        response["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Polls `promql` until `done` accepts its result, or fails the test after `limit`.
    pub async fn wait_for(
        &self,
        promql: &str,
        limit: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        super::eventually::eventually(
            &format!("{promql} satisfies the condition"),
            limit,
            || self.query(promql),
            |result| done(result),
        )
        .await
    }
}

/// A real Grafana on 127.0.0.1 (host network), started with `files` (path in the container,
/// contents) in place: its provisioning and dashboards. Everything that would reach outside is off:
/// usage reports, update checks, plugin downloads, the news feed.
pub struct Grafana {
    _container: ContainerAsync<GenericImage>,
    pub port: u16,
    client: reqwest::Client,
}

impl Grafana {
    const PASSWORD: &str = "promlab-test";

    pub async fn start(reference: &str, files: Vec<(String, Vec<u8>)>) -> Self {
        let port = super::free_port();
        let mut image = generic_image(reference)
            .with_wait_for(WaitFor::message_on_either_std("HTTP Server Listen"))
            .with_network("host")
            .with_env_var("GF_SERVER_HTTP_ADDR", "127.0.0.1")
            .with_env_var("GF_SERVER_HTTP_PORT", port.to_string())
            .with_env_var("GF_SECURITY_ADMIN_PASSWORD", Self::PASSWORD)
            .with_env_var("GF_ANALYTICS_REPORTING_ENABLED", "false")
            .with_env_var("GF_ANALYTICS_CHECK_FOR_UPDATES", "false")
            .with_env_var("GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "false")
            .with_env_var("GF_PLUGINS_PREINSTALL_DISABLED", "true")
            .with_env_var("GF_NEWS_NEWS_FEED_ENABLED", "false")
            .with_startup_timeout(Duration::from_secs(120));
        for (path, contents) in files {
            image = image.with_copy_to(path, contents);
        }
        let container = image.start().await.expect("the Grafana container starts");
        Self {
            _container: container,
            port,
            client: reqwest::Client::new(),
        }
    }

    /// The status and JSON body of an API call as the admin; `body` makes it a POST.
    pub async fn api(&self, path: &str, body: Option<&Value>) -> (reqwest::StatusCode, Value) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let request = match body {
            Some(body) => self.client.post(&url).json(body),
            None => self.client.get(&url),
        };
        let response = request
            .basic_auth("admin", Some(Self::PASSWORD))
            .send()
            .await
            .expect("Grafana answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// `(unix seconds, value)` of every sample in a range-vector result.
pub fn samples(result: &[Value]) -> Vec<(f64, f64)> {
    result
        .iter()
        .flat_map(|series| series["values"].as_array().cloned().unwrap_or_default())
        .map(|pair| {
            let at = pair[0].as_f64().expect("a timestamp");
            let value = pair[1]
                .as_str()
                .and_then(|text| text.parse().ok())
                .expect("a value");
            (at, value)
        })
        .collect()
}

/// Runs an upstream command-line tool (`promtool`, `amtool`) from the image it ships in, on `dir`
/// mounted read-only as the working directory, without a network: the judge is the exact version the
/// lab pins.
pub fn tool(
    pin: Pin,
    program: &str,
    dir: &std::path::Path,
    args: &[&str],
) -> Result<std::process::Output, Missing> {
    let reference = image(pin)?;
    // `--mount` rather than `--volume`: a path with a `:` in it stays one path.
    let mount = format!("type=bind,source={},target=/work,readonly", dir.display());
    Ok(Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--mount", &mount])
        .args(["--workdir", "/work", "--entrypoint", program, &reference])
        .args(args)
        .output()
        .expect("docker runs"))
}

/// A real Alertmanager on 127.0.0.1 (host network, clustering off), with `config` and the Discord
/// webhook URL in the secret file the lab's config reads.
pub struct Alertmanager {
    _container: ContainerAsync<GenericImage>,
}

impl Alertmanager {
    pub async fn start(
        port: u16,
        config: &str,
        (url_file, webhook_url): (&str, &str),
    ) -> Result<Self, Missing> {
        let reference = image(ALERTMANAGER_IMAGE)?;
        let container = generic_image(&reference)
            .with_wait_for(WaitFor::message_on_stderr("Listening on"))
            .with_network("host")
            .with_copy_to(
                "/etc/alertmanager/alertmanager.yml",
                config.as_bytes().to_vec(),
            )
            .with_copy_to(url_file.to_owned(), webhook_url.as_bytes().to_vec())
            .with_cmd([
                "--config.file=/etc/alertmanager/alertmanager.yml".to_owned(),
                "--storage.path=/alertmanager".to_owned(),
                format!("--web.listen-address=127.0.0.1:{port}"),
                // No gossip port: several Alertmanagers share the host network in parallel tests.
                "--cluster.listen-address=".to_owned(),
            ])
            .with_startup_timeout(Duration::from_secs(60))
            .start()
            .await
            .expect("the Alertmanager container starts");
        Ok(Self {
            _container: container,
        })
    }
}

/// A real node-exporter on 127.0.0.1 (host network), reporting on this machine.
pub struct NodeExporter {
    _container: ContainerAsync<GenericImage>,
    pub port: u16,
}

impl NodeExporter {
    pub async fn start() -> Result<Self, Missing> {
        let reference = image(NODE_EXPORTER_IMAGE)?;
        let port = super::free_port();
        let container = generic_image(&reference)
            .with_wait_for(WaitFor::message_on_stderr("Listening on"))
            .with_network("host")
            .with_cmd([format!("--web.listen-address=127.0.0.1:{port}")])
            .with_startup_timeout(Duration::from_secs(60))
            .start()
            .await
            .expect("the node-exporter container starts");
        Ok(Self {
            _container: container,
            port,
        })
    }
}
