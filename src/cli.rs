//! The command line: clap stays here. Each subcommand's arguments become a plain config once.
//!
//! Doc comments on arguments are the `--help` text users read, so they are written as prose.
//!
//! Passwords and tokens never come from argv, where every user of the machine sees them (`ps`,
//! `/proc/PID/cmdline`) and the shell's history keeps them: each comes from its environment variable or
//! from a `--…-file FILE` read at start. The old flags (`--grafana-password`, `--grafana-token`,
//! `--bearer-token`) are kept, hidden, only to refuse with the way to do it instead.
#![allow(clippy::doc_markdown)]

use std::ffi::OsStr;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Args, Parser, Subcommand, ValueEnum};

use std::path::PathBuf;

use crate::backup::{BackupConfig, RestoreConfig, VerifyConfig};
use crate::clients::Auth;
use crate::dataset::{Format as DatasetFormat, Layout};
use crate::doctor::{DoctorConfig, ReportFormat};
use crate::export::{ExportConfig, ListConfig, ListFormat};
use crate::forecast::{BacktestConfig, BacktestSource, ForecastConfig, ModelKind};
use crate::generate::GenerateConfig;
use crate::grade::{Format, GradeConfig, LabSource, Stack, Target};
use crate::logging::LogFormat;
use crate::mock::{MockConfig, Scenario};
use crate::probe::ProbeConfig;
use crate::redact::Secret;
use crate::secrets::SecretsConfig;
use crate::sink::SinkConfig;
use crate::tsdb::{Query, TsdbCommand, TsdbConfig, TsdbError};

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
    /// Generate the lab's Prometheus files from a lab config (or check the committed ones).
    Generate(GenerateArgs),
    /// Grade a student's repository (or a class of them) on a lab: static checks, and live ones on the running stack.
    Grade(GradeArgs),
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
}

/// How long one request to Prometheus may take.
const DATA_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(subcommand)]
    pub action: MetricsAction,
}

#[derive(Debug, Subcommand)]
pub enum MetricsAction {
    /// List metric names with their type, help and series count.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Prometheus to ask, e.g. http://127.0.0.1:9090.
    #[arg(
        long,
        env = "PROMLAB_PROMETHEUS_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    pub prometheus_url: String,

    /// Only the series this selector matches, e.g. '{job="node"}' (every series when absent).
    #[arg(long = "match", env = "PROMLAB_MATCH")]
    pub matcher: Option<String>,

