//! `promlab doctor`: run by a student on the host, it checks each service of the lab stack and explains
//! the mistakes students actually make, each with why it breaks and the exact fix. It reads the repo's
//! files (`repo`: static checks), asks the running services (`live`: Prometheus, Alertmanager, Grafana)
//! and looks at the host (`host`: ports already taken, volume and folder owners, through Docker when
//! it is there). Unreachable services and a missing Docker are findings, never crashes.

mod host;
mod live;
mod repo;
mod report;

use std::path::PathBuf;
use std::time::Duration;

pub use report::{Finding, Report, ReportFormat, Severity};

use crate::redact::{self, Secret};

/// Everything `promlab doctor` needs, free of any CLI type. Its `Debug` hides the password and the
/// URLs' user info.
#[derive(Clone)]
pub struct DoctorConfig {
    /// The lab's repository: `prometheus/`, `alertmanager/`, `grafana/`, `compose/` inside.
    pub dir: PathBuf,
    /// Prometheus' URL; `None`: `http://127.0.0.1:PORT` with the port compose publishes.
    pub prometheus: Option<String>,
    /// Alertmanager's URL; `None`: as for Prometheus.
    pub alertmanager: Option<String>,
    /// Grafana's URL; `None`: as for Prometheus.
    pub grafana: Option<String>,
    /// Grafana's admin login (user, password), for the data source checks (skipped without it).
    pub grafana_login: Option<(String, Secret)>,
    /// The compose project whose volumes are checked; `None`: the compose file's folder name.
    pub project: Option<String>,
    /// Only the repo's files and folders: no network, no Docker.
    pub offline: bool,
    /// How long each network call or Docker command may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for DoctorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = |url: &Option<String>| url.as_deref().map(redact::url);
        f.debug_struct("DoctorConfig")
            .field("dir", &self.dir)
            .field("prometheus", &url(&self.prometheus))
            .field("alertmanager", &url(&self.alertmanager))
            .field("grafana", &url(&self.grafana))
            .field("grafana_login", &self.grafana_login)
            .field("project", &self.project)
            .field("offline", &self.offline)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the doctor could not examine the stack, or what it found.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// The repository folder does not exist.
    #[error(
        "{dir} is not a folder: run the doctor from the lab's repository, or give it with --dir"
    )]
    NoRepo { dir: String },
    /// A URL given on the command line is not one, or an `https://` client cannot be set up (the
    /// error names the service).
    #[error(transparent)]
    Client(#[from] crate::clients::ClientError),
    /// The checks found problems (the report, printed before, says which and how to fix them).
    #[error(
        "the doctor found {count} problem{}: fix {} as shown above, then run `promlab doctor` again",
        if *.count == 1 { "" } else { "s" },
        if *.count == 1 { "it" } else { "them" }
    )]
    ProblemsFound { count: usize },
}

/// Runs every check and returns the report; the caller prints it and fails when it holds problems.
pub async fn examine(config: &DoctorConfig) -> Result<Report, DoctorError> {
    if !config.dir.is_dir() {
        return Err(DoctorError::NoRepo {
            dir: config.dir.display().to_string(),
        });
    }
    let env = |name: &str| std::env::var(name).ok();
    let mut report = Report::new(config.dir.display().to_string());
    let lab = repo::Repo::load(&config.dir, &env, &mut report);
    lab.check(&mut report);
    let project = config
        .project
        .clone()
        .unwrap_or_else(|| lab.default_project());
    report.project = Some(project.clone());
    host::check_folders(&lab, &mut report);
    if config.offline {
        return Ok(report);
    }
    let clients = live::Clients::new(config, &lab)?;
    host::check_ports(&lab, config.timeout, &mut report).await;
    host::check_volumes(&lab, &project, config.timeout, &mut report).await;
    live::check(&clients, &lab, &mut report).await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &str) -> DoctorConfig {
        DoctorConfig {
            dir: PathBuf::from(dir),
            prometheus: None,
            alertmanager: None,
            grafana: None,
            grafana_login: None,
            project: Some("promlab-doctor-unit".to_owned()),
            offline: false,
            timeout: Duration::from_millis(500),
        }
    }

    #[tokio::test]
    async fn a_bad_url_or_folder_stops_the_doctor_naming_the_fix() {
        let mut bad_url = config(env!("CARGO_MANIFEST_DIR"));
        bad_url.prometheus = Some("prometheus:9090".to_owned());
        let error = examine(&bad_url).await.unwrap_err().to_string();
        assert!(error.contains("write it as http://HOST:PORT"), "{error}");
        bad_url.prometheus = None;
        bad_url.grafana = Some("ftp://admin:gr4f-pass@grafana:3000".to_owned());
        let error = examine(&bad_url).await.unwrap_err().to_string();
        assert!(error.contains("or https://HOST:PORT"), "{error}");
        assert!(!error.contains("gr4f-pass"), "{error}");
        let error = examine(&config("/nowhere/lab"))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("give it with --dir"), "{error}");
    }

    #[test]
    fn the_debug_shows_no_password_or_user_info() {
        let mut config = config("lab");
        config.grafana = Some("http://admin:us3rinfo@grafana:3000".to_owned());
        config.grafana_login = Some(("admin".to_owned(), Secret::new("s3cret")));
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("us3rinfo"),
            "{debug}"
        );
        assert!(debug.contains("http://***@grafana:3000"), "{debug}");
    }
}
