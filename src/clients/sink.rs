//! The webhook sink's API (`promlab webhook-sink`, the local Discord): the messages it received.

use std::time::Duration;

use super::{Auth, Base, ClientError, Server};

/// A client for one webhook sink.
#[derive(Debug, Clone)]
pub struct Sink {
    base: Base,
}

impl Sink {
    /// A client for `url` (`http://HOST:PORT`) whose every request gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, ClientError> {
        Ok(Self {
            base: Base::new(Server::Sink, url, Auth::None, timeout)?,
        })
    }

    /// The server's URL as configured, its user info hidden: for logs and messages.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base.shown
    }

    /// `GET /api/messages`: every message the sink keeps, newest first, as its JSON.
    pub async fn messages(&self) -> Result<Vec<serde_json::Value>, ClientError> {
        let path = "/api/messages";
        let (status, body) = self.base.fetch(path, &[]).await?;
        if !(200..300).contains(&status) {
            return Err(self.base.refused(path, status, String::new()));
        }
        serde_json::from_slice(&body).map_err(|error| self.base.decode(path, error))
    }
}
