//! The command line: clap stays here, one file per command family (`data`, `grade`, `doctor`, `tsdb`,
//! `generate`, `forecast`, `servers`, `secrets`) and what they share (`shared`): the same flag and
//! variable mean the same thing in every command. Each subcommand's arguments become a plain config once.
//!
//! Doc comments on arguments are the `--help` text users read, so they are written as prose.
//!
//! Passwords and tokens never come from argv, where every user of the machine sees them (`ps`,
//! `/proc/PID/cmdline`) and the shell's history keeps them: each comes from its environment variable or
//! from a `--…-file FILE` read at start. The old flags (`--grafana-password`, `--grafana-token`,
//! `--bearer-token`) are kept, hidden, only to refuse with the way to do it instead.
#![allow(clippy::doc_markdown)]

use clap::{Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;

mod classroom;
mod data;
mod doctor;
mod forecast;
mod generate;
mod grade;
mod secrets;
mod servers;
mod shared;
mod tsdb;

pub use classroom::*;
pub use data::*;
pub use doctor::*;
pub use forecast::*;
pub use generate::*;
pub use grade::*;
pub use secrets::*;
pub use servers::*;
pub use shared::*;
pub use tsdb::*;

/// promlab: a self-contained monitoring lab kit.
#[derive(Debug, Parser)]
#[command(name = "promlab", version = crate::version::LONG, about, propagate_version = true)]
pub struct Cli {
    /// How log lines are written to standard error (the level comes from RUST_LOG).
    #[arg(
        long,
        global = true,
        env = "PROMLAB_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormatArg::Human
    )]
    pub log_format: LogFormatArg,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(format: LogFormatArg) -> Self {
        match format {
            LogFormatArg::Human => Self::Human,
            LogFormatArg::Json => Self::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the model mock: an exporter whose gauge model_result moves in [0, 1].
    Mock(MockArgs),
    /// Run the forecaster: fits models on Prometheus history and serves predicted_values_<model> metrics.
    Forecast(ForecastArgs),
    /// Run a local Discord: accepts Discord webhook messages (Alertmanager's too) and lists them on a page.
    WebhookSink(SinkArgs),
    /// Write the lab's secrets into a folder: Grafana's admin password (made once) and the Discord webhook URL.
    Secrets(SecretsArgs),
    /// Check that a promlab service answers 2xx (a container healthcheck: images carry no curl).
    Probe(ProbeArgs),
    /// Load the CPUs (lab 5): run it as the stack's `stress` service, so node-exporter sees the load on every OS.
    Stress(StressArgs),
    /// Generate the lab's Prometheus files from a lab config (or check the committed ones).
    Generate(GenerateArgs),
    /// Grade a student's repository (or a class of them) on a lab: static checks, and live ones on the running stack.
    Grade(Box<GradeArgs>),
    /// Check the lab's files, its running services and the host for the usual mistakes, with the fix.
    Doctor(DoctorArgs),
    /// Read Prometheus TSDB blocks offline: dump, export or list them (the head/WAL is not read).
    Tsdb(TsdbArgs),
    /// Look at the metrics Prometheus holds.
    Metrics(MetricsArgs),
    /// Export a query's history over a range to CSV, JSON Lines or Parquet (written atomically).
    Export(ExportArgs),
    /// Back a day of raw samples up to a folder or S3, one compressed object per metric per chunk.
    Backup(BackupArgs),
    /// Turn a day's backup back into OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
    Restore(RestoreArgs),
    /// Classroom: starter repositories with the lab's work left to do, their solutions, GitHub Classroom templates.
    Classroom(ClassroomArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::Auth;
    use crate::doctor::DoctorConfig;
    use crate::grade::GradeConfig;
    use crate::mock::{MockConfig, Scenario};
    use crate::probe::ProbeConfig;
    use crate::redact::Secret;
    use crate::secrets::SecretsConfig;
    use crate::tsdb::{TsdbCommand, TsdbConfig};
    use clap::CommandFactory;
    use clap::builder::TypedValueParser as _;
    use clap::parser::ValueSource;
    use std::ffi::OsStr;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every flag of every command, as (command path, flag, its variable).
    fn flags(
        command: &clap::Command,
        path: &str,
        into: &mut Vec<(String, String, Option<String>)>,
    ) {
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let env = arg.get_env().map(|env| env.to_string_lossy().into_owned());
            into.push((path.to_owned(), long.to_owned(), env));
        }
        for sub in command.get_subcommands() {
            flags(sub, &format!("{path} {}", sub.get_name()), into);
        }
    }

    #[test]
    fn every_flag_has_a_variable_and_a_variable_means_one_flag_everywhere() {
        let mut all = Vec::new();
        flags(&Cli::command(), "promlab", &mut all);
        let missing: Vec<_> = all
            .iter()
            .filter(|(_, _, env)| env.is_none())
            .map(|(path, long, _)| format!("{path} --{long}"))
            .collect();
        assert!(missing.is_empty(), "flags without a variable: {missing:?}");
        // A variable names one flag: the same variable under two flag names would mean two things.
        let mut by_variable: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
            std::collections::BTreeMap::new();
        for (_, long, env) in &all {
            by_variable
                .entry(env.as_deref().expect("checked above"))
                .or_default()
                .insert(long);
        }
        let ambiguous: Vec<_> = by_variable
            .iter()
            .filter(|(_, longs)| longs.len() > 1)
            .collect();
        assert!(
            ambiguous.is_empty(),
            "variables behind several flags: {ambiguous:?}"
        );
    }

    #[test]
    fn the_running_stack_is_named_the_same_in_every_command() {
        let mut all = Vec::new();
        flags(&Cli::command(), "promlab", &mut all);
        for (service, variable) in [
            ("prometheus", "PROMLAB_PROMETHEUS_URL"),
            ("alertmanager", "PROMLAB_ALERTMANAGER_URL"),
            ("grafana", "PROMLAB_GRAFANA_URL"),
        ] {
            let named: Vec<_> = all
                .iter()
                .filter(|(_, long, _)| {
                    long == service || long.starts_with(&format!("{service}-url"))
                })
                .collect();
            assert!(!named.is_empty(), "no command takes {service}'s URL");
            for (path, long, env) in named {
                assert_eq!(long, &format!("{service}-url"), "{path}");
                assert_eq!(env.as_deref(), Some(variable), "{path} --{long}");
            }
        }
        // The old spellings still parse.
        let cli = Cli::try_parse_from([
            "promlab",
            "grade",
            "--lab",
            "2",
            "--prometheus",
            "http://127.0.0.1:9090",
        ])
        .expect("--prometheus is an alias of --prometheus-url");
        let Command::Grade(args) = cli.command else {
            panic!("grade parsed as another command")
        };
        assert_eq!(
            args.stack.prometheus_url.as_deref(),
            Some("http://127.0.0.1:9090")
        );
    }

    #[test]
    fn backup_alone_shows_its_usage_instead_of_running() {
        let error = Cli::try_parse_from(["promlab", "backup"]).expect_err("nothing to back up");
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
    }

    #[test]
    fn mock_defaults_are_the_labs() {
        let cli = Cli::try_parse_from(["promlab", "mock"]).unwrap();
        let Command::Mock(args) = cli.command else {
            panic!("mock parses as mock");
        };
        let config = MockConfig::from(args);
        assert_eq!(config.listen, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(config.interval, Duration::from_secs(5));
        assert_eq!(config.scenario, Scenario::Steady);
        assert_eq!(config.seed, None);
    }

    #[test]
    fn probe_defaults_to_healthz_on_the_listen_port() {
        let probe = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["promlab", "probe"][..], args].concat()).unwrap();
            let Command::Probe(args) = cli.command else {
                panic!("probe parses as probe");
            };
            ProbeConfig::from(args).url
        };
        assert_eq!(probe(&[]), "http://127.0.0.1:5000/healthz");
        assert_eq!(
            probe(&["--listen", "[::1]:6000"]),
            "http://[::1]:6000/healthz"
        );
        assert_eq!(
            probe(&["http://sink:9000/healthz"]),
            "http://sink:9000/healthz"
        );
    }

    #[test]
    fn doctor_defaults_to_the_current_folder_and_needs_a_password_for_grafana() {
        let doctor = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["promlab", "doctor"][..], args].concat()).unwrap();
            let Command::Doctor(args) = cli.command else {
                panic!("doctor parses as doctor");
            };
            DoctorConfig::from(args)
        };
        let config = doctor(&["--project", "lab"]);
        assert_eq!(config.dir, PathBuf::from("."));
        assert_eq!(config.timeout, Duration::from_secs(2));
        assert_eq!(config.grafana_login, None);
        assert_eq!(config.project.as_deref(), Some("lab"));
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("password");
        std::fs::write(&file, "pw\n").unwrap();
        assert_eq!(
            doctor(&["--grafana-password-file", &file.display().to_string()]).grafana_login,
            Some(("admin".to_owned(), Secret::new("pw")))
        );
    }

    #[test]
    fn secrets_on_the_command_line_are_refused_with_the_variable_and_the_file_to_use() {
        for (args, variable, file_flag) in [
            (
                &["doctor", "--grafana-password", "pw"][..],
                "PROMLAB_GRAFANA_PASSWORD",
                "--grafana-password-file FILE",
            ),
            (
                &["grade", "--lab", "3", "--grafana-password", "pw"],
                "PROMLAB_GRAFANA_PASSWORD",
                "--grafana-password-file FILE",
            ),
            (
                &["grade", "--lab", "3", "--grafana-token", "glsa"],
                "PROMLAB_GRAFANA_TOKEN",
                "--grafana-token-file FILE",
            ),
            (
                &[
                    "forecast",
                    "backtest",
                    "--csv",
                    "x.csv",
                    "--bearer-token",
                    "t",
                ],
                "PROMLAB_PROMETHEUS_BEARER_TOKEN",
                "--bearer-token-file FILE",
            ),
            (
                &[
                    "secrets",
                    "--discord-webhook-url",
                    "https://discord.com/api/webhooks/1/t",
                ],
                "PROMLAB_DISCORD_WEBHOOK_URL",
                "--discord-webhook-url-file FILE",
            ),
        ] {
            let error = Cli::try_parse_from([&["promlab"][..], args].concat())
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("on the command line is refused")
                    && error.contains(variable)
                    && error.contains(file_flag),
                "{args:?}: {error}"
            );
        }
    }

    #[test]
    fn a_secret_comes_from_its_variable() {
        let command = Cli::command();
        let argument = clap::Arg::new("grafana_password")
            .long("grafana-password")
            .env("PROMLAB_GRAFANA_PASSWORD");
        let parse =
            |source| FromEnvOnly.parse_ref_(&command, Some(&argument), OsStr::new("pw"), source);
        assert_eq!(parse(ValueSource::EnvVariable).unwrap(), Secret::new("pw"));
        assert!(parse(ValueSource::CommandLine).is_err());
    }

    #[test]
    fn secret_files_are_trimmed_and_refused_when_missing_or_empty() {
        let folder = tempfile::tempdir().unwrap();
        let path = |name: &str| folder.path().join(name).display().to_string();
        std::fs::write(path("token"), "glsa_abc\r\n").unwrap();
        std::fs::write(path("empty"), "\n").unwrap();
        assert_eq!(
            read_secret_file(&path("token")),
            Ok(Secret::new("glsa_abc"))
        );
        assert!(
            read_secret_file(&path("empty"))
                .unwrap_err()
                .contains("is empty")
        );
        assert!(
            read_secret_file(&path("missing"))
                .unwrap_err()
                .contains("cannot read")
        );
        let cli = Cli::try_parse_from([
            "promlab",
            "grade",
            "--lab",
            "3",
            "--grafana-token-file",
            &path("token"),
        ])
        .unwrap();
        let Command::Grade(args) = cli.command else {
            panic!("grade parses as grade");
        };
        assert_eq!(
            GradeConfig::from(*args).stack.grafana_auth,
            Auth::Token(Secret::new("glsa_abc"))
        );
        let error = Cli::try_parse_from([
            "promlab",
            "doctor",
            "--grafana-password-file",
            &path("missing"),
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("cannot read"), "{error}");
    }

    #[test]
    fn the_webhook_url_comes_from_its_file_and_a_missing_file_means_the_sink() {
        let folder = tempfile::tempdir().unwrap();
        let path = |name: &str| folder.path().join(name).display().to_string();
        std::fs::write(path("url"), "https://discord.com/api/webhooks/1/t\n").unwrap();
        let secrets = |file: &str| {
            let cli = Cli::try_parse_from([
                "promlab",
                "secrets",
                "--discord-webhook-url-file",
                file,
                "--alertmanager-uid",
                "65534",
            ])
            .unwrap();
            let Command::Secrets(args) = cli.command else {
                panic!("secrets parses as secrets");
            };
            SecretsConfig::from(args)
        };
        let config = secrets(&path("url"));
        assert_eq!(
            config.discord_webhook_url,
            Some(Secret::new("https://discord.com/api/webhooks/1/t"))
        );
        assert_eq!(config.alertmanager_uid, Some(65534));
        assert_eq!(config.grafana_uid, None);
        assert_eq!(secrets(&path("missing")).discord_webhook_url, None);
    }

    #[test]
    fn tsdb_times_are_seconds_like_export_and_milliseconds_only_as_promtools_flags() {
        let range = |args: &[&str]| -> Result<(i64, i64), String> {
            let cli =
                Cli::try_parse_from([&["promlab", "tsdb", "dump", "data"][..], args].concat())
                    .map_err(|error| error.to_string())?;
            let Command::Tsdb(args) = cli.command else {
                panic!("not tsdb")
            };
            let config = TsdbConfig::try_from(args).map_err(|error| error.to_string())?;
            let TsdbCommand::Dump { query } = config.command else {
                panic!("not dump")
            };
            Ok((query.min_time, query.max_time))
        };
        assert_eq!(
            range(&["--start", "1700000000", "--end", "2023-11-14T22:13:30Z"]),
            Ok((1_700_000_000_000, 1_700_000_010_000))
        );
        assert_eq!(
            range(&["--min-time", "1700000000000", "--max-time", "-5"]),
            Ok((1_700_000_000_000, -5))
        );
        assert_eq!(range(&[]), Ok((i64::MIN, i64::MAX)));
        let conflict = range(&["--start", "1700000000", "--min-time", "1"]).unwrap_err();
        assert!(conflict.contains("cannot be used with"), "{conflict}");
        let millis = range(&["--start", "1700000000000"]).unwrap_err();
        assert!(millis.contains("milliseconds"), "{millis}");
        let rfc = range(&["--min-time", "2023-11-14T22:13:20Z"]).unwrap_err();
        assert!(rfc.contains("--start"), "{rfc}");
    }

    #[test]
    fn intervals_are_human_durations_and_never_too_short() {
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_interval("0s").unwrap_err().contains("longer than 0"));
        assert!(
            parse_interval("5ms")
                .unwrap_err()
                .contains("--interval must be at least 10ms")
        );
        assert!(parse_interval("five").unwrap_err().contains("500ms"));
        // Timeouts are not intervals: 5ms is a (short) timeout, and they have their own ceiling.
        assert_eq!(parse_timeout("5ms"), Ok(Duration::from_millis(5)));
        assert!(parse_timeout("1h").unwrap_err().contains("--timeout"));
    }
}
