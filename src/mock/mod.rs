//! `promlab mock`: the model mock, the lab's first exporter. A gauge `model_result` in [0, 1] that moves
//! every interval according to a scenario switchable at run time, and the other metric types a real model
//! exports (a counter, a histogram, a summary, an info metric).

mod model;
mod router;
mod scenario;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

pub use model::{HISTORY_LEN, Model, Point};
pub use router::{ApiError, SCENARIO_BODY_MAX, router};
pub use scenario::{DRIFT_DURATION, SINE_PERIOD, SPIKE_FLOOR, Scenario, UnknownScenario};
pub use state::MockState;

use crate::serve;

/// Everything `promlab mock` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub listen: SocketAddr,
    pub interval: Duration,
    pub scenario: Scenario,
    pub seed: Option<u64>,
}

/// What stops the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The listen address could not be bound (in use, not local, no permission).
    #[error(
        "cannot listen on {address}: {source}; choose another address with --listen or PROMLAB_LISTEN (port 0 picks a free one)"
    )]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the mock's server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Runs the mock until `shutdown` completes, then drains open connections and returns.
pub async fn run(
    config: &MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), MockError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| MockError::Bind {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(MockError::Serve)?;
    let state = MockState::new(Model::new(config.scenario, config.seed, config.interval));
    let seed = config
        .seed
        .map_or_else(|| "random".to_owned(), |seed| seed.to_string());
    tracing::info!(
        %address,
        scenario = %config.scenario,
        interval = %humantime::format_duration(config.interval),
        %seed,
        "model mock listening on http://{address}/"
    );
    let ticker = tokio::spawn(tick_forever(state.clone()));
    let served = serve::serve(listener, router(state), shutdown).await;
    ticker.abort();
    served.map_err(MockError::Serve)
}

/// Advances the model every interval; the first value already exists when the mock starts.
async fn tick_forever(state: MockState) {
    let interval = state.with_model(Model::interval);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        state.tick();
    }
}
