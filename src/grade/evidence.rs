//! Evidence of live work: `promlab grade --record FILE` saves each live criterion's outcome with the
//! raw data behind it (the query and its series with their timestamps, each alert rule's `ALERTS`
//! history with its condition and measure around it, Alertmanager's notification counters, the
//! messages the webhook sink received, the sha256 of the repository's lab files, promlab's version);
//! `promlab grade --class` judges each repository's evidence file instead of a running stack.
//!
//! The judge never trusts a recorded verdict: it recomputes each one from the recorded data, checks
//! that the data is consistent with itself (timestamps in order, firing no sooner than the rule's
//! `for` after pending, resolved only once its condition stopped), that it matches the repository
//! (the rules and the files' hashes) and that it was recorded inside the assignment's window.
//! Evidence shows consistency, not proof against forgery: whoever can edit the JSON and recompute
//! the hashes can forge it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

use super::criteria::{Check, LabCriteria};
use super::live::{self, Stack};
use super::{Outcome, Report};
use crate::clients::{Alertmanager, Grafana, Prometheus, Sink};
use crate::series::{Labels, Sample, Series, parse_value, value_text};
use crate::time::{format_time, parse_time};

/// The evidence file's format and schema version.
pub const FORMAT: &str = "promlab-evidence/1";

/// How far back the alert histories reach: lab 5's own window (`max_over_time(...[1h])`).
const HISTORY_MS: i64 = 3_600_000;

/// How far an instant query's sample may be from the recording time (clocks of one machine).
const CLOCK_SLACK_MS: i64 = 60_000;

/// The folders whose every file is hashed, and the files at the repository's root.
const HASHED_FOLDERS: [&str; 4] = ["prometheus", "alertmanager", "grafana", "compose"];
const HASHED_FILES: [&str; 2] = ["promlab.yaml", "forecaster.yaml"];

/// Where a lab's evidence lives in a student's repository.
#[must_use]
pub fn default_path(lab: u8) -> String {
    format!("evidence/lab-{lab}.json")
}

/// An evidence file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// [`FORMAT`].
    pub format: String,
    pub promlab_version: String,
    pub lab: u8,
    /// RFC 3339, UTC.
    pub recorded_at: String,
    /// Each lab file (path relative to the repository, `/`-separated) and its sha256, CRLF read as LF.
    pub files: BTreeMap<String, String>,
    /// The alerting rules the lab's criteria name, as the files had them.
    pub rules: Vec<RecordedRule>,
    /// Each live criterion: its outcome and the data behind it.
    pub criteria: Vec<RecordedCriterion>,
    /// Each recorded rule's `ALERTS` over the last hour, with its condition and measure.
    pub alerts: Vec<AlertHistory>,
    /// Alertmanager's counters per integration (`alertmanager_notifications_total`, `_failed_total`).
    pub notifications: BTreeMap<String, Counters>,
    /// The messages the webhook sink received (webhook tokens hidden), newest first.
    pub messages: Vec<serde_json::Value>,
}

/// An alerting rule as the repository's files had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRule {
    pub file: String,
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// One live criterion's outcome and data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedCriterion {
    pub id: String,
    pub kind: String,
    /// `pass`, `fail` or `skip`: what the grader said at recording time (never trusted).
    pub status: String,
    pub message: String,
    pub data: Data,
}

/// The raw data behind a criterion.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum Data {
    /// An instant query's result.
    Query { query: String, result: Vec<Point> },
    /// Alertmanager's counters of one integration (`None`: it has no such integration).
    Notifications {
        integration: String,
        sent: Option<f64>,
        failed: Option<f64>,
    },
    /// The dashboard uids Grafana listed.
    Dashboards { uids: Vec<String> },
    /// The service was not given or not reachable.
    Unavailable { reason: String },
}

/// One series of an instant query: labels, time (unix ms), value as Prometheus writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub labels: Labels,
    pub at_ms: i64,
    pub value: String,
}

/// A series over time: labels and `(unix ms, value)` samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, String)>,
}

/// A query and the series it returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeData {
    pub query: String,
    pub series: Vec<RecordedSeries>,
}

/// One alert rule's history around the recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertHistory {
    pub alert: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The condition's and measure's step: the evaluation interval.
    pub step_ms: i64,
    /// `ALERTS{alertname=...}`'s raw samples (pending, firing), at the rule's evaluations.
    pub alerts: RangeData,
    /// The rule's expression over the range: present exactly where the alert is active.
    pub condition: RangeData,
    /// The expression without its final comparison (the CPU busy ratio), when it has one.
    pub measure: Option<RangeData>,
}

/// One integration's notification counters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    pub sent: f64,
    pub failed: f64,
}

/// Why evidence could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "--record saves what the running stack shows, and no stack was given: add --prometheus-url (and --alertmanager-url, --sink-url for lab 4 and 5)"
    )]
    NoStack,
    #[error("cannot read the repository's lab files: {0}; check --dir")]
    Files(String),
    #[error("{0}")]
    Encode(String),
}

