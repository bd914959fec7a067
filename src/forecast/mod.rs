//! `promlab forecast`: pulls metric history from Prometheus on a schedule, fits forecasting models on
//! every series its targets match, and serves what they predict (with bounds and anomaly flags) as
//! Prometheus metrics, and on a page.
//!
//! Models sit behind one trait ([`Model`]): `seasonal_naive` (the baseline), `fourier`, `ets`, `mstl`,
//! `arima`, `prophet` (with the cargo feature `prophet`) and `lstm` (with the cargo feature `lstm`).

mod arima;
mod backtest;
mod config;
mod ets;
mod fourier;
mod history;
#[cfg(feature = "lstm")]
mod lstm;
mod model;
mod mstl;
mod plot;
#[cfg(feature = "prophet")]
mod prophet;
mod router;
mod seasonal_naive;
mod state;
mod trainer;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use arima::{ArimaFit, Order as ArimaOrder, auto_fit as arima_auto_fit};
pub use backtest::{
    BacktestConfig, BacktestError, BacktestSource, Report, Score, nab, nab_score, parse_time,
    read_csv,
};
pub use config::{ConfigError, ForecastFile, HumanDuration, Settings, Target};
pub use fourier::Fourier;
pub use history::{History, MAX_FILLED_GAP, clean, whole_steps};
pub use model::{
    Forecast, Model, ModelError, ModelKind, ModelSettings, build, normal_quantile, smape,
};
pub use router::{App, encode, router};
pub use seasonal_naive::{SeasonalNaive, detect_season};
pub use state::{ForecastState, Health, ModelForecast, SeriesState, Status};
pub use trainer::{fit_series, next_wait, output_labels};

use crate::prom::{PromClient, PromError};
use crate::serve;

/// Everything `promlab forecast` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub struct ForecastConfig {
    pub config: Option<PathBuf>,
    pub listen: SocketAddr,
    /// Overrides the file's `prometheus.url`.
    pub prometheus_url: Option<String>,
}

/// What stops the forecaster.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// The config file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The Prometheus URL is unusable.
    #[error(transparent)]
    Prometheus(#[from] PromError),
    /// The listen address could not be bound.
    #[error(
        "cannot listen on {address}: {source}; choose another address with --listen or PROMLAB_FORECAST_LISTEN (port 0 picks a free one)"
    )]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the forecaster's server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// `promlab forecast backtest` could not run.
    #[error(transparent)]
    Backtest(#[from] BacktestError),
}

/// Runs `promlab forecast backtest` and returns its report.
pub async fn backtest(config: &BacktestConfig) -> Result<Report, ForecastError> {
    Ok(backtest::run(config).await?)
}

/// Reads and checks the config, flags applied.
pub fn settings(config: &ForecastConfig) -> Result<Settings, ForecastError> {
    let (mut file, path) = ForecastFile::load(config.config.as_deref())?;
    if let Some(url) = &config.prometheus_url {
        file.prometheus.url.clone_from(url);
    }
    Ok(file.settings(&path)?)
}

/// Runs the forecaster until `shutdown` completes.
pub async fn run(
    config: &ForecastConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ForecastError> {
    let settings = Arc::new(settings(config)?);
    let client = PromClient::new(
        &settings.prometheus_url,
        settings.bearer_token.clone(),
        settings.timeout,
    )?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ForecastError::Bind {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(ForecastError::Serve)?;
    let state = ForecastState::default();
    tracing::info!(
        %address,
        prometheus = %settings.prometheus_url,
        targets = settings.targets.len(),
        models = ?settings.models.iter().map(|kind| kind.name()).collect::<Vec<_>>(),
        "forecaster listening on http://{address}/"
    );
    let trainer = tokio::spawn(train_forever(
        client.clone(),
        settings.clone(),
        state.clone(),
    ));
    let observer = tokio::spawn(observe_forever(client, settings.clone(), state.clone()));
    let served = serve::serve(listener, router(App { state, settings }), shutdown).await;
    trainer.abort();
    observer.abort();
    served.map_err(ForecastError::Serve)
}

async fn train_forever(client: PromClient, settings: Arc<Settings>, state: ForecastState) {
    let mut failures = 0_u32;
    loop {
        let result = trainer::train_once(&client, &settings, &state).await;
        trainer::record_prometheus(&state, &result, client.url());
        if result.is_ok() {
            failures = 0;
        } else {
            failures += 1;
            state.write(|inner| inner.health.training_failures += 1);
        }
        tokio::time::sleep(next_wait(&settings, failures)).await;
    }
}

async fn observe_forever(client: PromClient, settings: Arc<Settings>, state: ForecastState) {
    let mut ticks = tokio::time::interval(settings.step);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let result = trainer::observe_once(&client, &settings.targets, &state).await;
        trainer::record_prometheus(&state, &result, client.url());
    }
}
