//! The Alertmanager HTTP client: whether it is up (`/api/v2/status`) and what its own metrics say about
//! the notifications it sent (`/metrics`), with errors that name the URL and what to check.

use std::time::Duration;

/// Why a request to Alertmanager failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertmanagerError {
    /// The URL is not an `http://` URL.
    #[error(
        "the Alertmanager URL {url:?} is invalid: write it as http://HOST:PORT (e.g. http://127.0.0.1:9093)"
    )]
    InvalidUrl { url: String },
    /// Nothing answered, or not in time.
    #[error(
        "Alertmanager at {url} cannot be reached: {source}; is it running, and is the URL right?"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// It answered, but not with a 2xx.
    #[error("Alertmanager at {url} answered {status} to {path}: is it Alertmanager on that port?")]
    Refused {
        url: String,
        path: String,
        status: u16,
    },
}

/// One sample of Alertmanager's own metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// `(label, value)` pairs, in the order Alertmanager wrote them.
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl MetricSample {
    /// The value of `label`, if the sample has it.
    #[must_use]
    pub fn label(&self, label: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(name, _)| name == label)
            .map(|(_, value)| value.as_str())
    }
}

/// A client for one Alertmanager.
#[derive(Debug, Clone)]
pub struct AlertmanagerClient {
    base: String,
    http: reqwest::Client,
}

impl AlertmanagerClient {
    /// A client for `url` (`http://HOST:PORT`) whose every request gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, AlertmanagerError> {
        let base = url.trim_end_matches('/');
        let valid = base.strip_prefix("http://").is_some_and(|rest| {
            !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
        });
        if !valid {
            return Err(AlertmanagerError::InvalidUrl {
                url: url.to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|source| AlertmanagerError::Unreachable {
                url: base.to_owned(),
                source,
            })?;
        Ok(Self {
            base: base.to_owned(),
            http,
        })
    }

    /// The server's URL, as configured.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn get_text(&self, path: &str) -> Result<String, AlertmanagerError> {
        let unreachable = |source| AlertmanagerError::Unreachable {
            url: self.base.clone(),
            source,
        };
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(AlertmanagerError::Refused {
                url: self.base.clone(),
                path: path.to_owned(),
                status: status.as_u16(),
            });
        }
        response.text().await.map_err(unreachable)
    }

    /// `GET /api/v2/status`: its version, cluster and loaded configuration, as JSON.
    pub async fn status(&self) -> Result<serde_json::Value, AlertmanagerError> {
        let text = self.get_text("/api/v2/status").await?;
        serde_json::from_str(&text).map_err(|_| AlertmanagerError::Refused {
            url: self.base.clone(),
            path: "/api/v2/status".to_owned(),
            status: 200,
        })
    }

    /// Every sample of the metric `name` in Alertmanager's `/metrics` (e.g.
    /// `alertmanager_notifications_failed_total`, one per integration and reason).
    pub async fn metric(&self, name: &str) -> Result<Vec<MetricSample>, AlertmanagerError> {
        Ok(samples(&self.get_text("/metrics").await?, name))
    }
}

/// The samples of `name` in a text exposition. Alertmanager's label values never contain `,` or `"`
/// escapes, so a plain split reads them; a line that does not parse is skipped.
fn samples(exposition: &str, name: &str) -> Vec<MetricSample> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(labelled) => labelled.split_once('}')?,
                None if rest.starts_with(' ') => ("", rest),
                None => return None,
            };
            let value = value.split_whitespace().next()?.parse().ok()?;
            let labels = labels
                .split(',')
                .filter_map(|pair| {
                    let (label, value) = pair.split_once('=')?;
                    Some((
                        label.trim().to_owned(),
                        value.trim().trim_matches('"').to_owned(),
                    ))
                })
                .collect();
            Some(MetricSample { labels, value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_of_one_metric_are_read_with_their_labels() {
        let exposition = "# HELP alertmanager_notifications_failed_total The total number of failed notifications.\n\
# TYPE alertmanager_notifications_failed_total counter\n\
alertmanager_notifications_failed_total{integration=\"discord\",reason=\"clientError\"} 3\n\
alertmanager_notifications_failed_total{integration=\"email\",reason=\"other\"} 0\n\
alertmanager_notifications_failed_total_other 7\n\
alertmanager_notifications_total{integration=\"discord\"} 4\n";
        let failed = samples(exposition, "alertmanager_notifications_failed_total");
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert_eq!(failed[0].label("integration"), Some("discord"));
        assert_eq!(failed[0].label("reason"), Some("clientError"));
        assert!((failed[0].value - 3.0).abs() < 1e-9);
        assert_eq!(samples("up 1\n", "up")[0].labels, Vec::new());
    }

    #[test]
    fn only_plain_http_urls_are_accepted() {
        let new = |url: &str| AlertmanagerClient::new(url, Duration::from_secs(1));
        assert_eq!(new("http://am:9093/").unwrap().url(), "http://am:9093");
        for bad in ["am:9093", "https://am:9093", "http://", "http://a b"] {
            assert!(new(bad).unwrap_err().to_string().contains("write it as"));
        }
    }
}
