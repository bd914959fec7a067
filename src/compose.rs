//! The compose file (`compose/compose.yaml`), read once into a typed model: its services with their
//! image, network mode, published ports, mounts, environment, healthcheck and dependencies, and its
//! named volumes. YAML merge keys (`<<:`) are applied and compose's `${VARIABLE:-default}`
//! substitution is done while the model is built, so every reader (the generator's lint, the doctor,
//! the grader) sees the values Docker would.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

/// Why a compose file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The file cannot be read (missing, a folder, no permission).
    #[error(
        "cannot read {path}: {source}; run `promlab generate` in the lab's repository, or give the right path"
    )]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not YAML (or a merge key `<<:` points at something that is not a mapping).
    #[error(
        "{path} is not valid YAML: {source}; fix the line named (indentation is two spaces, no tabs), or regenerate it with `promlab generate`"
    )]
    Yaml {
        path: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
}

/// Where the variables `${NAME}` of a compose file take their values (the environment, or none).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The compose file and its services.
#[derive(Debug, Clone)]
pub struct Compose {
    pub path: PathBuf,
    /// Its folder, which relative paths start from.
    pub dir: PathBuf,
    /// The services, in the file's order (none when the file has no `services:` mapping).
    pub services: Vec<Service>,
    /// The named volumes declared under the top-level `volumes:`.
    pub volumes: Vec<String>,
}

/// One compose service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// Its image (empty when it has none, e.g. only `build:`).
    pub image: String,
    /// `network_mode: host`: it shares the host's network, so its `localhost` is the host.
    pub host_network: bool,
    pub ports: Vec<Port>,
    pub mounts: Vec<Mount>,
    pub environment: Vec<EnvVar>,
    /// Whether it has a `healthcheck:` with a `test:`, or one `disable: true` on purpose.
    pub has_healthcheck: bool,
    pub depends_on: Vec<Dependency>,
}

/// One port of a service, in the short (`127.0.0.1:${PROMLAB_…_PORT:-9090}:9090`) or the long form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// As the file writes it, variables unresolved: what a reader finds in the file.
    pub written: String,
    /// The host address it is published on; `None`: every address the machine has.
    pub host_ip: Option<String>,
    /// The port on the host (variables resolved); `None`: not published on a fixed port.
    pub host: Option<u16>,
    pub container: u16,
    /// The variable that sets the host port, if the file uses one (`PROMLAB_GRAFANA_PORT`).
    pub variable: Option<String>,
}

/// One volume or folder mounted into a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// A named volume, or a host path (relative to the compose file's folder).
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// The variable that sets the source, if the file uses one (`${PROMLAB_SECRETS_FOLDER:-../secrets}`).
    pub variable: Option<String>,
}

/// One variable of a service's `environment:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    /// Its value (variables resolved); `None` when only the name is given (taken from the host).
    pub value: Option<String>,
    /// The compose variable its value comes from, if any (`${GF_PASSWORD}`): then it is not
    /// written in the file.
    pub variable: Option<String>,
}

/// One service another waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    /// `service_started` (the list form's), `service_healthy` or `service_completed_successfully`.
    pub condition: String,
}

/// Where a path inside a container lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// In a host folder mounted into the container.
    Host(PathBuf),
    /// In a named volume, at this path inside it.
    Volume { volume: String, path: String },
    /// Nowhere: nothing is mounted there.
    NotMounted,
}

impl Compose {
    /// Reads and models the compose file at `path`, its variables taken from `env`.
    pub fn load(path: &Path, env: Env<'_>) -> Result<Self, ComposeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ComposeError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, path, env)
    }

    /// Models `text`, the compose file at `path` (relative paths start from its folder), its
    /// variables taken from `env`.
    pub fn parse(text: &str, path: &Path, env: Env<'_>) -> Result<Self, ComposeError> {
        let yaml = |source| ComposeError::Yaml {
            path: path.display().to_string(),
            source,
        };
        let mut document: Value = serde_yaml_ng::from_str(text).map_err(yaml)?;
        document.apply_merge().map_err(yaml)?;
        let services = document["services"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(name, service)| Some(Service::parse(text_of(name)?, service, env)))
            .collect();
        let volumes = document["volumes"]
            .as_mapping()
            .map(|map| map.keys().filter_map(text_of).collect())
            .unwrap_or_default();
        Ok(Self {
            dir: path.parent().unwrap_or(Path::new(".")).to_owned(),
            path: path.to_owned(),
            services,
            volumes,
        })
    }

    /// The service called `name`.
    #[must_use]
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|service| service.name == name)
    }
}