    /// Print a table or JSON.
    #[arg(long, env = "PROMLAB_LIST_FORMAT", value_enum, default_value_t = ListFormatArg::Table)]
    pub format: ListFormatArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormatArg {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
}

impl From<ListArgs> for ListConfig {
    fn from(args: ListArgs) -> Self {
        Self {
            prometheus_url: args.prometheus_url,
            matcher: args.matcher,
            format: match args.format {
                ListFormatArg::Table => ListFormat::Table,
                ListFormatArg::Json => ListFormat::Json,
            },
            timeout: DATA_TIMEOUT,
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Prometheus to query, e.g. http://127.0.0.1:9090.
    #[arg(
        long,
        env = "PROMLAB_PROMETHEUS_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    pub prometheus_url: String,

    /// The PromQL query, e.g. 'rate(node_cpu_seconds_total[5m])'.
    #[arg(long, env = "PROMLAB_QUERY")]
    pub query: String,

    /// Start of the range: RFC 3339 (UTC, e.g. 2026-11-20T00:00:00Z) or unix seconds.
    #[arg(long, env = "PROMLAB_START")]
    pub start: String,

    /// End of the range (included): RFC 3339 (UTC) or unix seconds.
    #[arg(long, env = "PROMLAB_END")]
    pub end: String,

    /// Resolution: a duration, 500ms, 15s, 1m, 1h.
    #[arg(long, env = "PROMLAB_STEP")]
    pub step: String,

    /// File format.
    #[arg(long, env = "PROMLAB_EXPORT_FORMAT", value_enum)]
    pub format: DatasetFormatArg,

    /// long: one row per sample (timestamp, metric, labels, value); wide: one column per series.
    #[arg(long, env = "PROMLAB_EXPORT_LAYOUT", value_enum, default_value_t = LayoutArg::Long)]
    pub layout: LayoutArg,

    /// The file to write (replaced whole, never left half-written).
    #[arg(short, long, env = "PROMLAB_OUTPUT")]
    pub output: PathBuf,

    /// Requests to Prometheus in flight at once.
    #[arg(long, env = "PROMLAB_PARALLEL", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DatasetFormatArg {
    /// Comma-separated values with a header.
    Csv,
    /// Apache Parquet (zstd).
    Parquet,
    /// One JSON object per line.
    Jsonl,
    /// OpenMetrics text, which `promtool tsdb create-blocks-from openmetrics` reads back (long layout only).
    Openmetrics,
}

impl From<DatasetFormatArg> for DatasetFormat {
    fn from(format: DatasetFormatArg) -> Self {
        match format {
            DatasetFormatArg::Csv => Self::Csv,
            DatasetFormatArg::Parquet => Self::Parquet,
            DatasetFormatArg::Jsonl => Self::Jsonl,
            DatasetFormatArg::Openmetrics => Self::OpenMetrics,
        }
    }
}

impl From<LayoutArg> for Layout {
    fn from(layout: LayoutArg) -> Self {
        match layout {
            LayoutArg::Long => Self::Long,
            LayoutArg::Wide => Self::Wide,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LayoutArg {
    /// One row per sample.
    Long,
    /// One column per series.
    Wide,
}

impl From<ExportArgs> for ExportConfig {
    fn from(args: ExportArgs) -> Self {
        Self {
            prometheus_url: args.prometheus_url,
            query: args.query,
            start: args.start,
            end: args.end,
            step: args.step,
            format: args.format.into(),
            layout: args.layout.into(),
            output: args.output,
            parallel: usize::from(args.parallel),
            timeout: DATA_TIMEOUT,
        }
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, arg_required_else_help = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub action: Option<BackupAction>,

    #[command(flatten)]
    pub run: Option<BackupRunArgs>,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// Check a backup: every chunk present, with the manifest's checksum and sample count.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
#[group(id = "backup-run")]
pub struct BackupRunArgs {
    /// Prometheus to read, e.g. http://127.0.0.1:9090.
    #[arg(
        long,
        env = "PROMLAB_PROMETHEUS_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    pub prometheus_url: String,

    /// The day to back up (YYYY-MM-DD, UTC; for today, the chunks ended so far).
    #[arg(long, env = "PROMLAB_DAY")]
    pub day: String,

    /// Time covered by one object, a divisor of a day (15m, 1h, 6h).
    #[arg(long, env = "PROMLAB_CHUNK_SIZE", default_value = "1h")]
    pub chunk_size: String,

    /// Every metric with samples that day.
    #[arg(
        long,
        env = "PROMLAB_BACKUP_ALL",
        conflicts_with = "metrics",
        required_unless_present = "metrics"
    )]
    pub all: bool,

    /// The metrics to back up.
    pub metrics: Vec<String>,

    /// A folder or s3://BUCKET/PREFIX (credentials, region and endpoint from the AWS_* variables).
    #[arg(long, env = "PROMLAB_BACKUP_TO")]
    pub to: String,

    /// Chunks fetched and stored at once.
    #[arg(long, env = "PROMLAB_PARALLEL", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

impl From<BackupRunArgs> for BackupConfig {
    fn from(args: BackupRunArgs) -> Self {
        Self {
            prometheus_url: args.prometheus_url,
            day: args.day,
            chunk_size: args.chunk_size,
            metrics: if args.all { Vec::new() } else { args.metrics },
            target: args.to,
            parallel: usize::from(args.parallel),
            timeout: DATA_TIMEOUT,
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup: a folder or s3://BUCKET/PREFIX.
    #[arg(long, env = "PROMLAB_BACKUP_FROM")]
    pub from: String,

    /// The day to check (YYYY-MM-DD).
    #[arg(long, env = "PROMLAB_DAY")]
    pub day: String,
}

impl From<VerifyArgs> for VerifyConfig {
    fn from(args: VerifyArgs) -> Self {
        Self {
            target: args.from,
            day: args.day,
        }
    }
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup: a folder or s3://BUCKET/PREFIX.
    #[arg(long, env = "PROMLAB_BACKUP_FROM")]
    pub from: String,

    /// The day to restore (YYYY-MM-DD).
    #[arg(long, env = "PROMLAB_DAY")]
    pub day: String,

    /// The OpenMetrics file to write.
    #[arg(short, long, env = "PROMLAB_OUTPUT")]
    pub output: PathBuf,

    /// Only these metrics (every one when none is given).
    pub metrics: Vec<String>,
}

impl From<RestoreArgs> for RestoreConfig {
    fn from(args: RestoreArgs) -> Self {
        Self {
            target: args.from,
            day: args.day,
            metrics: args.metrics,
            output: args.output,
        }
    }
}

#[derive(Debug, Args)]
pub struct GradeArgs {
    /// The lab, 1 to 7 (its criteria: labs/NN-name/criteria.yaml).
    #[arg(long, env = "PROMLAB_LAB", value_parser = clap::value_parser!(u8).range(1..=7))]
    pub lab: u8,

    /// The student's repository (the kit's layout: prometheus/, alertmanager/, grafana/, compose/) [default: .].
    #[arg(long, env = "PROMLAB_DIR", conflicts_with = "class")]
    pub dir: Option<PathBuf>,

    /// Batch mode: a folder whose every subfolder is a student's repository (static checks only).
    #[arg(long, env = "PROMLAB_GRADE_CLASS")]
    pub class: Option<PathBuf>,

    /// An edited criteria file instead of the built-in one (the grader's test files are read beside it).
    #[arg(long, env = "PROMLAB_GRADE_CRITERIA")]
    pub criteria: Option<PathBuf>,

    #[command(flatten)]
    pub stack: StackUrlArgs,

    /// A Grafana service account token for its API: only from PROMLAB_GRAFANA_TOKEN (as a flag it is refused).
    #[arg(
        long,
        env = "PROMLAB_GRAFANA_TOKEN",
        hide = true,
        hide_env_values = true,
        value_parser = FromEnvOnly
    )]
    pub grafana_token: Option<Secret>,

    /// A file holding a Grafana service account token, read at start (or set PROMLAB_GRAFANA_TOKEN); a token wins over a password.
    #[arg(
        long,
        env = "PROMLAB_GRAFANA_TOKEN_FILE",
        value_name = "FILE",
        value_parser = read_secret_file,
        conflicts_with = "grafana_password_file"
    )]
    pub grafana_token_file: Option<Secret>,

    #[command(flatten)]
    pub grafana_login: GrafanaLoginArgs,

    /// Report format.
    #[arg(long, env = "PROMLAB_GRADE_FORMAT", value_enum, default_value_t = GradeFormatArg::Text)]
    pub format: GradeFormatArg,

    /// Write the report to this file instead of standard output.
    #[arg(long, env = "PROMLAB_GRADE_OUTPUT")]
    pub output: Option<PathBuf>,

    /// Batch mode: also write each student's report (in --format) into this folder.
    #[arg(long, env = "PROMLAB_GRADE_REPORTS", requires = "class")]
    pub reports: Option<PathBuf>,

    /// Repositories graded, and checker containers run, at once (default: twice the cores).
    #[arg(long, env = "PROMLAB_GRADE_JOBS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,

    /// How long each call to the running stack may take.
    #[arg(long, env = "PROMLAB_GRADE_TIMEOUT", default_value = "5s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GradeFormatArg {
    /// Readable lines, coloured on a terminal.
    Text,
    /// One JSON document.
    Json,
    /// JUnit XML for CI autograding.
    Junit,
    /// A Markdown table.
    Markdown,
    /// A self-contained HTML page.
    Html,
}

impl From<GradeArgs> for GradeConfig {
    fn from(args: GradeArgs) -> Self {
        use std::io::IsTerminal as _;
        let format = match args.format {
            GradeFormatArg::Text => Format::Text,
            GradeFormatArg::Json => Format::Json,
            GradeFormatArg::Junit => Format::Junit,
            GradeFormatArg::Markdown => Format::Markdown,
            GradeFormatArg::Html => Format::Html,
        };
        let grafana_auth = match (
            secret(args.grafana_token_file, args.grafana_token),
            args.grafana_login.password(),
        ) {
            (Some(token), _) => Auth::Token(token),
            (None, Some(password)) => Auth::Basic {
                user: args.grafana_login.grafana_user,
                password,
            },
            (None, None) => Auth::None,
        };
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            lab: args
                .criteria
                .map_or(LabSource::BuiltIn(args.lab), LabSource::File),
            target: args.class.map_or_else(
                || Target::Repo(lab_dir(args.dir, "PROMLAB_GRADE_DIR")),
                Target::Class,
            ),
            stack: Stack {
                prometheus: args.stack.prometheus("PROMLAB_GRADE_PROMETHEUS"),
                alertmanager: args.stack.alertmanager("PROMLAB_GRADE_ALERTMANAGER"),
                grafana: args.stack.grafana("PROMLAB_GRADE_GRAFANA"),
                grafana_auth,
                timeout: args.timeout,
            },
            format,
            colour: format == Format::Text
                && args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none(),
            output: args.output,
            reports: args.reports,
            jobs: args.jobs.map_or(cores * 2, usize::from),
        }
    }
}

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

#[derive(Debug, Args)]
pub struct TsdbArgs {
    #[command(subcommand)]
    pub action: TsdbAction,
}

#[derive(Debug, Subcommand)]
pub enum TsdbAction {
    /// Print every sample as `promtool tsdb dump` does: `{labels} value timestamp_ms`, sorted by series.
    Dump(TsdbReadArgs),
    /// Write the series to a file (atomically) or standard output as JSON lines, OpenMetrics or CSV.
    Export(TsdbExportArgs),
    /// List the blocks: ULID, time range and the counts in their meta.json.
    Ls(TsdbDirArgs),
}

#[derive(Debug, Args)]
pub struct TsdbDirArgs {
    /// A Prometheus data folder, a snapshot folder (data/snapshots/NAME) or one block folder.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct TsdbReadArgs {
    /// A Prometheus data folder, a snapshot folder (data/snapshots/NAME) or one block folder.
    pub dir: PathBuf,

    /// Series selector, e.g. 'up{job="node"}' (repeat for several; a series matching any is read).
    #[arg(long = "match", env = "PROMLAB_MATCH")]
    pub selectors: Vec<String>,

    /// First time to read, as `promlab export --start`: RFC 3339 (UTC), unix seconds, now or now-6h.
    #[arg(long, env = "PROMLAB_START", conflicts_with = "min_time", value_parser = crate::time::parse_time)]
    pub start: Option<i64>,

    /// Last time to read (inclusive), as --start.
    #[arg(long, env = "PROMLAB_END", conflicts_with = "max_time", value_parser = crate::time::parse_time)]
    pub end: Option<i64>,

    /// First timestamp to read in milliseconds since 1970, as promtool's --min-time (or use --start).
    #[arg(long, env = "PROMLAB_TSDB_MIN_TIME", allow_hyphen_values = true, value_parser = parse_millis)]
    pub min_time: Option<i64>,

    /// Last timestamp to read (inclusive) in milliseconds since 1970, as promtool's --max-time (or use --end).
    #[arg(long, env = "PROMLAB_TSDB_MAX_TIME", allow_hyphen_values = true, value_parser = parse_millis)]
    pub max_time: Option<i64>,
}

#[derive(Debug, Args)]
pub struct TsdbExportArgs {
    #[command(flatten)]
    pub read: TsdbReadArgs,

    /// File format, as `promlab export --format`.
    #[arg(long, env = "PROMLAB_TSDB_FORMAT", value_enum, default_value_t = DatasetFormatArg::Jsonl)]
    pub format: DatasetFormatArg,

    /// long: one row per sample (timestamp, metric, labels, value); wide: one column per series.
    #[arg(long, env = "PROMLAB_TSDB_LAYOUT", value_enum, default_value_t = LayoutArg::Long)]
    pub layout: LayoutArg,

    /// File to write (a temporary file renamed at the end: never half-written); standard output when absent.
    #[arg(short, long, env = "PROMLAB_TSDB_OUTPUT")]
    pub output: Option<PathBuf>,
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

impl TsdbReadArgs {
    fn query(&self) -> Result<Query, TsdbError> {
        Query {
            min_time: self.start.or(self.min_time).unwrap_or(i64::MIN),
            max_time: self.end.or(self.max_time).unwrap_or(i64::MAX),
            ..Query::default()
        }
        .with_selectors(&self.selectors)
    }
}

impl TryFrom<TsdbArgs> for TsdbConfig {
    type Error = TsdbError;

    fn try_from(args: TsdbArgs) -> Result<Self, TsdbError> {
        Ok(match args.action {
            TsdbAction::Dump(args) => Self {
                command: TsdbCommand::Dump {
                    query: args.query()?,
                },
                path: args.dir,
            },
            TsdbAction::Export(args) => Self {
                command: TsdbCommand::Export {
                    query: args.read.query()?,
                    format: args.format.into(),
                    layout: args.layout.into(),
                    output: args.output,
                },
                path: args.read.dir,
            },
            TsdbAction::Ls(args) => Self {
                command: TsdbCommand::List,
                path: args.dir,
            },
        })
    }
}

/// promtool's `--min-time`/`--max-time`: integer milliseconds since 1970.
fn parse_millis(text: &str) -> Result<i64, String> {
    text.trim().parse::<i64>().map_err(|_| {
        format!("{text:?} is not milliseconds since 1970 (e.g. 1700000000000); for RFC 3339, unix seconds or now-6h use --start/--end")
    })
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The lab config (every key optional; see promlab.example.yaml). Without it, the lab's defaults.
    #[arg(long, env = "PROMLAB_CONFIG")]
    pub config: Option<PathBuf>,

    /// Folder that receives prometheus/.
    #[arg(long, env = "PROMLAB_OUT", default_value = ".")]
    pub out: PathBuf,

    /// Write nothing; exit non-zero naming every file that differs from what the config produces.
    #[arg(long, env = "PROMLAB_GENERATE_CHECK")]
    pub check: bool,
}

impl From<GenerateArgs> for GenerateConfig {
    fn from(args: GenerateArgs) -> Self {
        Self {
            config: args.config,
            out: args.out,
            check: args.check,
        }
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForecastArgs {
    #[command(subcommand)]
    pub action: Option<ForecastAction>,

    /// The forecaster config (every key optional; see forecaster.yaml). Without it, the lab's defaults.
    #[arg(long, env = "PROMLAB_FORECAST_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to serve /metrics, the page and /healthz on (port 0 picks a free port).
    #[arg(
        long,
        env = "PROMLAB_FORECAST_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,

    /// Prometheus to pull history from, e.g. http://prometheus:9090 (overrides the config file).
    #[arg(long, env = "PROMLAB_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ForecastAction {
    /// Score every model by rolling-origin evaluation on a recorded series: a CSV file or a Prometheus range.
    Backtest(Box<BacktestArgs>),
    /// Score a detector's anomaly scores over NAB's corpus as NAB does: windows, scaled sigmoid, the three
    /// profiles, normalised between the null and perfect detectors, the threshold optimised per profile.
    NabScore(NabScoreArgs),
}

#[derive(Debug, Args)]
pub struct NabScoreArgs {
    /// The detector's scores: a zstd-compressed CSV of `file,timestamp,anomaly_score` rows, `file` being
    /// the key in the windows file (bench/nab-fixture.py writes one from NAB's results folder).
    #[arg(long, env = "PROMLAB_NAB_SCORES")]
    pub scores: PathBuf,

    /// NAB's labelled anomaly windows (`labels/combined_windows.json`).
    #[arg(long, env = "PROMLAB_BACKTEST_WINDOWS")]
    pub windows: PathBuf,

    /// Score at this threshold (a row whose score is at least it is a detection) instead of the one NAB's
    /// optimiser picks per profile.
    #[arg(long, env = "PROMLAB_NAB_THRESHOLD")]
    pub threshold: Option<f64>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("series").required(true).args(["csv", "query"])))]
pub struct BacktestArgs {
    /// The series: `timestamp,value` lines (unix seconds or 2014-07-01 00:30:00, UTC); a header is skipped.
    #[arg(long, env = "PROMLAB_BACKTEST_CSV")]
    pub csv: Option<PathBuf>,

    /// Or: a PromQL query giving exactly one series, read from --prometheus-url over --start..--end.
    #[arg(long, env = "PROMLAB_BACKTEST_QUERY", requires_all = ["prometheus_url", "start"])]
    pub query: Option<String>,

    /// Prometheus to read the query from, e.g. http://127.0.0.1:9090.
    #[arg(long, env = "PROMLAB_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// Bearer token for Prometheus: only from PROMLAB_PROMETHEUS_BEARER_TOKEN (as a flag it is refused).
    #[arg(
        long,
        env = "PROMLAB_PROMETHEUS_BEARER_TOKEN",
        hide = true,
        hide_env_values = true,
        value_parser = FromEnvOnly
    )]
    pub bearer_token: Option<Secret>,

    /// A file holding a bearer token for Prometheus, read at start (or set PROMLAB_PROMETHEUS_BEARER_TOKEN).
    #[arg(
        long,
        env = "PROMLAB_PROMETHEUS_BEARER_TOKEN_FILE",
        value_name = "FILE",
        value_parser = read_secret_file
    )]
    pub bearer_token_file: Option<Secret>,

