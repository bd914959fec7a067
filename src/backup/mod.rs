//! `promlab backup`, `promlab backup verify` and `promlab restore`: a day of raw samples, one object
//! per metric per chunk, to a folder or S3, and back as OpenMetrics for promtool.
//!
//! Layout under the target: `<day>/<metric>/<chunk start, unix seconds>.jsonl.zst` (see [`chunk`]) and
//! `<day>/manifest.json` (see [`manifest`]), written last. A re-run keeps every chunk already stored
//! that decodes whole (and matches an earlier manifest), so an interrupted backup resumes.

mod chunk;
mod manifest;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::clients::{ClientError, Prometheus};
use crate::dataset;
use crate::fs::{FsError, WriteOptions, write_atomically};
use crate::series::{Labels, Series};
use crate::time::{format_time, parse_day, parse_duration};
use manifest::{ChunkEntry, FORMAT, Manifest};
use store::Target;

const DAY_MILLIS: i64 = 86_400_000;

/// Why a backup, a verification or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A day, chunk size or metric name that cannot be used.
    #[error("{0}")]
    Input(String),
    /// The target cannot be opened.
    #[error("cannot use the backup target {target}: {problem}")]
    Target { target: String, problem: String },
    /// The store refused a read or a write.
    #[error("backup target {target}, object {object:?}: {problem}; {hint}")]
    Store {
        target: String,
        object: String,
        problem: String,
        hint: &'static str,
    },
    /// Prometheus could not be reached or refused a query.
    #[error(transparent)]
    Prometheus(#[from] ClientError),
    /// There is no manifest: the backup never finished.
    #[error(
        "no backup of {day} in {target} (no manifest.json): run `promlab backup --day {day} ... --to {target}` (it resumes an interrupted one)"
    )]
    NoManifest { target: String, day: String },
    /// The manifest is not one promlab wrote.
    #[error("the manifest of {day} in {target} is unreadable: {problem}; back the day up again")]
    BadManifest {
        target: String,
        day: String,
        problem: String,
    },
    /// Chunks are missing or damaged.
    #[error(
        "the backup of {day} in {target} is damaged ({} of {checked} chunks):\n  {}\nrun `promlab backup --day {day} ... --to {target}` again to fetch them anew while Prometheus still has the day",
        problems.len(),
        problems.join("\n  ")
    )]
    Damaged {
        target: String,
        day: String,
        checked: usize,
        problems: Vec<String>,
    },
    /// The OpenMetrics file could not be written.
    #[error(transparent)]
    Write(#[from] FsError),
}

/// What `promlab backup` does.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    pub prometheus_url: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// A Prometheus duration that divides a day (`1h`, `15m`).
    pub chunk_size: String,
    /// The metrics to back up; every metric with samples that day when empty.
    pub metrics: Vec<String>,
    pub target: String,
    pub parallel: usize,
    pub timeout: Duration,
}

/// What `promlab backup verify` and `promlab restore` read.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub target: String,
    pub day: String,
}

/// What `promlab restore` does.
#[derive(Debug, Clone)]
pub struct RestoreConfig {
    pub target: String,
    pub day: String,
    /// Only these metrics; every one when empty.
    pub metrics: Vec<String>,
    pub output: PathBuf,
}

/// What a backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackedUp {
    pub metrics: usize,
    /// Chunks fetched from Prometheus and stored in this run.
    pub fetched: usize,
    /// Chunks already stored and verified, kept as they were.
    pub kept: usize,
    pub samples: usize,
}

/// What a verification or a restore saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub chunks: usize,
    pub series: usize,
    pub samples: usize,
}

