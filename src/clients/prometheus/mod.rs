//! The Prometheus HTTP API client every promlab module uses: instant and range queries, decoded into
//! the series of [`crate::series`], and raw samples and metadata; and what Prometheus says about itself
//! (`status`: targets, Alertmanagers, rule groups, flags).

mod status;

pub use status::{AlertmanagerTarget, RuleGroup, Target};

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{Auth, Base, ClientError, Server};
use crate::redact::Secret;
use crate::series::{Labels, Sample, Series, parse_value};

/// The most points Prometheus returns per series in one range query (it refuses more).
pub const MAX_POINTS: usize = 11_000;

/// A client for one Prometheus server.
#[derive(Debug, Clone)]
pub struct Prometheus {
    base: Base,
}

#[derive(Debug, Deserialize)]
struct Answer<T> {
    status: String,
    #[serde(default = "Option::default")]
    data: Option<T>,
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
    value: Option<(f64, String)>,
}

/// A range query's answer decoded straight from the body, values borrowed: the export's hot path.
#[derive(Debug, Deserialize)]
struct MatrixData<'a> {
    #[serde(rename = "resultType")]
    result_type: &'a str,
    #[serde(borrow)]
    result: Vec<MatrixSeries<'a>>,
}

#[derive(Debug, Deserialize)]
struct MatrixSeries<'a> {
    metric: Labels,
    #[serde(borrow, default)]
    values: Vec<(f64, &'a str)>,
}

/// What Prometheus knows about a metric from its exporters' `# TYPE`, `# HELP` and `# UNIT` lines.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    #[serde(default)]
    pub unit: String,
}

/// Unix seconds as Prometheus writes them (a float with milliseconds) to integer milliseconds.
#[allow(clippy::cast_possible_truncation)]
fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// Integer milliseconds as the API's `start`, `end` and `time` parameters (`1700000000.123`).
fn api_time(millis: i64) -> String {
    if millis < 0 {
        return format!("-{}", api_time(-millis));
    }
    format!("{}.{:03}", millis.div_euclid(1000), millis.rem_euclid(1000))
}

/// How errors name a PromQL query Prometheus was asked.
fn the_query(query: &str) -> String {
    format!("the query {query:?}")
}

impl Prometheus {
    /// A client for `url` (`http://HOST:PORT` or `https://HOST:PORT`, a path prefix allowed), with an
    /// optional bearer token and a per-request timeout.
    pub fn new(
        url: &str,
        bearer_token: Option<String>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let auth = bearer_token.map_or(Auth::None, |token| Auth::Token(Secret::new(token)));
        Ok(Self {
            base: Base::new(Server::Prometheus, url, auth, timeout)?,
        })
    }