    /// Start of the range: unix seconds, RFC 3339, or now-DURATION (now-6h).
    #[arg(long, env = "PROMLAB_START", value_parser = parse_instant)]
    pub start: Option<f64>,

    /// End of the range (same forms as --start).
    #[arg(long, env = "PROMLAB_END", value_parser = parse_instant, default_value = "now")]
    pub end: f64,

    /// Resolution of the range (at most 11,000 points in all).
    #[arg(long, env = "PROMLAB_STEP", value_parser = crate::time::duration, default_value = "1m")]
    pub step: Duration,

    /// Also draw the series and every model's forecasts into this SVG file.
    #[arg(long, env = "PROMLAB_BACKTEST_PLOT")]
    pub plot: Option<PathBuf>,

    /// Also write every forecast into this CSV file (model, origin, timestamp, actual, yhat, lower, upper).
    #[arg(long, env = "PROMLAB_BACKTEST_FORECASTS")]
    pub forecasts: Option<PathBuf>,

    /// Models to score, comma-separated (seasonal_naive, fourier, ets, mstl, arima, prophet, lstm); when
    /// absent, every model the build has but lstm.
    #[arg(long, env = "PROMLAB_BACKTEST_MODELS", value_delimiter = ',', value_parser = parse_model)]
    pub models: Vec<ModelKind>,

