//! `promlab probe`: an HTTP health check for containers, whose slim images carry no curl. Exits 0 when
//! the URL answers 2xx, 1 otherwise with the reason; Docker's `HEALTHCHECK` and compose healthchecks call it.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// `http://HOST:PORT/PATH`.
    pub url: String,
    pub timeout: Duration,
}

/// Why the probed service is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not a plain `http://host:port/path` URL.
    #[error(
        "cannot probe {url:?}: write it as http://HOST:PORT/PATH (https is not needed on the container's own loopback)"
    )]
    InvalidUrl { url: String },
    /// Nothing accepted the connection, or it broke.
    #[error("{url} is unreachable: {source}")]
    Unreachable { url: String, source: std::io::Error },
    /// No answer in time.
    #[error("{url} did not answer within {}", humantime::format_duration(*timeout))]
    Timeout { url: String, timeout: Duration },
    /// An answer, but not a 2xx one.
    #[error("{url} answered {status_line:?}")]
    Unhealthy { url: String, status_line: String },
}

/// Requests the URL once and checks for a 2xx status.
pub async fn run(config: &ProbeConfig) -> Result<(), ProbeError> {
    let url = config.url.as_str();
    let (authority, path) = url
        .strip_prefix("http://")
        .map(|rest| {
            rest.split_once('/')
                .map_or((rest, "/"), |(a, _)| (a, &rest[a.len()..]))
        })
        .filter(|(authority, _)| authority.contains(':'))
        .ok_or_else(|| ProbeError::InvalidUrl {
            url: url.to_owned(),
        })?;
    let status_line = tokio::time::timeout(config.timeout, status_line(authority, path))
        .await
        .map_err(|_| ProbeError::Timeout {
            url: url.to_owned(),
            timeout: config.timeout,
        })?
        .map_err(|source| ProbeError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    let healthy = status_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.len() == 3 && code.starts_with('2'));
    if healthy {
        Ok(())
    } else {
        Err(ProbeError::Unhealthy {
            url: url.to_owned(),
            status_line,
        })
    }
}

async fn status_line(authority: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(authority).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: promlab-probe\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await?;
    Ok(line.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{MockState, Model, Scenario, router};

    async fn serve_mock() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = MockState::new(Model::new(
            Scenario::Steady,
            Some(1),
            Duration::from_secs(5),
        ));
        tokio::spawn(async move { axum::serve(listener, router(state)).await });
        format!("http://{address}")
    }

    fn config(url: String) -> ProbeConfig {
        ProbeConfig {
            url,
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn a_healthy_endpoint_passes_and_a_missing_one_fails_with_its_status() {
        let base = serve_mock().await;
        run(&config(format!("{base}/healthz"))).await.unwrap();
        let error = run(&config(format!("{base}/nope"))).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{base}/nope answered \"HTTP/1.1 404 Not Found\"")
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let error = run(&config(format!("http://127.0.0.1:{port}/healthz")))
            .await
            .unwrap_err();
        assert!(matches!(error, ProbeError::Unreachable { .. }), "{error}");
    }

    #[tokio::test]
    async fn urls_must_be_plain_http_with_a_port() {
        for url in [
            "https://x:1/",
            "localhost:5000/healthz",
            "http://localhost/healthz",
        ] {
            let error = run(&config(url.to_owned())).await.unwrap_err();
            assert!(
                matches!(error, ProbeError::InvalidUrl { .. }),
                "{url}: {error}"
            );
        }
    }
}
