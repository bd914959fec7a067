//! The Grafana HTTP client: its health (`/api/health`, no login needed) and, logged in, its data
//! sources and whether each one works (`/api/datasources`, `/api/datasources/uid/UID/health`) and its
//! dashboards (`/api/search`).

use std::time::Duration;

use serde::Deserialize;

use super::{Auth, Base, ClientError, Server};

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

/// A client for one Grafana, with a login when given.
#[derive(Debug, Clone)]
pub struct Grafana {
    base: Base,
}

impl Grafana {
    /// A client for `url` (`http://HOST:PORT` or `https://HOST:PORT`), logging in with `auth`, whose
    /// every request gives up after `timeout`.
    pub fn new(url: &str, auth: Auth, timeout: Duration) -> Result<Self, ClientError> {
        Ok(Self {
            base: Base::new(Server::Grafana, url, auth, timeout)?,
        })
    }

    /// The server's URL as configured, its user info hidden: for logs and messages.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base.shown
    }

    /// Whether the client has a login for the calls that need one.
    #[must_use]
    pub fn has_login(&self) -> bool {
        self.base.auth != Auth::None
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        accept_status: impl Fn(u16) -> bool,
    ) -> Result<T, ClientError> {
        let (status, body) = self.base.fetch(path, &[]).await?;
        if !accept_status(status) {
            return Err(self.base.refused(path, status, String::new()));
        }
        serde_json::from_slice(&body).map_err(|error| self.base.decode(path, error))
    }

    /// `GET /api/health`: `{"database": "ok", "version": …}` when Grafana is up.
    pub async fn health(&self) -> Result<serde_json::Value, ClientError> {
        self.get("/api/health", |status| (200..300).contains(&status))
            .await
    }

    /// `GET /api/datasources` (admin): every data source.
    pub async fn datasources(&self) -> Result<Vec<Datasource>, ClientError> {
        self.get("/api/datasources", |status| (200..300).contains(&status))
            .await
    }

    /// `GET /api/datasources/uid/UID/health` (admin): Grafana queries the data source and says whether it
    /// answered (a 400 carries the reason, so it is an answer, not an error).
    pub async fn datasource_health(&self, uid: &str) -> Result<DatasourceHealth, ClientError> {
        self.get(&format!("/api/datasources/uid/{uid}/health"), |status| {
            (200..300).contains(&status) || status == 400
        })
        .await
    }

    /// `GET /api/search?type=dash-db` (a login that may view them): the uid of every dashboard.
    pub async fn dashboard_uids(&self) -> Result<Vec<String>, ClientError> {
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

    #[test]
    fn http_and_https_urls_are_accepted_and_other_schemes_refused_with_the_fix() {
        let new = |url: &str| Grafana::new(url, Auth::None, Duration::from_secs(1));
        assert_eq!(
            new("http://127.0.0.1:3000/").unwrap().url(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            new("https://grafana.example/").unwrap().url(),
            "https://grafana.example"
        );
        for bad in [
            "ftp://grafana:3000",
            "grafana:3000",
            "https://",
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
    fn a_login_is_known_without_showing_it() {
        let token = Auth::Token(crate::redact::Secret::new("glsa_t0ken"));
        let client = Grafana::new("http://grafana:3000", token, Duration::from_secs(1)).unwrap();
        assert!(client.has_login());
        assert!(!format!("{client:?}").contains("glsa_t0ken"));
        let anonymous =
            Grafana::new("http://grafana:3000", Auth::None, Duration::from_secs(1)).unwrap();
        assert!(!anonymous.has_login());
    }
}
