//! The forecaster's HTTP surface: `/metrics` (the predictions, their bands and anomaly flags, and the
//! forecaster's health), the page, `/api/forecasts` and `/healthz`.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::config::Settings;
use super::state::{ForecastState, Inner, ModelForecast, Status};
use super::trainer::unix_now;
use crate::metrics::{Encoder, Format};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct App {
    pub state: ForecastState,
    pub settings: Arc<Settings>,
}

/// The forecaster's routes.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/api/forecasts", get(forecasts))
        .route("/healthz", get(healthz))
        .with_state(app)
}

/// `ok`, or 503 with the reason: a background task down, or no training for three retrain intervals.
async fn healthz(State(app): State<App>) -> impl IntoResponse {
    let retrain = app.settings.retrain_interval.as_secs_f64();
    match app
        .state
        .read(|inner| inner.health.problem(unix_now(), retrain))
    {
        None => (axum::http::StatusCode::OK, "ok\n".to_owned()),
        Some(problem) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: {problem}\n"),
        ),
    }
}

type OwnedLabels = Vec<(String, String)>;

fn owned(labels: &crate::series::Labels, extra: Option<(&str, &str)>) -> OwnedLabels {
    let mut pairs: OwnedLabels = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some((key, value)) = extra {
        pairs.push((key.to_owned(), value.to_owned()));
    }
    pairs
}