fn valid_metric(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn check_metrics(metrics: &[String]) -> Result<(), BackupError> {
    match metrics.iter().find(|name| !valid_metric(name)) {
        Some(name) => Err(BackupError::Input(format!(
            "{name:?} is not a metric name: give names such as node_cpu_seconds_total, or --all"
        ))),
        None => Ok(()),
    }
}

fn day_start(day: &str) -> Result<i64, BackupError> {
    parse_day(day).map_err(|problem| BackupError::Input(format!("--day: {problem}")))
}

/// The samples of `metric` in `[start, end)`, raw, as Prometheus stored them.
async fn fetch_chunk(
    client: &Prometheus,
    metric: &str,
    start: i64,
    end: i64,
) -> Result<Vec<Series>, ClientError> {
    // A range selector evaluated a millisecond before the end covers [start, end) whether its left
    // edge is closed (Prometheus 2) or open (Prometheus 3); the filter makes the edges exact.
    let selector = format!("{{__name__=\"{metric}\"}}[{}ms]", end - start);
    let mut series: Vec<Series> = client
        .raw_samples(&selector, end - 1)
        .await?
        .into_iter()
        .map(|raw| Series {
            labels: raw.labels,
            samples: raw
                .samples
                .into_iter()
                .filter(|(at, _)| (start..end).contains(at))
                .collect(),
        })
        .filter(|one| !one.samples.is_empty())
        .collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(series)
}

fn entry(
    metric: &str,
    start: i64,
    end: i64,
    path: String,
    series: &[Series],
    bytes: &[u8],
) -> ChunkEntry {
    ChunkEntry {
        metric: metric.to_owned(),
        start,
        end,
        path,
        series: series.len(),
        samples: series.iter().map(|one| one.samples.len()).sum(),
        bytes: bytes.len(),
        sha256: chunk::sha256(bytes),
    }
}

/// Reads the day's manifest.
async fn read_manifest(target: &Target, day: &str) -> Result<Option<Manifest>, BackupError> {
    let Some(bytes) = target.get(&format!("{day}/manifest.json")).await? else {
        return Ok(None);
    };
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|error| BackupError::BadManifest {
            target: target.name.clone(),
            day: day.to_owned(),
            problem: error.to_string(),
        })?;
    if manifest.format != FORMAT {
        return Err(BackupError::BadManifest {
            target: target.name.clone(),
            day: day.to_owned(),
            problem: format!("format {:?}, expected {FORMAT:?}", manifest.format),
        });
    }
    Ok(Some(manifest))
}

/// Where chunks go, and the checksums an earlier manifest recorded.
#[derive(Clone, Copy)]
struct Place<'a> {
    target: &'a Target,
    day: &'a str,
    known: &'a BTreeMap<String, String>,
}

/// Keeps the chunk of `metric` over `[from, to)` when it is stored whole (and matches an earlier
/// manifest), or fetches and stores it; says which.
async fn backup_chunk(
    client: &Prometheus,
    place: Place<'_>,
    metric: String,
    (from, to): (i64, i64),
) -> Result<(ChunkEntry, bool), BackupError> {
    let path = format!("{metric}/{}.jsonl.zst", from / 1000);
    let day = place.day;
    if let Some(bytes) = place.target.get(&format!("{day}/{path}")).await? {
        let sha = chunk::sha256(&bytes);
        let trusted = place
            .known
            .get(&path)
            .is_none_or(|expected| *expected == sha);
        match chunk::decode(&bytes) {
            Ok(series) if trusted => {
                return Ok((entry(&metric, from, to, path, &series, &bytes), false));
            }
            Ok(_) => {
                tracing::warn!(
                    path,
                    "stored chunk differs from the manifest: fetching it again"
                );
            }
            Err(problem) => {
                tracing::warn!(path, problem, "stored chunk is damaged: fetching it again");
            }
        }
    }
    let series = fetch_chunk(client, &metric, from, to).await?;
    let bytes = chunk::encode(&series).map_err(|error| {
        BackupError::Input(format!(
            "cannot compress {path}: {error}; check the free memory"
        ))
    })?;
    let made = entry(&metric, from, to, path.clone(), &series, &bytes);
    place.target.put(&format!("{day}/{path}"), bytes).await?;
    Ok((made, true))
}

/// Where the chunks of the day `[start, end)` that are over at `now` end (all in unix milliseconds).
fn ended_by(start: i64, end: i64, chunk: i64, now: i64) -> i64 {
    if end <= now {
        end
    } else {
        start + (now - start).max(0) / chunk * chunk
    }
}

/// Where the day's chunks that are over now end; an error when none is.
fn ended_now(config: &BackupConfig, start: i64, chunk: i64) -> Result<i64, BackupError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        });
    // Only chunks that are over are stored, so that a re-run can trust what it finds; today's backup
    // holds the chunks ended so far, and a later run adds the rest.
    let ended = ended_by(start, start + DAY_MILLIS, chunk, now);
    if ended <= start {
        return Err(BackupError::Input(format!(
            "no {} chunk of {} has ended yet (UTC): back up an earlier day, wait until {}, or choose a smaller --chunk-size",
            config.chunk_size,
            config.day,
            format_time(start + chunk)
        )));
    }
    Ok(ended)
}