    /// The server's URL as configured, its user info hidden: for logs and messages.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base.shown
    }

    /// The body of `GET path?params`, or the error Prometheus gave (its own message, e.g. a PromQL
    /// parse error, shown as it wrote it); `request` names the request in errors.
    async fn get_body(
        &self,
        path: &str,
        request: &str,
        params: &[(&str, String)],
    ) -> Result<bytes::Bytes, ClientError> {
        let (status, body) = self.base.fetch(path, params).await?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let message = match serde_json::from_slice::<Answer<serde::de::IgnoredAny>>(&body) {
            Ok(answer) => format!(
                "{}: {}",
                answer.error_type.unwrap_or_default(),
                answer.error.unwrap_or_default()
            ),
            Err(_) => String::from_utf8_lossy(&body).chars().take(200).collect(),
        };
        Err(self.base.refused(request, status, message))
    }

    /// `data` of a successful answer in `body`.
    fn data<'a, T: Deserialize<'a>>(
        &self,
        request: &str,
        body: &'a [u8],
    ) -> Result<T, ClientError> {
        let answer: Answer<T> =
            serde_json::from_slice(body).map_err(|error| self.base.decode(request, error))?;
        if answer.status != "success" {
            return Err(self.base.refused(
                request,
                200,
                format!(
                    "{}: {}",
                    answer.error_type.unwrap_or_default(),
                    answer.error.unwrap_or_default()
                ),
            ));
        }
        answer.data.ok_or_else(|| {
            self.base
                .decode(request, "a successful answer without data")
        })
    }

    /// `GET path` on the API, its `data` decoded as `T`; `request` names the request in errors.
    async fn get_data<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        request: &str,
        params: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let body = self.get_body(path, request, params).await?;
        self.data(request, &body)
    }

    fn decode(
        &self,
        request: &str,
        data: Data,
        expected: &str,
    ) -> Result<Vec<RawSeries>, ClientError> {
        if data.result_type != expected {
            return Err(self.base.decode(
                request,
                format!("expected a {expected}, got a {}", data.result_type),
            ));
        }
        serde_json::from_value(data.result).map_err(|error| self.base.decode(request, error))
    }

    /// `GET /api/v1/query_range`: every series `query` selects between `start` and `end` (unix seconds)
    /// at `step`. `NaN` and `±Inf` are kept for the caller to judge; a value that is no number at all is a
    /// decode error that names it.
    pub async fn query_range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<Vec<Series>, ClientError> {
        let params = [
            ("query", query.to_owned()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", format!("{}", step.as_secs_f64())),
        ];
        // Decoded straight from the body, values borrowed: a generic JSON tree of 10,000 series of a
        // day at 1-minute steps took gigabytes (bench/forecast-scale.sh).
        let request = the_query(query);
        let body = self
            .get_body("/api/v1/query_range", &request, &params)
            .await?;
        self.exact_matrix(&request, &body)
    }

    /// `GET /api/v1/query`: the latest sample of every series `query` selects.
    pub async fn query(&self, query: &str) -> Result<Vec<Sample>, ClientError> {
        let data = self
            .get_data::<Data>(
                "/api/v1/query",
                &the_query(query),
                &[("query", query.to_owned())],
            )
            .await?;
        Ok(self
            .decode(&the_query(query), data, "vector")?
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

    /// `GET /api/v1/query_range` with exact samples: `(unix milliseconds, value)` per series, values
    /// parsed from the strings Prometheus writes. `start`, `end` in unix milliseconds, `step` in
    /// milliseconds; the caller keeps `(end - start) / step` within Prometheus' 11,000 points.
    pub async fn query_range_exact(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Vec<Series>, ClientError> {
        let params = [
            ("query", query.to_owned()),
            ("start", api_time(start)),
            ("end", api_time(end)),
            ("step", api_time(step)),
        ];
        let request = the_query(query);
        let body = self
            .get_body("/api/v1/query_range", &request, &params)
            .await?;
        self.exact_matrix(&request, &body)
    }

    /// `GET /api/v1/query` of a range selector (`name[1h]`) at `at` (unix milliseconds): the raw
    /// samples Prometheus stored, with their own timestamps, exact.
    pub async fn raw_samples(&self, selector: &str, at: i64) -> Result<Vec<Series>, ClientError> {
        let params = [("query", selector.to_owned()), ("time", api_time(at))];
        let request = the_query(selector);
        let body = self.get_body("/api/v1/query", &request, &params).await?;
        self.exact_matrix(&request, &body)
    }

    /// The matrix in `body`, every value exact.
    fn exact_matrix(&self, request: &str, body: &[u8]) -> Result<Vec<Series>, ClientError> {
        let data: MatrixData<'_> = self.data(request, body)?;
        if data.result_type != "matrix" {
            return Err(self.base.decode(
                request,
                format!("expected a matrix, got a {}", data.result_type),
            ));
        }
        data.result
            .into_iter()
            .map(|series| self.exact(request, series))
            .collect()
    }

    fn exact(&self, request: &str, series: MatrixSeries<'_>) -> Result<Series, ClientError> {
        let samples = series
            .values
            .into_iter()
            .map(|(at, text)| {
                parse_value(text)
                    .map(|value| (millis(at), value))
                    .ok_or_else(|| {
                        self.base
                            .decode(request, format!("{text:?} is not a sample value"))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Series {
            labels: series.metric,
            samples,
        })
    }

    /// `GET /api/v1/series`: the label sets of every series `selector` matches between `start` and
    /// `end` (unix milliseconds; the whole database when absent).
    pub async fn series(
        &self,
        selector: &str,
        range: Option<(i64, i64)>,
    ) -> Result<Vec<Labels>, ClientError> {
        let mut params = vec![("match[]", selector.to_owned())];
        if let Some((start, end)) = range {
            params.push(("start", api_time(start)));
            params.push(("end", api_time(end)));
        }
        self.get_data("/api/v1/series", "/api/v1/series", &params)
            .await
    }

    /// `GET /api/v1/label/NAME/values`: the values of a label (`__name__`: metric names) between
    /// `start` and `end` (unix milliseconds), sorted.
    pub async fn label_values(
        &self,
        label: &str,
        range: Option<(i64, i64)>,
    ) -> Result<Vec<String>, ClientError> {
        let mut params = Vec::new();
        if let Some((start, end)) = range {
            params.push(("start", api_time(start)));
            params.push(("end", api_time(end)));
        }
        let path = format!("/api/v1/label/{label}/values");
        let mut values: Vec<String> = self.get_data(&path, &path, &params).await?;
        values.sort();
        Ok(values)
    }

    /// `GET /api/v1/metadata`: type, help and unit of every metric the targets describe.
    pub async fn metadata(&self) -> Result<BTreeMap<String, Vec<Metadata>>, ClientError> {
        self.get_data("/api/v1/metadata", "/api/v1/metadata", &[])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_times_keep_milliseconds() {
        assert_eq!(api_time(1_700_000_000_123), "1700000000.123");
        assert_eq!(api_time(5), "0.005");
        assert_eq!(api_time(-1), "-0.001");
        assert_eq!(millis(1_700_000_000.123), 1_700_000_000_123);
    }

    #[test]
    fn http_and_https_urls_are_accepted_and_other_schemes_refused_with_the_fix() {
        let new = |url: &str| Prometheus::new(url, None, Duration::from_secs(1));
        assert_eq!(
            new("http://prometheus:9090/").unwrap().url(),
            "http://prometheus:9090"
        );
        assert_eq!(
            new("https://prometheus.example:9090/prefix/")
                .unwrap()
                .url(),
            "https://prometheus.example:9090/prefix"
        );
        for bad in [
            "prometheus:9090",
            "ftp://x:9090",
            "http://",
            "http:///x",
            "http://a b",
        ] {
            let error = new(bad).unwrap_err().to_string();
            assert!(
                error.contains("write it as http://HOST:PORT or https://HOST:PORT"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn user_info_and_tokens_never_show() {
        let client = Prometheus::new(
            "http://u:p4ss@host:9090",
            Some("t0ken".to_owned()),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(client.url(), "http://***@host:9090");
        let debug = format!("{client:?}");
        assert!(
            !debug.contains("p4ss") && !debug.contains("t0ken"),
            "{debug}"
        );
        let error = Prometheus::new("ftp://u:p4ss@host:9090", None, Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(!error.contains("p4ss"), "{error}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_without_its_password() {
        // Port 9 on loopback (discard): nothing listens, the request fails at once.
        let client =
            Prometheus::new("http://u:p4ss@127.0.0.1:9", None, Duration::from_secs(1)).unwrap();
        let error = client.query("up").await.unwrap_err();
        let shown = format!("{error} {error:?} {:?}", std::error::Error::source(&error));
        assert!(matches!(error, ClientError::Unreachable { .. }), "{shown}");
        assert!(!shown.contains("p4ss"), "{shown}");
        assert!(shown.contains("http://***@127.0.0.1:9"), "{shown}");
    }
}