/// The assignment's window: evidence recorded outside it is stale.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Unix ms.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// The sha256 of every lab file of `repo`: everything under `prometheus/`, `alertmanager/`,
/// `grafana/` and `compose/` (hidden files aside), plus `promlab.yaml` and `forecaster.yaml`; CRLF
/// line ends read as LF, so a Windows checkout hashes as a Linux one.
pub fn hash_files(repo: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    let mut pending: Vec<PathBuf> = HASHED_FOLDERS.iter().map(|f| repo.join(f)).collect();
    pending.extend(HASHED_FILES.iter().map(|f| repo.join(f)));
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            let entries =
                std::fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    pending.push(entry.path());
                }
            }
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let relative = path
                .strip_prefix(repo)
                .unwrap_or(&path)
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.insert(relative, crate::fs::sha256(&normalise_line_ends(&bytes)));
        }
    }
    Ok(files)
}

fn normalise_line_ends(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'\r' && bytes.get(index + 1) == Some(&b'\n') {
            continue;
        }
        out.push(*byte);
    }
    out
}

/// The alert names the lab's criteria name (`alert_rule` checks).
fn criteria_alerts(criteria: &LabCriteria) -> Vec<&str> {
    criteria
        .criteria
        .iter()
        .filter_map(|criterion| match &criterion.check {
            Check::AlertRule { alert, .. } => Some(alert.as_str()),
            _ => None,
        })
        .collect()
}

/// The alerting rule named `alert` in the repository's rule files (`prometheus/**/*.yml`, the
/// promtool tests and `prometheus.yml` aside), as written.
#[must_use]
pub fn find_rule(repo: &Path, alert: &str) -> Option<RecordedRule> {
    let files = hash_files(repo).ok()?;
    files
        .keys()
        .filter(|path| path.starts_with("prometheus/"))
        .filter(|path| {
            let path = Path::new(path.as_str());
            let yaml = |p: &Path| {
                p.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml")
                })
            };
            let stem = path.file_stem().map(Path::new);
            yaml(path)
                && stem.is_none_or(|stem| stem.extension().is_none_or(|e| e != "test"))
                && path.file_name().is_none_or(|name| name != "prometheus.yml")
        })
        .find_map(|path| {
            let text = std::fs::read_to_string(repo.join(path)).ok()?;
            let document: Value = serde_yaml_ng::from_str(&text).ok()?;
            let rule = document
                .get("groups")?
                .as_sequence()?
                .iter()
                .filter_map(|group| group.get("rules").and_then(Value::as_sequence))
                .flatten()
                .find(|rule| rule.get("alert").and_then(Value::as_str) == Some(alert))?;
            let text_of = |value: &Value| match value {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                Value::Bool(flag) => Some(flag.to_string()),
                _ => None,
            };
            Some(RecordedRule {
                file: path.clone(),
                alert: alert.to_owned(),
                expr: rule.get("expr").and_then(text_of).unwrap_or_default(),
                for_: rule.get("for").and_then(text_of),
                labels: rule
                    .get("labels")
                    .and_then(Value::as_mapping)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((text_of(k)?, text_of(v)?)))
                    .collect(),
            })
        })
}

/// The expression without its final comparison with a number (`… > 0.8` gives `…`): what the
/// condition compares, shown around the alert.
fn measure_of(expr: &str) -> Option<String> {
    let pattern = regex::Regex::new(r"(?s)^(.*?)\s*(>=|<=|==|!=|>|<)\s*(bool\s+)?[-+0-9.eE]+\s*$")
        .expect("a valid pattern");
    let captures = pattern.captures(expr.trim())?;
    let left = captures.get(1)?.as_str().trim();
    (!left.is_empty()).then(|| left.to_owned())
}

/// The evaluation interval of the repository's Prometheus (`global.evaluation_interval`), else 1 m.
fn evaluation_interval_ms(repo: &Path) -> i64 {
    std::fs::read_to_string(repo.join("prometheus/prometheus.yml"))
        .ok()
        .and_then(|text| serde_yaml_ng::from_str::<Value>(&text).ok())
        .and_then(|document| {
            document
                .get("global")?
                .get("evaluation_interval")?
                .as_str()
                .map(str::to_owned)
        })
        .and_then(|text| crate::time::PromDuration::try_from(text).ok())
        .map_or(60_000, |duration| {
            i64::try_from(duration.seconds()).unwrap_or(60) * 1000
        })
}

fn recorded_series(series: Vec<Series>) -> Vec<RecordedSeries> {
    series
        .into_iter()
        .map(|series| RecordedSeries {
            labels: series.labels,
            samples: series
                .samples
                .into_iter()
                .map(|(at, value)| (at, value_text(value)))
                .collect(),
        })
        .collect()
}

