//! The Alertmanager HTTP client: whether it is up (`/api/v2/status`) and what its own metrics say about
//! the notifications it sent (`/metrics`), with errors that name the URL and what to check.

use std::time::Duration;

use crate::prom::http;
use crate::redact;

/// Why a request to Alertmanager failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertmanagerError {
    /// The URL is neither an `http://` nor an `https://` URL (its user info hidden).
    #[error(
        "the Alertmanager URL {url:?} is invalid: write it as {form} (e.g. http://127.0.0.1:9093)",
        form = http::URL_FORM
    )]
    InvalidUrl { url: String },
    /// An `https://` URL on a machine without CA certificates to check the server's.
    #[error("cannot set up https for Alertmanager at {url}: {source}; {fix}", fix = http::NO_TRUST_STORE_FIX)]
    Tls {
        url: String,
        #[source]
        source: reqwest::Error,
    },
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
#[derive(Clone)]
pub struct AlertmanagerClient {
    /// The URL requests go to (user info included: reqwest sends it as basic auth).
    base: String,
    /// The URL as logs and errors show it, user info hidden.
    shown: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for AlertmanagerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertmanagerClient")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

impl AlertmanagerClient {
    /// A client for `url` (`http://HOST:PORT` or `https://HOST:PORT`) whose every request gives up
    /// after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, AlertmanagerError> {
        let base = http::base_url(url).ok_or_else(|| AlertmanagerError::InvalidUrl {
            url: redact::url(url),
        })?;
        let shown = redact::url(base);
        let http = http::client(base, timeout).map_err(|source| AlertmanagerError::Tls {
            url: shown.clone(),
            source: redact::reqwest_error(source),
        })?;
        Ok(Self {
            base: base.to_owned(),
            shown,
            http,
        })
    }

    /// The server's URL as configured, its user info hidden: for logs and messages.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.shown
    }

    async fn get_text(&self, path: &str) -> Result<String, AlertmanagerError> {
        let unreachable = |source| AlertmanagerError::Unreachable {
            url: self.shown.clone(),
            source: redact::reqwest_error(source),
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
                url: self.shown.clone(),
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
            url: self.shown.clone(),
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
    fn http_and_https_urls_are_accepted_and_other_schemes_refused_with_the_fix() {
        let new = |url: &str| AlertmanagerClient::new(url, Duration::from_secs(1));
        assert_eq!(new("http://am:9093/").unwrap().url(), "http://am:9093");
        assert_eq!(
            new("https://am.example/").unwrap().url(),
            "https://am.example"
        );
        for bad in ["am:9093", "ftp://am:9093", "http://", "http://a b"] {
            let error = new(bad).unwrap_err().to_string();
            assert!(
                error.contains("write it as http://HOST:PORT or https://HOST:PORT"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn user_info_never_shows() {
        let client =
            AlertmanagerClient::new("http://u:p4ss@am:9093", Duration::from_secs(1)).unwrap();
        assert_eq!(client.url(), "http://***@am:9093");
        assert!(!format!("{client:?}").contains("p4ss"));
        let error = AlertmanagerClient::new("ftp://u:p4ss@am:9093", Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(!error.contains("p4ss"), "{error}");
    }
}
