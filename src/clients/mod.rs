//! Prometheus, Alertmanager and Grafana over HTTP(S), on one base: the URLs they accept (`http://` or
//! `https://`), the one place a reqwest client is built (timeout and trust store), the login sent with
//! each request, and [`ClientError`], the one error, which names the server, its URL and the fix.

pub mod alertmanager;
pub mod grafana;
pub mod prometheus;
pub mod sink;

use std::fmt;
use std::time::Duration;

pub use alertmanager::Alertmanager;
pub use grafana::Grafana;
pub use prometheus::Prometheus;
pub use sink::Sink;

use crate::redact::{self, Secret};

/// How the errors tell a user to write a URL.
const URL_FORM: &str = "http://HOST:PORT or https://HOST:PORT";

/// What the errors add when an `https://` client cannot be built.
const NO_TRUST_STORE_FIX: &str = "install the system's CA certificates (apt-get install ca-certificates) or point SSL_CERT_FILE at a PEM bundle";

/// Which server a client talks to: what its errors name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Prometheus,
    Alertmanager,
    Grafana,
    /// `promlab webhook-sink`, the local Discord.
    Sink,
}

impl Server {
    /// A URL the errors show as an example of the form.
    fn example(self) -> &'static str {
        match self {
            Self::Prometheus => "http://127.0.0.1:9090",
            Self::Alertmanager => "http://127.0.0.1:9093",
            Self::Grafana => "http://127.0.0.1:3000",
            Self::Sink => "http://127.0.0.1:8080",
        }
    }

    /// What a refusal's message adds: the fix for the statuses a login or a wrong port causes.
    fn refusal_fix(self, status: u16) -> String {
        match (self, status) {
            (Self::Grafana, 401) => ": the user or password is wrong, or the token (the admin's password: docker compose -f compose/compose.yaml logs secrets)".to_owned(),
            (Self::Grafana, 403) => ": this login may not do that (a service account token needs at least the Viewer role)".to_owned(),
            (_, 401 | 403) => ": the token or the user and password are wrong".to_owned(),
            (_, 404) => format!(": is it {self} on that port, and is the URL's path prefix right?"),
            _ => String::new(),
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Prometheus => "Prometheus",
            Self::Alertmanager => "Alertmanager",
            Self::Grafana => "Grafana",
            Self::Sink => "the webhook sink",
        })
    }
}

/// Why a request to Prometheus, Alertmanager or Grafana failed. Every URL in it has its user info hidden.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is neither an `http://` nor an `https://` URL.
    #[error(
        "the {server} URL {url:?} is invalid: write it as {URL_FORM} (e.g. {example})",
        example = server.example()
    )]
    InvalidUrl { server: Server, url: String },
    /// An `https://` URL on a machine without CA certificates to check the server's.
    #[error("cannot set up https for {server} at {url}: {source}; {NO_TRUST_STORE_FIX}")]
    Tls {
        server: Server,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Nothing answered, or the answer did not arrive in time.
    #[error("{server} at {url} cannot be reached: {source}; is it running, and is the URL right?")]
    Unreachable {
        server: Server,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// It answered with an error: a bad query, a rejected login, a wrong port, an overload.
    #[error(
        "{server} at {url} answered {status} to {request}{}{}",
        if message.is_empty() { String::new() } else { format!(": {message}") },
        server.refusal_fix(*status)
    )]
    Refused {
        server: Server,
        url: String,
        /// The path, or for Prometheus the query, that was refused.
        request: String,
        status: u16,
        /// What the server said about it (Prometheus' own error), empty when nothing useful.
        message: String,
    },
    /// The answer was not what the API promises (not that server on that port?).
    #[error("{server} at {url} answered something that is not its API to {request}: {problem}")]
    Decode {
        server: Server,
        url: String,
        request: String,
        problem: String,
    },
}

/// How a client logs in. Its `Debug` shows no password or token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No login (Grafana then answers only `/api/health`).
    #[default]
    None,
    /// A bearer token (Grafana: a service account token).
    Token(Secret),
    /// A user and password (basic auth).
    Basic { user: String, password: Secret },
}

/// `url` without its trailing `/`, when it is `http://HOST[:PORT][/PREFIX]` or the same with `https://`;
/// `None` for any other scheme, no host, or a space.
fn base_url(url: &str) -> Option<&str> {
    let base = url.trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace))
        .then_some(base)
}

/// The HTTP client for `base` (an `http://` or `https://` URL), every request bounded by `timeout`.
///
/// The trust store is the system's: reqwest's rustls verifies with rustls-platform-verifier, which on
/// Linux reads the CA bundle the machine trusts (`/etc/ssl/certs`, or `SSL_CERT_FILE`). Chosen over a
/// bundle compiled in (webpki-roots) because a school's or a company's own CA, installed on the host,
/// is what signs a self-hosted Prometheus or Grafana; and the image carries Debian's bundle (Dockerfile).
/// A plain `http://` client loads no roots at all: it then builds on a machine without CA
/// certificates, where the lab's own services, all plain HTTP, must still be reached.
///
/// Fails only for `https://` on a machine without CA certificates.
pub(crate) fn http_client(
    base: &str,
    timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder().timeout(timeout);
    let builder = if base.starts_with("https://") {
        builder
    } else {
        builder.tls_certs_only(std::iter::empty())
    };
    builder.build()
}

