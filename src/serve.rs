//! Serving a router until the process is asked to stop: the one place that knows about signals (also
//! the batch commands', see [`stop_signal`]).

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A signal that asks the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM, what `docker stop` sends.
    Terminate,
}

impl StopSignal {
    /// The status a shell reports for a process this signal ended: 128 + the signal's number.
    #[must_use]
    pub const fn exit_code(self) -> i32 {
        match self {
            Self::Interrupt => 130,
            Self::Terminate => 143,
        }
    }
}

/// Completes with the first Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: from then on these signals no longer kill the process, they
/// complete this future. Never completes when the handlers cannot be installed (the error is logged).
/// Call it inside the runtime.
pub fn stop_signal() -> impl Future<Output = StopSignal> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let (mut interrupt, mut terminate) = match (interrupt, terminate) {
                (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::error!(%error, "cannot listen for Ctrl-C and SIGTERM");
                    return std::future::pending().await;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => StopSignal::Interrupt,
                _ = terminate.recv() => StopSignal::Terminate,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        StopSignal::Interrupt
    }
}

/// Completes on Ctrl-C or SIGTERM, whichever comes first: a server's cue to stop taking requests. Like
/// [`stop_signal`], it listens from the call on: a signal that arrives while the server is still starting
/// stops it cleanly instead of killing the process. Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let stop = stop_signal();
    async move {
        match stop.await {
            StopSignal::Interrupt => tracing::info!("Ctrl-C received, shutting down"),
            StopSignal::Terminate => tracing::info!("SIGTERM received, shutting down"),
        }
    }
}
