//! What Prometheus says about itself: its scrape targets, the Alertmanagers it sends to, the rule
//! groups it loaded and its command-line flags (`/api/v1/targets`, `/alertmanagers`, `/rules`,
//! `/status/flags`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Prometheus;
use crate::clients::ClientError;
use crate::series::Labels;

/// One active scrape target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Target {
    /// The target's labels after relabelling (`job`, `instance`…).
    #[serde(default)]
    pub labels: Labels,
    #[serde(rename = "scrapePool", default)]
    pub scrape_pool: String,
    /// The URL Prometheus scrapes, e.g. `http://localhost:5000/metrics`.
    #[serde(rename = "scrapeUrl")]
    pub scrape_url: String,
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: String,
    /// Why the last scrape failed (empty when it did not).
    #[serde(rename = "lastError", default)]
    pub last_error: String,
}

/// One Alertmanager Prometheus sends alerts to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AlertmanagerTarget {
    /// Its alerts endpoint, e.g. `http://alertmanager:9093/api/v2/alerts`.
    pub url: String,
}

/// One rule group Prometheus evaluates.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RuleGroup {
    pub name: String,
    /// The rule file it was read from, as Prometheus sees it (a path in its container).
    pub file: String,
}

#[derive(Debug, Deserialize)]
struct Targets {
    #[serde(rename = "activeTargets", default)]
    active: Vec<Target>,
}

#[derive(Debug, Deserialize)]
struct Alertmanagers {
    #[serde(rename = "activeAlertmanagers", default)]
    active: Vec<AlertmanagerTarget>,
}

#[derive(Debug, Deserialize)]
struct Rules {
    #[serde(default)]
    groups: Vec<RuleGroup>,
}

impl Prometheus {
    /// `GET /api/v1/targets?state=active`: every target Prometheus scrapes, with its health.
    pub async fn targets(&self) -> Result<Vec<Target>, ClientError> {
        let targets: Targets = self
            .get_data(
                "/api/v1/targets",
                "/api/v1/targets",
                &[("state", "active".to_owned())],
            )
            .await?;
        Ok(targets.active)
    }

    /// `GET /api/v1/alertmanagers`: the Alertmanagers Prometheus currently sends alerts to.
    pub async fn alertmanagers(&self) -> Result<Vec<AlertmanagerTarget>, ClientError> {
        let alertmanagers: Alertmanagers = self
            .get_data("/api/v1/alertmanagers", "/api/v1/alertmanagers", &[])
            .await?;
        Ok(alertmanagers.active)
    }

    /// `GET /api/v1/rules`: the rule groups Prometheus loaded.
    pub async fn rule_groups(&self) -> Result<Vec<RuleGroup>, ClientError> {
        let rules: Rules = self.get_data("/api/v1/rules", "/api/v1/rules", &[]).await?;
        Ok(rules.groups)
    }

    /// `GET /api/v1/status/flags`: the command-line flags Prometheus runs with (`web.enable-lifecycle`…).
    pub async fn flags(&self) -> Result<BTreeMap<String, String>, ClientError> {
        self.get_data("/api/v1/status/flags", "/api/v1/status/flags", &[])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_decode_as_prometheus_writes_them() {
        let json = r#"{"activeTargets":[{"discoveredLabels":{},"labels":{"instance":"localhost:5000","job":"model_mock"},
            "scrapePool":"model_mock","scrapeUrl":"http://localhost:5000/metrics","globalUrl":"http://x:5000/metrics",
            "lastError":"connection refused","lastScrape":"2026-01-01T00:00:00Z","lastScrapeDuration":0.001,
            "health":"down","scrapeInterval":"5s","scrapeTimeout":"5s"}],"droppedTargets":[]}"#;
        let targets: Targets = serde_json::from_str(json).unwrap();
        assert_eq!(targets.active.len(), 1);
        assert_eq!(targets.active[0].health, "down");
        assert_eq!(
            targets.active[0].scrape_url,
            "http://localhost:5000/metrics"
        );
        assert_eq!(targets.active[0].labels["job"], "model_mock");
    }
}
