//! `promlab tsdb`: the blocks to read, the series and times to read, the output.
#![allow(clippy::doc_markdown)]

use clap::{Args, Subcommand};

use std::path::PathBuf;

use crate::tsdb::{Query, TsdbCommand, TsdbConfig, TsdbError};

use super::data::{DatasetFormatArg, LayoutArg};

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
pub(super) fn parse_millis(text: &str) -> Result<i64, String> {
    text.trim().parse::<i64>().map_err(|_| {
        format!("{text:?} is not milliseconds since 1970 (e.g. 1700000000000); for RFC 3339, unix seconds or now-6h use --start/--end")
    })
}