/// What the three clients share: the server's URL, the login and the HTTP client.
#[derive(Clone)]
struct Base {
    server: Server,
    /// The URL requests go to (user info included: reqwest sends it as basic auth).
    address: String,
    /// The URL as logs and errors show it, user info hidden.
    shown: String,
    auth: Auth,
    http: reqwest::Client,
}

impl fmt::Debug for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(&self.server.to_string())
            .field("url", &self.shown)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Base {
    /// A base for `server` at `url` (`http://HOST:PORT` or `https://HOST:PORT`, a path prefix
    /// allowed), logging in with `auth`, whose every request gives up after `timeout`.
    fn new(server: Server, url: &str, auth: Auth, timeout: Duration) -> Result<Self, ClientError> {
        let base = base_url(url).ok_or_else(|| ClientError::InvalidUrl {
            server,
            url: redact::url(url),
        })?;
        let shown = redact::url(base);
        let http = http_client(base, timeout).map_err(|source| ClientError::Tls {
            server,
            url: shown.clone(),
            source: redact::reqwest_error(source),
        })?;
        Ok(Self {
            server,
            address: base.to_owned(),
            shown,
            auth,
            http,
        })
    }

    /// `GET path` (with its query), the login attached.
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.get(format!("{}{path}", self.address));
        match &self.auth {
            Auth::None => request,
            Auth::Token(token) => request.bearer_auth(token.expose()),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose())),
        }
    }

    /// The error for a request that got no answer, nothing secret in it.
    fn unreachable(&self, source: reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            server: self.server,
            url: self.shown.clone(),
            source: redact::reqwest_error(source),
        }
    }

    /// The error for an answer that is not a 2xx.
    fn refused(&self, request: &str, status: u16, message: String) -> ClientError {
        ClientError::Refused {
            server: self.server,
            url: self.shown.clone(),
            request: request.to_owned(),
            status,
            message,
        }
    }

    /// The error for an answer that is not the API's.
    fn decode(&self, request: &str, problem: impl fmt::Display) -> ClientError {
        ClientError::Decode {
            server: self.server,
            url: self.shown.clone(),
            request: request.to_owned(),
            problem: problem.to_string(),
        }
    }

    /// The status and body of `GET path?params`, the login attached; `Unreachable` when no answer
    /// arrives.
    async fn fetch(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<(u16, bytes::Bytes), ClientError> {
        let mut request = self.get(path);
        if !params.is_empty() {
            request = request.query(params);
        }
        let response = request
            .send()
            .await
            .map_err(|source| self.unreachable(source))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|source| self.unreachable(source))?;
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_are_accepted_and_nothing_else() {
        assert_eq!(
            base_url("http://prometheus:9090/"),
            Some("http://prometheus:9090")
        );
        assert_eq!(
            base_url("https://x:9090/prefix"),
            Some("https://x:9090/prefix")
        );
        for bad in [
            "prometheus:9090",
            "ftp://x:9090",
            "http://",
            "https://",
            "http:///x",
            "http://a b",
        ] {
            assert_eq!(base_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_plain_http_client_needs_no_ca_certificate() {
        assert!(http_client("http://127.0.0.1:9", Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn every_server_is_named_in_its_errors_with_the_fix() {
        for server in [Server::Prometheus, Server::Alertmanager, Server::Grafana] {
            let error = Base::new(
                server,
                "ftp://u:p4ss@x:1",
                Auth::None,
                Duration::from_secs(1),
            )
            .unwrap_err()
            .to_string();
            assert!(error.starts_with(&format!("the {server} URL")), "{error}");
            assert!(
                error.contains(&format!("write it as {URL_FORM}")),
                "{error}"
            );
            assert!(!error.contains("p4ss"), "{error}");
        }
        let base = Base::new(
            Server::Alertmanager,
            "http://am:9093",
            Auth::None,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            base.refused("/metrics", 404, String::new()).to_string(),
            "Alertmanager at http://am:9093 answered 404 to /metrics: is it Alertmanager on that port, and is the URL's path prefix right?"
        );
    }

    #[test]
    fn the_debug_shows_no_password_token_or_user_info() {
        let basic = Auth::Basic {
            user: "admin".to_owned(),
            password: Secret::new("p4ssw0rd"),
        };
        let token = Auth::Token(Secret::new("glsa_t0ken"));
        for auth in [basic, token] {
            let base = Base::new(
                Server::Grafana,
                "http://u:us3rinfo@grafana:3000",
                auth,
                Duration::from_secs(1),
            )
            .unwrap();
            let debug = format!("{base:?}");
            for secret in ["p4ssw0rd", "glsa_t0ken", "us3rinfo"] {
                assert!(!debug.contains(secret), "{debug}");
            }
            assert!(debug.starts_with("Grafana"), "{debug}");
        }
    }
}
