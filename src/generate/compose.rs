//! `compose/compose.yaml`: every service of the lab, wired by service name, and the checks for what
//! students trip on in a compose file (also run on a student's own file by the grader and the doctor).

use askama::Template;

use super::{GenerateError, GeneratedFile, LabConfig, rendered};
use crate::compose::{Compose, Service};

/// The upstream images the lab pins (a version students and CI agree on).
pub const PROMETHEUS_IMAGE: &str = "prom/prometheus:v2.53.3";
pub const ALERTMANAGER_IMAGE: &str = "prom/alertmanager:v0.28.1";
pub const NODE_EXPORTER_IMAGE: &str = "prom/node-exporter:v1.9.0";
pub const GRAFANA_IMAGE: &str = "grafana/grafana-oss:11.6.0";
/// promlab's own image, as published (`.github/workflows/images.yml`), pinned to this crate's version:
/// `docker compose up` pulls it. A test keeps the tag equal to Cargo.toml's version.
pub const PROMLAB_IMAGE: &str = concat!("ghcr.io/promlab/promlab:", env!("CARGO_PKG_VERSION"));
/// The name `compose/compose.build.yaml` gives the image it builds from the repository: a local name,
/// never the published one, so a local build is never mistaken for a release.
pub const PROMLAB_LOCAL_IMAGE: &str = "promlab:local";
/// The services that run promlab's image (the build override builds it for each).
pub const PROMLAB_SERVICES: [&str; 6] = [
    "secrets",
    "model-mock",
    "webhook-sink",
    "forecaster",
    "promlab",
    "stress",
];

#[derive(Template)]
#[template(path = "compose/compose.yaml", escape = "none")]
struct ComposeYaml {
    images: Images,
}

#[derive(Template)]
#[template(path = "compose/compose.build.yaml", escape = "none")]
struct ComposeBuildYaml {
    published: &'static str,
    local: &'static str,
    services: [&'static str; 6],
}

/// The image of each service.
struct Images {
    promlab: &'static str,
    prometheus: &'static str,
    alertmanager: &'static str,
    node_exporter: &'static str,
    grafana: &'static str,
}

/// `compose/compose.yaml`, and `compose/compose.build.yaml`, its override that builds promlab's image.
pub(super) fn files(_lab: &LabConfig) -> Result<Vec<GeneratedFile>, GenerateError> {
    Ok(vec![
        rendered(
            "compose/compose.yaml",
            ComposeYaml {
                images: Images {
                    promlab: PROMLAB_IMAGE,
                    prometheus: PROMETHEUS_IMAGE,
                    alertmanager: ALERTMANAGER_IMAGE,
                    node_exporter: NODE_EXPORTER_IMAGE,
                    grafana: GRAFANA_IMAGE,
                },
            }
            .render(),
        )?,
        rendered(
            "compose/compose.build.yaml",
            ComposeBuildYaml {
                published: PROMLAB_IMAGE,
                local: PROMLAB_LOCAL_IMAGE,
                services: PROMLAB_SERVICES,
            }
            .render(),
        )?,
    ])
}

/// One problem in a compose file: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The service, or `compose file` for the file as a whole.
    pub service: String,
    pub problem: String,
    pub fix: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; {}", self.service, self.problem, self.fix)
    }
}

/// Where each data-keeping image stores its data: it must be a named volume to survive `down`.
const DATA_DIRS: [(&str, &str); 3] = [
    ("prometheus", "/prometheus"),
    ("alertmanager", "/alertmanager"),
    ("grafana", "/var/lib/grafana"),
];

/// Checks a compose file for what students trip on: a service without a healthcheck, host networking
/// (fails on Docker Desktop), a mounted config path that does not exist next to the file, default or
/// committed credentials, ports open beyond 127.0.0.1, unpinned images, and data that `down` would lose.
#[must_use]
pub fn lint(compose: &Compose) -> Vec<Finding> {
    let mut findings = Vec::new();
    if compose.services.is_empty() {
        findings.push(Finding {
            service: "compose file".to_owned(),
            problem: "it has no services".to_owned(),
            fix: "regenerate it with `promlab generate`".to_owned(),
        });
        return findings;
    }
    // Services others wait for to finish: one-shot jobs, which need no healthcheck.
    let one_shot: Vec<&str> = compose
        .services
        .iter()
        .flat_map(|service| &service.depends_on)
        .filter(|dependency| dependency.condition == "service_completed_successfully")
        .map(|dependency| dependency.service.as_str())
        .collect();
    for service in &compose.services {
        let mut found = |problem: String, fix: &str| {
            findings.push(Finding {
                service: service.name.clone(),
                problem,
                fix: fix.to_owned(),
            });
        };
        if !service.has_healthcheck && !one_shot.contains(&service.name.as_str()) {
            found(
                "it has no healthcheck".to_owned(),
                "add one (healthcheck: test: [CMD, …]) so `depends_on` and `docker compose ps` know when it is ready",
            );
        }
        lint_service(service, compose, &mut found);
    }
    findings
}

