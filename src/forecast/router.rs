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
use super::state::{ForecastState, Inner, Status};
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

/// Writes every family: per model, the prediction at `now`, its bounds and the anomaly flag, for the
/// series whose forecast covers `now` (none is made up past the horizon); then the health.
#[must_use]
pub fn encode(inner: &Inner, models: &[&'static str], now: f64, format: Format) -> String {
    let mut encoder = Encoder::new(format);
    for model in models {
        let mut point = Vec::new();
        let mut upper = Vec::new();
        let mut lower = Vec::new();
        let mut anomaly = Vec::new();
        for series in inner.series.values() {
            let Some(forecast) = series.forecasts.iter().find(|f| f.model == *model) else {
                continue;
            };
            let labels = owned(&series.labels, None);
            if let Some((p, l, u)) = forecast.at(now) {
                point.push((labels.clone(), p));
                lower.push((labels.clone(), l));
                upper.push((labels.clone(), u));
            }
            if let Some(flag) = series.anomaly(forecast) {
                anomaly.push((labels, if flag { 1.0 } else { 0.0 }));
            }
        }
        let families = [
            ("", "The value the model predicts for now.", &point),
            (
                "_yhat_upper",
                "The upper bound of the model's prediction interval for now.",
                &upper,
            ),
            (
                "_yhat_lower",
                "The lower bound of the model's prediction interval for now.",
                &lower,
            ),
            (
                "_anomaly",
                "1 when the latest actual value lies outside the model's band, else 0.",
                &anomaly,
            ),
        ];
        for (suffix, help, samples) in families {
            let borrowed: Vec<(Vec<(&str, &str)>, f64)> =
                samples.iter().map(|(l, v)| (borrowed(l), *v)).collect();
            encoder.gauge(
                &format!("predicted_values_{model}{suffix}"),
                help,
                None,
                borrowed.iter().map(|(l, v)| (&l[..], *v)),
            );
        }
    }
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
    let mut errors = Vec::new();
    for series in inner.series.values() {
        for forecast in &series.forecasts {
            if let Some(error) = forecast.holdout_smape {
                errors.push((
                    owned(&series.labels, Some(("model", forecast.model))),
                    error,
                ));
            }
        }
    }
    let errors: Vec<(Vec<(&str, &str)>, f64)> =
        errors.iter().map(|(l, v)| (borrowed(l), *v)).collect();
    encoder.gauge(
        "forecaster_holdout_smape_percent",
        "sMAPE of each model on the last holdout (the tail of the history held back), in percent.",
        Some("percent"),
        errors.iter().map(|(l, v)| (&l[..], *v)),
    );
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
                "models": series.forecasts.iter().map(|f| json!({
                    "model": f.model,
                    "start": f.start,
                    "step": f.step,
                    "now": f.at(now),
                    "anomaly": series.anomaly(f),
                    "holdout_smape_percent": f.holdout_smape,
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
    /// Per model: name, colour, line points, band polygon points, holdout error, anomaly.
    models: Vec<(String, &'static str, String, String, String, String)>,
    errors: Vec<String>,
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

fn card(series: &super::state::SeriesState, step: f64, now: f64) -> Card {
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
            let anomaly = match series.anomaly(f) {
                Some(true) => "anomaly: the latest value is outside the band",
                Some(false) => "inside the band",
                None => "no band covers the latest value",
            };
            let now_note = if f.at(now).is_some() {
                ""
            } else {
                " (forecast ran out: stale)"
            };
            (
                f.model.to_owned(),
                COLOURS[i % COLOURS.len()],
                line,
                band,
                error,
                format!("{anomaly}{now_note}"),
            )
        })
        .collect();
    Card {
        title,
        status,
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
            .map(|series| card(series, step, now))
            .collect(),
    })
}
