//! `promlab webhook-sink`: a local Discord. It accepts what Discord's webhook endpoint accepts (the same
//! path shape, JSON and limits, 204 on success) and shows the messages on a page, newest first, so a
//! classroom without Discord, and the tests, see every notification Alertmanager sends.

mod message;
mod router;
mod state;

use std::future::Future;
use std::net::SocketAddr;

pub use message::{
    Embed, EmbedAuthor, EmbedField, EmbedFooter, FIRING_COLOR, Message, Payload, RESOLVED_COLOR,
    Rejection, Status, check_webhook,
};
pub use router::{ApiError, WEBHOOK_BODY_MAX, router};
pub use state::{KEEP_BYTES, SinkState};

use crate::serve;

/// Everything `promlab webhook-sink` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub listen: SocketAddr,
    /// How many messages are kept (the oldest are forgotten first), within [`KEEP_BYTES`].
    pub keep: usize,
}

/// What stops the sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The listen address could not be bound (in use, not local, no permission).
    #[error(
        "cannot listen on {address}: {source}; choose another address with --listen or PROMLAB_SINK_LISTEN (port 0 picks a free one)"
    )]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the webhook sink's server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Runs the sink until `shutdown` completes, then drains open connections and returns.
pub async fn run(
    config: &SinkConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SinkError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| SinkError::Bind {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(SinkError::Serve)?;
    tracing::info!(
        %address,
        keep = config.keep,
        "webhook sink listening on http://{address}/ (post to /api/webhooks/ID/TOKEN)"
    );
    serve::serve(listener, router(SinkState::new(config.keep)), shutdown)
        .await
        .map_err(SinkError::Serve)
}