/// Hides the token of every Discord or sink webhook URL in the strings of `value`.
fn hide_tokens(value: &mut serde_json::Value, pattern: &regex::Regex) {
    match value {
        serde_json::Value::String(text) => {
            *text = pattern.replace_all(text, "${1}***").into_owned();
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| hide_tokens(v, pattern)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| hide_tokens(v, pattern)),
        _ => {}
    }
}

/// Records the evidence of `report` (the live grading of `repo` just done against `stack`): the data
/// behind each live criterion, read again from the stack, and the alert histories and counters.
pub async fn record(
    repo: &Path,
    criteria: &LabCriteria,
    report: &Report,
    stack: &Stack,
    sink: Option<&str>,
) -> Result<Evidence, RecordError> {
    if stack.prometheus.is_none() && stack.alertmanager.is_none() && stack.grafana.is_none() {
        return Err(RecordError::NoStack);
    }
    let now = now_ms();
    let files = hash_files(repo).map_err(RecordError::Files)?;
    let rules: Vec<RecordedRule> = criteria_alerts(criteria)
        .into_iter()
        .filter_map(|alert| find_rule(repo, alert))
        .collect();
    let prometheus = stack
        .prometheus
        .as_deref()
        .and_then(|url| Prometheus::new(url, None, stack.timeout).ok());
    let alertmanager = stack
        .alertmanager
        .as_deref()
        .and_then(|url| Alertmanager::new(url, stack.timeout).ok());
    let mut notifications = BTreeMap::new();
    if let Some(client) = &alertmanager
        && let Ok(counted) = client.notifications().await
    {
        for integration in counted.integrations() {
            notifications.insert(
                integration.clone(),
                Counters {
                    sent: counted.sent(&integration).unwrap_or(0.0),
                    failed: counted.failed(&integration).unwrap_or(0.0),
                },
            );
        }
    }
    let mut recorded = Vec::new();
    for criterion in criteria.criteria.iter().filter(|c| c.check.is_live()) {
        let data = fetch(
            &criterion.check,
            stack,
            prometheus.as_ref(),
            alertmanager.as_ref(),
        )
        .await;
        let (status, message) = report
            .results
            .iter()
            .find(|result| result.id == criterion.id)
            .map(|result| {
                (
                    result.outcome.label().to_lowercase(),
                    result.outcome.message().to_owned(),
                )
            })
            .unwrap_or_default();
        recorded.push(RecordedCriterion {
            id: criterion.id.clone(),
            kind: criterion.check.kind().to_owned(),
            status,
            message,
            data,
        });
    }
    let alerts = match &prometheus {
        Some(client) => histories(client, repo, &rules, now).await,
        None => Vec::new(),
    };
    let messages = match sink {
        Some(url) => sink_messages(url, stack.timeout).await?,
        None => Vec::new(),
    };
    Ok(Evidence {
        format: FORMAT.to_owned(),
        promlab_version: crate::version::LONG.to_owned(),
        lab: criteria.lab,
        recorded_at: format_time(now),
        files,
        rules,
        criteria: recorded,
        alerts,
        notifications,
        messages,
    })
}

/// Each rule's `ALERTS` over the last hour, raw, with its condition and measure at the evaluation
/// interval.
async fn histories(
    client: &Prometheus,
    repo: &Path,
    rules: &[RecordedRule],
    now: i64,
) -> Vec<AlertHistory> {
    let mut alerts = Vec::new();
    let step = evaluation_interval_ms(repo);
    let start = now - HISTORY_MS;
    for rule in rules {
        let selector = format!("ALERTS{{alertname=\"{}\"}}", rule.alert);
        let range = format!("{selector}[{}s]", HISTORY_MS / 1000);
        let history = client.raw_samples(&range, now).await.unwrap_or_default();
        let condition = client
            .query_range_exact(&rule.expr, start, now, step)
            .await
            .unwrap_or_default();
        let mut measure = None;
        if let Some(query) = measure_of(&rule.expr) {
            let series = client
                .query_range_exact(&query, start, now, step)
                .await
                .unwrap_or_default();
            measure = Some(RangeData {
                query,
                series: recorded_series(series),
            });
        }
        alerts.push(AlertHistory {
            alert: rule.alert.clone(),
            start_ms: start,
            end_ms: now,
            step_ms: step,
            alerts: RangeData {
                query: range,
                series: recorded_series(history),
            },
            condition: RangeData {
                query: rule.expr.clone(),
                series: recorded_series(condition),
            },
            measure,
        });
    }
    alerts
}

/// The messages the webhook sink at `url` received, every webhook token hidden.
async fn sink_messages(
    url: &str,
    timeout: std::time::Duration,
) -> Result<Vec<serde_json::Value>, RecordError> {
    let client = Sink::new(url, timeout).map_err(|e| RecordError::Encode(e.to_string()))?;
    let mut messages = client
        .messages()
        .await
        .map_err(|e| RecordError::Encode(e.to_string()))?;
    let pattern =
        regex::Regex::new(r"(/webhooks/[^/\s]+/)[A-Za-z0-9_.\-]+").expect("a valid pattern");
    for message in &mut messages {
        hide_tokens(message, &pattern);
    }
    Ok(messages)
}