/// The checks of one service that need nothing but the service (and the file's folder and volumes).
fn lint_service(service: &Service, compose: &Compose, found: &mut impl FnMut(String, &str)) {
    let image = service.image.as_str();
    if service.host_network {
        found(
            "it uses network_mode: host, which Docker Desktop (macOS, Windows) does not support"
                .to_owned(),
            "remove it and reach other services by their service name",
        );
    }
    let (_, tag) = image.rsplit_once(':').unwrap_or((image, ""));
    if image.is_empty() || tag.is_empty() || tag.contains('/') || tag == "latest" {
        found(
            format!("its image {image:?} is not pinned to a version"),
            "write image: NAME:VERSION (the lab pins every upstream image)",
        );
    }
    for mount in &service.mounts {
        // A folder a variable chooses is the user's to create (its default may not exist yet).
        let written = mount.variable.is_none();
        if written && mount.source.starts_with('.') && !compose.dir.join(&mount.source).exists() {
            found(
                format!(
                    "it mounts {}, which does not exist next to the compose file",
                    mount.source
                ),
                "run `promlab generate`, or fix the path (relative to the compose file's folder)",
            );
        }
    }
    for variable in &service.environment {
        let written = variable.variable.is_none()
            && variable
                .value
                .as_deref()
                .is_some_and(|value| !value.is_empty());
        if variable.name.contains("PASSWORD") && !variable.name.ends_with("__FILE") && written {
            found(
                format!(
                    "{} is written in the compose file: a committed password",
                    variable.name
                ),
                "read it from a file (GF_SECURITY_ADMIN_PASSWORD__FILE) that an init service writes",
            );
        }
    }
    if image.contains("grafana")
        && !service
            .environment
            .iter()
            .any(|variable| variable.name == "GF_SECURITY_ADMIN_PASSWORD__FILE")
    {
        found(
            "Grafana would start with admin/admin".to_owned(),
            "set GF_SECURITY_ADMIN_PASSWORD__FILE to a password file made at start-up",
        );
    }
    for port in &service.ports {
        if port.host_ip.as_deref() != Some("127.0.0.1") {
            found(
                format!(
                    "port {:?} is open to every network the machine is on",
                    port.written
                ),
                "publish it on loopback only: 127.0.0.1:HOST:CONTAINER",
            );
        }
    }
    for (kind, data_dir) in DATA_DIRS {
        if !image.contains(kind) {
            continue;
        }
        let kept = service
            .mounts
            .iter()
            .any(|mount| mount.target == data_dir && compose.volumes.contains(&mount.source));
        if !kept {
            found(
                format!("{data_dir} is not a named volume: `docker compose down` loses its data"),
                "mount a named volume there (declared under the top-level volumes:)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint_text(compose: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compose.yaml");
        lint(&Compose::parse(compose, &path, &|_| None).unwrap())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn each_trap_is_named_with_its_fix() {
        let bad = r#"
services:
  init:
    image: promlab:local
  web:
    image: grafana/grafana-oss
    network_mode: host
    environment: [GF_SECURITY_ADMIN_PASSWORD=admin]
    ports: ["3000:3000", {target: 3001, published: 3001, host_ip: 127.0.0.1}]
    volumes: [./nowhere:/etc/grafana/provisioning]
    depends_on:
      init: {condition: service_completed_successfully}
  prometheus:
    image: prom/prometheus:v2.53.3
    healthcheck: {test: [CMD, "true"]}
    volumes: [/srv/prom:/prometheus]
"#;
        let findings = lint_text(bad);
        for expected in [
            "web: it has no healthcheck",
            "web: it uses network_mode: host",
            "web: its image \"grafana/grafana-oss\" is not pinned",
            "web: it mounts ./nowhere, which does not exist",
            "web: GF_SECURITY_ADMIN_PASSWORD is written in the compose file",
            "web: Grafana would start with admin/admin",
            "web: port \"3000:3000\" is open to every network",
            "web: /var/lib/grafana is not a named volume",
            "prometheus: /prometheus is not a named volume",
        ] {
            assert!(
                findings.iter().any(|finding| finding.starts_with(expected)),
                "{expected:?} in {findings:#?}"
            );
        }
        assert!(
            !findings
                .iter()
                .any(|finding| finding.starts_with("init: it has no healthcheck")),
            "a one-shot service needs none: {findings:#?}"
        );
        assert_eq!(findings.len(), 9, "{findings:#?}");
    }
}
