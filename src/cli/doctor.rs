//! `promlab doctor`: the repository, the running stack, the report.
#![allow(clippy::doc_markdown)]

use std::time::Duration;

use clap::{Args, ValueEnum};

use std::path::PathBuf;

use crate::doctor::{DoctorConfig, ReportFormat};

use super::shared::{GrafanaLoginArgs, StackUrlArgs, lab_dir, parse_timeout};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The lab's repository (prometheus/, alertmanager/, grafana/, compose/ inside) [default: .].
    #[arg(long, env = "PROMLAB_DIR")]
    pub dir: Option<PathBuf>,

    /// The running stack (default: http://127.0.0.1 on the ports compose publishes: PROMLAB_PROMETHEUS_PORT or 9090, 9093, 3000).
    #[command(flatten)]
    pub stack: StackUrlArgs,

    #[command(flatten)]
    pub grafana_login: GrafanaLoginArgs,

    /// The compose project whose volumes are checked (default: COMPOSE_PROJECT_NAME, else the compose file's folder name).
    #[arg(long, env = "COMPOSE_PROJECT_NAME")]
    pub project: Option<String>,

    /// Only the repo's files and folders: no network call, no Docker.
    #[arg(long, env = "PROMLAB_DOCTOR_OFFLINE")]
    pub offline: bool,

    /// How long each network call may take (Docker commands get at least 10s).
    #[arg(long, env = "PROMLAB_DOCTOR_TIMEOUT", default_value = "2s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// text for people, json for scripts.
    #[arg(long, env = "PROMLAB_DOCTOR_FORMAT", value_enum, default_value_t = DoctorFormatArg::Text)]
    pub format: DoctorFormatArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DoctorFormatArg {
    /// Findings with why and fix, then a summary.
    Text,
    /// One JSON object: findings and summary.
    Json,
}

impl From<DoctorFormatArg> for ReportFormat {
    fn from(format: DoctorFormatArg) -> Self {
        match format {
            DoctorFormatArg::Text => Self::Text,
            DoctorFormatArg::Json => Self::Json,
        }
    }
}

impl From<DoctorArgs> for DoctorConfig {
    fn from(args: DoctorArgs) -> Self {
        Self {
            dir: lab_dir(args.dir, "PROMLAB_DOCTOR_DIR"),
            prometheus: args.stack.prometheus("PROMLAB_DOCTOR_PROMETHEUS"),
            alertmanager: args.stack.alertmanager("PROMLAB_DOCTOR_ALERTMANAGER"),
            grafana: args.stack.grafana("PROMLAB_DOCTOR_GRAFANA"),
            grafana_login: args
                .grafana_login
                .password()
                .map(|password| (args.grafana_login.grafana_user, password)),
            project: args.project.filter(|project| !project.is_empty()),
            offline: args.offline,
            timeout: args.timeout,
        }
    }
}