/// The raw data behind one live check, read from the stack.
async fn fetch(
    check: &Check,
    stack: &Stack,
    prometheus: Option<&Prometheus>,
    alertmanager: Option<&Alertmanager>,
) -> Data {
    let query = match check {
        Check::TargetUp { .. } => Some("up".to_owned()),
        Check::PromQueryNonempty { query } => Some(query.clone()),
        _ => None,
    };
    if let Some(query) = query {
        let Some(client) = prometheus else {
            return Data::Unavailable {
                reason: "no Prometheus URL given at recording time".to_owned(),
            };
        };
        return match client.query(&query).await {
            Ok(samples) => Data::Query {
                query,
                result: samples
                    .into_iter()
                    .map(|sample| Point {
                        labels: sample.labels,
                        #[allow(clippy::cast_possible_truncation)]
                        at_ms: (sample.at * 1000.0).round() as i64,
                        value: value_text(sample.value),
                    })
                    .collect(),
            },
            Err(error) => Data::Unavailable {
                reason: error.to_string(),
            },
        };
    }
    match check {
        Check::AmNotifications { integration, .. } => {
            let Some(client) = alertmanager else {
                return Data::Unavailable {
                    reason: "no Alertmanager URL given at recording time".to_owned(),
                };
            };
            match client.notifications().await {
                Ok(counted) => Data::Notifications {
                    integration: integration.clone(),
                    sent: counted.sent(integration),
                    failed: counted.failed(integration),
                },
                Err(error) => Data::Unavailable {
                    reason: error.to_string(),
                },
            }
        }
        Check::GrafanaDashboard { .. } => {
            let Some(url) = &stack.grafana else {
                return Data::Unavailable {
                    reason: "no Grafana URL given at recording time".to_owned(),
                };
            };
            let uids = match Grafana::new(url, stack.grafana_auth.clone(), stack.timeout) {
                Ok(client) => client.dashboard_uids().await,
                Err(error) => Err(error),
            };
            match uids {
                Ok(uids) => Data::Dashboards { uids },
                Err(error) => Data::Unavailable {
                    reason: error.to_string(),
                },
            }
        }
        other => Data::Unavailable {
            reason: format!("{} is not a live check", other.kind()),
        },
    }
}

/// Writes `evidence` to `path` atomically (its folder made when missing).
pub fn write(evidence: &Evidence, path: &Path) -> Result<(), super::GradeError> {
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .map_err(|source| crate::fs::FsError::new(folder, source))?;
    }
    let mut text = serde_json::to_string_pretty(evidence).unwrap_or_default();
    text.push('\n');
    crate::fs::write_bytes_atomically(path, text.as_bytes(), crate::fs::WriteOptions::default())?;
    Ok(())
}

/// A live criterion judged from evidence: the outcome, and the fix when it is the evidence's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub outcome: Outcome,
    pub fix: Option<String>,
}

/// A problem with the whole evidence file, and its fix.
struct Problem {
    what: String,
    fix: &'static str,
}

const FIX_RECORD: &str = "record it while your stack runs: `promlab grade --lab N --prometheus-url http://127.0.0.1:9090 --alertmanager-url http://127.0.0.1:9093 --sink-url http://127.0.0.1:8080 --record evidence/lab-N.json`, then commit it";
const FIX_EDITED: &str =
    "record the evidence again and commit it as promlab wrote it: evidence is never edited by hand";
const FIX_CHANGED: &str = "record the evidence again after your last change to the lab files (or undo the change), and commit both";
const FIX_WINDOW: &str =
    "redo the live part of the lab inside the assignment's dates and record the evidence again";

/// Judges the live criteria of `criteria` from the evidence file in `repo`: one [`Judged`] per live
/// criterion, by id.
#[must_use]
pub fn judge(repo: &Path, criteria: &LabCriteria, window: Window) -> BTreeMap<String, Judged> {
    let relative = default_path(criteria.lab);
    let live: Vec<_> = criteria
        .criteria
        .iter()
        .filter(|criterion| criterion.check.is_live())
        .collect();
    let fix_record = FIX_RECORD.replace('N', &criteria.lab.to_string());
    let all_fail = |what: String, fix: String| {
        live.iter()
            .map(|criterion| {
                (
                    criterion.id.clone(),
                    Judged {
                        outcome: Outcome::Fail(what.clone()),
                        fix: Some(fix.clone()),
                    },
                )
            })
            .collect()
    };
    let text = match std::fs::read_to_string(repo.join(&relative)) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return all_fail(
                format!("no evidence of live work: {relative} is missing"),
                fix_record,
            );
        }
        Err(error) => {
            return all_fail(format!("{relative} cannot be read: {error}"), fix_record);
        }
    };
    let evidence: Evidence = match serde_json::from_str(&text) {
        Ok(evidence) => evidence,
        Err(error) => {
            return all_fail(
                format!("{relative} is not promlab evidence ({FORMAT}): {error}"),
                FIX_EDITED.to_owned(),
            );
        }
    };
    let problems = whole_file_problems(repo, criteria, &evidence, window);
    if !problems.is_empty() {
        let what = problems
            .iter()
            .map(|p| p.what.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let mut fixes: Vec<&str> = problems.iter().map(|p| p.fix).collect();
        fixes.dedup();
        return all_fail(format!("{relative}: {what}"), fixes.join("; "));
    }
    live.iter()
        .map(|criterion| {
            (
                criterion.id.clone(),
                judge_one(
                    &evidence,
                    &criterion.id,
                    &criterion.check,
                    &relative,
                    &fix_record,
                ),
            )
        })
        .collect()
}

