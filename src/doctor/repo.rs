//! The lab's files as the doctor reads them (prometheus.yml and its rule files, alertmanager.yml,
//! Grafana's data sources, the compose file), and the static checks on them: what is wrong before
//! anything runs.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use super::Report;
use crate::generate::compose;

/// Where the lab keeps each file, relative to the repository.
const PROMETHEUS_YML: &str = "prometheus/prometheus.yml";
const ALERTMANAGER_YML: &str = "alertmanager/alertmanager.yml";
const COMPOSE_YAML: &str = "compose/compose.yaml";
const DATASOURCES_DIR: &str = "grafana/provisioning/datasources";

/// The port Prometheus listens on inside its container: a target `localhost:9090` is Prometheus itself.
const PROMETHEUS_OWN_PORT: u16 = 9090;

/// One published port of a compose service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Port {
    /// The port on the host (after `${PROMLAB_…_PORT:-default}` is resolved).
    pub host: u16,
    pub container: u16,
    /// The variable that sets the host port, if the file uses one (`PROMLAB_GRAFANA_PORT`).
    pub variable: Option<String>,
}

/// One volume or folder mounted into a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mount {
    /// A named volume, or a host path (relative to the compose file's folder).
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

impl Mount {
    /// A host folder or file, not a named volume.
    pub(super) fn is_bind(&self) -> bool {
        self.source.starts_with(['.', '/', '~'])
    }
}

/// One compose service, as far as the doctor cares.
#[derive(Debug, Clone)]
pub(super) struct Service {
    pub name: String,
    pub image: String,
    pub host_network: bool,
    pub ports: Vec<Port>,
    pub mounts: Vec<Mount>,
}

/// Where a path inside a container lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Located {
    /// In a host folder mounted into the container.
    Host(PathBuf),
    /// In a named volume, at this path inside it.
    Volume { volume: String, path: String },
    /// Nowhere: nothing is mounted there.
    NotMounted,
}

impl Service {
    /// Where `path` (inside this service's container) is on the host, through the longest mount.
    pub(super) fn locate(&self, path: &str, compose_dir: &Path) -> Located {
        let mount = self
            .mounts
            .iter()
            .filter(|mount| {
                let target = mount.target.trim_end_matches('/');
                path == target || path.starts_with(&format!("{target}/"))
            })
            .max_by_key(|mount| mount.target.len());
        let Some(mount) = mount else {
            return Located::NotMounted;
        };
        let rest = path[mount.target.trim_end_matches('/').len()..].trim_start_matches('/');
        if mount.is_bind() {
            let base = compose_dir.join(&mount.source);
            Located::Host(if rest.is_empty() {
                base
            } else {
                base.join(rest)
            })
        } else {
            Located::Volume {
                volume: mount.source.clone(),
                path: rest.to_owned(),
            }
        }
    }

    /// The host port published for `container_port`, if any.
    pub(super) fn host_port(&self, container_port: u16) -> Option<u16> {
        self.ports
            .iter()
            .find(|port| port.container == container_port)
            .map(|port| port.host)
    }
}

/// The compose file and its services.
#[derive(Debug, Clone)]
pub(super) struct Compose {
    pub path: PathBuf,
    /// Its folder, which relative paths start from.
    pub dir: PathBuf,
    text: String,
    pub services: Vec<Service>,
}

impl Compose {
    pub(super) fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|service| service.name == name)
    }
}

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

/// Reads a YAML file, recording a finding when it is missing or not YAML.
fn read_yaml(path: &Path, service: &str, report: &mut Report) -> Option<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            report.problem(
                "file-missing",
                service,
                format!("cannot read {}: {error}", path.display()),
                "the lab's services are configured from this file",
                "run `promlab generate` (or `git checkout` the file) in the lab's repository, or point --dir at it".to_owned(),
            );
            return None;
        }
    };
    match serde_yaml_ng::from_str::<Value>(&text) {
        Ok(value) => Some(value),
        Err(error) => {
            report.problem(
                "invalid-yaml",
                service,
                format!("{} is not valid YAML: {error}", path.display()),
                "the service refuses to start (or to reload) with a file it cannot parse",
                "fix the line named (indentation is two spaces, no tabs), or regenerate it with `promlab generate`".to_owned(),
            );
            None
        }
    }
}

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

