//! The lab's files as the doctor reads them, once: prometheus.yml and the rule groups of its rule
//! files, alertmanager.yml, Grafana's data sources and the compose file ([`crate::compose`]); and
//! what the checks ask of them. `load` reads them (a missing or broken file is a finding), `checks`
//! judges them before anything runs.

mod checks;
mod load;

use std::path::PathBuf;

use serde_yaml_ng::Value;

use crate::compose::{Compose, Located};

/// Where the lab keeps each file, relative to the repository.
const PROMETHEUS_YML: &str = "prometheus/prometheus.yml";
const ALERTMANAGER_YML: &str = "alertmanager/alertmanager.yml";
const COMPOSE_YAML: &str = "compose/compose.yaml";
const DATASOURCES_DIR: &str = "grafana/provisioning/datasources";

/// The port Prometheus listens on inside its container: a target `localhost:9090` is Prometheus itself.
const PROMETHEUS_OWN_PORT: u16 = 9090;

/// A rule group one of the repo's rule files defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileGroup {
    pub name: String,
    pub file: PathBuf,
}

/// A secret file Alertmanager reads the webhook URL from that lives in a named volume: only Docker
/// can look inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VolumeFile {
    pub service: String,
    pub volume: String,
    pub path: String,
    /// The path in the container, as alertmanager.yml names it.
    pub container_path: String,
}

/// The lab's files, read once.
#[derive(Debug, Clone)]
pub(super) struct Repo {
    pub dir: PathBuf,
    pub compose: Option<Compose>,
    prometheus: Option<Value>,
    alertmanager: Option<Value>,
    /// Each data source file, and what it holds.
    datasources: Vec<(PathBuf, Value)>,
    /// Rule groups the files that prometheus.yml names define.
    pub rule_groups: Vec<FileGroup>,
}

/// A YAML scalar as text (a number included).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The strings of a YAML list (nothing when it is not one).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|list| list.iter().filter_map(text).collect())
        .unwrap_or_default()
}

/// `(host, port)` of `http://host:port/path` or `host:port`.
pub(super) fn host_and_port(address: &str) -> Option<(String, Option<u16>)> {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|port| port.parse().ok());
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok())),
        None => Some((authority.to_owned(), None)),
    }
}

/// Whether `host` is this machine: inside a container, the container itself.
pub(super) fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "::1" | "0.0.0.0") || host.starts_with("127.")
}

impl Repo {
    /// The compose project Docker names the volumes after: `COMPOSE_PROJECT_NAME`'s default, the
    /// compose file's folder, lower-cased, keeping only letters, digits, `-` and `_`.
    pub(super) fn default_project(&self) -> String {
        let folder = self
            .compose
            .as_ref()
            .map_or(self.dir.as_path(), |compose| compose.dir.as_path())
            .canonicalize()
            .ok()
            .and_then(|dir| {
                dir.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_default();
        folder
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// Whether Prometheus runs in a container of its own (not on the host's network), where
    /// `localhost` is that container.
    pub(super) fn prometheus_in_container(&self) -> bool {
        self.compose
            .as_ref()
            .and_then(|compose| compose.service("prometheus"))
            .is_some_and(|service| !service.host_network)
    }

    /// The address that reaches the target at `port` from another container: the compose service that
    /// listens on that port inside its container, or publishes it on the host.
    pub(super) fn service_address(&self, port: u16) -> String {
        let services = self
            .compose
            .as_ref()
            .map(|compose| compose.services.as_slice())
            .unwrap_or_default();
        services
            .iter()
            .find(|service| service.ports.iter().any(|p| p.container == port))
            .map(|service| format!("{}:{port}", service.name))
            .or_else(|| {
                services.iter().find_map(|service| {
                    let (_, published) =
                        service.published_ports().find(|(host, _)| *host == port)?;
                    Some(format!("{}:{}", service.name, published.container))
                })
            })
            .unwrap_or_else(|| format!("SERVICE:{port} (the compose service's name)"))
    }

    fn rule_patterns(&self) -> Vec<String> {
        self.prometheus
            .as_ref()
            .map(|prometheus| strings(&prometheus["rule_files"]))
            .unwrap_or_default()
    }

    /// The webhook files (`*_file` keys) and inline URLs of every receiver.
    fn webhooks(&self) -> (Vec<String>, usize) {
        let Some(alertmanager) = &self.alertmanager else {
            return (Vec::new(), 0);
        };
        let mut files = Vec::new();
        let mut inline = 0;
        for receiver in alertmanager["receivers"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for kind in [
                "discord_configs",
                "webhook_configs",
                "slack_configs",
                "msteams_configs",
            ] {
                for config in receiver[kind].as_sequence().into_iter().flatten() {
                    for key in ["webhook_url_file", "url_file", "api_url_file"] {
                        files.extend(text(&config[key]));
                    }
                    inline += ["webhook_url", "url", "api_url"]
                        .iter()
                        .filter(|key| text(&config[**key]).is_some_and(|url| !url.is_empty()))
                        .count();
                }
            }
        }
        (files, inline)
    }

    /// The webhook files that live in named volumes, for Docker to look into.
    pub(super) fn webhook_volume_files(&self) -> Vec<VolumeFile> {
        let Some(compose) = &self.compose else {
            return Vec::new();
        };
        let Some(service) = compose.service("alertmanager") else {
            return Vec::new();
        };
        self.webhooks()
            .0
            .into_iter()
            .filter_map(|file| match service.locate(&file, &compose.dir) {
                Located::Volume { volume, path } => Some(VolumeFile {
                    service: service.name.clone(),
                    volume,
                    path,
                    container_path: file,
                }),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::doctor::Report;

    #[test]
    fn addresses_are_split_into_host_and_port() {
        assert_eq!(
            host_and_port("http://localhost:9090/x"),
            Some(("localhost".to_owned(), Some(9090)))
        );
        assert_eq!(
            host_and_port("[::1]:5000"),
            Some(("::1".to_owned(), Some(5000)))
        );
        assert_eq!(
            host_and_port("model-mock:5000"),
            Some(("model-mock".to_owned(), Some(5000)))
        );
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost"));
        assert!(!is_loopback("prometheus"));
    }

    /// The committed, generated lab is the good fixture: none of its files trips a check.
    #[test]
    fn the_generated_lab_has_no_static_problem() {
        let mut report = Report::new(String::new());
        let repo = Repo::load(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &|_| None,
            &mut report,
        );
        repo.check(&mut report);
        assert_eq!(report.problems(), 0, "{:#?}", report.findings);
        assert_eq!(repo.rule_groups.len(), 4, "{:?}", repo.rule_groups);
        assert_eq!(
            repo.webhook_volume_files(),
            vec![VolumeFile {
                service: "alertmanager".to_owned(),
                volume: "alertmanager-secrets".to_owned(),
                path: "discord_webhook_url".to_owned(),
                container_path: "/etc/alertmanager/secrets/discord_webhook_url".to_owned(),
            }]
        );
        assert_eq!(repo.default_project(), "compose");
    }
}