/// What makes the whole file untrustworthy: its format and lab, its window, the files and rules it
/// names against the repository's, and each alert history's consistency.
fn whole_file_problems(
    repo: &Path,
    criteria: &LabCriteria,
    evidence: &Evidence,
    window: Window,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if evidence.format != FORMAT {
        problems.push(Problem {
            what: format!(
                "its format is {:?}, this promlab reads {FORMAT}",
                evidence.format
            ),
            fix: FIX_EDITED,
        });
        return problems;
    }
    if evidence.lab != criteria.lab {
        problems.push(Problem {
            what: format!(
                "it was recorded for lab {}, not lab {}",
                evidence.lab, criteria.lab
            ),
            fix: FIX_EDITED,
        });
    }
    let recorded = match parse_time(&evidence.recorded_at) {
        Ok(at) => at,
        Err(error) => {
            problems.push(Problem {
                what: format!("recorded_at: {error}"),
                fix: FIX_EDITED,
            });
            return problems;
        }
    };
    if let Some(since) = window.since
        && recorded < since
    {
        problems.push(Problem {
            what: format!(
                "recorded at {}, before the assignment opened ({})",
                evidence.recorded_at,
                format_time(since)
            ),
            fix: FIX_WINDOW,
        });
    }
    if let Some(until) = window.until
        && recorded > until
    {
        problems.push(Problem {
            what: format!(
                "recorded at {}, after the assignment closed ({})",
                evidence.recorded_at,
                format_time(until)
            ),
            fix: FIX_WINDOW,
        });
    }
    // Instant queries ran at the recording time; a moved recorded_at leaves them behind.
    for criterion in &evidence.criteria {
        if let Data::Query { result, .. } = &criterion.data
            && let Some(point) = result
                .iter()
                .find(|point| (point.at_ms - recorded).abs() > CLOCK_SLACK_MS)
        {
            problems.push(Problem {
                what: format!(
                    "{}'s data was queried at {}, not at the recording time {}",
                    criterion.id,
                    format_time(point.at_ms),
                    evidence.recorded_at
                ),
                fix: FIX_EDITED,
            });
        }
    }
    problems.extend(file_problems(repo, evidence));
    problems.extend(rule_problems(repo, criteria, evidence));
    for history in &evidence.alerts {
        let for_ms = evidence
            .rules
            .iter()
            .find(|rule| rule.alert == history.alert)
            .and_then(|rule| rule.for_.as_deref())
            .and_then(|text| crate::time::PromDuration::try_from(text.to_owned()).ok())
            .map_or(0, |d| i64::try_from(d.seconds()).unwrap_or(0) * 1000);
        problems.extend(
            history_problems(history, for_ms, recorded)
                .into_iter()
                .map(|what| Problem {
                    what,
                    fix: FIX_EDITED,
                }),
        );
    }
    problems
}

/// The lab files now against the hashes recorded.
fn file_problems(repo: &Path, evidence: &Evidence) -> Vec<Problem> {
    let mut problems = Vec::new();
    match hash_files(repo) {
        Err(error) => problems.push(Problem {
            what: format!("the lab files cannot be read: {error}"),
            fix: FIX_CHANGED,
        }),
        Ok(now) => {
            let mut changed = Vec::new();
            for (path, hash) in &evidence.files {
                match now.get(path) {
                    None => changed.push(format!("{path} (removed since)")),
                    Some(current) if current != hash => {
                        changed.push(format!("{path} (changed since)"));
                    }
                    Some(_) => {}
                }
            }
            changed.extend(
                now.keys()
                    .filter(|path| !evidence.files.contains_key(*path))
                    .map(|path| format!("{path} (added since)")),
            );
            if !changed.is_empty() {
                problems.push(Problem {
                    what: format!(
                        "the lab files differ from the ones recorded: {}",
                        changed.join(", ")
                    ),
                    fix: FIX_CHANGED,
                });
            }
        }
    }
    problems
}