fn borrowed(labels: &OwnedLabels) -> Vec<(&str, &str)> {
    labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// One forecast's samples at `now` for one series: point, lower, upper, flag, score.
#[derive(Default)]
struct Families {
    point: Vec<(OwnedLabels, f64)>,
    upper: Vec<(OwnedLabels, f64)>,
    lower: Vec<(OwnedLabels, f64)>,
    anomaly: Vec<(OwnedLabels, f64)>,
    score: Vec<(OwnedLabels, f64)>,
}

impl Families {
    fn push(&mut self, series: &super::state::SeriesState, forecast: &ModelForecast, now: f64) {
        let labels = owned(&series.labels, None);
        if let Some((p, l, u)) = forecast.at(now) {
            self.point.push((labels.clone(), p));
            self.lower.push((labels.clone(), l));
            self.upper.push((labels.clone(), u));
        }
        if let Some(flag) = series.anomaly(forecast) {
            self.anomaly
                .push((labels.clone(), if flag { 1.0 } else { 0.0 }));
        }
        if let Some(score) = series.anomaly_score(forecast) {
            self.score.push((labels, score));
        }
    }

    fn write(&self, encoder: &mut Encoder, model: &str, whose: &str) {
        let families = [
            (
                "",
                format!("The value {whose} predicts for now."),
                &self.point,
            ),
            (
                "_yhat_upper",
                format!("The upper bound of {whose}'s calibrated prediction interval for now."),
                &self.upper,
            ),
            (
                "_yhat_lower",
                format!("The lower bound of {whose}'s calibrated prediction interval for now."),
                &self.lower,
            ),
            (
                "_anomaly",
                format!("1 when the latest actual value lies outside {whose}'s band, else 0."),
                &self.anomaly,
            ),
            (
                "_anomaly_score",
                format!(
                    "How many band half-widths the latest actual value lies from {whose}'s prediction: 1 is the band's edge, above 1 outside it."
                ),
                &self.score,
            ),
        ];
        for (suffix, help, samples) in families {
            let borrowed: Vec<(Vec<(&str, &str)>, f64)> =
                samples.iter().map(|(l, v)| (borrowed(l), *v)).collect();
            encoder.gauge(
                &format!("predicted_values_{model}{suffix}"),
                &help,
                None,
                borrowed.iter().map(|(l, v)| (&l[..], *v)),
            );
        }
    }
}

/// Writes every family: per model, the prediction at `now`, its bounds, the anomaly flag and score, for
/// the series whose forecast covers `now` (none is made up past the horizon); the same for `auto`, the
/// model each series follows, with the info metric naming it; then the health.
#[must_use]
pub fn encode(inner: &Inner, models: &[&'static str], now: f64, format: Format) -> String {
    let mut encoder = Encoder::new(format);
    for model in models {
        let mut families = Families::default();
        for series in inner.series.values() {
            if let Some(forecast) = series.forecasts.iter().find(|f| f.model == *model) {
                families.push(series, forecast, now);
            }
        }
        families.write(&mut encoder, model, "the model");
    }
    let mut auto = Families::default();
    let mut followed = Vec::new();
    for series in inner.series.values() {
        if let Some(forecast) = series.auto_forecast() {
            auto.push(series, forecast, now);
            followed.push((owned(&series.labels, Some(("model", forecast.model))), 1.0));
        }
    }
    auto.write(
        &mut encoder,
        "auto",
        "the model with the best holdout score (forecaster_auto_model names it)",
    );
    let followed: Vec<(Vec<(&str, &str)>, f64)> =
        followed.iter().map(|(l, v)| (borrowed(l), *v)).collect();
    encoder.gauge(
        "forecaster_auto_model",
        "1 for the model predicted_values_auto follows on each series: the best rolling-holdout sMAPE, left only for one better by more than auto_hysteresis.",
        None,
        followed.iter().map(|(l, v)| (&l[..], *v)),
    );
    let consensus: Vec<(OwnedLabels, f64)> = inner
        .series
        .values()
        .filter_map(|series| {
            series
                .consensus_score()
                .map(|score| (owned(&series.labels, None), score))
        })
        .collect();
    let consensus: Vec<(Vec<(&str, &str)>, f64)> =
        consensus.iter().map(|(l, v)| (borrowed(l), *v)).collect();
    encoder.gauge(
        "predicted_values_consensus_anomaly_score",
        "The smallest of every model's anomaly score on each series: above 1, the latest actual value lies outside every model's band.",
        None,
        consensus.iter().map(|(l, v)| (&l[..], *v)),
    );
    encode_health(&mut encoder, inner);
    encoder.info(
        "promlab_build",
        "The promlab build serving this: its version and git revision.",
        &crate::version::LABELS,
    );
    encoder.finish()
}

/// This replica's shard (see `shard.rs`).
fn encode_shard(encoder: &mut Encoder, shard: super::Shard) {
    encoder.gauge(
        "forecaster_shard",
        "This replica's shard: it forecasts the series whose label hash falls in it (0 of 1: all).",
        None,
        [(&[][..], f64::from(shard.index))],
    );
    encoder.gauge(
        "forecaster_shards",
        "The replica count the series are shared among.",
        None,
        [(&[][..], f64::from(shard.count))],
    );
}

/// The forecaster's own health families.
fn encode_health(encoder: &mut Encoder, inner: &Inner) {
    let health = &inner.health;
    encoder.gauge(
        "forecaster_prometheus_up",
        "1 when the last request to Prometheus succeeded.",
        None,
        [(&[][..], if health.prometheus_up { 1.0 } else { 0.0 })],
    );
    encode_shard(encoder, health.shard);
    if let Some(at) = health.last_success {
        encoder.gauge(
            "forecaster_last_training_success_timestamp_seconds",
            "When the last training cycle succeeded, in unix seconds.",
            Some("seconds"),
            [(&[][..], at)],
        );
    }
    encoder.gauge(
        "forecaster_training_duration_seconds",
        "How long the last successful training cycle took.",
        Some("seconds"),
        [(&[][..], health.last_duration_seconds)],
    );
    let phases = &health.last_phases;
    encoder.gauge(
        "forecaster_training_phase_duration_seconds",
        "Where the last successful training cycle's time went, by phase: pull (the history from Prometheus) and fit (every model on every series, on all cores).",
        Some("seconds"),
        [
            (&[("phase", "pull")][..], phases.pull_seconds),
            (&[("phase", "fit")][..], phases.fit_seconds),
        ],
    );
    encoder.gauge(
        "forecaster_model_fit_duration_seconds",
        "Per model, the seconds its fits took in the last successful training cycle, summed over series and cores (holdouts included).",
        Some("seconds"),
        phases
            .model_seconds
            .iter()
            .map(|(model, seconds)| ([("model", *model)], *seconds))
            .collect::<Vec<_>>()
            .iter()
            .map(|(labels, seconds)| (&labels[..], *seconds)),
    );
    let count = |wanted: fn(&Status) -> bool| {
        inner.series.values().filter(|s| wanted(&s.status)).count() as f64
    };
    let statuses = [
        ([("status", "ready")], count(|s| matches!(s, Status::Ready))),
        (
            [("status", "warming_up")],
            count(|s| matches!(s, Status::WarmingUp { .. })),
        ),
        (
            [("status", "failed")],
            count(|s| matches!(s, Status::Failed(_))),
        ),
    ];
    encoder.gauge(
        "forecaster_series",
        "Series followed, by status.",
        None,
        statuses.iter().map(|(l, v)| (&l[..], *v)),
    );
    encode_holdouts(encoder, inner);
    let refused: Vec<[(&str, &str); 1]> = health
        .target_errors
        .keys()
        .map(|query| [("target", query.as_str())])
        .collect();
    encoder.gauge(
        "forecaster_target_refused",
        "1 for each target whose query Prometheus refused at the last training (see the logs).",
        None,
        refused.iter().map(|labels| (&labels[..], 1.0)),
    );
    encoder.counter(
        "forecaster_training_failures",
        "Training cycles that failed because Prometheus did not answer.",
        None,
        [(&[][..], health.training_failures as f64)],
    );
    let reasons = ["error", "panic"].map(|reason| {
        let count = health.model_failures.get(reason).copied().unwrap_or(0);
        ([("reason", reason)], count as f64)
    });
    encoder.counter(
        "forecaster_model_failures",
        "Model fits that failed on a series, by reason: error (the model refused it: too short, not finite) or panic (a model bug, caught).",
        None,
        reasons.iter().map(|(labels, count)| (&labels[..], *count)),
    );
    encoder.counter(
        "forecaster_task_restarts",
        "Background tasks (trainer, observer) restarted after they stopped.",
        None,
        [(&[][..], health.task_restarts as f64)],
    );
}

/// Per series and model: the holdout sMAPE and the calibrated band's holdout coverage.
fn encode_holdouts(encoder: &mut Encoder, inner: &Inner) {
    let per_model = |value: fn(&ModelForecast) -> Option<f64>| -> Vec<(OwnedLabels, f64)> {
        inner
            .series
            .values()
            .flat_map(|series| {
                series.forecasts.iter().filter_map(|forecast| {
                    value(forecast)
                        .map(|v| (owned(&series.labels, Some(("model", forecast.model))), v))
                })
            })
            .collect()
    };
    for (name, help, unit, rows) in [
        (
            "forecaster_holdout_smape_percent",
            "Mean sMAPE of each model over its rolling holdouts (the model fitted before each, scored on what followed), in percent.",
            "percent",
            per_model(|forecast| forecast.holdout_smape),
        ),
        (
            "forecaster_holdout_coverage_ratio",
            "Share of the last holdouts' actual values inside each model's calibrated band, each holdout judged by a band sized on the others only (out of sample); compare with interval_width.",
            "ratio",
            per_model(|forecast| forecast.coverage),
        ),
    ] {
        let rows: Vec<(Vec<(&str, &str)>, f64)> =
            rows.iter().map(|(l, v)| (borrowed(l), *v)).collect();
        encoder.gauge(
            name,
            help,
            Some(unit),
            rows.iter().map(|(l, v)| (&l[..], *v)),
        );
    }
}

async fn metrics(State(app): State<App>, headers: HeaderMap) -> impl IntoResponse {
    let format = Format::negotiate(
        headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok()),
    );
    let models: Vec<&'static str> = app.settings.models.iter().map(|kind| kind.name()).collect();
    let body = app
        .state
        .read(|inner| encode(inner, &models, unix_now(), format));
    ([(header::CONTENT_TYPE, format.content_type())], body)
}

async fn forecasts(State(app): State<App>) -> Json<Value> {
    let now = unix_now();
    Json(app.state.read(|inner| {
        json!({
            "prometheus_up": inner.health.prometheus_up,
            "prometheus_error": inner.health.prometheus_error,
            "last_success": inner.health.last_success,
            "series": inner.series.values().map(|series| json!({
                "labels": series.labels,
                "status": match &series.status {
                    Status::Ready => json!("ready"),
                    Status::WarmingUp { have, need } => json!({"warming_up": {"have": have, "need": need}}),
                    Status::Failed(reason) => json!({"failed": reason}),
                },
                "latest": series.latest,
                "auto": series.auto,
                "models": series.forecasts.iter().map(|f| json!({
                    "model": f.model,
                    "start": f.start,
                    "step": f.step,
                    "now": f.at(now),
                    "anomaly": series.anomaly(f),
                    "anomaly_score": series.anomaly_score(f),
                    "holdout_smape_percent": f.holdout_smape,
                    "holdout_coverage": f.coverage,
                    "conformal_factor": f.factor,
                    "variant": f.variant,
                    "point": f.forecast.point,
                    "lower": f.forecast.lower,
                    "upper": f.forecast.upper,
                })).collect::<Vec<_>>(),
                "errors": series.model_errors,
            })).collect::<Vec<_>>(),
        })
    }))
}

/// Chart geometry: x from the first history point to the forecast's end, y over the values' range.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
/// Line colours per model, in config order.
const COLOURS: [&str; 7] = [
    "#0969da", "#8250df", "#bf8700", "#1a7f37", "#cf222e", "#1b7c83", "#9a6700",
];

/// One series on the page.
#[derive(Debug)]
struct Card {
    title: String,
    status: String,
    actual: String,
    /// The model `predicted_values_auto` follows, and why.
    auto: String,
    models: Vec<Row>,
    errors: Vec<String>,
}

/// One model of a series on the page.
#[derive(Debug)]
struct Row {
    name: String,
    colour: &'static str,
    /// Line and band polygon points.
    line: String,
    band: String,
    error: String,
    /// The band's holdout coverage against the nominal level, and its calibration.
    coverage: String,
    /// Which form of the model the series got (ETS: seasonal or not), or empty.
    variant: String,
    anomaly: String,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "forecast.html")]
