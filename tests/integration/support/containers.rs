//! Containers the tests start: images chosen by environment variables whose defaults are the upstream
//! images, host networking on 127.0.0.1 with free ports, removed when dropped.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::Missing;

/// The image for `env`, or the upstream `default`, once it is known to be usable here: the engine
/// answers and the image is present locally or can be pulled.
pub fn image(env: &str, default: &str) -> Result<String, Missing> {
    let reference = std::env::var(env).unwrap_or_else(|_| default.to_owned());
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map_err(|error| Missing(format!("no docker client: {error}")))?;
    if !engine.status.success() {
        return Err(Missing(
            "no Docker engine answers `docker info` (.ci/run starts one)".to_owned(),
        ));
    }
    let present = |reference: &str| {
        Command::new("docker")
            .args(["image", "inspect", reference])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if present(&reference) {
        return Ok(reference);
    }
    let pulled = Command::new("docker")
        .args(["pull", "--quiet", &reference])
        .output()
        .is_ok_and(|output| output.status.success());
    if pulled {
        Ok(reference)
    } else {
        Err(Missing(format!(
            "image {reference} is not here and cannot be pulled (no registry reachable): run .ci/build-images, or set {env}"
        )))
    }
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
    _container: ContainerAsync<GenericImage>,
    pub port: u16,
    client: reqwest::Client,
}

impl Prometheus {
    pub async fn start(config: &str) -> Result<Self, Missing> {
        let reference = image("PROMLAB_PROMETHEUS_IMAGE", "prom/prometheus:v2.53.3")?;
        let port = super::free_port();
        let container = generic_image(&reference)
            .with_wait_for(WaitFor::message_on_stderr(
                "Server is ready to receive web requests.",
            ))
            .with_network("host")
            .with_copy_to("/etc/prometheus/prometheus.yml", config.as_bytes().to_vec())
            .with_cmd([
                "--config.file=/etc/prometheus/prometheus.yml".to_owned(),
                "--storage.tsdb.path=/prometheus".to_owned(),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ])
            .with_startup_timeout(Duration::from_secs(60))
            .start()
            .await
            .expect("the Prometheus container starts");
        Ok(Self {
            _container: container,
            port,
            client: reqwest::Client::new(),
        })
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
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let result = self.query(promql).await;
            if done(&result) {
                return result;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{promql} never satisfied the condition within {limit:?}; last result: {result:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A real node-exporter on 127.0.0.1 (host network), reporting on this machine.
pub struct NodeExporter {
    _container: ContainerAsync<GenericImage>,
    pub port: u16,
}

impl NodeExporter {
    pub async fn start() -> Result<Self, Missing> {
        let reference = image("PROMLAB_NODE_EXPORTER_IMAGE", "prom/node-exporter:v1.9.0")?;
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