/// Runs `promlab backup`.
pub async fn backup(config: &BackupConfig) -> Result<BackedUp, BackupError> {
    let start = day_start(&config.day)?;
    let end = start + DAY_MILLIS;
    let chunk = parse_duration(&config.chunk_size)
        .map_err(|problem| BackupError::Input(format!("--chunk-size: {problem}")))?;
    if DAY_MILLIS % chunk != 0 {
        return Err(BackupError::Input(format!(
            "--chunk-size {} does not divide a day: choose 15m, 30m, 1h, 2h, 6h or another divisor of 24h",
            config.chunk_size
        )));
    }
    let ended = ended_now(config, start, chunk)?;
    check_metrics(&config.metrics)?;
    let client = Prometheus::new(&config.prometheus_url, None, config.timeout)?;
    let target = Target::open(&config.target)?;
    target.check().await?;
    let metrics = if config.metrics.is_empty() {
        client
            .label_values("__name__", Some((start, end - 1)))
            .await?
    } else {
        config.metrics.clone()
    };
    let earlier = read_manifest(&target, &config.day).await.ok().flatten();
    let known: BTreeMap<String, String> = earlier
        .iter()
        .flat_map(|manifest| &manifest.chunks)
        .map(|entry| (entry.path.clone(), entry.sha256.clone()))
        .collect();
    let jobs: Vec<(String, i64)> = metrics
        .iter()
        .flat_map(|metric| {
            (start..ended)
                .step_by(usize::try_from(chunk).unwrap_or(usize::MAX))
                .map(move |from| (metric.clone(), from))
        })
        .collect();
    let day = config.day.as_str();
    let results: Vec<(ChunkEntry, bool)> = futures_util::stream::iter(jobs)
        .map(|(metric, from)| {
            let place = Place {
                target: &target,
                day,
                known: &known,
            };
            backup_chunk(&client, place, metric, (from, from + chunk))
        })
        .buffer_unordered(config.parallel.max(1))
        .try_collect()
        .await?;
    let mut chunks: Vec<ChunkEntry> = Vec::with_capacity(results.len());
    let mut fetched = 0;
    for (made, was_fetched) in results {
        fetched += usize::from(was_fetched);
        chunks.push(made);
    }
    chunks.sort_by(|a, b| (&a.metric, a.start).cmp(&(&b.metric, b.start)));
    let series: BTreeMap<&str, usize> = chunks.iter().fold(BTreeMap::new(), |mut most, entry| {
        let count = most.entry(entry.metric.as_str()).or_default();
        *count = (*count).max(entry.series);
        most
    });
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        day: config.day.clone(),
        start,
        end,
        chunk_seconds: chunk / 1000,
        prometheus: config.prometheus_url.clone(),
        series: series.values().sum(),
        samples: chunks.iter().map(|entry| entry.samples).sum(),
        chunks,
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|error| BackupError::Input(format!("cannot write the manifest: {error}")))?;
    target.put(&format!("{day}/manifest.json"), text).await?;
    if ended < end {
        tracing::warn!(
            day,
            until = format_time(ended),
            "the day is not over: its chunks up to this time are backed up; run the backup again later to add the rest"
        );
    }
    tracing::info!(
        day,
        from = format_time(start),
        target = target.name,
        fetched,
        "backup complete"
    );
    Ok(BackedUp {
        metrics: metrics.len(),
        fetched,
        kept: manifest.chunks.len() - fetched,
        samples: manifest.samples,
    })
}

