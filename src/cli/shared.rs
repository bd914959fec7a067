//! What several commands share: the running stack's URLs, the lab's folder, Grafana's login, secrets
//! from variables or files (never argv), renamed variables, and the duration flags' bounds.
#![allow(clippy::doc_markdown)]

use std::ffi::OsStr;
use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::parser::ValueSource;

use std::path::PathBuf;

use crate::redact::Secret;

/// The value parser of a secret's old flag: the value is taken from the flag's environment variable,
/// and refused from the command line with the variable and the file flag to use instead.
#[derive(Debug, Clone, Copy)]
pub(super) struct FromEnvOnly;

impl TypedValueParser for FromEnvOnly {
    type Value = Secret;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Secret, clap::Error> {
        // clap names the source in `parse_ref_`; without one, assume the worst.
        self.parse_ref_(cmd, arg, value, ValueSource::CommandLine)
    }

    fn parse_ref_(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
        source: ValueSource,
    ) -> Result<Secret, clap::Error> {
        let flag = arg.and_then(clap::Arg::get_long).unwrap_or("this flag");
        let variable = arg
            .and_then(clap::Arg::get_env)
            .map_or_else(|| "its variable".into(), OsStr::to_string_lossy);
        if source == ValueSource::CommandLine {
            return Err(cmd.clone().error(
                ErrorKind::ArgumentConflict,
                format!(
                    "--{flag} on the command line is refused: every user of this machine sees it (ps) and the shell's history keeps it; set {variable} in the environment instead, or write it into a file and give --{flag}-file FILE"
                ),
            ));
        }
        value.to_str().map(Secret::new).ok_or_else(|| {
            cmd.clone().error(
                ErrorKind::InvalidUtf8,
                format!("{variable} is not UTF-8 text: set it again, or use --{flag}-file FILE"),
            )
        })
    }
}

/// A password or token from the file at `path`, read at start: its trailing newline trimmed, a missing,
/// unreadable or empty file refused.
pub(super) fn read_secret_file(path: &str) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "cannot read {path}: {error}; give the path of a readable file holding just the secret"
        )
    })?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(format!(
            "{path} is empty: write the password or token into it (one line)"
        ));
    }
    Ok(Secret::new(secret))
}

/// The running stack's URLs, the same flags and variables in every command that calls it (`grade`,
/// `doctor`); `export`, `backup`, `metrics list` and `forecast` name Prometheus the same way.
#[derive(Debug, Args)]
pub struct StackUrlArgs {
    /// The running Prometheus, e.g. http://127.0.0.1:9090 (once --prometheus).
    #[arg(
        long = "prometheus-url",
        alias = "prometheus",
        env = "PROMLAB_PROMETHEUS_URL"
    )]
    pub prometheus_url: Option<String>,

    /// The running Alertmanager, e.g. http://127.0.0.1:9093 (once --alertmanager).
    #[arg(
        long = "alertmanager-url",
        alias = "alertmanager",
        env = "PROMLAB_ALERTMANAGER_URL"
    )]
    pub alertmanager_url: Option<String>,

    /// The running Grafana, e.g. http://127.0.0.1:3000 (once --grafana).
    #[arg(long = "grafana-url", alias = "grafana", env = "PROMLAB_GRAFANA_URL")]
    pub grafana_url: Option<String>,
}

impl StackUrlArgs {
    /// Prometheus' URL: the flag, else `PROMLAB_PROMETHEUS_URL`, else the command's old variable.
    pub(super) fn prometheus(&self, old: &str) -> Option<String> {
        self.prometheus_url
            .clone()
            .or_else(|| renamed_variable(old, "PROMLAB_PROMETHEUS_URL"))
    }

    /// Alertmanager's URL, as [`Self::prometheus`].
    pub(super) fn alertmanager(&self, old: &str) -> Option<String> {
        self.alertmanager_url
            .clone()
            .or_else(|| renamed_variable(old, "PROMLAB_ALERTMANAGER_URL"))
    }

    /// Grafana's URL, as [`Self::prometheus`].
    pub(super) fn grafana(&self, old: &str) -> Option<String> {
        self.grafana_url
            .clone()
            .or_else(|| renamed_variable(old, "PROMLAB_GRAFANA_URL"))
    }
}

/// The lab's repository: `--dir`, else `PROMLAB_DIR`, else the command's old variable, else `.`.
pub(super) fn lab_dir(dir: Option<PathBuf>, old: &str) -> PathBuf {
    dir.or_else(|| renamed_variable(old, "PROMLAB_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The value of a variable that was renamed (one command's name became every command's): still read
/// when the new one is not set, with a line on standard error saying what to set instead.
pub(super) fn renamed_variable(old: &str, new: &str) -> Option<String> {
    let value = std::env::var(old).ok().filter(|value| !value.is_empty())?;
    eprintln!(
        "promlab: {old} is now {new} (the same in every command); {old} is still read, but set {new}"
    );
    Some(value)
}

/// A secret from its file when given, else from its variable (an empty variable is no secret).
/// Grafana's login, the same flags and variables in `grade` and `doctor`: a user and a password that
/// never comes from argv.
#[derive(Debug, Args)]
pub struct GrafanaLoginArgs {
    /// Grafana's admin user, with the password (basic auth).
    #[arg(long, env = "PROMLAB_GRAFANA_USER", default_value = "admin")]
    pub grafana_user: String,

    /// Grafana's admin password: only from PROMLAB_GRAFANA_PASSWORD (as a flag it is refused).
    #[arg(
        long,
        env = "PROMLAB_GRAFANA_PASSWORD",
        hide = true,
        hide_env_values = true,
        value_parser = FromEnvOnly
    )]
    pub grafana_password: Option<Secret>,

    /// A file holding Grafana's admin password, read at start (or set PROMLAB_GRAFANA_PASSWORD; `docker compose -f compose/compose.yaml logs secrets` shows it); without one, what needs a login is skipped.
    #[arg(
        long,
        env = "PROMLAB_GRAFANA_PASSWORD_FILE",
        value_name = "FILE",
        value_parser = read_secret_file
    )]
    pub grafana_password_file: Option<Secret>,
}

impl GrafanaLoginArgs {
    /// The password: from the file, else the variable.
    pub(super) fn password(&self) -> Option<Secret> {
        secret(
            self.grafana_password_file.clone(),
            self.grafana_password.clone(),
        )
    }
}

pub(super) fn secret(file: Option<Secret>, variable: Option<Secret>) -> Option<Secret> {
    file.or(variable.filter(|secret| !secret.is_empty()))
}

/// The shortest interval accepted: below it the mock would only burn CPU.
pub(super) const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The mock's `--interval`: a [`crate::time::duration`] of at least [`MIN_INTERVAL`].
pub(super) fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = crate::time::duration(text)?;
    if interval < MIN_INTERVAL {
        return Err(format!(
            "{text} is too short: the mock's --interval must be at least {}",
            humantime::format_duration(MIN_INTERVAL)
        ));
    }
    Ok(interval)
}

/// The longest `--timeout` a call to the stack may have: a call that needs longer is a stack to fix.
pub(super) const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// A `--timeout` of `grade`, `doctor` or `probe`: a [`crate::time::duration`] of at most [`MAX_TIMEOUT`].
pub(super) fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = crate::time::duration(text)?;
    if timeout > MAX_TIMEOUT {
        return Err(format!(
            "{text} is too long for a --timeout: at most {} (a call that takes longer is a stack to fix)",
            humantime::format_duration(MAX_TIMEOUT)
        ));
    }
    Ok(timeout)
}
