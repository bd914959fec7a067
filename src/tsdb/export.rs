//! The `promlab tsdb` commands: `dump` (promtool's text, line for line), `export` (the dataset
//! writers of `promlab export`: CSV, JSON Lines, Parquet or OpenMetrics, long or wide, written
//! atomically) and `ls` (the blocks and their statistics).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use super::format::{push_go_float, push_go_labels};
use super::{Database, Query, ReadSummary, TsdbError};
use crate::dataset::{self, Format, Layout};
use crate::series::Series;

/// What `promlab tsdb` was asked to do.
#[derive(Debug, Clone)]
pub struct TsdbConfig {
    /// A data folder, a snapshot folder or a block folder.
    pub path: PathBuf,
    pub command: TsdbCommand,
}

/// One `promlab tsdb` subcommand.
#[derive(Debug, Clone)]
pub enum TsdbCommand {
    /// Print every sample as `promtool tsdb dump` does.
    Dump { query: Query },
    /// Write series as `promlab export` does, to `output` (standard output when absent).
    Export {
        query: Query,
        format: Format,
        layout: Layout,
        output: Option<PathBuf>,
    },
    /// List the blocks.
    List,
}

/// Runs the command, writing to standard output or the output file.
pub fn run(config: &TsdbConfig) -> Result<(), TsdbError> {
    let mut database = Database::open(&config.path)?;
    if database.has_wal && !matches!(config.command, TsdbCommand::List) {
        tracing::warn!(
            "{}/wal holds the head (samples of the last hours not yet in a block): it is not read; to include it, take a snapshot (Prometheus with --web.enable-admin-api: curl -XPOST http://localhost:9090/api/v1/admin/tsdb/snapshot) and read {}/snapshots/NAME",
            config.path.display(),
            config.path.display()
        );
    }
    let summary = match &config.command {
        TsdbCommand::List => return print_blocks(&database),
        TsdbCommand::Dump { query } => to_stdout(|out| {
            let mut line = String::new();
            database.read(query, |series| {
                write_dump(&mut line, &series);
                out.write_all(line.as_bytes()).map_err(stdout_error)
            })
        })?,
        TsdbCommand::Export {
            query,
            format,
            layout,
            output,
        } => {
            dataset::check(*format, *layout)?;
            // The wide layout needs every series at once; the long ones are written from the same
            // list so that both commands share one writer.
            let mut series = Vec::new();
            let summary = database.read(query, |one| {
                series.push(one);
                Ok(())
            })?;
            match output {
                Some(path) => dataset::write(&series, *format, *layout, path)?,
                None => {
                    to_stdout(|out| {
                        dataset::write_to(&series, *format, *layout, out).map_err(stdout_error)?;
                        Ok(ReadSummary::default())
                    })?;
                }
            }
            summary
        }
    };
    report(&summary);
    Ok(())
}

fn report(summary: &ReadSummary) {
    if !summary.histogram_series.is_empty() {
        tracing::warn!(
            "{} series hold native histogram chunks, which this reader does not support: their histogram samples were skipped (first: {})",
            summary.histogram_series.len(),
            summary.histogram_series[0]
        );
    }
    tracing::debug!(series = summary.series, samples = summary.samples, "read");
}

fn stdout_error(source: std::io::Error) -> TsdbError {
    TsdbError::Output {
        path: "standard output".to_owned(),
        source,
    }
}

/// Runs `write` against standard output, buffered; a reader that stops early (`promlab tsdb dump DIR
/// | head`) is not an error.
fn to_stdout(
    write: impl FnOnce(&mut std::io::BufWriter<std::io::Stdout>) -> Result<ReadSummary, TsdbError>,
) -> Result<ReadSummary, TsdbError> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let result =
        write(&mut out).and_then(|summary| out.flush().map(|()| summary).map_err(stdout_error));
    match result {
        Err(TsdbError::Output { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(ReadSummary::default())
        }
        other => other,
    }
}

/// `promtool tsdb dump`'s lines: `{labels} value timestamp`.
fn write_dump(out: &mut String, series: &Series) {
    out.clear();
    let mut labels = String::new();
    push_go_labels(&mut labels, &series.labels);
    for &(at, value) in &series.samples {
        out.push_str(&labels);
        out.push(' ');
        push_go_float(out, value);
        let _ = writeln!(out, " {at}");
    }
}

fn print_blocks(database: &Database) -> Result<(), TsdbError> {
    let mut text = format!(
        "{:<26}  {:>14}  {:>14}  {:>10}  {:>12}  {:>10}  {:>10}\n",
        "BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "SAMPLES", "CHUNKS", "SERIES"
    );
    for block in &database.blocks {
        let meta = &block.meta;
        let span = u64::try_from(meta.max_time.saturating_sub(meta.min_time)).unwrap_or(0);
        let duration = humantime::format_duration(std::time::Duration::from_millis(span));
        let _ = writeln!(
            text,
            "{:<26}  {:>14}  {:>14}  {:>10}  {:>12}  {:>10}  {:>10}",
            meta.ulid,
            meta.min_time,
            meta.max_time,
            duration.to_string(),
            meta.stats.samples,
            meta.stats.chunks,
            meta.stats.series
        );
    }
    if database.has_wal {
        let _ = writeln!(
            text,
            "(the head in {}/wal is not a block and is not read: take a snapshot to include it)",
            database.path.display()
        );
    }
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(stdout_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        Series {
            labels: [
                ("__name__".to_owned(), "up".to_owned()),
                ("job".to_owned(), "a\"b".to_owned()),
            ]
            .into(),
            samples: vec![(1_500, 1.0), (-2_001, f64::NAN)],
        }
    }

    #[test]
    fn dump_lines_are_promtools() {
        let mut text = String::new();
        write_dump(&mut text, &series());
        assert_eq!(
            text,
            "{__name__=\"up\", job=\"a\\\"b\"} 1 1500\n{__name__=\"up\", job=\"a\\\"b\"} NaN -2001\n"
        );
    }
}
