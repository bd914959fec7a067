//! The one Prometheus HTTP API client every promlab module uses: instant and range queries, decoded into
//! plain series, with errors that name the URL and what to check; and what Prometheus says about
//! itself (`status`: targets, Alertmanagers, rule groups, flags).

mod status;

pub use status::{AlertmanagerTarget, RuleGroup, Target};

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// The most points Prometheus returns per series in one range query (it refuses more).
pub const MAX_POINTS: usize = 11_000;

/// A series' labels, sorted by name (`__name__` included when Prometheus returns it).
pub type Labels = BTreeMap<String, String>;

/// One series of a range query: its labels and `(unix seconds, value)` points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(f64, f64)>,
}

/// One series of an instant query: its labels and its sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub at: f64,
    pub value: f64,
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// The URL is not an `http://` URL (this build speaks plain HTTP: the lab's Prometheus does).
    #[error(
        "the Prometheus URL {url:?} is invalid: write it as http://HOST:PORT (e.g. http://prometheus:9090); https is not built into this binary"
    )]
    InvalidUrl { url: String },
    /// Nothing answered, or the answer did not arrive in time.
    #[error(
        "Prometheus at {url} cannot be reached: {source}; is it running, and is the URL right?"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Prometheus answered an error: a bad query, a rejected token, an overload.
    #[error("Prometheus at {url} refused the query {query:?}: {status} {message}")]
    Refused {
        url: String,
        query: String,
        status: u16,
        message: String,
    },
    /// The answer was not what the API promises (not Prometheus on that port?).
    #[error("Prometheus at {url} answered something that is not its API: {problem}")]
    Decode { url: String, problem: String },
}

/// A client for one Prometheus server.
#[derive(Debug, Clone)]
pub struct PromClient {
    base: String,
    bearer_token: Option<String>,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct RawSeries {
    metric: Labels,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

/// Prometheus writes sample values as strings, `NaN` and `+Inf` included.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

impl PromClient {
    /// A client for `url` (`http://HOST:PORT`, a path prefix allowed), with an optional bearer token
    /// and a per-request timeout.
    pub fn new(
        url: &str,
        bearer_token: Option<String>,
        timeout: Duration,
    ) -> Result<Self, PromError> {
        let base = url.trim_end_matches('/');
        let valid = base.strip_prefix("http://").is_some_and(|rest| {
            !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
        });
        if !valid {
            return Err(PromError::InvalidUrl {
                url: url.to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|source| PromError::Unreachable {
                url: base.to_owned(),
                source,
            })?;
        Ok(Self {
            base: base.to_owned(),
            bearer_token,
            http,
        })
    }

    /// The server's URL, as configured.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn get(
        &self,
        path: &str,
        query: &str,
        params: &[(&str, String)],
    ) -> Result<Data, PromError> {
        self.get_data(path, query, params).await
    }

    /// `GET path` on the API, its `data` decoded as `T`; `query` names the request in errors.
    async fn get_data<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
        params: &[(&str, String)],
    ) -> Result<T, PromError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.get(&url).query(params);
        if let Some(token) = &self.bearer_token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|source| PromError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|source| PromError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let answer: Answer = match serde_json::from_slice(&body) {
            Ok(answer) => answer,
            Err(error) if status.is_success() => {
                return Err(PromError::Decode {
                    url: self.base.clone(),
                    problem: error.to_string(),
                });
            }
            Err(_) => {
                return Err(PromError::Refused {
                    url: self.base.clone(),
                    query: query.to_owned(),
                    status: status.as_u16(),
                    message: String::from_utf8_lossy(&body).chars().take(200).collect(),
                });
            }
        };
        if answer.status != "success" || !status.is_success() {
            return Err(PromError::Refused {
                url: self.base.clone(),
                query: query.to_owned(),
                status: status.as_u16(),
                message: format!(
                    "{}: {}",
                    answer.error_type.unwrap_or_default(),
                    answer.error.unwrap_or_default()
                ),
            });
        }
        let data = answer.data.ok_or_else(|| PromError::Decode {
            url: self.base.clone(),
            problem: "a successful answer without data".to_owned(),
        })?;
        serde_json::from_value(data).map_err(|error| PromError::Decode {
            url: self.base.clone(),
            problem: format!("{path}: {error}"),
        })
    }

    fn decode(&self, data: Data, expected: &str) -> Result<Vec<RawSeries>, PromError> {
        if data.result_type != expected {
            return Err(PromError::Decode {
                url: self.base.clone(),
                problem: format!("expected a {expected}, got a {}", data.result_type),
            });
        }
        serde_json::from_value(data.result).map_err(|error| PromError::Decode {
            url: self.base.clone(),
            problem: error.to_string(),
        })
    }

    /// `GET /api/v1/query_range`: every series `query` selects between `start` and `end` (unix seconds)
    /// at `step`. Values Prometheus cannot write as numbers are kept as NaN for the caller to judge.
    pub async fn query_range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<Vec<Series>, PromError> {
        let params = [
            ("query", query.to_owned()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", format!("{}", step.as_secs_f64())),
        ];
        let data = self.get("/api/v1/query_range", query, &params).await?;
        Ok(self
            .decode(data, "matrix")?
            .into_iter()
            .map(|raw| Series {
                labels: raw.metric,
                points: raw
                    .values
                    .into_iter()
                    .map(|(at, value)| (at, parse_value(&value).unwrap_or(f64::NAN)))
                    .collect(),
            })
            .collect())
    }

    /// `GET /api/v1/query`: the latest sample of every series `query` selects.
    pub async fn query(&self, query: &str) -> Result<Vec<Sample>, PromError> {
        let data = self
            .get("/api/v1/query", query, &[("query", query.to_owned())])
            .await?;
        Ok(self
            .decode(data, "vector")?
            .into_iter()
            .filter_map(|raw| {
                let (at, value) = raw.value?;
                Some(Sample {
                    labels: raw.metric,
                    at,
                    value: parse_value(&value).unwrap_or(f64::NAN),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_are_accepted() {
        let new = |url: &str| PromClient::new(url, None, Duration::from_secs(1));
        assert_eq!(
            new("http://prometheus:9090/").unwrap().url(),
            "http://prometheus:9090"
        );
        for bad in [
            "prometheus:9090",
            "https://x:9090",
            "http://",
            "http:///x",
            "http://a b",
        ] {
            let error = new(bad).unwrap_err().to_string();
            assert!(
                error.contains("write it as http://HOST:PORT"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn special_values_are_read_as_prometheus_writes_them() {
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_value("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_value("0.25"), Some(0.25));
        assert_eq!(parse_value("x"), None);
    }
}