/// Compose's variable substitution: `${NAME:-default}`, `${NAME-default}`, `${NAME}`, `$NAME`; returns
/// the text and the first variable it used.
pub(super) fn substitute(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (String, Option<String>) {
    let mut out = String::new();
    let mut variable = None;
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(braced) = after.strip_prefix('{') {
            let Some(end) = braced.find('}') else {
                out.push_str(&rest[at..]);
                return (out, variable);
            };
            let inner = &braced[..end];
            let (name, default, empty_is_unset) =
                if let Some((name, default)) = inner.split_once(":-") {
                    (name, default, true)
                } else if let Some((name, default)) = inner.split_once('-') {
                    (name, default, false)
                } else {
                    (inner, "", false)
                };
            let value = env(name).filter(|value| !(empty_is_unset && value.is_empty()));
            out.push_str(value.as_deref().unwrap_or(default));
            variable.get_or_insert_with(|| name.to_owned());
            rest = &braced[end + 1..];
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..end];
            out.push_str(&env(name).unwrap_or_default());
            variable.get_or_insert_with(|| name.to_owned());
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    (out, variable)
}

/// A published port in the short (`127.0.0.1:${VAR:-9090}:9090`) or the long form.
fn port(value: &Value, env: &dyn Fn(&str) -> Option<String>) -> Option<Port> {
    let (host, container, variable) = if let Value::Mapping(_) = value {
        let (published, variable) = substitute(&text(&value["published"])?, env);
        (published, text(&value["target"])?, variable)
    } else {
        let (resolved, variable) = substitute(&text(value)?, env);
        let resolved = resolved.split('/').next().unwrap_or_default().to_owned();
        let parts: Vec<&str> = resolved.rsplitn(3, ':').collect();
        match parts.as_slice() {
            [container, host, ..] => ((*host).to_owned(), (*container).to_owned(), variable),
            _ => return None,
        }
    };
    Some(Port {
        host: host.trim().parse().ok()?,
        container: container.trim().parse().ok()?,
        variable,
    })
}

fn mounts(service: &Value) -> Vec<Mount> {
    service["volumes"]
        .as_sequence()
        .map(|list| {
            list.iter()
                .filter_map(|volume| match volume {
                    Value::String(short) => {
                        let mut parts = short.splitn(3, ':');
                        let source = parts.next()?.to_owned();
                        let target = parts.next()?.to_owned();
                        let read_only = parts
                            .next()
                            .is_some_and(|mode| mode.split(',').any(|option| option == "ro"));
                        Some(Mount {
                            source,
                            target,
                            read_only,
                        })
                    }
                    Value::Mapping(_) => Some(Mount {
                        source: text(&volume["source"])?,
                        target: text(&volume["target"])?,
                        read_only: volume["read_only"].as_bool().unwrap_or(false),
                    }),
                    _ => None,
                })
                .collect()
        })
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
    /// Reads the repository's files, recording what is missing or unreadable.
    pub(super) fn load(
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        report: &mut Report,
    ) -> Self {
        let compose = Self::load_compose(dir, env, report);
        let prometheus = read_yaml(&dir.join(PROMETHEUS_YML), "prometheus", report);
        let alertmanager = read_yaml(&dir.join(ALERTMANAGER_YML), "alertmanager", report);
        let mut datasources = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir.join(DATASOURCES_DIR)) {
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|entry| Some(entry.ok()?.path()))
                .filter(|path| {
                    path.extension()
                        .is_some_and(|extension| extension == "yml" || extension == "yaml")
                })
                .collect();
            paths.sort();
            for path in paths {
                if let Some(value) = read_yaml(&path, "grafana", report) {
                    datasources.push((path, value));
                }
            }
        }
        let mut repo = Self {
            dir: dir.to_owned(),
            compose,
            prometheus,
            alertmanager,
            datasources,
            rule_groups: Vec::new(),
        };
        repo.rule_groups = repo.load_rule_groups(report);
        repo
    }

    fn load_compose(
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        report: &mut Report,
    ) -> Option<Compose> {
        let path = dir.join(COMPOSE_YAML);
        let mut document = read_yaml(&path, "compose", report)?;
        let contents = std::fs::read_to_string(&path).ok()?;
        let _ = document.apply_merge();
        let services = document["services"]
            .as_mapping()
            .map(|services| {
                services
                    .iter()
                    .filter_map(|(name, service)| {
                        Some(Service {
                            name: text(name)?,
                            image: service["image"].as_str().unwrap_or_default().to_owned(),
                            host_network: service["network_mode"].as_str() == Some("host"),
                            ports: service["ports"]
                                .as_sequence()
                                .into_iter()
                                .flatten()
                                .filter_map(|value| port(value, env))
                                .collect(),
                            mounts: mounts(service),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Compose {
            dir: path.parent().unwrap_or(dir).to_owned(),
            path,
            text: contents,
            services,
        })
    }

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
                    let published = service.ports.iter().find(|p| p.host == port)?;
                    Some(format!("{}:{}", service.name, published.container))
                })
            })
            .unwrap_or_else(|| format!("SERVICE:{port} (the compose service's name)"))
    }

    /// The folder prometheus.yml is in, where relative rule paths start.
    fn prometheus_dir(&self) -> PathBuf {
        self.dir.join("prometheus")
    }

    /// Where a rule file pattern of prometheus.yml is on the host.
    fn rule_pattern_on_host(&self, pattern: &str) -> PathBuf {
        if !pattern.starts_with('/') {
            return self.prometheus_dir().join(pattern);
        }
        let located = self.compose.as_ref().and_then(|compose| {
            let service = compose.service("prometheus")?;
            Some(service.locate(pattern, &compose.dir))
        });
        match located {
            Some(Located::Host(path)) => path,
            _ => PathBuf::from(pattern),
        }
    }

    fn rule_patterns(&self) -> Vec<String> {
        self.prometheus
            .as_ref()
            .map(|prometheus| strings(&prometheus["rule_files"]))
            .unwrap_or_default()
    }

    /// Reads every rule file prometheus.yml names (its patterns are globs, as in Prometheus).
    fn load_rule_groups(&self, report: &mut Report) -> Vec<FileGroup> {
        let mut groups = Vec::new();
        for pattern in self.rule_patterns() {
            let on_host = self.rule_pattern_on_host(&pattern);
            let files: Vec<PathBuf> = glob::glob(&on_host.to_string_lossy())
                .map(|paths| paths.filter_map(Result::ok).collect())
                .unwrap_or_default();
            if files.is_empty() {
                report.problem(
                    "rule-file-missing",
                    "prometheus",
                    format!(
                        "rule_files lists {pattern:?}, which matches no file ({} does not exist)",
                        on_host.display()
                    ),
                    "Prometheus silently loads nothing for a pattern that matches no file: its alerts never exist, so they never fire",
                    format!(
                        "create the file, or fix the path in {PROMETHEUS_YML} (relative paths start from prometheus/, which Prometheus sees as /etc/prometheus); then curl -X POST http://127.0.0.1:9090/-/reload"
                    ),
                );
                continue;
            }
            for file in files {
                let Some(rules) = read_yaml(&file, "prometheus", report) else {
                    continue;
                };
                let names: Vec<String> = rules["groups"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(|group| text(&group["name"]))
                    .collect();
                if names.is_empty() {
                    report.warning(
                        "rule-file-empty",
                        "prometheus",
                        format!("{} defines no rule group", file.display()),
                        "a rule file holds `groups:`, each with a name and rules; without them it defines no alert",
                        "start it with `groups:` then `- name: …` and `rules:` (see prometheus/rules/model.yml); check it with promtool check rules FILE".to_owned(),
                    );
                }
                groups.extend(names.into_iter().map(|name| FileGroup {
                    name,
                    file: file.clone(),
                }));
            }
        }
        groups
    }

    /// Every static check.
    pub(super) fn check(&self, report: &mut Report) {
        self.check_targets(report);
        self.check_alerting(report);
        self.check_rule_files(report);
        self.check_webhook(report);
        self.check_datasources(report);
        self.check_compose(report);
    }

    fn check_targets(&self, report: &mut Report) {
        let Some(prometheus) = &self.prometheus else {
            return;
        };
        if !self.prometheus_in_container() {
            report.skipped(
                "target-localhost",
                "prometheus",
                "no compose service `prometheus` on its own network: localhost targets may be right"
                    .to_owned(),
            );
            return;
        }
        let mut found = 0;
        let mut check = |job: &str, target: &str| {
            let Some((host, port)) = host_and_port(target) else {
                return;
            };
            let port = port.unwrap_or(80);
            if !is_loopback(&host) || (port == PROMETHEUS_OWN_PORT && job != "alerting") {
                return;
            }
            found += 1;
            let address = self.service_address(port);
            let place = if job == "alerting" {
                "the Alertmanager address under alerting:".to_owned()
            } else {
                format!("job {job:?}")
            };
            report.problem(
                "target-localhost",
                "prometheus",
                format!("{place} targets {target}, but Prometheus runs in a container"),
                "inside a container localhost is the container itself: Prometheus looks for the target in its own container and finds nothing there",
                format!(
                    "in {PROMETHEUS_YML} write the compose service's name instead: {address}; then curl -X POST http://127.0.0.1:9090/-/reload"
                ),
            );
        };
        for job in prometheus["scrape_configs"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let name = text(&job["job_name"]).unwrap_or_default();
            for config in job["static_configs"].as_sequence().into_iter().flatten() {
                for target in strings(&config["targets"]) {
                    check(&name, &target);
                }
            }
        }
        for alertmanagers in prometheus["alerting"]["alertmanagers"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for config in alertmanagers["static_configs"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                for target in strings(&config["targets"]) {
                    check("alerting", &target);
                }
            }
        }
        if found == 0 {
            report.ok(
                "target-localhost",
                "prometheus",
                "every target in prometheus.yml is reached by its service name".to_owned(),
            );
        }
    }

    fn check_alerting(&self, report: &mut Report) {
        let Some(prometheus) = &self.prometheus else {
            return;
        };
        let targets: Vec<String> = prometheus["alerting"]["alertmanagers"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|alertmanagers| {
                alertmanagers["static_configs"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .flat_map(|config| strings(&config["targets"]))
                    .chain(
                        // Any service discovery counts: the doctor cannot resolve it, Prometheus can.
                        alertmanagers
                            .as_mapping()
                            .into_iter()
                            .flat_map(|map| map.keys())
                            .filter_map(Value::as_str)
                            .filter(|key| key.ends_with("_sd_configs"))
                            .map(str::to_owned),
                    )
                    .collect::<Vec<_>>()
            })
            .collect();
        if targets.is_empty() {
            report.problem(
                "no-alerting",
                "prometheus",
                format!("{PROMETHEUS_YML} has no `alerting:` block naming an Alertmanager"),
                "Prometheus evaluates the alert rules and shows them firing, but sends them nowhere: nothing reaches Alertmanager, so nothing reaches Discord",
                "add to prometheus.yml:  alerting: { alertmanagers: [ { static_configs: [ { targets: ['alertmanager:9093'] } ] } ] }  then curl -X POST http://127.0.0.1:9090/-/reload".to_owned(),
            );
        } else {
            report.ok(
                "no-alerting",
                "prometheus",
                format!("alerts are sent to {}", targets.join(", ")),
            );
        }
    }

    fn check_rule_files(&self, report: &mut Report) {
        if self.prometheus.is_none() {
            return;
        }
        if self.rule_patterns().is_empty() {
            report.problem(
                "rule-file-missing",
                "prometheus",
                format!("{PROMETHEUS_YML} lists no rule_files"),
                "without rule files Prometheus has no alert to fire",
                "add  rule_files: [rules/model.yml, …]  (paths relative to prometheus/), or regenerate with `promlab generate`".to_owned(),
            );
        } else if !self.rule_groups.is_empty() {
            report.ok(
                "rule-file-missing",
                "prometheus",
                format!(
                    "the rule files define {} group(s): {}",
                    self.rule_groups.len(),
                    self.rule_groups
                        .iter()
                        .map(|group| group.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
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

    fn check_webhook(&self, report: &mut Report) {
        if self.alertmanager.is_none() {
            return;
        }
        let (files, inline) = self.webhooks();
        if files.is_empty() && inline == 0 {
            report.problem(
                "no-webhook",
                "alertmanager",
                format!("{ALERTMANAGER_YML} has no receiver with a webhook (no discord_configs or webhook_configs)"),
                "Alertmanager accepts the alerts and delivers them to nobody",
                "give the route's receiver  discord_configs: [ { webhook_url_file: /etc/alertmanager/secrets/discord_webhook_url, send_resolved: true } ]  (as `promlab generate` writes it), then restart alertmanager".to_owned(),
            );
            return;
        }
        let service = self
            .compose
            .as_ref()
            .and_then(|compose| Some((compose.service("alertmanager")?, compose)));
        for file in files {
            let located = match service {
                Some((service, compose)) => service.locate(&file, &compose.dir),
                None => Located::Host(PathBuf::from(&file)),
            };
            match located {
                Located::Host(path) => match std::fs::metadata(&path) {
                    Ok(metadata) if metadata.len() == 0 => report.problem(
                        "webhook-file-empty",
                        "alertmanager",
                        format!("the webhook URL file {file} ({}) is empty", path.display()),
                        "Alertmanager reads the Discord webhook URL from it: an empty URL fails every notification",
                        "write your webhook URL into it (Discord: Server Settings › Integrations › Webhooks › Copy Webhook URL), then restart alertmanager".to_owned(),
                    ),
                    Ok(_) => report.ok(
                        "webhook-file-missing",
                        "alertmanager",
                        format!("the webhook URL file {file} is there"),
                    ),
                    Err(error) => report.problem(
                        "webhook-file-missing",
                        "alertmanager",
                        format!("the webhook URL file {file} ({}) cannot be read: {error}", path.display()),
                        "Alertmanager refuses to start (or fails every notification) without the file its webhook_url_file names",
                        "create it with your webhook URL, or mount the folder that holds it into the alertmanager service".to_owned(),
                    ),
                },
                Located::NotMounted => report.problem(
                    "webhook-file-missing",
                    "alertmanager",
                    format!("the webhook URL file {file} is in no volume or folder mounted into the alertmanager container"),
                    "inside the container the file does not exist, so Alertmanager cannot read the webhook URL",
                    "mount its secrets volume there (volumes: - alertmanager-secrets:/etc/alertmanager/secrets:ro), as the generated compose file does".to_owned(),
                ),
                // Only Docker can look into a named volume: `host` does.
                Located::Volume { .. } => {}
            }
        }
    }

    fn check_datasources(&self, report: &mut Report) {
        let grafana_in_container = self
            .compose
            .as_ref()
            .and_then(|compose| compose.service("grafana"))
            .is_some_and(|service| !service.host_network);
        for (path, file) in &self.datasources {
            for datasource in file["datasources"].as_sequence().into_iter().flatten() {
                let name = text(&datasource["name"]).unwrap_or_default();
                let Some(url) = text(&datasource["url"]) else {
                    continue;
                };
                let loopback = host_and_port(&url).is_some_and(|(host, _)| is_loopback(&host));
                if loopback && grafana_in_container {
                    report.problem(
                        "datasource-localhost",
                        "grafana",
                        format!(
                            "the data source {name:?} in {} points at {url}",
                            path.display()
                        ),
                        "Grafana's server sends the queries from inside its container, where localhost is Grafana itself: every panel says \"No data\" or a connection error",
                        format!(
                            "write  url: http://prometheus:9090  (the compose service's name) in {}, then docker compose -f compose/compose.yaml restart grafana",
                            path.display()
                        ),
                    );
                } else {
                    report.ok(
                        "datasource-localhost",
                        "grafana",
                        format!("the data source {name:?} points at {url}"),
                    );
                }
            }
        }
    }

    fn check_compose(&self, report: &mut Report) {
        let Some(compose) = &self.compose else {
            return;
        };
        match compose::lint(&compose.text, &compose.dir) {
            Ok(findings) if findings.is_empty() => report.ok(
                "compose-lint",
                "compose",
                format!("{} has none of the known traps", compose.path.display()),
            ),
            Ok(findings) => {
                for finding in findings {
                    report.problem(
                        "compose-lint",
                        &finding.service,
                        finding.problem,
                        "a known trap of compose files (see the README's list)",
                        finding.fix,
                    );
                }
            }
            // read_yaml already reported a file that is not YAML.
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "PROMLAB_GRAFANA_PORT").then(|| "3001".to_owned())
    }

    #[test]
    fn compose_variables_are_substituted_as_compose_does() {
        assert_eq!(
            substitute("127.0.0.1:${PROMLAB_GRAFANA_PORT:-3000}:3000", &env),
            (
                "127.0.0.1:3001:3000".to_owned(),
                Some("PROMLAB_GRAFANA_PORT".to_owned())
            )
        );
        assert_eq!(
            substitute("${PROMLAB_PROMETHEUS_PORT:-9090}", &env).0,
            "9090"
        );
        assert_eq!(substitute("$$HOME", &env).0, "$HOME");
        let port = port(
            &Value::String("127.0.0.1:${PROMLAB_PROMETHEUS_PORT:-9090}:9090".to_owned()),
            &env,
        )
        .unwrap();
        assert_eq!((port.host, port.container), (9090, 9090));
        assert_eq!(port.variable.as_deref(), Some("PROMLAB_PROMETHEUS_PORT"));
    }

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

    #[test]
    fn a_container_path_is_found_through_the_longest_mount() {
        let service = Service {
            name: "alertmanager".to_owned(),
            image: String::new(),
            host_network: false,
            ports: Vec::new(),
            mounts: vec![
                Mount {
                    source: "../alertmanager".to_owned(),
                    target: "/etc/alertmanager".to_owned(),
                    read_only: true,
                },
                Mount {
                    source: "secrets".to_owned(),
                    target: "/etc/alertmanager/secrets".to_owned(),
                    read_only: true,
                },
            ],
        };
        let dir = Path::new("/lab/compose");
        assert_eq!(
            service.locate("/etc/alertmanager/secrets/url", dir),
            Located::Volume {
                volume: "secrets".to_owned(),
                path: "url".to_owned()
            }
        );
        assert_eq!(
            service.locate("/etc/alertmanager/alertmanager.yml", dir),
            Located::Host(dir.join("../alertmanager").join("alertmanager.yml"))
        );
        assert_eq!(service.locate("/run/x", dir), Located::NotMounted);
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
