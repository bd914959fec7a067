//! The Grafana HTTP client: its health (`/api/health`, no login needed) and, logged in, its data
//! sources and whether each one works (`/api/datasources`, `/api/datasources/uid/UID/health`) and its
//! dashboards (`/api/search`).

use std::time::Duration;

use serde::Deserialize;

use crate::prom::http;
use crate::redact::{self, Secret};

/// Why a request to Grafana failed.
#[derive(Debug, thiserror::Error)]
pub enum GrafanaError {
    /// The URL is neither an `http://` nor an `https://` URL (its user info hidden).
    #[error(
        "the Grafana URL {url:?} is invalid: write it as {form} (e.g. http://127.0.0.1:3000)",
        form = http::URL_FORM
    )]
    InvalidUrl { url: String },
    /// An `https://` URL on a machine without CA certificates to check the server's.
    #[error("cannot set up https for Grafana at {url}: {source}; {fix}", fix = http::NO_TRUST_STORE_FIX)]
    Tls {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Nothing answered, or not in time.
    #[error("Grafana at {url} cannot be reached: {source}; is it running, and is the URL right?")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// It answered, but not with a 2xx (401: the password or token is wrong; 403: not allowed).
    #[error("Grafana at {url} answered {status} to {path}{}", refusal_hint(*.status))]
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

/// What a refusal's message adds: the fix for the statuses a login causes.
fn refusal_hint(status: u16) -> &'static str {
    match status {
        401 => {
            ": the user or password is wrong, or the token (the admin's password: docker compose -f compose/compose.yaml logs secrets)"
        }
        403 => {
            ": this login may not do that (a service account token needs at least the Viewer role)"
        }
        _ => "",
    }
}

/// How a client logs in to Grafana's API. Its `Debug` shows no password or token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GrafanaAuth {
    /// No login: only `/api/health` answers.
    #[default]
    None,
    /// A service account token (bearer).
    Token(Secret),
    /// A user and password (basic auth).
    Basic { user: String, password: Secret },
}

/// A client for one Grafana, with a login when given.
#[derive(Clone)]
pub struct GrafanaClient {
    /// The URL requests go to (user info included: reqwest sends it as basic auth).
    base: String,
    /// The URL as logs and errors show it, user info hidden.
    shown: String,
    auth: GrafanaAuth,
    http: reqwest::Client,
}

impl std::fmt::Debug for GrafanaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrafanaClient")
            .field("url", &self.shown)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl GrafanaClient {
    /// A client for `url` (`http://HOST:PORT` or `https://HOST:PORT`), logging in with `auth`, whose
    /// every request gives up after `timeout`.
    pub fn new(url: &str, auth: GrafanaAuth, timeout: Duration) -> Result<Self, GrafanaError> {
        let base = http::base_url(url).ok_or_else(|| GrafanaError::InvalidUrl {
            url: redact::url(url),
        })?;
        let shown = redact::url(base);
        let http = http::client(base, timeout).map_err(|source| GrafanaError::Tls {
            url: shown.clone(),
            source: redact::reqwest_error(source),
        })?;
        Ok(Self {
            base: base.to_owned(),
            shown,
            auth,
            http,
        })
    }

    /// The server's URL as configured, its user info hidden: for logs and messages.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// Whether the client has a login for the calls that need one.
    #[must_use]
    pub fn has_login(&self) -> bool {
        self.auth != GrafanaAuth::None
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        accept_status: impl Fn(u16) -> bool,
    ) -> Result<T, GrafanaError> {
        let request = self.http.get(format!("{}{path}", self.base));
        let request = match &self.auth {
            GrafanaAuth::None => request,
            GrafanaAuth::Token(token) => request.bearer_auth(token.expose()),
            GrafanaAuth::Basic { user, password } => {
                request.basic_auth(user, Some(password.expose()))
            }
        };
        let unreachable = |source| GrafanaError::Unreachable {
            url: self.shown.clone(),
            source: redact::reqwest_error(source),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        if !accept_status(status) {
            return Err(GrafanaError::Refused {
                url: self.shown.clone(),
                path: path.to_owned(),
                status,
            });
        }
        let body = response.bytes().await.map_err(unreachable)?;
        serde_json::from_slice(&body).map_err(|error| GrafanaError::Decode {
            url: self.shown.clone(),
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

    /// `GET /api/search?type=dash-db` (a login that may view them): the uid of every dashboard.
    pub async fn dashboard_uids(&self) -> Result<Vec<String>, GrafanaError> {
        #[derive(Deserialize)]
        struct Found {
            #[serde(default)]
            uid: String,
        }
        let found: Vec<Found> = self
            .get("/api/search?type=dash-db", |status| {
                (200..300).contains(&status)
            })
            .await?;
        Ok(found.into_iter().map(|found| found.uid).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(url: &str, auth: GrafanaAuth) -> Result<GrafanaClient, GrafanaError> {
        GrafanaClient::new(url, auth, Duration::from_secs(1))
    }

    #[test]
    fn http_and_https_urls_are_accepted_and_other_schemes_refused_with_the_fix() {
        assert_eq!(
            new("http://127.0.0.1:3000/", GrafanaAuth::None)
                .unwrap()
                .url(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            new("https://grafana.example/", GrafanaAuth::None)
                .unwrap()
                .url(),
            "https://grafana.example"
        );
        for bad in [
            "ftp://grafana:3000",
            "grafana:3000",
            "https://",
            "http://a b",
        ] {
            let error = new(bad, GrafanaAuth::None).unwrap_err().to_string();
            assert!(
                error.contains("write it as http://HOST:PORT or https://HOST:PORT"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn debug_and_errors_show_no_password_token_or_user_info() {
        let basic = GrafanaAuth::Basic {
            user: "admin".to_owned(),
            password: Secret::new("p4ssw0rd"),
        };
        let token = GrafanaAuth::Token(Secret::new("glsa_t0ken"));
        for auth in [basic, token] {
            let debug = format!(
                "{auth:?} {:?}",
                new("http://u:us3rinfo@grafana:3000", auth.clone()).unwrap()
            );
            for secret in ["p4ssw0rd", "glsa_t0ken", "us3rinfo"] {
                assert!(!debug.contains(secret), "{debug}");
            }
        }
        let error = new("ftp://u:us3rinfo@grafana:3000", GrafanaAuth::None)
            .unwrap_err()
            .to_string();
        assert!(!error.contains("us3rinfo"), "{error}");
    }
}