/// Every chunk of the manifest, read and checked against it; the damaged ones listed.
async fn read_all(
    target: &Target,
    day: &str,
    metrics: &[String],
) -> Result<(Manifest, Vec<(ChunkEntry, Vec<Series>)>), BackupError> {
    day_start(day)?;
    let manifest = read_manifest(target, day)
        .await?
        .ok_or_else(|| BackupError::NoManifest {
            target: target.name.clone(),
            day: day.to_owned(),
        })?;
    let wanted: Vec<ChunkEntry> = manifest
        .chunks
        .iter()
        .filter(|entry| metrics.is_empty() || metrics.contains(&entry.metric))
        .cloned()
        .collect();
    let checked = wanted.len();
    let read: Vec<Result<(ChunkEntry, Vec<Series>), String>> = futures_util::stream::iter(wanted)
        .map(|entry| async move {
            let Some(bytes) = target.get(&format!("{day}/{}", entry.path)).await? else {
                return Ok(Err(format!("{}: missing", entry.path)));
            };
            let sha = chunk::sha256(&bytes);
            if sha != entry.sha256 {
                return Ok(Err(format!(
                    "{}: checksum {sha} differs from the manifest's {}",
                    entry.path, entry.sha256
                )));
            }
            Ok::<_, BackupError>(match chunk::decode(&bytes) {
                Err(problem) => Err(format!("{}: {problem}", entry.path)),
                Ok(series) => {
                    let samples: usize = series.iter().map(|one| one.samples.len()).sum();
                    if samples == entry.samples {
                        Ok((entry, series))
                    } else {
                        Err(format!(
                            "{}: {samples} samples, the manifest says {}",
                            entry.path, entry.samples
                        ))
                    }
                }
            })
        })
        .buffered(8)
        .try_collect::<Vec<_>>()
        .await?;
    let (good, problems): (Vec<_>, Vec<_>) = read.into_iter().partition(Result::is_ok);
    if !problems.is_empty() {
        return Err(BackupError::Damaged {
            target: target.name.clone(),
            day: day.to_owned(),
            checked,
            problems: problems.into_iter().filter_map(Result::err).collect(),
        });
    }
    Ok((manifest, good.into_iter().filter_map(Result::ok).collect()))
}

/// Runs `promlab backup verify`: every chunk present, with the manifest's checksum and sample count.
pub async fn verify(config: &VerifyConfig) -> Result<Checked, BackupError> {
    let target = Target::open(&config.target)?;
    let (manifest, chunks) = read_all(&target, &config.day, &[]).await?;
    Ok(Checked {
        chunks: chunks.len(),
        series: manifest.series,
        samples: chunks.iter().map(|(entry, _)| entry.samples).sum(),
    })
}

/// Runs `promlab restore`: the verified samples as an OpenMetrics file for promtool.
pub async fn restore(config: &RestoreConfig) -> Result<Checked, BackupError> {
    check_metrics(&config.metrics)?;
    let target = Target::open(&config.target)?;
    let (_, chunks) = read_all(&target, &config.day, &config.metrics).await?;
    let chunk_count = chunks.len();
    let mut merged: BTreeMap<(String, Labels), Vec<(i64, f64)>> = BTreeMap::new();
    for (_, series) in chunks {
        for one in series {
            let name = one.metric().to_owned();
            merged
                .entry((name, one.labels))
                .or_default()
                .extend(one.samples);
        }
    }
    let series: Vec<Series> = merged
        .into_iter()
        .map(|((_, labels), mut samples)| {
            samples.sort_by_key(|(at, _)| *at);
            Series { labels, samples }
        })
        .collect();
    let checked = Checked {
        chunks: chunk_count,
        series: series.len(),
        samples: series.iter().map(|one| one.samples.len()).sum(),
    };
    let output = config.output.clone();
    tokio::task::spawn_blocking(move || {
        write_atomically(&output, WriteOptions::default(), |out| {
            dataset::write_to(
                &series,
                dataset::Format::OpenMetrics,
                dataset::Layout::Long,
                out,
            )
        })
    })
    .await
    .map_err(|error| {
        BackupError::Input(format!(
            "the writer stopped: {error}; run the restore again"
        ))
    })??;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chunks_that_are_over_are_backed_up() {
        let (start, hour) = (1_000 * DAY_MILLIS, 3_600_000);
        let end = start + DAY_MILLIS;
        assert_eq!(ended_by(start, end, hour, end + 1), end, "a past day: all");
        assert_eq!(
            ended_by(start, end, hour, start + 2 * hour + 59),
            start + 2 * hour
        );
        assert_eq!(
            ended_by(start, end, hour, start + hour - 1),
            start,
            "none yet"
        );
        assert_eq!(
            ended_by(start, end, hour, start - 1),
            start,
            "a future day: none"
        );
    }

    #[test]
    fn metric_names_are_checked_before_anything_is_fetched() {
        assert!(valid_metric("node_cpu_seconds_total"));
        assert!(valid_metric("job:rate5m:sum"));
        assert!(!valid_metric("9lives"));
        assert!(!valid_metric("up{job=\"a\"}"));
        assert!(!valid_metric(""));
        let error = check_metrics(&["a/b".to_owned()]).unwrap_err().to_string();
        assert!(error.contains("--all"), "{error}");
    }
}