struct Page {
    prometheus: String,
    health: String,
    cards: Vec<Card>,
}

fn scale(
    points: impl Iterator<Item = (f64, f64)> + Clone,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
) -> String {
    let x_span = (x1 - x0).max(f64::EPSILON);
    let y_span = (y1 - y0).max(f64::EPSILON);
    points
        .map(|(x, y)| {
            format!(
                "{:.1},{:.1}",
                WIDTH * (x - x0) / x_span,
                HEIGHT * (1.0 - (y - y0) / y_span)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the latest value is to `f`'s band, for the page.
fn anomaly_note(series: &super::state::SeriesState, f: &ModelForecast) -> String {
    match (series.anomaly(f), series.anomaly_score(f)) {
        (Some(true), Some(score)) => {
            format!("anomaly: {score:.1} half-widths away, outside the band")
        }
        (Some(false), Some(score)) => format!("inside the band ({score:.1} half-widths)"),
        _ => "no band covers the latest value".to_owned(),
    }
}

/// The calibrated band's holdout coverage against the nominal `level`, and its conformal factor.
fn coverage_note(f: &ModelForecast, level: f64) -> String {
    match (f.factor, f.coverage) {
        (Some(factor), Some(coverage)) => format!(
            "{:.0} % of holdouts inside (nominal {:.0} %); own band × {factor:.2}",
            coverage * 100.0,
            level * 100.0
        ),
        (Some(factor), None) => format!("calibrated: own band × {factor:.2}"),
        _ => "uncalibrated: too little history for holdouts".to_owned(),
    }
}

fn card(series: &super::state::SeriesState, step: f64, now: f64, level: f64) -> Card {
    let title = series
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let status = match &series.status {
        Status::Ready => "forecasting".to_owned(),
        Status::WarmingUp { have, need } => format!(
            "warming up: {have} of {need} points; forecasts in about {}",
            humantime::format_duration(std::time::Duration::from_secs_f64(
                (need.saturating_sub(*have) as f64 * step).round()
            ))
        ),
        Status::Failed(reason) => format!("no forecast: {reason}"),
    };
    let times = series.history.iter().map(|(t, _)| *t).chain(
        series
            .forecasts
            .iter()
            .map(|f| f.start + f.step * f.forecast.len() as f64),
    );
    let x0 = times.clone().fold(f64::INFINITY, f64::min);
    let x1 = times.fold(f64::NEG_INFINITY, f64::max);
    let values = series.history.iter().map(|(_, v)| *v).chain(
        series
            .forecasts
            .iter()
            .flat_map(|f| f.forecast.lower.iter().chain(&f.forecast.upper).copied()),
    );
    let y0 = values.clone().fold(f64::INFINITY, f64::min);
    let y1 = values.fold(f64::NEG_INFINITY, f64::max);
    let models = series
        .forecasts
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = |k: usize| f.start + f.step * k as f64;
            let line = scale(
                (0..f.forecast.len()).map(|k| (at(k), f.forecast.point[k])),
                x0,
                x1,
                y0,
                y1,
            );
            let band = scale(
                (0..f.forecast.len())
                    .map(|k| (at(k), f.forecast.upper[k]))
                    .chain(
                        (0..f.forecast.len())
                            .rev()
                            .map(|k| (at(k), f.forecast.lower[k])),
                    ),
                x0,
                x1,
                y0,
                y1,
            );
            let error = f
                .holdout_smape
                .map_or_else(|| "—".to_owned(), |e| format!("{e:.2} %"));
            let anomaly = anomaly_note(series, f);
            let now_note = if f.at(now).is_some() {
                ""
            } else {
                " (forecast ran out: stale)"
            };
            Row {
                name: f.model.to_owned(),
                colour: COLOURS[i % COLOURS.len()],
                line,
                band,
                error,
                coverage: coverage_note(f, level),
                variant: f.variant.clone().unwrap_or_default(),
                anomaly: format!("{anomaly}{now_note}"),
            }
        })
        .collect();
    Card {
        title,
        status,
        auto: series.auto.map_or_else(
            || "predicted_values_auto: no model yet".to_owned(),
            |model| format!("predicted_values_auto follows {model}: the best holdout sMAPE"),
        ),
        actual: scale(series.history.iter().copied(), x0, x1, y0, y1),
        models,
        errors: series
            .model_errors
            .iter()
            .map(|(m, e)| format!("{m}: {e}"))
            .collect(),
    }
}

async fn page(State(app): State<App>) -> Page {
    let now = unix_now();
    let step = app.settings.step.as_secs_f64();
    app.state.read(|inner| Page {
        prometheus: app.settings.prometheus_url.clone(),
        health: if inner.health.prometheus_up {
            let refused: Vec<String> = inner
                .health
                .target_errors
                .iter()
                .map(|(query, error)| format!("{query}: {error}"))
                .collect();
            if refused.is_empty() {
                "Prometheus answers".to_owned()
            } else {
                format!("Prometheus answers, but refuses {}", refused.join("; "))
            }
        } else {
            format!(
                "Prometheus does not answer: {}",
                inner
                    .health
                    .prometheus_error
                    .as_deref()
                    .unwrap_or("not asked yet")
            )
        },
        cards: inner
            .series
            .values()
            .map(|series| card(series, step, now, app.settings.interval_width))
            .collect(),
    })
}
