//! `metrics list`, `export`, `backup` (and `verify`) and `restore`: the flags of the data tools.
#![allow(clippy::doc_markdown)]

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use std::path::PathBuf;

use crate::backup::{BackupConfig, RestoreConfig, VerifyConfig};
use crate::dataset::{Format as DatasetFormat, Layout};
use crate::export::{ExportConfig, ListConfig, ListFormat};

/// How long one request to Prometheus may take.
pub(super) const DATA_TIMEOUT: Duration = Duration::from_secs(120);

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

    /// Start of the range: RFC 3339 (UTC, e.g. 2026-11-20T00:00:00Z), unix seconds, or now-DURATION
    /// (now-1h: the same on every shell, no `date` needed).
    #[arg(long, env = "PROMLAB_START")]
    pub start: String,

    /// End of the range (included): RFC 3339 (UTC), unix seconds, now or now-DURATION.
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