/// The rules the criteria name, now against the ones recorded.
fn rule_problems(repo: &Path, criteria: &LabCriteria, evidence: &Evidence) -> Vec<Problem> {
    let mut problems = Vec::new();
    for alert in criteria_alerts(criteria) {
        let current = find_rule(repo, alert);
        let recorded_rule = evidence.rules.iter().find(|rule| rule.alert == alert);
        match (recorded_rule, current) {
            (Some(recorded_rule), Some(current)) if *recorded_rule != current => {
                problems.push(Problem {
                    what: format!(
                        "the rule {alert} recorded (`{}`, for {}, in {}) is not the one in the files now (`{}`, for {}, in {})",
                        recorded_rule.expr.trim(),
                        recorded_rule.for_.as_deref().unwrap_or("0s"),
                        recorded_rule.file,
                        current.expr.trim(),
                        current.for_.as_deref().unwrap_or("0s"),
                        current.file
                    ),
                    fix: FIX_CHANGED,
                });
            }
            (Some(_), None) => problems.push(Problem {
                what: format!("the rule {alert} is recorded but no rule file has it now"),
                fix: FIX_CHANGED,
            }),
            (None, Some(_)) if !evidence.alerts.is_empty() || !evidence.rules.is_empty() => {
                problems.push(Problem {
                    what: format!("the rule {alert} is in the files but not in the evidence"),
                    fix: FIX_CHANGED,
                });
            }
            _ => {}
        }
    }
    problems
}

/// Runs of timestamps no more than `gap` apart, as (first, last).
fn runs(times: &[i64], gap: i64) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for &at in times {
        match runs.last_mut() {
            Some(run) if at - run.1 <= gap => run.1 = at,
            _ => runs.push((at, at)),
        }
    }
    runs
}

/// How one alert's recorded history contradicts itself: out-of-order timestamps, samples outside its
/// range, firing sooner than `for` after pending, active without its condition, or resolved while its
/// condition still held.
fn history_problems(history: &AlertHistory, for_ms: i64, recorded: i64) -> Vec<String> {
    let mut problems = Vec::new();
    let name = &history.alert;
    let step = history.step_ms.max(1);
    if history.end_ms > recorded + CLOCK_SLACK_MS || history.end_ms - history.start_ms > HISTORY_MS
    {
        problems.push(format!(
            "{name}'s history ends at {}, after the recording time",
            format_time(history.end_ms)
        ));
    }
    if let Some(problem) = order_problem(history) {
        problems.push(problem);
        return problems;
    }
    // The alert's own labels: ALERTS' less the name and state.
    let mut groups: BTreeMap<Labels, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for series in &history.alerts.series {
        let mut labels = series.labels.clone();
        labels.remove("__name__");
        let state = labels.remove("alertstate").unwrap_or_default();
        let times = series.samples.iter().map(|s| s.0);
        let entry = groups.entry(labels).or_default();
        match state.as_str() {
            "pending" => entry.0.extend(times),
            "firing" => entry.1.extend(times),
            other => problems.push(format!("{name} has an alertstate {other:?}")),
        }
    }
    let gap = step * 5 / 2;
    for (labels, (pending, firing)) in &mut groups {
        pending.sort_unstable();
        firing.sort_unstable();
        let pending_runs = runs(pending, gap);
        for (fired, _) in runs(firing, gap) {
            let before = pending_runs
                .iter()
                .find(|(first, last)| *first < fired && fired - last <= gap);
            match before {
                None if for_ms > 0 => problems.push(format!(
                    "{name} fired at {} without being pending before (its rule has for: {}s)",
                    format_time(fired),
                    for_ms / 1000
                )),
                Some((first, _)) if fired - first < for_ms => problems.push(format!(
                    "{name} fired at {}, {} s after it became pending, sooner than its rule's for: {} s",
                    format_time(fired),
                    (fired - first) / 1000,
                    for_ms / 1000
                )),
                _ => {}
            }
        }
        // The condition of this alert: the series whose labels the alert's contain.
        let condition: Vec<i64> = history
            .condition
            .series
            .iter()
            .filter(|series| {
                series
                    .labels
                    .iter()
                    .all(|(k, v)| k == "__name__" || labels.get(k) == Some(v))
            })
            .flat_map(|series| series.samples.iter().map(|s| s.0))
            .collect();
        let mut active: Vec<i64> = pending.iter().chain(firing.iter()).copied().collect();
        active.sort_unstable();
        if let Some(at) = active
            .iter()
            .find(|&&at| !condition.iter().any(|&c| (c - at).abs() <= 2 * step))
        {
            problems.push(format!(
                "{name} was active at {} while its condition `{}` returned nothing",
                format_time(*at),
                history.condition.query.trim()
            ));
        }
        let mut condition_sorted = condition.clone();
        condition_sorted.sort_unstable();
        let condition_runs = runs(&condition_sorted, gap);
        for (_, ended) in runs(&active, gap) {
            if ended >= history.end_ms - gap {
                continue;
            }
            if let Some((_, held_until)) = condition_runs
                .iter()
                .find(|(first, last)| *first <= ended + step && *last >= ended)
                && *held_until > ended + gap
            {
                problems.push(format!(
                    "{name} resolved at {} while its condition still held until {}",
                    format_time(ended),
                    format_time(*held_until)
                ));
            }
        }
    }
    problems
}