    /// Steps forecast at each origin.
    #[arg(long, env = "PROMLAB_BACKTEST_HORIZON", default_value_t = 24)]
    pub horizon: usize,

    /// How many origins, spaced a horizon apart at the end of the series.
    #[arg(long, env = "PROMLAB_BACKTEST_ORIGINS", default_value_t = 8)]
    pub origins: usize,

    /// Points of history each fit sees.
    #[arg(long, env = "PROMLAB_BACKTEST_TRAIN", default_value_t = 1000)]
    pub train: usize,

    /// The season in steps (detected when absent).
    #[arg(long, env = "PROMLAB_BACKTEST_SEASON")]
    pub season: Option<usize>,

    /// Harmonics the fourier model keeps.
    #[arg(long, env = "PROMLAB_BACKTEST_HARMONICS", default_value_t = 10)]
    pub harmonics: usize,

    /// Probability of the prediction intervals whose coverage is measured.
    #[arg(long, env = "PROMLAB_BACKTEST_LEVEL", default_value_t = 0.95)]
    pub level: f64,

    /// NAB's combined_windows.json: score each model's anomaly flags against the series' labelled windows.
    #[arg(long, env = "PROMLAB_BACKTEST_WINDOWS")]
    pub windows: Option<PathBuf>,
}

fn parse_instant(text: &str) -> Result<f64, String> {
    crate::forecast::parse_time(text).ok_or_else(|| {
        format!("{text:?} is not a time: write unix seconds, 2026-11-21T10:00:00Z, now or now-6h")
    })
}

impl From<BacktestArgs> for BacktestConfig {
    fn from(args: BacktestArgs) -> Self {
        // clap's group makes one of --csv and --query present, and --query requires the URL and --start.
        let source = match (args.csv, args.query, args.prometheus_url, args.start) {
            (Some(csv), ..) => BacktestSource::Csv(csv),
            (None, query, url, start) => BacktestSource::Prometheus {
                url: url.unwrap_or_default(),
                bearer_token: secret(args.bearer_token_file, args.bearer_token),
                query: query.unwrap_or_default(),
                start: start.unwrap_or_default(),
                end: args.end,
                step: args.step,
            },
        };
        Self {
            source,
            models: if args.models.is_empty() {
                ModelKind::defaults()
            } else {
                args.models
            },
            horizon: args.horizon,
            origins: args.origins,
            train: args.train,
            season: args.season,
            harmonics: args.harmonics.max(1),
            level: args.level,
            windows: args.windows,
            plot: args.plot,
            forecasts: args.forecasts,
        }
    }
}

fn parse_model(text: &str) -> Result<ModelKind, String> {
    ModelKind::ALL
        .into_iter()
        .find(|kind| kind.name() == text.trim())
        .ok_or_else(|| {
            let names: Vec<&str> = ModelKind::ALL.iter().map(|kind| kind.name()).collect();
            format!("unknown model {text:?}: choose among {}", names.join(", "))
        })
}

impl From<ForecastArgs> for ForecastConfig {
    fn from(args: ForecastArgs) -> Self {
        Self {
            config: args.config,
            listen: args.listen,
            prometheus_url: args.prometheus_url,
        }
    }
}

#[derive(Debug, Args)]
pub struct SinkArgs {
    /// Address to serve the webhook endpoint (/api/webhooks/ID/TOKEN), the page and /healthz on.
    #[arg(long, env = "PROMLAB_SINK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// How many messages to keep in memory (the oldest are forgotten first).
    #[arg(long, env = "PROMLAB_SINK_KEEP", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub keep: u32,
}

impl From<SinkArgs> for SinkConfig {
    fn from(args: SinkArgs) -> Self {
        Self {
            listen: args.listen,
            keep: args.keep as usize,
        }
    }
}

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Folder that receives the secret files: alertmanager/discord_webhook_url and grafana/grafana_admin_password (in compose, each subfolder is its service's own volume).
    #[arg(long, env = "PROMLAB_SECRETS_DIR", default_value = "/var/lib/promlab")]
    pub dir: PathBuf,

    /// A file holding your Discord webhook URL (https://discord.com/api/webhooks/ID/TOKEN), read at start; a missing file: alerts go to the local sink.
    #[arg(
        long,
        env = "PROMLAB_DISCORD_WEBHOOK_URL_FILE",
        value_name = "FILE",
        value_parser = read_webhook_url_file
    )]
    pub discord_webhook_url_file: Option<Secret>,

    /// Your Discord webhook URL: only from PROMLAB_DISCORD_WEBHOOK_URL, and discouraged (a container keeps its environment: docker inspect shows it); as a flag it is refused.
    #[arg(
        long,
        env = "PROMLAB_DISCORD_WEBHOOK_URL",
        hide = true,
        hide_env_values = true,
        value_parser = FromEnvOnly
    )]
    pub discord_webhook_url: Option<Secret>,

    /// Where alerts go without Discord: the local webhook sink.
    #[arg(
        long,
        env = "PROMLAB_FALLBACK_WEBHOOK_URL",
        default_value = "http://webhook-sink:8080/api/webhooks/0/promlab"
    )]
    pub fallback_webhook_url: String,

    /// The uid Alertmanager runs as (65534 in prom/alertmanager): it gets the webhook file, mode 0400 (needs root).
    #[arg(long, env = "PROMLAB_ALERTMANAGER_UID", value_name = "UID")]
    pub alertmanager_uid: Option<u32>,

    /// The uid Grafana runs as (472 in grafana/grafana-oss): it gets the password file, mode 0400 (needs root).
    #[arg(long, env = "PROMLAB_GRAFANA_UID", value_name = "UID")]
    pub grafana_uid: Option<u32>,
}

