//! The `promlab tsdb` commands: `dump` (promtool's text, line for line), `export` (JSON lines,
//! OpenMetrics or CSV, written atomically) and `ls` (the blocks and their statistics).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::format::{push_go_float, push_go_labels, push_go_quoted};
use super::{Database, Query, ReadSummary, Series, TsdbError};
use crate::fs::{AtomicFile, FsError, WriteOptions};

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
    /// Write series in `format` to `output` (standard output when absent).
    Export {
        query: Query,
        format: ExportFormat,
        output: Option<PathBuf>,
    },
    /// List the blocks.
    List,
}

/// The formats `promlab tsdb export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per series: `{"metric":{...},"values":[[ms,"value"],...]}`.
    Jsonl,
    /// OpenMetrics text (`promtool tsdb create-blocks-from openmetrics` reads it back).
    OpenMetrics,
    /// `series,timestamp_ms,value` rows.
    Csv,
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
        TsdbCommand::Dump { query } => write_to(None, |out| {
            let mut line = String::new();
            database.read(query, |series| {
                write_dump(&mut line, series);
                out.write_all(line.as_bytes())
                    .map_err(|source| output_error(None, source))
            })
        })?,
        TsdbCommand::Export {
            query,
            format,
            output,
        } => write_to(output.as_deref(), |out| {
            let mut text = String::new();
            if *format == ExportFormat::Csv {
                text.push_str("series,timestamp_ms,value\n");
            }
            let summary = database.read(query, |series| {
                match format {
                    ExportFormat::Jsonl => write_jsonl(&mut text, series),
                    ExportFormat::OpenMetrics => write_openmetrics(&mut text, series),
                    ExportFormat::Csv => write_csv(&mut text, series),
                }
                out.write_all(text.as_bytes())
                    .map_err(|source| output_error(output.as_deref(), source))?;
                text.clear();
                Ok(())
            })?;
            if *format == ExportFormat::OpenMetrics {
                text.push_str("# EOF\n");
            }
            out.write_all(text.as_bytes())
                .map_err(|source| output_error(output.as_deref(), source))?;
            Ok(summary)
        })?,
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

fn output_error(path: Option<&Path>, source: std::io::Error) -> TsdbError {
    match path {
        Some(path) => FsError::new(path, source).into(),
        None => TsdbError::Output {
            path: "standard output".to_owned(),
            source,
        },
    }
}

/// Runs `write` against standard output, or against a file written atomically (see [`crate::fs`]):
/// never a half-written file.
fn write_to(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<ReadSummary, TsdbError>,
) -> Result<ReadSummary, TsdbError> {
    let Some(path) = path else {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        let result = write(&mut out).and_then(|summary| {
            out.flush()
                .map(|()| summary)
                .map_err(|source| output_error(None, source))
        });
        return match result {
            // `promlab tsdb dump DIR | head` closes the pipe early: not an error.
            Err(TsdbError::Output { source, .. })
                if source.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                Ok(ReadSummary::default())
            }
            other => other,
        };
    };
    // Dropped on an error, the file is removed and `path` left as it was.
    let mut file = AtomicFile::create(path, WriteOptions::default())?;
    let summary = write(&mut file)?;
    file.commit()?;
    Ok(summary)
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

fn write_jsonl(out: &mut String, series: &Series) {
    out.push_str("{\"metric\":{");
    for (index, (name, value)) in series.labels.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        push_json_string(out, name);
        out.push(':');
        push_json_string(out, value);
    }
    out.push_str("},\"values\":[");
    for (index, &(at, value)) in series.samples.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{at},\"");
        push_go_float(out, value);
        out.push_str("\"]");
    }
    out.push_str("]}\n");
}

fn push_json_string(out: &mut String, text: &str) {
    // serde_json's escaping cannot fail for a str.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// `name{labels} value seconds.millis`, as `promtool tsdb dump-openmetrics` writes.
fn write_openmetrics(out: &mut String, series: &Series) {
    let mut prefix = String::new();
    let name = series
        .labels
        .iter()
        .find(|(name, _)| name == "__name__")
        .map_or("", |(_, value)| value.as_str());
    prefix.push_str(name);
    let others: Vec<&(String, String)> = series
        .labels
        .iter()
        .filter(|(name, _)| name != "__name__")
        .collect();
    if !others.is_empty() {
        prefix.push('{');
        for (index, (name, value)) in others.iter().enumerate() {
            if index > 0 {
                prefix.push(',');
            }
            prefix.push_str(name);
            prefix.push('=');
            push_go_quoted(&mut prefix, value);
        }
        prefix.push('}');
    }
    for &(at, value) in &series.samples {
        out.push_str(&prefix);
        out.push(' ');
        push_go_float(out, value);
        let sign = if at < 0 { "-" } else { "" };
        let magnitude = at.unsigned_abs();
        let _ = writeln!(out, " {sign}{}.{:03}", magnitude / 1000, magnitude % 1000);
    }
}

fn write_csv(out: &mut String, series: &Series) {
    let mut labels = String::new();
    push_go_labels(&mut labels, &series.labels);
    let quoted = format!("\"{}\"", labels.replace('"', "\"\""));
    for &(at, value) in &series.samples {
        out.push_str(&quoted);
        let _ = write!(out, ",{at},");
        push_go_float(out, value);
        out.push('\n');
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
        .map_err(|source| output_error(None, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        Series {
            labels: vec![
                ("__name__".to_owned(), "up".to_owned()),
                ("job".to_owned(), "a\"b".to_owned()),
            ],
            samples: vec![(1_500, 1.0), (-2_001, f64::NAN)],
        }
    }

    #[test]
    fn every_format_writes_each_sample() {
        let mut text = String::new();
        write_dump(&mut text, &series());
        assert_eq!(
            text,
            "{__name__=\"up\", job=\"a\\\"b\"} 1 1500\n{__name__=\"up\", job=\"a\\\"b\"} NaN -2001\n"
        );
        text.clear();
        write_openmetrics(&mut text, &series());
        assert_eq!(
            text,
            "up{job=\"a\\\"b\"} 1 1.500\nup{job=\"a\\\"b\"} NaN -2.001\n"
        );
        text.clear();
        write_jsonl(&mut text, &series());
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["metric"]["job"], "a\"b");
        assert_eq!(json["values"][1][0], -2001);
        assert_eq!(json["values"][1][1], "NaN");
        text.clear();
        write_csv(&mut text, &series());
        assert_eq!(
            text.lines().next(),
            Some(r#""{__name__=""up"", job=""a\""b""}",1500,1"#)
        );
    }
}
