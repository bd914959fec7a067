//! `promlab forecast`, its `backtest` and `nab-score`.
#![allow(clippy::doc_markdown)]

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Subcommand};

use std::path::PathBuf;

use crate::forecast::{BacktestConfig, BacktestSource, ForecastConfig, ModelKind};
use crate::redact::Secret;

use super::shared::{FromEnvOnly, read_secret_file, secret};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForecastArgs {
    #[command(subcommand)]
    pub action: Option<ForecastAction>,

    /// The forecaster config (every key optional; see forecaster.yaml). Without it, the lab's defaults.
    #[arg(long, env = "PROMLAB_FORECAST_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to serve /metrics, the page and /healthz on (port 0 picks a free port).
    #[arg(
        long,
        env = "PROMLAB_FORECAST_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,

    /// Prometheus to pull history from, e.g. http://prometheus:9090 (overrides the config file).
    #[arg(long, env = "PROMLAB_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// Forecast only shard I of N replicas (I/N, from 0): the series whose label-set hash falls in it.
    #[arg(long, env = "PROMLAB_SHARD", value_name = "I/N")]
    pub shard: Option<String>,

    /// The replica count, this replica's shard being the ordinal that ends its pod's name
    /// (PROMLAB_POD_NAME, else HOSTNAME: forecaster-2 is shard 2), as a StatefulSet runs it.
    #[arg(long, env = "PROMLAB_SHARDS", value_name = "N")]
    pub shards: Option<u32>,

    /// The pod's name, for --shards (a StatefulSet's pods are NAME-ORDINAL); default: HOSTNAME.
    #[arg(long, env = "PROMLAB_POD_NAME")]
    pub pod_name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ForecastAction {
    /// Score every model by rolling-origin evaluation on a recorded series: a CSV file or a Prometheus range.
    Backtest(Box<BacktestArgs>),
    /// Score a detector's anomaly scores over NAB's corpus as NAB does: windows, scaled sigmoid, the three
    /// profiles, normalised between the null and perfect detectors, the threshold optimised per profile.
    NabScore(NabScoreArgs),
}

#[derive(Debug, Args)]
pub struct NabScoreArgs {
    /// The detector's scores: a zstd-compressed CSV of `file,timestamp,anomaly_score` rows, `file` being
    /// the key in the windows file (bench/nab-fixture.py writes one from NAB's results folder).
    #[arg(long, env = "PROMLAB_NAB_SCORES")]
    pub scores: PathBuf,

    /// NAB's labelled anomaly windows (`labels/combined_windows.json`).
    #[arg(long, env = "PROMLAB_BACKTEST_WINDOWS")]
    pub windows: PathBuf,

    /// Score at this threshold (a row whose score is at least it is a detection) instead of the one NAB's
    /// optimiser picks per profile.
    #[arg(long, env = "PROMLAB_NAB_THRESHOLD")]
    pub threshold: Option<f64>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("series").required(true).args(["csv", "query"])))]
pub struct BacktestArgs {
    /// The series: `timestamp,value` lines (unix seconds or 2014-07-01 00:30:00, UTC); a header is skipped.
    #[arg(long, env = "PROMLAB_BACKTEST_CSV")]
    pub csv: Option<PathBuf>,

    /// Or: a PromQL query giving exactly one series, read from --prometheus-url over --start..--end.
    #[arg(long, env = "PROMLAB_BACKTEST_QUERY", requires_all = ["prometheus_url", "start"])]
    pub query: Option<String>,

