//! The Grafana HTTP client: its health (`/api/health`, no login needed) and, as the admin, its data
//! sources and whether each one works (`/api/datasources`, `/api/datasources/uid/UID/health`).

use std::time::Duration;

use serde::Deserialize;

/// Why a request to Grafana failed.
#[derive(Debug, thiserror::Error)]
pub enum GrafanaError {
    /// The URL is not an `http://` URL.
    #[error(
        "the Grafana URL {url:?} is invalid: write it as http://HOST:PORT (e.g. http://127.0.0.1:3000)"
    )]
    InvalidUrl { url: String },
    /// Nothing answered, or not in time.
    #[error("Grafana at {url} cannot be reached: {source}; is it running, and is the URL right?")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// It answered, but not with a 2xx (401: the password is wrong).
    #[error("Grafana at {url} answered {status} to {path}{}", if *.status == 401 { ": the user or password is wrong (the password: docker compose -f compose/compose.yaml logs secrets)" } else { "" })]
    Refused {
        url: String,
        path: String,
        status: u16,
    },
    /// The answer is not Grafana's API.
    #[error("Grafana at {url} answered something that is not its API to {path}: {problem}")]
    Decode {
        url: String,
        path: String,
        problem: String,
    },
}

/// One data source, as Grafana lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Datasource {
    pub uid: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Where Grafana's server sends the queries.
    #[serde(default)]
    pub url: String,
}

/// What Grafana's test of a data source says (the "Save & test" button).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DatasourceHealth {
    /// `OK` or `ERROR`.
    pub status: String,
    #[serde(default)]
    pub message: String,
}

/// A client for one Grafana, with the admin's login when given.
#[derive(Debug, Clone)]
pub struct GrafanaClient {
    base: String,
    login: Option<(String, String)>,
    http: reqwest::Client,
}

impl GrafanaClient {
    /// A client for `url` (`http://HOST:PORT`), logging in as `login` (user, password) when given, whose
    /// every request gives up after `timeout`.
    pub fn new(
        url: &str,
        login: Option<(String, String)>,
        timeout: Duration,
    ) -> Result<Self, GrafanaError> {
        let base = url.trim_end_matches('/');
        let valid = base.strip_prefix("http://").is_some_and(|rest| {
            !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
        });
        if !valid {
            return Err(GrafanaError::InvalidUrl {
                url: url.to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|source| GrafanaError::Unreachable {
                url: base.to_owned(),
                source,
            })?;
        Ok(Self {
            base: base.to_owned(),
            login,
            http,
        })
    }

    /// The server's URL, as configured.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Whether the client has a login for the admin-only calls.
    #[must_use]
    pub fn has_login(&self) -> bool {
        self.login.is_some()
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        accept_status: impl Fn(u16) -> bool,
    ) -> Result<T, GrafanaError> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some((user, password)) = &self.login {
            request = request.basic_auth(user, Some(password));
        }
        let unreachable = |source| GrafanaError::Unreachable {
            url: self.base.clone(),
            source,
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        if !accept_status(status) {
            return Err(GrafanaError::Refused {
                url: self.base.clone(),
                path: path.to_owned(),
                status,
            });
        }
        let body = response.bytes().await.map_err(unreachable)?;
        serde_json::from_slice(&body).map_err(|error| GrafanaError::Decode {
            url: self.base.clone(),
            path: path.to_owned(),
            problem: error.to_string(),
        })
    }

    /// `GET /api/health`: `{"database": "ok", "version": …}` when Grafana is up.
    pub async fn health(&self) -> Result<serde_json::Value, GrafanaError> {
        self.get("/api/health", |status| (200..300).contains(&status))
            .await
    }

    /// `GET /api/datasources` (admin): every data source.
    pub async fn datasources(&self) -> Result<Vec<Datasource>, GrafanaError> {
        self.get("/api/datasources", |status| (200..300).contains(&status))
            .await
    }

    /// `GET /api/datasources/uid/UID/health` (admin): Grafana queries the data source and says whether it
    /// answered (a 400 carries the reason, so it is an answer, not an error).
    pub async fn datasource_health(&self, uid: &str) -> Result<DatasourceHealth, GrafanaError> {
        self.get(&format!("/api/datasources/uid/{uid}/health"), |status| {
            (200..300).contains(&status) || status == 400
        })
        .await
    }
}