/// Timestamps out of order, or outside the history's range, in any of its series.
fn order_problem(history: &AlertHistory) -> Option<String> {
    let name = &history.alert;
    let step = history.step_ms.max(1);
    let every = history
        .alerts
        .series
        .iter()
        .chain(&history.condition.series)
        .chain(history.measure.iter().flat_map(|m| &m.series));
    for series in every {
        let times: Vec<i64> = series.samples.iter().map(|s| s.0).collect();
        if times.windows(2).any(|pair| pair[1] <= pair[0]) {
            return Some(format!("{name}'s history has timestamps out of order"));
        }
        if times
            .iter()
            .any(|&at| at < history.start_ms - step || at > history.end_ms + step)
        {
            return Some(format!("{name}'s history has samples outside its range"));
        }
    }
    None
}

/// One live criterion from the evidence: its data found, its verdict recomputed and compared.
fn judge_one(
    evidence: &Evidence,
    id: &str,
    check: &Check,
    relative: &str,
    fix_record: &str,
) -> Judged {
    let fail = |what: String, fix: &str| Judged {
        outcome: Outcome::Fail(format!("{relative}: {what}")),
        fix: Some(fix.to_owned()),
    };
    let Some(recorded) = evidence.criteria.iter().find(|c| c.id == id) else {
        return fail(format!("it has no data for {id}"), fix_record);
    };
    let source = format!("recorded {}", evidence.recorded_at);
    let recomputed = match (&recorded.data, check) {
        (Data::Unavailable { reason }, _) => {
            Outcome::Skip(format!("{relative} has no data for {id}: {reason}"))
        }
        (Data::Query { query, result }, Check::TargetUp { jobs }) if query == "up" => {
            live::judge_up(&samples(result), jobs)
        }
        (Data::Query { query, result }, Check::PromQueryNonempty { query: wanted })
            if query == wanted =>
        {
            let outcome = live::judge_nonempty(query, result.len(), &source);
            if let Some(problem) = alert_cross_check(evidence, query, &outcome) {
                return fail(problem, FIX_EDITED);
            }
            outcome
        }
        (
            Data::Notifications {
                integration,
                sent,
                failed,
            },
            Check::AmNotifications {
                integration: wanted,
                min_sent,
            },
        ) if integration == wanted => {
            let counted = evidence.notifications.get(integration);
            let agrees = match counted {
                Some(counters) => {
                    sent.is_some_and(|s| (s - counters.sent).abs() < 1e-9)
                        && (failed.unwrap_or(0.0) - counters.failed).abs() < 1e-9
                }
                None => sent.is_none(),
            };
            if !agrees {
                return fail(
                    format!(
                        "{id}'s counters disagree with the notification counters recorded beside them"
                    ),
                    FIX_EDITED,
                );
            }
            live::judge_notifications(&source, integration, *sent, *failed, *min_sent)
        }
        (Data::Dashboards { uids }, Check::GrafanaDashboard { uid }) => {
            live::judge_dashboards(&source, uids, uid)
        }
        _ => {
            return fail(
                format!(
                    "the data recorded for {id} is not what its check reads (was the criteria file changed since?)"
                ),
                fix_record,
            );
        }
    };
    let says = recomputed.label().to_lowercase();
    if recorded.status != says && !matches!(recomputed, Outcome::Skip(_)) {
        return fail(
            format!(
                "it says {id} was {}, but its own data says {says}: {}",
                if recorded.status.is_empty() {
                    "(nothing)"
                } else {
                    &recorded.status
                },
                recomputed.message()
            ),
            FIX_EDITED,
        );
    }
    let fix = matches!(recomputed, Outcome::Skip(_)).then(|| fix_record.to_owned());
    let outcome = match recomputed {
        Outcome::Pass(message) => Outcome::Pass(format!("{message} ({relative}, {source})")),
        Outcome::Fail(message) => Outcome::Fail(format!("{message} ({relative}, {source})")),
        Outcome::Skip(message) => Outcome::Fail(format!("{message}; not graded from evidence")),
    };
    Judged { outcome, fix }
}

/// A query about an alert's firing (`ALERTS{alertname="X", alertstate="firing"}`) that returned
/// something, while the recorded history of X never fired: the two were not recorded together.
fn alert_cross_check(evidence: &Evidence, query: &str, outcome: &Outcome) -> Option<String> {
    if !matches!(outcome, Outcome::Pass(_))
        || !query.contains("ALERTS")
        || !query.contains("firing")
    {
        return None;
    }
    let history = evidence
        .alerts
        .iter()
        .find(|history| query.contains(&format!("alertname=\"{}\"", history.alert)))?;
    let fired = history.alerts.series.iter().any(|series| {
        series.labels.get("alertstate").map(String::as_str) == Some("firing")
            && !series.samples.is_empty()
    });
    (!fired).then(|| {
        format!(
            "`{query}` returned a firing {}, but its recorded history never fired",
            history.alert
        )
    })
}

