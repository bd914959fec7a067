//! `promlab forecast`: pulls metric history from Prometheus on a schedule, fits forecasting models on
//! every series its targets match, and serves what they predict (with bounds and anomaly flags) as
//! Prometheus metrics, and on a page.
//!
//! Models sit behind one trait ([`Model`], in `models/`): `seasonal_naive` (the baseline), `fourier`, `ets`, `mstl`,
//! `arima`, `prophet` (with the cargo feature `prophet`) and `lstm` (with the cargo feature `lstm`).

mod backtest;
mod config;
mod history;
mod models;
mod router;
mod select;
mod shard;
mod state;
mod trainer;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use backtest::{
    BacktestConfig, BacktestError, BacktestSource, Report, Score, nab, nab_score, parse_time,
    read_csv, stream,
};
pub use config::{ConfigError, ForecastFile, HumanDuration, Settings, Target};
pub use history::{History, MAX_FILLED_GAP, clean, whole_steps};
pub use models::{
    ArimaFit, ArimaOrder, Calibrated, Forecast, Fourier, Model, ModelError, ModelKind,
    ModelSettings, SeasonalNaive, UsualRange, arima_auto_fit, band_widths, build, calibrate,
    conformal_quantile, consensus, detect_season, half_width, normal_quantile, smape,
};
pub use router::{App, encode, router};
pub use select::choose as choose_model;
pub use shard::{Shard, ShardError, jump, label_hash};
pub use state::{ForecastState, Health, ModelForecast, Phases, SeriesState, Status};
pub use trainer::{choose_auto, fit_series, next_wait, output_labels};

use crate::clients::{ClientError, Prometheus};
use crate::serve;

/// Everything `promlab forecast` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub struct ForecastConfig {
    pub config: Option<PathBuf>,
    pub listen: SocketAddr,
    /// Overrides the file's `prometheus.url`.
    pub prometheus_url: Option<String>,
    /// `--shard I/N`.
    pub shard: Option<String>,
    /// `--shards N`: the replica count, the ordinal read from `pod_name`.
    pub shards: Option<u32>,
    /// The pod's name (`forecaster-2`), for its ordinal.
    pub pod_name: Option<String>,
}

/// What stops the forecaster.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// The config file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The Prometheus URL is unusable.
    #[error(transparent)]
    Prometheus(#[from] ClientError),
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
    /// The replica's shard cannot be known.
    #[error(transparent)]
    Shard(#[from] ShardError),
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
    let shard = Shard::resolve(
        config.shard.as_deref(),
        config.shards,
        config.pod_name.as_deref(),
    )?;
    let client = Prometheus::new(
        &settings.prometheus_url,
        settings
            .bearer_token
            .clone()
            .map(crate::redact::Secret::into_inner),
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
    state.write(|inner| {
        inner.health.started = trainer::unix_now();
        inner.health.shard = shard;
    });
    tracing::info!(
        %address,
        prometheus = %crate::redact::url(&settings.prometheus_url),
        targets = settings.targets.len(),
        %shard,
        models = ?settings.models.iter().map(|kind| kind.name()).collect::<Vec<_>>(),
        "forecaster listening on http://{address}/"
    );
    let trainer = {
        let (client, settings, state) = (client.clone(), settings.clone(), state.clone());
        tokio::spawn(supervise(
            "trainer",
            state.clone(),
            FIRST_RESTART,
            move || train_forever(client.clone(), settings.clone(), state.clone()),
        ))
    };
    let observer = {
        let (settings, state) = (settings.clone(), state.clone());
        tokio::spawn(supervise(
            "observer",
            state.clone(),
            FIRST_RESTART,
            move || observe_forever(client.clone(), settings.clone(), state.clone()),
        ))
    };
    let served = serve::serve(listener, router(App { state, settings }), shutdown).await;
    trainer.abort();
    observer.abort();
    served.map_err(ForecastError::Serve)
}

/// The wait before a stopped background task is restarted the first time; it doubles after each stop
/// up to [`LAST_RESTART`], and starts over once the task has run for that long.
const FIRST_RESTART: std::time::Duration = std::time::Duration::from_secs(1);
const LAST_RESTART: std::time::Duration = std::time::Duration::from_secs(60);

/// Aborts the task it holds when dropped: aborting a supervisor aborts what it supervises.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the task `start` makes, and restarts it with a doubling backoff whenever it stops (a panic);
/// while it waits, `/healthz` names it. Returns only when the task ends normally.
async fn supervise<F>(
    name: &'static str,
    state: ForecastState,
    first: std::time::Duration,
    start: impl Fn() -> F,
) where
    F: Future<Output = ()> + Send + 'static,
{
    let mut backoff = first;
    loop {
        let began = tokio::time::Instant::now();
        let mut task = AbortOnDrop(tokio::spawn(start()));
        let why = match (&mut task.0).await {
            Ok(()) => return,
            Err(error) if error.is_panic() => "it panicked".to_owned(),
            Err(error) => error.to_string(),
        };
        if began.elapsed() >= LAST_RESTART {
            backoff = first;
        }
        tracing::error!(task = name, %why, wait = ?backoff, "a background task stopped; restarting it");
        state.write(|inner| {
            inner.health.tasks_down.insert(name, why);
        });
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(LAST_RESTART);
        state.write(|inner| {
            inner.health.tasks_down.remove(name);
            inner.health.task_restarts += 1;
        });
    }
}

async fn train_forever(client: Prometheus, settings: Arc<Settings>, state: ForecastState) {
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

async fn observe_forever(client: Prometheus, settings: Arc<Settings>, state: ForecastState) {
    let mut ticks = tokio::time::interval(settings.step);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let result = trainer::observe_once(&client, &settings.targets, &state).await;
        trainer::record_prometheus(&state, &result, client.url());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_panicking_task_is_restarted_and_named_while_it_waits() {
        let state = ForecastState::default();
        let starts = Arc::new(AtomicUsize::new(0));
        let counted = starts.clone();
        let supervisor = tokio::spawn(supervise(
            "observer",
            state.clone(),
            Duration::from_millis(200),
            move || {
                let counted = counted.clone();
                async move {
                    let run = counted.fetch_add(1, Ordering::SeqCst);
                    assert!(run > 0, "a bug in the first run");
                    std::future::pending::<()>().await;
                }
            },
        ));
        // Down while it waits for its restart, and says so.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while state.read(|inner| inner.health.tasks_down.is_empty()) {
            assert!(tokio::time::Instant::now() < deadline, "never marked down");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let down = state.read(|inner| inner.health.problem(trainer::unix_now(), 60.0));
        assert!(down.is_some_and(|why| why.contains("observer")));
        // Then running again.
        while starts.load(Ordering::SeqCst) < 2 {
            assert!(tokio::time::Instant::now() < deadline, "never restarted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        state.read(|inner| {
            assert!(inner.health.tasks_down.is_empty());
            assert_eq!(inner.health.task_restarts, 1);
        });
        // Aborting the supervisor stops the task it runs.
        supervisor.abort();
        assert!(supervisor.await.is_err_and(|error| error.is_cancelled()));
    }
}
