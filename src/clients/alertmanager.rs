//! The Alertmanager HTTP client: whether it is up (`/api/v2/status`) and what its own metrics say about
//! the notifications it sent and failed (`/metrics`), summed per integration in one place for the
//! doctor and the grader.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Auth, Base, ClientError, Server};

/// One sample of Alertmanager's own metrics.
#[derive(Debug, Clone, PartialEq)]
struct MetricSample {
    /// `(label, value)` pairs, in the order Alertmanager wrote them.
    labels: Vec<(String, String)>,
    value: f64,
}

impl MetricSample {
    /// The value of `label`, if the sample has it.
    fn label(&self, label: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(name, _)| name == label)
            .map(|(_, value)| value.as_str())
    }
}

/// What Alertmanager counted of its notifications since it started: `alertmanager_notifications_total`
/// (one series per integration) and `alertmanager_notifications_failed_total` (one per integration
/// and reason).
#[derive(Debug, Clone, PartialEq)]
pub struct Notifications {
    sent: Vec<MetricSample>,
    failed: Vec<MetricSample>,
}

/// The metric that counts the notifications Alertmanager tried to send.
const SENT: &str = "alertmanager_notifications_total";
/// The metric that counts the notifications that failed, per reason.
const FAILED: &str = "alertmanager_notifications_failed_total";

/// The sum of `samples` of `integration` over its series; `None` when it has none.
fn total(samples: &[MetricSample], integration: &str) -> Option<f64> {
    samples
        .iter()
        .filter(|sample| sample.label("integration") == Some(integration))
        .map(|sample| sample.value)
        .reduce(|a, b| a + b)
}

impl Notifications {
    /// The notifications read from a `/metrics` exposition.
    fn from_exposition(exposition: &str) -> Self {
        Self {
            sent: samples(exposition, SENT),
            failed: samples(exposition, FAILED),
        }
    }

    /// How many `integration` notifications Alertmanager sent (`discord`, `webhook`…); `None` when it
    /// has no such integration.
    #[must_use]
    pub fn sent(&self, integration: &str) -> Option<f64> {
        total(&self.sent, integration)
    }

    /// How many `integration` notifications failed, all reasons together; `None` as for [`Self::sent`].
    #[must_use]
    pub fn failed(&self, integration: &str) -> Option<f64> {
        total(&self.failed, integration)
    }

    /// Every integration Alertmanager counts notifications for, sorted.
    #[must_use]
    pub fn integrations(&self) -> Vec<String> {
        let names: std::collections::BTreeSet<&str> = self
            .sent
            .iter()
            .filter_map(|sample| sample.label("integration"))
            .collect();
        names.into_iter().map(str::to_owned).collect()
    }

    /// Each integration with failed notifications, and its `(reason, count)` pairs that are not zero.
    #[must_use]
    pub fn failures(&self) -> BTreeMap<String, Vec<(String, f64)>> {
        let mut failures: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
        for sample in self.failed.iter().filter(|sample| sample.value > 0.0) {
            let Some(integration) = sample.label("integration") else {
                continue;
            };
            failures.entry(integration.to_owned()).or_default().push((
                sample.label("reason").unwrap_or("unknown").to_owned(),
                sample.value,
            ));
        }
        failures
    }
}

/// A client for one Alertmanager.
#[derive(Debug, Clone)]
pub struct Alertmanager {
    base: Base,
}

impl Alertmanager {
    /// A client for `url` (`http://HOST:PORT` or `https://HOST:PORT`) whose every request gives up
    /// after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, ClientError> {
        Ok(Self {
            base: Base::new(Server::Alertmanager, url, Auth::None, timeout)?,
        })
    }

    /// The server's URL as configured, its user info hidden: for logs and messages.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base.shown
    }

    async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (status, body) = self.base.fetch(path, &[]).await?;
        if !(200..300).contains(&status) {
            return Err(self.base.refused(path, status, String::new()));
        }
        String::from_utf8(body.to_vec()).map_err(|error| self.base.decode(path, error))
    }

    /// `GET /api/v2/status`: its version, cluster and loaded configuration, as JSON.
    pub async fn status(&self) -> Result<serde_json::Value, ClientError> {
        let path = "/api/v2/status";
        let text = self.get_text(path).await?;
        serde_json::from_str(&text).map_err(|error| self.base.decode(path, error))
    }

    /// `GET /metrics`: the notifications it sent and failed, per integration.
    pub async fn notifications(&self) -> Result<Notifications, ClientError> {
        Ok(Notifications::from_exposition(
            &self.get_text("/metrics").await?,
        ))
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

    const EXPOSITION: &str = "# HELP alertmanager_notifications_failed_total The total number of failed notifications.\n\
# TYPE alertmanager_notifications_failed_total counter\n\
alertmanager_notifications_failed_total{integration=\"discord\",reason=\"clientError\"} 3\n\
alertmanager_notifications_failed_total{integration=\"discord\",reason=\"other\"} 1\n\
alertmanager_notifications_failed_total{integration=\"email\",reason=\"other\"} 0\n\
alertmanager_notifications_failed_total_other 7\n\
alertmanager_notifications_total{integration=\"discord\"} 4\n\
alertmanager_notifications_total{integration=\"email\"} 0\n";

    #[test]
    fn samples_of_one_metric_are_read_with_their_labels() {
        let failed = samples(EXPOSITION, FAILED);
        assert_eq!(failed.len(), 3, "{failed:?}");
        assert_eq!(failed[0].label("integration"), Some("discord"));
        assert_eq!(failed[0].label("reason"), Some("clientError"));
        assert!((failed[0].value - 3.0).abs() < 1e-9);
        assert_eq!(samples("up 1\n", "up")[0].labels, Vec::new());
    }

    #[test]
    fn notifications_are_summed_per_integration_over_their_reasons() {
        let notifications = Notifications::from_exposition(EXPOSITION);
        assert!((notifications.sent("discord").unwrap() - 4.0).abs() < 1e-9);
        assert!((notifications.failed("discord").unwrap() - 4.0).abs() < 1e-9);
        assert_eq!(notifications.failed("email"), Some(0.0));
        assert_eq!(notifications.sent("slack"), None);
        let failures = notifications.failures();
        assert_eq!(failures.keys().collect::<Vec<_>>(), ["discord"]);
        assert_eq!(failures["discord"].len(), 2);
    }

    #[test]
    fn http_and_https_urls_are_accepted_and_other_schemes_refused_with_the_fix() {
        let new = |url: &str| Alertmanager::new(url, Duration::from_secs(1));
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
        let client = Alertmanager::new("http://u:p4ss@am:9093", Duration::from_secs(1)).unwrap();
        assert_eq!(client.url(), "http://***@am:9093");
        assert!(!format!("{client:?}").contains("p4ss"));
        let error = Alertmanager::new("ftp://u:p4ss@am:9093", Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(!error.contains("p4ss"), "{error}");
    }
}
