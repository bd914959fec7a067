//! `promlab metrics list`: every metric name with its type, help and series count, from Prometheus'
//! metadata and series APIs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::clients::{ClientError, Prometheus};

/// How the list is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// Aligned columns for a terminal.
    Table,
    /// A JSON array, for scripts.
    Json,
}

/// What `promlab metrics list` does.
#[derive(Debug, Clone)]
pub struct ListConfig {
    pub prometheus_url: String,
    /// A series selector (`{job="node"}`, `up`); every series when absent.
    pub matcher: Option<String>,
    pub format: ListFormat,
    pub timeout: Duration,
}

/// One metric of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    pub series: usize,
}

/// The metrics the selector matches, sorted by name, printed as `config.format` asks.
pub async fn list(config: &ListConfig) -> Result<String, ClientError> {
    let client = Prometheus::new(&config.prometheus_url, None, config.timeout)?;
    let selector = config
        .matcher
        .clone()
        .unwrap_or_else(|| "{__name__=~\".+\"}".to_owned());
    let (series, metadata) = tokio::try_join!(client.series(&selector, None), client.metadata())?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for labels in series {
        if let Some(name) = labels.get("__name__") {
            *counts.entry(name.clone()).or_default() += 1;
        }
    }
    let metrics: Vec<MetricInfo> = counts
        .into_iter()
        .map(|(name, series)| {
            let known = metadata.get(&name).and_then(|entries| entries.first());
            MetricInfo {
                kind: known.map_or_else(|| "unknown".to_owned(), |m| m.kind.clone()),
                help: known.map(|m| m.help.clone()).unwrap_or_default(),
                name,
                series,
            }
        })
        .collect();
    Ok(match config.format {
        ListFormat::Json => {
            let mut text = serde_json::to_string_pretty(&metrics).unwrap_or_default();
            text.push('\n');
            text
        }
        ListFormat::Table => table(&metrics),
    })
}

fn table(metrics: &[MetricInfo]) -> String {
    let width = |pick: fn(&MetricInfo) -> usize, title: &str| {
        metrics.iter().map(pick).max().unwrap_or(0).max(title.len())
    };
    let name = width(|m| m.name.len(), "NAME");
    let kind = width(|m| m.kind.len(), "TYPE");
    let mut text = format!(
        "{:name$}  {:kind$}  {:>6}  HELP\n",
        "NAME", "TYPE", "SERIES"
    );
    for metric in metrics {
        let _ = writeln!(
            text,
            "{:name$}  {:kind$}  {:>6}  {}",
            metric.name, metric.kind, metric.series, metric.help
        );
    }
    text
}