impl From<SecretsArgs> for SecretsConfig {
    fn from(args: SecretsArgs) -> Self {
        Self {
            dir: args.dir,
            // A missing file reads as empty: the variable, if any, else the sink.
            discord_webhook_url: secret(
                args.discord_webhook_url_file
                    .filter(|secret| !secret.is_empty()),
                args.discord_webhook_url,
            ),
            fallback_webhook_url: args.fallback_webhook_url,
            alertmanager_uid: args.alertmanager_uid,
            grafana_uid: args.grafana_uid,
        }
    }
}

/// The Discord webhook URL file: read as any secret file, but a missing one is no URL (empty), since
/// the compose stack always names the file and a student without Discord never writes it.
fn read_webhook_url_file(path: &str) -> Result<Secret, String> {
    if std::fs::exists(path).is_ok_and(|exists| !exists) {
        return Ok(Secret::new(""));
    }
    read_secret_file(path)
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// URL to GET, e.g. http://127.0.0.1:5000/healthz (default: /healthz on the port of --listen).
    #[arg(env = "PROMLAB_PROBE_URL")]
    pub url: Option<String>,

    /// The service's listen address, when no URL is given (the same variable the service reads).
    #[arg(long, env = "PROMLAB_LISTEN", default_value = "0.0.0.0:5000")]
    pub listen: SocketAddr,

    /// How long to wait for an answer.
    #[arg(long, env = "PROMLAB_PROBE_TIMEOUT", default_value = "3s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

impl From<ProbeArgs> for ProbeConfig {
    fn from(args: ProbeArgs) -> Self {
        let url = args.url.unwrap_or_else(|| {
            // A service listening on every address is reached on loopback.
            let host = if args.listen.ip().is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                args.listen.ip()
            };
            format!(
                "http://{}/healthz",
                SocketAddr::new(host, args.listen.port())
            )
        });
        Self {
            url,
            timeout: args.timeout,
        }
    }
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Address to serve /metrics, the page, /scenario and /healthz on (port 0 picks a free port).
    #[arg(long, env = "PROMLAB_LISTEN", default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,

    /// Time between two values of model_result (e.g. 5s, 500ms, 1m).
    #[arg(long, env = "PROMLAB_INTERVAL", default_value = "5s", value_parser = parse_interval)]
    pub interval: Duration,

    /// Scenario at start: steady, spike, drift, flatline or sine (switch later with PUT /scenario).
    #[arg(long, env = "PROMLAB_SCENARIO", default_value = "steady", value_parser = parse_scenario)]
    pub scenario: Scenario,

    /// Seed of the random generator, for a reproducible run (random when absent).
    #[arg(long, env = "PROMLAB_SEED")]
    pub seed: Option<u64>,
}