impl Service {
    fn parse(name: String, service: &Value, env: Env<'_>) -> Self {
        let resolved = |value: &Value| text_of(value).map(|text| substitute(&text, env).0);
        Self {
            name,
            image: resolved(&service["image"]).unwrap_or_default(),
            host_network: service["network_mode"].as_str() == Some("host"),
            ports: sequence(&service["ports"])
                .filter_map(|port| Port::parse(port, env))
                .collect(),
            mounts: sequence(&service["volumes"])
                .filter_map(|volume| Mount::parse(volume, env))
                .collect(),
            environment: environment(&service["environment"], env),
            // A healthcheck, or one switched off on purpose (a command run by `run`, not a server).
            has_healthcheck: !service["healthcheck"]["test"].is_null()
                || service["healthcheck"]["disable"].as_bool() == Some(true),
            depends_on: dependencies(&service["depends_on"]),
        }
    }

    /// Its ports published on a fixed host port: `(host port, port)`.
    pub fn published_ports(&self) -> impl Iterator<Item = (u16, &Port)> {
        self.ports
            .iter()
            .filter_map(|port| Some((port.host?, port)))
    }

    /// The host port published for `container_port`, if any.
    #[must_use]
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.published_ports()
            .find(|(_, port)| port.container == container_port)
            .map(|(host, _)| host)
    }

    /// Where `path` (inside this service's container) is on the host, through the longest mount;
    /// `compose_dir` is the compose file's folder.
    #[must_use]
    pub fn locate(&self, path: &str, compose_dir: &Path) -> Located {
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
}

impl Port {
    /// A port in the short (`[IP:]HOST:CONTAINER[/PROTOCOL]`, `CONTAINER`) or the long form; `None`
    /// when its container port is not a number (a range).
    fn parse(value: &Value, env: Env<'_>) -> Option<Self> {
        if let Value::Mapping(_) = value {
            let written_host = text_of(&value["published"]);
            let (host, variable) = written_host
                .as_deref()
                .map(|host| substitute(host, env))
                .unzip();
            let host_ip = text_of(&value["host_ip"]).map(|ip| substitute(&ip, env).0);
            let container = text_of(&value["target"])?;
            return Some(Self {
                written: [host_ip.clone(), written_host, Some(container.clone())]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(":"),
                host: host.and_then(|host| host.trim().parse().ok()),
                host_ip,
                container: container.trim().parse().ok()?,
                variable: variable.flatten(),
            });
        }
        let written = text_of(value)?;
        let (resolved, variable) = substitute(&written, env);
        let resolved = resolved.split('/').next().unwrap_or_default();
        let mut parts = resolved.rsplitn(3, ':');
        let container = parts.next()?.trim().parse().ok()?;
        let host = parts.next().map(str::to_owned);
        let host_ip = parts.next().map(str::to_owned);
        Some(Self {
            written,
            host_ip,
            host: host.and_then(|host| host.trim().parse().ok()),
            container,
            variable,
        })
    }
}

impl Mount {
    /// A mount in the short (`SOURCE:TARGET[:ro]`) or the long form; `None` for an anonymous volume.
    fn parse(value: &Value, env: Env<'_>) -> Option<Self> {
        match value {
            Value::String(short) => {
                let (short, variable) = substitute(short, env);
                let mut parts = short.splitn(3, ':');
                let source = parts.next()?.to_owned();
                let target = parts.next()?.to_owned();
                let read_only = parts
                    .next()
                    .is_some_and(|mode| mode.split(',').any(|option| option == "ro"));
                Some(Self {
                    source,
                    target,
                    read_only,
                    variable,
                })
            }
            Value::Mapping(_) => {
                let (source, variable) = substitute(&text_of(&value["source"])?, env);
                Some(Self {
                    source,
                    target: substitute(&text_of(&value["target"])?, env).0,
                    read_only: value["read_only"].as_bool().unwrap_or(false),
                    variable,
                })
            }
            _ => None,
        }
    }

    /// A host folder or file, not a named volume.
    #[must_use]
    pub fn is_bind(&self) -> bool {
        self.source.starts_with(['.', '/', '~'])
    }
}

/// A scalar as text (`3000`, `true` included).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The items of a YAML list (nothing when it is not one).
fn sequence(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_sequence().into_iter().flatten()
}