    /// Prometheus to read the query from, e.g. http://127.0.0.1:9090.
    #[arg(long, env = "PROMLAB_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// Bearer token for Prometheus: only from PROMLAB_PROMETHEUS_BEARER_TOKEN (as a flag it is refused).
    #[arg(
        long,
        env = "PROMLAB_PROMETHEUS_BEARER_TOKEN",
        hide = true,
        hide_env_values = true,
        value_parser = FromEnvOnly
    )]
    pub bearer_token: Option<Secret>,

    /// A file holding a bearer token for Prometheus, read at start (or set PROMLAB_PROMETHEUS_BEARER_TOKEN).
    #[arg(
        long,
        env = "PROMLAB_PROMETHEUS_BEARER_TOKEN_FILE",
        value_name = "FILE",
        value_parser = read_secret_file
    )]
    pub bearer_token_file: Option<Secret>,

    /// Start of the range: unix seconds, RFC 3339, or now-DURATION (now-6h).
    #[arg(long, env = "PROMLAB_START", value_parser = parse_instant)]
    pub start: Option<f64>,

    /// End of the range (same forms as --start).
    #[arg(long, env = "PROMLAB_END", value_parser = parse_instant, default_value = "now")]
    pub end: f64,

    /// Resolution of the range (at most 11,000 points in all).
    #[arg(long, env = "PROMLAB_STEP", value_parser = crate::time::duration, default_value = "1m")]
    pub step: Duration,

    /// Also draw the series and every model's forecasts into this SVG file.
    #[arg(long, env = "PROMLAB_BACKTEST_PLOT")]
    pub plot: Option<PathBuf>,

    /// Also write every forecast into this CSV file (model, origin, timestamp, actual, yhat, lower, upper).
    #[arg(long, env = "PROMLAB_BACKTEST_FORECASTS")]
    pub forecasts: Option<PathBuf>,

    /// Models to score, comma-separated (seasonal_naive, fourier, ets, mstl, arima, prophet, lstm); when
    /// absent, every model the build has but lstm.
    #[arg(long, env = "PROMLAB_BACKTEST_MODELS", value_delimiter = ',', value_parser = parse_model)]
    pub models: Vec<ModelKind>,

    /// Steps forecast at each origin.
    #[arg(long, env = "PROMLAB_BACKTEST_HORIZON", default_value_t = 24)]
    pub horizon: usize,

    /// How many origins, spaced a horizon apart at the end of the series.
    #[arg(long, env = "PROMLAB_BACKTEST_ORIGINS", default_value_t = 8)]
    pub origins: usize,

    /// Points of history each fit sees.
    #[arg(long, env = "PROMLAB_BACKTEST_TRAIN", default_value_t = 1000)]
    pub train: usize,

    /// The season in steps (detected when absent).
    #[arg(long, env = "PROMLAB_BACKTEST_SEASON")]
    pub season: Option<usize>,

    /// Harmonics the fourier model keeps.
    #[arg(long, env = "PROMLAB_BACKTEST_HARMONICS", default_value_t = 10)]
    pub harmonics: usize,

    /// Probability of the prediction intervals whose coverage is measured.
    #[arg(long, env = "PROMLAB_BACKTEST_LEVEL", default_value_t = 0.95)]
    pub level: f64,

    /// NAB's combined_windows.json: score each model's anomaly flags against the series' labelled windows.
    #[arg(long, env = "PROMLAB_BACKTEST_WINDOWS")]
    pub windows: Option<PathBuf>,
}

pub(super) fn parse_instant(text: &str) -> Result<f64, String> {
    crate::forecast::parse_time(text).ok_or_else(|| {
        format!("{text:?} is not a time: write unix seconds, 2026-11-21T10:00:00Z, now or now-6h")
    })
}

impl From<BacktestArgs> for BacktestConfig {
    fn from(args: BacktestArgs) -> Self {
        // clap's group makes one of --csv and --query present, and --query requires the URL and --start.
        let source = match (args.csv, args.query, args.prometheus_url, args.start) {
            (Some(csv), ..) => BacktestSource::Csv(csv),
            (None, query, url, start) => BacktestSource::Prometheus {
                url: url.unwrap_or_default(),
                bearer_token: secret(args.bearer_token_file, args.bearer_token),
                query: query.unwrap_or_default(),
                start: start.unwrap_or_default(),
                end: args.end,
                step: args.step,
            },
        };
        Self {
            source,
            models: if args.models.is_empty() {
                ModelKind::defaults()
            } else {
                args.models
            },
            horizon: args.horizon,
            origins: args.origins,
            train: args.train,
            season: args.season,
            harmonics: args.harmonics.max(1),
            level: args.level,
            windows: args.windows,
            plot: args.plot,
            forecasts: args.forecasts,
        }
    }
}

pub(super) fn parse_model(text: &str) -> Result<ModelKind, String> {
    ModelKind::ALL
        .into_iter()
        .find(|kind| kind.name() == text.trim())
        .ok_or_else(|| {
            let names: Vec<&str> = ModelKind::ALL.iter().map(|kind| kind.name()).collect();
            format!("unknown model {text:?}: choose among {}", names.join(", "))
        })
}

impl From<ForecastArgs> for ForecastConfig {
    fn from(args: ForecastArgs) -> Self {
        Self {
            config: args.config,
            listen: args.listen,
            prometheus_url: args.prometheus_url,
            shard: args.shard,
            shards: args.shards,
            pod_name: args.pod_name.or_else(|| {
                std::env::var("HOSTNAME")
                    .ok()
                    .filter(|name| !name.is_empty())
            }),
        }
    }
}
