//! `promlab export` and `promlab metrics list`: metric history out of Prometheus into datasets.
//!
//! A long range is cut into requests that each stay within Prometheus' 11,000 points per series, a
//! bounded number run at once, and the dataset is written whole or not at all (see [`crate::dataset`]).

mod list;

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, TryStreamExt as _};

pub use list::{ListConfig, ListFormat, MetricInfo, list};

use crate::clients::{ClientError, Prometheus};
use crate::dataset::{self, DatasetError, Format, Layout};
use crate::series::{Labels, Series};

/// Prometheus refuses a range query of more than 11,000 points per series.
#[allow(clippy::cast_possible_wrap)]
pub const MAX_POINTS_PER_REQUEST: i64 = crate::clients::prometheus::MAX_POINTS as i64;

/// The most points per series one export takes: beyond, the step is surely a mistake for the range.
pub const MAX_POINTS_PER_SERIES: i64 = 1_000_000;

/// Why an export failed. The output file is then absent (or left as it was).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A time, step or range that cannot be used.
    #[error("{0}")]
    Input(String),
    /// The step makes too many points for the range.
    #[error(
        "the step {step} is too small for the range: {points} points per series, more than the {MAX_POINTS_PER_SERIES} an export takes; use --step {suggestion} or more, or a shorter range"
    )]
    StepTooSmall {
        step: String,
        points: i64,
        suggestion: String,
    },
    /// Prometheus could not be reached or refused the query (its own message is shown).
    #[error(transparent)]
    Prometheus(#[from] ClientError),
    /// The dataset could not be written.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
}

/// What `promlab export` does.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    pub prometheus_url: String,
    pub query: String,
    pub start: String,
    pub end: String,
    pub step: String,
    pub format: Format,
    pub layout: Layout,
    pub output: PathBuf,
    /// Requests in flight at once.
    pub parallel: usize,
    /// How long one request may take.
    pub timeout: Duration,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub series: usize,
    pub samples: usize,
    pub requests: usize,
}

/// The requests covering `[start, end]` at `step` (milliseconds): each at most
/// [`MAX_POINTS_PER_REQUEST`] points, on the same grid, none overlapping.
#[must_use]
pub fn split_range(start: i64, end: i64, step: i64) -> Vec<(i64, i64)> {
    let span = step * (MAX_POINTS_PER_REQUEST - 1);
    let mut ranges = Vec::new();
    let mut from = start;
    while from <= end {
        let to = (from + span).min(end);
        ranges.push((from, to));
        from = to + step;
    }
    ranges
}

/// Checks the range and returns `(start, end, step)` in milliseconds.
fn plan(config: &ExportConfig) -> Result<(i64, i64, i64), ExportError> {
    let start = crate::time::parse_time(&config.start).map_err(ExportError::Input)?;
    let end = crate::time::parse_time(&config.end).map_err(ExportError::Input)?;
    let step = crate::time::parse_duration(&config.step)
        .map_err(|problem| ExportError::Input(format!("--step: {problem}")))?;
    if end < start {
        return Err(ExportError::Input(format!(
            "the range ends ({}) before it starts ({}): swap --start and --end",
            config.end, config.start
        )));
    }
    let points = (end - start) / step + 1;
    if points > MAX_POINTS_PER_SERIES {
        let span = (end - start).unsigned_abs();
        let seconds = span.div_ceil((MAX_POINTS_PER_SERIES.unsigned_abs() - 1) * 1000);
        return Err(ExportError::StepTooSmall {
            step: config.step.clone(),
            points,
            suggestion: crate::time::PromDuration::from_seconds(seconds.max(1)).to_string(),
        });
    }
    Ok((start, end, step))
}

/// A progress bar on standard error when it is a terminal; nothing when piped or redirected.
fn progress(requests: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(requests as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {bar:30} {pos}/{len} requests, {msg} ({elapsed}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Fetches every series `query` selects over the range: merged across requests, in time order.
async fn fetch(
    client: &Prometheus,
    query: &str,
    ranges: &[(i64, i64)],
    step: i64,
    parallel: usize,
) -> Result<Vec<Series>, ClientError> {
    let bar = progress(ranges.len());
    let mut merged: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    let mut samples = 0_usize;
    // `buffered` keeps the answers in request order, so each series' samples stay sorted.
    let mut answers = futures_util::stream::iter(ranges.iter().copied())
        .map(|(from, to)| client.query_range_exact(query, from, to, step))
        .buffered(parallel.max(1));
    while let Some(answer) = answers.try_next().await? {
        for series in answer {
            samples += series.samples.len();
            merged
                .entry(series.labels)
                .or_default()
                .extend(series.samples);
        }
        bar.inc(1);
        bar.set_message(format!("{samples} samples"));
    }
    bar.finish_and_clear();
    Ok(merged
        .into_iter()
        .map(|(labels, samples)| Series { labels, samples })
        .collect())
}

/// Runs `promlab export`: queries, then writes the dataset atomically.
pub async fn export(config: &ExportConfig) -> Result<Exported, ExportError> {
    let (start, end, step) = plan(config)?;
    let client = Prometheus::new(&config.prometheus_url, None, config.timeout)?;
    let ranges = split_range(start, end, step);
    let began = Instant::now();
    let series = fetch(&client, &config.query, &ranges, step, config.parallel).await?;
    let exported = Exported {
        series: series.len(),
        samples: series.iter().map(|one| one.samples.len()).sum(),
        requests: ranges.len(),
    };
    tracing::info!(
        series = exported.series,
        samples = exported.samples,
        requests = exported.requests,
        seconds = began.elapsed().as_secs_f64(),
        "fetched"
    );
    let output = config.output.clone();
    let (format, layout) = (config.format, config.layout);
    // Serialising and compressing is CPU work: off the async threads.
    tokio::task::spawn_blocking(move || dataset::write(&series, format, layout, &output))
        .await
        .map_err(|error| {
            ExportError::Input(format!("the writer stopped: {error}; run the export again"))
        })??;
    Ok(exported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_stay_within_prometheus_limit_on_one_grid() {
        let step = 15_000;
        let start = 1_000_000;
        let end = start + step * 25_000;
        let ranges = split_range(start, end, step);
        assert_eq!(ranges.len(), 3);
        let mut points = 0;
        let mut next = start;
        for (from, to) in &ranges {
            assert_eq!(*from, next, "no gap, no overlap");
            let count = (to - from) / step + 1;
            assert!(count <= MAX_POINTS_PER_REQUEST);
            assert_eq!((to - from) % step, 0, "on the grid");
            points += count;
            next = to + step;
        }
        assert_eq!(points, 25_001);
        assert_eq!(split_range(5, 5, 1000), [(5, 5)]);
    }

    #[test]
    fn a_step_too_small_for_the_range_names_a_step_that_fits() {
        let config = ExportConfig {
            prometheus_url: "http://127.0.0.1:9".to_owned(),
            query: "up".to_owned(),
            start: "2026-01-01T00:00:00Z".to_owned(),
            end: "2026-03-01T00:00:00Z".to_owned(),
            step: "1s".to_owned(),
            format: Format::Csv,
            layout: Layout::Long,
            output: PathBuf::from("x.csv"),
            parallel: 4,
            timeout: Duration::from_secs(1),
        };
        let error = plan(&config).unwrap_err().to_string();
        assert!(
            error.contains("too small") && error.contains("--step 6s"),
            "{error}"
        );
        let backwards = ExportConfig {
            start: config.end.clone(),
            end: config.start.clone(),
            ..config
        };
        assert!(plan(&backwards).unwrap_err().to_string().contains("swap"));
    }
}