/// A service's environment, in the map or the list (`NAME=value`) form.
fn environment(value: &Value, env: Env<'_>) -> Vec<EnvVar> {
    let variable = |name: String, value: Option<String>| {
        let (value, variable) = value
            .map(|value| substitute(&value, env))
            .map_or((None, None), |(value, variable)| (Some(value), variable));
        EnvVar {
            name,
            value,
            variable,
        }
    };
    match value {
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(name, value)| Some(variable(text_of(name)?, text_of(value))))
            .collect(),
        Value::Sequence(list) => list
            .iter()
            .filter_map(text_of)
            .map(|item| match item.split_once('=') {
                Some((name, value)) => variable(name.to_owned(), Some(value.to_owned())),
                None => variable(item, None),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A service's `depends_on`, in the list or the map (with conditions) form.
fn dependencies(value: &Value) -> Vec<Dependency> {
    let started = "service_started";
    match value {
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(service, settings)| {
                Some(Dependency {
                    service: text_of(service)?,
                    condition: settings["condition"].as_str().unwrap_or(started).to_owned(),
                })
            })
            .collect(),
        Value::Sequence(list) => list
            .iter()
            .filter_map(text_of)
            .map(|service| Dependency {
                service,
                condition: started.to_owned(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Compose's variable substitution: `${NAME:-default}`, `${NAME-default}`, `${NAME}`, `$NAME`, and
/// `$$` for a `$`; returns the text and the first variable it used.
fn substitute(text: &str, env: Env<'_>) -> (String, Option<String>) {
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
    }

    #[test]
    fn ports_are_read_in_both_forms() {
        let port = |yaml: &str| Port::parse(&serde_yaml_ng::from_str(yaml).unwrap(), &env).unwrap();
        let short = port("\"127.0.0.1:${PROMLAB_PROMETHEUS_PORT:-9090}:9090\"");
        assert_eq!((short.host, short.container), (Some(9090), 9090));
        assert_eq!(short.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(short.variable.as_deref(), Some("PROMLAB_PROMETHEUS_PORT"));
        assert_eq!(
            short.written,
            "127.0.0.1:${PROMLAB_PROMETHEUS_PORT:-9090}:9090"
        );
        let long = port(
            "{target: 3000, published: \"${PROMLAB_GRAFANA_PORT:-3000}\", host_ip: 127.0.0.1}",
        );
        assert_eq!((long.host, long.container), (Some(3001), 3000));
        assert_eq!(long.host_ip.as_deref(), Some("127.0.0.1"));
        let open = port("\"3000:3000/tcp\"");
        assert_eq!((open.host, open.host_ip), (Some(3000), None));
        assert_eq!(port("9100").host, None);
    }

    #[test]
    fn a_service_is_modelled_with_what_its_readers_need() {
        let text = r#"
x-common: &common
  healthcheck: {test: [CMD, "true"]}
services:
  grafana:
    <<: *common
    image: grafana/grafana-oss:${GRAFANA_VERSION:-11.6.0}
    environment: [GF_SECURITY_ADMIN_PASSWORD=admin, "GF_TOKEN=${TOKEN}", GF_HOME]
    volumes: [grafana-data:/var/lib/grafana, "../grafana:/etc/grafana:ro"]
    depends_on:
      secrets: {condition: service_completed_successfully}
  secrets:
    image: promlab:local
    network_mode: host
    depends_on: [grafana]
volumes:
  grafana-data:
"#;
        let compose = Compose::parse(text, Path::new("/lab/compose/compose.yaml"), &env).unwrap();
        assert_eq!(compose.dir, Path::new("/lab/compose"));
        assert_eq!(compose.volumes, ["grafana-data"]);
        let grafana = compose.service("grafana").unwrap();
        assert_eq!(grafana.image, "grafana/grafana-oss:11.6.0");
        assert!(grafana.has_healthcheck && !grafana.host_network);
        assert_eq!(grafana.environment[0].value.as_deref(), Some("admin"));
        assert_eq!(grafana.environment[1].variable.as_deref(), Some("TOKEN"));
        assert_eq!(grafana.environment[2].value, None);
        assert!(grafana.mounts[1].read_only && grafana.mounts[1].is_bind());
        assert_eq!(
            grafana.depends_on[0].condition,
            "service_completed_successfully"
        );
        let secrets = compose.service("secrets").unwrap();
        assert!(secrets.host_network && !secrets.has_healthcheck);
        assert_eq!(secrets.depends_on[0].condition, "service_started");
    }

    #[test]
    fn bad_files_are_named_with_the_fix() {
        let error = Compose::parse("services: [", Path::new("compose.yaml"), &env)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("compose.yaml is not valid YAML"),
            "{error}"
        );
        assert!(
            error.contains("regenerate it with `promlab generate`"),
            "{error}"
        );
        let error = Compose::load(Path::new("/nowhere/compose.yaml"), &env)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot read /nowhere/compose.yaml"),
            "{error}"
        );
        assert!(error.contains("run `promlab generate`"), "{error}");
    }

    #[test]
    fn a_container_path_is_found_through_the_longest_mount() {
        let mount = |source: &str, target: &str| Mount {
            source: source.to_owned(),
            target: target.to_owned(),
            read_only: true,
            variable: None,
        };
        let service = Service {
            name: "alertmanager".to_owned(),
            image: String::new(),
            host_network: false,
            ports: Vec::new(),
            mounts: vec![
                mount("../alertmanager", "/etc/alertmanager"),
                mount("secrets", "/etc/alertmanager/secrets"),
            ],
            environment: Vec::new(),
            has_healthcheck: false,
            depends_on: Vec::new(),
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
}