impl From<MockArgs> for MockConfig {
    fn from(args: MockArgs) -> Self {
        Self {
            listen: args.listen,
            interval: args.interval,
            scenario: args.scenario,
            seed: args.seed,
        }
    }
}

/// The value parser of a secret's old flag: the value is taken from the flag's environment variable,
/// and refused from the command line with the variable and the file flag to use instead.
#[derive(Debug, Clone, Copy)]
struct FromEnvOnly;

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
fn read_secret_file(path: &str) -> Result<Secret, String> {
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
    fn prometheus(&self, old: &str) -> Option<String> {
        self.prometheus_url
            .clone()
            .or_else(|| renamed_variable(old, "PROMLAB_PROMETHEUS_URL"))
    }

    /// Alertmanager's URL, as [`Self::prometheus`].
    fn alertmanager(&self, old: &str) -> Option<String> {
        self.alertmanager_url
            .clone()
            .or_else(|| renamed_variable(old, "PROMLAB_ALERTMANAGER_URL"))
    }

    /// Grafana's URL, as [`Self::prometheus`].
    fn grafana(&self, old: &str) -> Option<String> {
        self.grafana_url
            .clone()
            .or_else(|| renamed_variable(old, "PROMLAB_GRAFANA_URL"))
    }
}

/// The lab's repository: `--dir`, else `PROMLAB_DIR`, else the command's old variable, else `.`.
fn lab_dir(dir: Option<PathBuf>, old: &str) -> PathBuf {
    dir.or_else(|| renamed_variable(old, "PROMLAB_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The value of a variable that was renamed (one command's name became every command's): still read
/// when the new one is not set, with a line on standard error saying what to set instead.
fn renamed_variable(old: &str, new: &str) -> Option<String> {
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
    fn password(&self) -> Option<Secret> {
        secret(
            self.grafana_password_file.clone(),
            self.grafana_password.clone(),
        )
    }
}

fn secret(file: Option<Secret>, variable: Option<Secret>) -> Option<Secret> {
    file.or(variable.filter(|secret| !secret.is_empty()))
}

/// The shortest interval accepted: below it the mock would only burn CPU.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The mock's `--interval`: a [`crate::time::duration`] of at least [`MIN_INTERVAL`].
fn parse_interval(text: &str) -> Result<Duration, String> {
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
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// A `--timeout` of `grade`, `doctor` or `probe`: a [`crate::time::duration`] of at most [`MAX_TIMEOUT`].
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = crate::time::duration(text)?;
    if timeout > MAX_TIMEOUT {
        return Err(format!(
            "{text} is too long for a --timeout: at most {} (a call that takes longer is a stack to fix)",
            humantime::format_duration(MAX_TIMEOUT)
        ));
    }
    Ok(timeout)
}

fn parse_scenario(text: &str) -> Result<Scenario, String> {
    text.parse().map_err(|error| format!("{error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
            GradeConfig::from(args).stack.grafana_auth,
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