fn samples(points: &[Point]) -> Vec<Sample> {
    points
        .iter()
        .map(|point| Sample {
            labels: point.labels.clone(),
            #[allow(clippy::cast_precision_loss)]
            at: point.at_ms as f64 / 1000.0,
            value: parse_value(&point.value).unwrap_or(f64::NAN),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: i64 = 1000;

    fn series(labels: &[(&str, &str)], times: impl IntoIterator<Item = i64>) -> RecordedSeries {
        RecordedSeries {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            samples: times.into_iter().map(|at| (at, "1".to_owned())).collect(),
        }
    }

    /// `NodeCpuHigh`: the condition holds from 10 s to 30 s; pending from 10 s, firing from 15 s (for:
    /// 5 s) to 30 s; the history runs from 0 to 60 s.
    fn history(pending: Vec<i64>, firing: Vec<i64>, condition: Vec<i64>) -> AlertHistory {
        let alert = [("alertname", "NodeCpuHigh"), ("instance", "a")];
        let with_state = |state: &'static str| {
            let mut labels = alert.to_vec();
            labels.push(("alertstate", state));
            labels
        };
        AlertHistory {
            alert: "NodeCpuHigh".to_owned(),
            start_ms: 0,
            end_ms: 60_000,
            step_ms: STEP,
            alerts: RangeData {
                query: "ALERTS{alertname=\"NodeCpuHigh\"}[3600s]".to_owned(),
                series: vec![
                    series(&with_state("pending"), pending),
                    series(&with_state("firing"), firing),
                ],
            },
            condition: RangeData {
                query: "busy > 0.8".to_owned(),
                series: vec![series(&[("instance", "a")], condition)],
            },
            measure: None,
        }
    }

    fn seconds(range: std::ops::Range<i64>) -> Vec<i64> {
        range.map(|s| s * 1000).collect()
    }

    #[test]
    fn a_true_history_is_consistent() {
        let good = history(seconds(10..15), seconds(15..31), seconds(10..31));
        assert_eq!(history_problems(&good, 5000, 60_000), Vec::<String>::new());
    }

    #[test]
    fn each_contradiction_is_named() {
        let cases = [
            // Fired a second after pending, with for: 5 s.
            (
                history(seconds(10..11), seconds(11..31), seconds(10..31)),
                "sooner than its rule's for: 5 s",
            ),
            // Fired without pending.
            (
                history(Vec::new(), seconds(15..31), seconds(10..31)),
                "without being pending before",
            ),
            // Active while the condition returned nothing.
            (
                history(seconds(10..15), seconds(15..31), seconds(10..20)),
                "while its condition",
            ),
            // Resolved at 30 s while the condition held until 50 s.
            (
                history(seconds(10..15), seconds(15..31), seconds(10..51)),
                "resolved at",
            ),
            // Timestamps out of order.
            (
                history(vec![12_000, 10_000], seconds(15..31), seconds(10..31)),
                "out of order",
            ),
            // Samples after the history's end.
            (
                history(seconds(10..15), seconds(15..90), seconds(10..90)),
                "outside its range",
            ),
        ];
        for (history, expected) in cases {
            let problems = history_problems(&history, 5000, 60_000);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:?}"
            );
        }
    }

    #[test]
    fn the_measure_is_the_expression_without_its_final_comparison() {
        assert_eq!(
            measure_of("1 - avg by (job, instance) (rate(x{mode=\"idle\"}[1m])) > 0.8").as_deref(),
            Some("1 - avg by (job, instance) (rate(x{mode=\"idle\"}[1m]))")
        );
        assert_eq!(
            measure_of("model_result>=bool 0.9").as_deref(),
            Some("model_result")
        );
        assert_eq!(measure_of("up == 0").as_deref(), Some("up"));
        assert_eq!(measure_of("absent(up)"), None);
    }

    #[test]
    fn webhook_tokens_are_hidden_everywhere_in_a_message() {
        let pattern =
            regex::Regex::new(r"(/webhooks/[^/\s]+/)[A-Za-z0-9_.\-]+").expect("a valid pattern");
        let mut message = serde_json::json!({
            "content": "see https://discord.com/api/webhooks/123/AbC-t0k.en_x now",
            "embeds": [{"url": "http://sink:8080/api/webhooks/0/promlab"}],
        });
        hide_tokens(&mut message, &pattern);
        let text = message.to_string();
        assert!(
            !text.contains("AbC-t0k.en_x") && !text.contains("/0/promlab"),
            "{text}"
        );
        assert!(text.contains("/api/webhooks/123/*** now"), "{text}");
    }

    #[test]
    fn a_windows_checkout_hashes_as_a_linux_one() {
        assert_eq!(normalise_line_ends(b"a: 1\r\nb: 2\r\n"), b"a: 1\nb: 2\n");
        assert_eq!(normalise_line_ends(b"a\rb"), b"a\rb");
    }
}
