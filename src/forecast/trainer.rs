//! The schedule's work: pull each target's history, fit every model on every series (off the async
//! threads), and swap the results in; and, every step, the latest actual values for the anomaly flags.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::config::{Settings, Target};
use super::history::{History, clean};
use super::models::{Model, UsualRange, build, calibrate};
use super::select::choose;
use super::shard::Shard;
use super::state::{ForecastState, ModelForecast, Phases, SeriesState, Status};
use crate::clients::{ClientError, Prometheus};
use crate::series::Labels;

/// Points of history kept per series for the page.
const PAGE_HISTORY: usize = 240;

pub(super) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// The label names the forecaster gives a meaning of its own in what it serves: `metric` on every
/// prediction, `model` on the holdout errors.
pub(super) const OWN_LABELS: [&str; 2] = ["metric", "model"];

/// The labels a series' predictions carry: the source's without `__name__`, plus `metric` (the
/// target's name, else the source's name). A source label that one of [`OWN_LABELS`] would overwrite is
/// kept as `exported_<name>` (`exported_exported_<name>` if that is taken too), as Prometheus renames a
/// scraped label that collides with a target label: every output label set stays unique, and no label
/// name appears twice in a sample, which would make Prometheus refuse the whole scrape.
#[must_use]
pub fn output_labels(target: &Target, source: &Labels) -> Labels {
    let mut labels = Labels::new();
    let mut name = None;
    for (key, value) in source {
        if key == "__name__" {
            name = Some(value.clone());
            continue;
        }
        let mut key = key.clone();
        if OWN_LABELS.contains(&key.as_str()) {
            key = format!("exported_{key}");
            while source.contains_key(&key) || labels.contains_key(&key) {
                key = format!("exported_{key}");
            }
        }
        labels.insert(key, value.clone());
    }
    let metric = target
        .name
        .clone()
        .or(name)
        .unwrap_or_else(|| "value".to_owned());
    labels.insert("metric".to_owned(), metric);
    labels
}

/// Fits every model on one series: each on rolling holdouts first (their out-of-sample errors size its
/// conformal band and give its holdout sMAPE, see [`super::models::calibrate`]), then on the whole history.
/// `auto` is left to the caller, who knows the model followed so far ([`choose_auto`]).
#[must_use]
pub fn fit_series(
    target: &str,
    labels: Labels,
    history: &History,
    settings: &Settings,
    models: &[Box<dyn Model>],
) -> SeriesState {
    let n = history.values.len();
    let page_from = n.saturating_sub(PAGE_HISTORY);
    let mut series = SeriesState {
        target: target.to_owned(),
        labels,
        status: Status::WarmingUp {
            have: n,
            need: settings.min_points,
        },
        history: (page_from..n)
            .map(|i| (history.start + i as f64 * history.step, history.values[i]))
            .collect(),
        forecasts: Vec::new(),
        model_errors: Vec::new(),
        model_panics: 0,
        latest: history
            .values
            .last()
            .map(|value| (history.next_time() - history.step, *value)),
        auto: None,
        fit_seconds: Vec::new(),
        usual: UsualRange::of(&history.values),
    };
    if n < settings.min_points {
        return series;
    }
    let horizon = settings.horizon_steps();
    let level = settings.interval_width;
    for model in models {
        let fitting = std::time::Instant::now();
        let calibrated = calibrate(
            model.as_ref(),
            &history.values,
            horizon,
            level,
            settings.holdouts,
            settings.min_points,
            guarded,
        );
        series
            .fit_seconds
            .push((model.name(), fitting.elapsed().as_secs_f64()));
        match calibrated {
            Ok(calibrated) => series.forecasts.push(ModelForecast {
                model: model.name(),
                start: history.next_time(),
                step: history.step,
                forecast: calibrated.forecast,
                holdout_smape: calibrated.holdout_smape,
                coverage: calibrated.coverage,
                factor: calibrated.factor,
                variant: model.variant(&history.values),
            }),
            Err(Failure::Refused(error)) => {
                series.model_errors.push((model.name(), error.to_string()));
            }
            Err(Failure::Panicked(message)) => {
                series.model_panics += 1;
                series
                    .model_errors
                    .push((model.name(), format!("the model panicked: {message}")));
            }
        }
    }
    series.status = if series.forecasts.is_empty() {
        let reasons: Vec<String> = series
            .model_errors
            .iter()
            .map(|(_, error)| error.clone())
            .collect();
        Status::Failed(reasons.join("; "))
    } else {
        Status::Ready
    };
    series
}

/// The model `fresh`'s `predicted_values_auto` follows, `previous` being the one followed until now.
#[must_use]
pub fn choose_auto(
    fresh: &SeriesState,
    previous: Option<&'static str>,
    hysteresis: f64,
) -> Option<&'static str> {
    let candidates: Vec<(&'static str, Option<f64>)> = fresh
        .forecasts
        .iter()
        .map(|f| (f.model, f.holdout_smape))
        .collect();
    choose(previous, &candidates, hysteresis)
}

/// Why a fit gave no forecast.
enum Failure {
    /// The model refused the series (too short, not finite…).
    Refused(super::models::ModelError),
    /// The model panicked: a bug, caught so that it costs only this series and model.
    Panicked(String),
}

/// One fit, with a panic inside the model turned into a [`Failure`] instead of ending the training.
fn guarded(
    model: &dyn Model,
    history: &[f64],
    horizon: usize,
    level: f64,
) -> Result<super::models::Forecast, Failure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        model.forecast(history, horizon, level)
    })) {
        Ok(result) => result.map_err(Failure::Refused),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            tracing::error!(model = model.name(), %message, "a model panicked; only this series and model lose their forecast");
            Err(Failure::Panicked(message))
        }
    }
}

/// Fits every series on the machine's cores, in order. Each worker takes the next unfitted series
/// (rayon's work stealing), so a few slow series do not leave the other cores idle.
fn fit_all(histories: &[(String, Labels, History)], settings: &Settings) -> Vec<SeriesState> {
    use rayon::prelude::*;
    let models = || -> Vec<Box<dyn Model>> {
        settings
            .models
            .iter()
            .map(|kind| build(*kind, settings.model_settings))
            .collect()
    };
    histories
        .par_iter()
        .map_init(models, |models, (target, labels, history)| {
            fit_series(target, labels.clone(), history, settings, models)
        })
        .collect()
}

/// One training cycle: every target's history, every model on every series. On a Prometheus error,
/// nothing changes (the last forecasts keep being served) and the error is returned.
pub(super) async fn train_once(
    client: &Prometheus,
    settings: &Settings,
    state: &ForecastState,
) -> Result<(), ClientError> {
    let started = std::time::Instant::now();
    let now = unix_now();
    let step = settings.step.as_secs_f64();
    let shard = state.read(|inner| inner.health.shard);
    let mut histories = Vec::new();
    let mut capped = Vec::new();
    let mut refused = BTreeMap::new();
    for target in &settings.targets {
        let range = capped_range(client, target, settings, shard, now).await;
        let mut found = match range {
            Ok(found) => found,
            // Nothing answers: the whole cycle waits for Prometheus.
            Err(error @ ClientError::Unreachable { .. }) => return Err(error),
            // A bad query is this target's problem: the others go on.
            Err(error) => {
                refused.insert(target.query.clone(), error.to_string());
                continue;
            }
        };
        // The range may hold series that ended within the window, of any shard.
        found.retain(|series| shard.owns(&series.labels));
        found.sort_by(|a, b| a.labels.cmp(&b.labels));
        if found.len() > settings.max_series {
            capped.push((target.query.clone(), found.len()));
            found.truncate(settings.max_series);
        }
        for series in found {
            histories.push((
                target.query.clone(),
                output_labels(target, &series.labels),
                clean(&series.seconds_points(), step),
            ));
        }
    }
    let pulled = started.elapsed().as_secs_f64();
    let fitting = settings.clone();
    let fitted = tokio::task::spawn_blocking(move || fit_all(&histories, &fitting)).await;
    let fitted = match fitted {
        Ok(fitted) => fitted,
        Err(error) => {
            // A model bug must not stop the schedule: the last forecasts stay, the next cycle retries.
            tracing::error!(%error, "fitting failed; keeping the last forecasts");
            state.write(|inner| *inner.health.model_failures.entry("panic").or_default() += 1);
            return Ok(());
        }
    };
    let duration = started.elapsed().as_secs_f64();
    for (query, matched) in &capped {
        tracing::warn!(%query, matched, kept = settings.max_series, "the target matches more series than max_series: the first ones by label are forecast");
    }
    let phases = Phases::of(pulled, duration - pulled, &fitted);
    state.write(|inner| {
        let mut series = BTreeMap::new();
        for mut fresh in fitted {
            let panics = fresh.model_panics as u64;
            let failures = &mut inner.health.model_failures;
            *failures.entry("panic").or_default() += panics;
            *failures.entry("error").or_default() += fresh.model_errors.len() as u64 - panics;
            let previous = inner.series.get(&fresh.labels);
            // The observer's latest actual is newer than the history's last point.
            if let Some(previous) = previous
                && previous.latest.map(|(at, _)| at) > fresh.latest.map(|(at, _)| at)
            {
                fresh.latest = previous.latest;
            }
            let followed = previous.and_then(|previous| previous.auto);
            let auto = choose_auto(&fresh, followed, settings.auto_hysteresis);
            if followed.is_some() && auto != followed {
                tracing::info!(labels = ?fresh.labels, from = ?followed, to = ?auto, "predicted_values_auto follows another model: its holdout sMAPE is lower by more than auto_hysteresis");
            }
            fresh.auto = auto;
            series.insert(fresh.labels.clone(), fresh);
        }
        // A refused target keeps its last series (until their forecasts run out).
        for previous in inner.series.values() {
            if refused.contains_key(&previous.target) {
                series.insert(previous.labels.clone(), previous.clone());
            }
        }
        for (query, error) in &refused {
            if inner.health.target_errors.get(query) != Some(error) {
                tracing::warn!(%query, %error, "Prometheus refuses this target's query: fix it in the forecaster config");
            }
        }
        for query in inner.health.target_errors.keys() {
            if !refused.contains_key(query) {
                tracing::info!(%query, "the target's query is answered again");
            }
        }
        inner.health.target_errors = refused;
        inner.series = series;
        inner.health.last_success = Some(now);
        inner.health.last_duration_seconds = duration;
        inner.health.last_phases = phases;
        inner.health.capped = capped;
    });
    Ok(())
}

/// Series whose history is fetched in one range query when a target matches more than `max_series`.
const KEPT_PER_QUERY: usize = 25;

/// A target's history over the training window, with the series cap applied before any history is
/// loaded: an instant query first names the series the target matches now; if they are more than
/// `max_series`, only the first ones by label have their history fetched ([`restricted`]), so a target
/// that matches a million series costs a million label sets, not a million histories. The range query
/// itself may still return a few more (series that ended within the window): the caller truncates.
/// A replica of several ([`Shard`]) fetches only the history of its shard's series, the same way.
async fn capped_range(
    client: &Prometheus,
    target: &Target,
    settings: &Settings,
    shard: Shard,
    now: f64,
) -> Result<Vec<crate::series::Series>, ClientError> {
    let start = now - settings.training_window.as_secs_f64();
    let mut current: Vec<Labels> = client
        .query(&target.query)
        .await?
        .into_iter()
        .map(|sample| sample.labels)
        .filter(|labels| shard.owns(labels))
        .collect();
    if shard.count <= 1 && current.len() <= settings.max_series {
        return client
            .query_range(&target.query, start, now, settings.step)
            .await;
    }
    current.sort();
    current.truncate(settings.max_series);
    let mut found = Vec::with_capacity(current.len());
    for kept in current.chunks(KEPT_PER_QUERY) {
        let query = restricted(&target.query, kept);
        found.extend(
            client
                .query_range(&query, start, now, settings.step)
                .await?,
        );
    }
    Ok(found)
}

/// `query` restricted to the series with exactly the label sets `kept` (their `__name__` aside): `query
/// and on(<every label name>)` a vector made of `vector(1)` with each set's labels put on by
/// `label_replace`. A name a set lacks is matched as absent (empty), so a series with one more label than
/// a kept one is not matched. Values are PromQL string literals, `$` doubled (`label_replace` would read
/// `$1` as a group).
fn restricted(query: &str, kept: &[Labels]) -> String {
    let names: std::collections::BTreeSet<&str> = kept
        .iter()
        .flat_map(|labels| labels.keys().map(String::as_str))
        .filter(|name| *name != "__name__")
        .collect();
    let literal = |value: &str| {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .replace('$', "$$");
        format!("\"{escaped}\"")
    };
    let vectors: Vec<String> = kept
        .iter()
        .map(|labels| {
            labels.iter().filter(|(name, _)| *name != "__name__").fold(
                "vector(1)".to_owned(),
                |inner, (name, value)| {
                    format!(
                        "label_replace({inner}, \"{name}\", {}, \"\", \"\")",
                        literal(value)
                    )
                },
            )
        })
        .collect();
    let on: Vec<&str> = names.into_iter().collect();
    format!(
        "({query}) and on({}) ({})",
        on.join(", "),
        vectors.join(" or ")
    )
}

/// The latest actual value of every followed series (for the anomaly flags). Only an unreachable
/// Prometheus is an error; a refused query is the trainer's to report.
pub(super) async fn observe_once(
    client: &Prometheus,
    targets: &[Target],
    state: &ForecastState,
) -> Result<(), ClientError> {
    let mut latest = Vec::new();
    for target in targets {
        let samples = match client.query(&target.query).await {
            Ok(samples) => samples,
            Err(error @ ClientError::Unreachable { .. }) => return Err(error),
            Err(_) => continue,
        };
        for sample in samples {
            if sample.value.is_finite() {
                latest.push((
                    output_labels(target, &sample.labels),
                    (sample.at, sample.value),
                ));
            }
        }
    }
    state.write(|inner| {
        for (labels, sample) in latest {
            if let Some(series) = inner.series.get_mut(&labels) {
                series.latest = Some(sample);
            }
        }
    });
    Ok(())
}

/// Records whether Prometheus answers, logging only when that changes.
pub(super) fn record_prometheus(
    state: &ForecastState,
    result: &Result<(), ClientError>,
    url: &str,
) {
    state.write(|inner| {
        let health = &mut inner.health;
        match result {
            Ok(()) => {
                if !health.prometheus_up {
                    tracing::info!(%url, "Prometheus answers");
                }
                health.prometheus_up = true;
                health.prometheus_error = None;
            }
            Err(error) => {
                if health.prometheus_up || health.prometheus_error.is_none() {
                    tracing::warn!(%error, "Prometheus does not answer: serving the last forecasts until they run out, retrying");
                }
                health.prometheus_up = false;
                health.prometheus_error = Some(error.to_string());
            }
        }
    });
}

/// The wait before the next training: the retrain interval after a success; after failures, a
/// doubling backoff from one step, capped at the retrain interval.
#[must_use]
pub fn next_wait(settings: &Settings, failures: u32) -> Duration {
    if failures == 0 {
        settings.retrain_interval
    } else {
        let backoff = settings
            .step
            .saturating_mul(1 << failures.min(16).saturating_sub(1));
        backoff.min(settings.retrain_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::config::ForecastFile;
    use crate::forecast::models::{ModelKind, ModelSettings};

    fn settings() -> Settings {
        ForecastFile::default().settings("(defaults)").unwrap()
    }

    fn models() -> Vec<Box<dyn Model>> {
        let settings = ModelSettings {
            harmonics: 5,
            season: None,
            step_seconds: 15.0,
        };
        ModelKind::defaults()
            .into_iter()
            .map(|kind| build(kind, settings))
            .collect()
    }

    #[test]
    fn predictions_keep_the_source_labels_and_name_the_metric() {
        let source: Labels = [
            ("__name__", "model_result"),
            ("job", "model_mock"),
            ("instance", "m:5000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        let target = Target {
            query: "model_result".to_owned(),
            name: None,
        };
        let labels = output_labels(&target, &source);
        assert_eq!(
            labels.get("metric").map(String::as_str),
            Some("model_result")
        );
        assert_eq!(labels.get("job").map(String::as_str), Some("model_mock"));
        assert!(!labels.contains_key("__name__"));
        let named = Target {
            query: "1 - x".to_owned(),
            name: Some("busy".to_owned()),
        };
        assert_eq!(
            output_labels(&named, &source)
                .get("metric")
                .map(String::as_str),
            Some("busy")
        );
    }

    #[test]
    fn source_labels_the_forecaster_uses_itself_are_kept_as_exported() {
        // An ML lab's series often carry `model`; some carry `metric`, or `exported_metric` already.
        let source: Labels = [
            ("__name__", "accuracy"),
            ("model", "resnet"),
            ("metric", "top1"),
            ("exported_metric", "old"),
            ("job", "trainer"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        let target = Target {
            query: "accuracy".to_owned(),
            name: None,
        };
        let labels = output_labels(&target, &source);
        let get = |key: &str| labels.get(key).map(String::as_str);
        assert_eq!(get("metric"), Some("accuracy"));
        assert_eq!(get("exported_model"), Some("resnet"));
        assert_eq!(get("exported_metric"), Some("old"));
        assert_eq!(get("exported_exported_metric"), Some("top1"));
        assert_eq!(get("job"), Some("trainer"));
        assert_eq!(
            get("model"),
            None,
            "left free for the holdout errors' model label"
        );
        assert_eq!(labels.len(), 5, "{labels:?}");
    }

    /// A model with a bug: it panics on every fit.
    #[derive(Debug)]
    struct Panicking;

    impl Model for Panicking {
        fn name(&self) -> &'static str {
            "panicking"
        }

        fn forecast(
            &self,
            _history: &[f64],
            _horizon: usize,
            _level: f64,
        ) -> Result<crate::forecast::models::Forecast, crate::forecast::models::ModelError>
        {
            panic!("index out of bounds in a model");
        }
    }

    #[test]
    fn a_panicking_model_costs_only_its_own_forecast() {
        let mut models = models();
        models.insert(0, Box::new(Panicking));
        let values: Vec<f64> = (0..200)
            .map(|t| 0.5 + 0.3 * (std::f64::consts::TAU * f64::from(t) / 20.0).sin())
            .collect();
        let history = History {
            start: 1000.0,
            step: 15.0,
            values,
            filled: 0,
            cut: false,
        };
        let series = fit_series(
            "model_result",
            Labels::new(),
            &history,
            &settings(),
            &models,
        );
        assert_eq!(series.status, Status::Ready);
        assert_eq!(
            series.forecasts.len(),
            models.len() - 1,
            "every other model forecasts"
        );
        assert_eq!(series.model_panics, 1);
        assert_eq!(series.model_errors.len(), 1);
        let (model, error) = &series.model_errors[0];
        assert_eq!(*model, "panicking");
        assert!(error.contains("index out of bounds in a model"), "{error}");
    }

    #[test]
    fn a_capped_target_fetches_the_history_of_exactly_the_kept_label_sets() {
        let set = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let kept = [
            set(&[("__name__", "up"), ("job", "a"), ("instance", "h:1")]),
            set(&[("job", "say \"$1\" \\ here"), ("zone", "eu")]),
        ];
        assert_eq!(
            restricted("up", &kept),
            "(up) and on(instance, job, zone) (label_replace(label_replace(vector(1), \"instance\", \"h:1\", \"\", \"\"), \"job\", \"a\", \"\", \"\") or label_replace(label_replace(vector(1), \"job\", \"say \\\"$$1\\\" \\\\ here\", \"\", \"\"), \"zone\", \"eu\", \"\", \"\"))"
        );
    }

    #[test]
    fn a_series_warms_up_then_gets_every_model_with_a_holdout_error() {
        let settings = settings();
        let short = History {
            start: 0.0,
            step: 15.0,
            values: vec![0.5; 5],
            filled: 0,
            cut: false,
        };
        let warming = fit_series("model_result", Labels::new(), &short, &settings, &models());
        assert_eq!(warming.status, Status::WarmingUp { have: 5, need: 20 });
        assert!(warming.forecasts.is_empty());

        let values: Vec<f64> = (0..200)
            .map(|t| 0.5 + 0.3 * (std::f64::consts::TAU * f64::from(t) / 20.0).sin())
            .collect();
        let long = History {
            start: 1000.0,
            step: 15.0,
            values,
            filled: 0,
            cut: false,
        };
        let ready = fit_series("model_result", Labels::new(), &long, &settings, &models());
        assert_eq!(ready.status, Status::Ready);
        assert_eq!(ready.forecasts.len(), ModelKind::defaults().len());
        for forecast in &ready.forecasts {
            assert!((forecast.start - (1000.0 + 200.0 * 15.0)).abs() < 1e-9);
            assert_eq!(forecast.forecast.len(), settings.horizon_steps());
            let error = forecast.holdout_smape.expect("a holdout");
            assert!(
                error < 5.0,
                "{}: sMAPE {error} on a clean sine",
                forecast.model
            );
            assert!(forecast.factor.is_some(), "{}: calibrated", forecast.model);
            assert!(forecast.coverage.is_some(), "{}: coverage", forecast.model);
        }
        assert_eq!(
            ready.latest,
            Some((1000.0 + 199.0 * 15.0, *long.values.last().unwrap()))
        );
    }

    #[test]
    fn failures_back_off_from_a_step_up_to_the_retrain_interval() {
        let settings = settings();
        assert_eq!(next_wait(&settings, 0), Duration::from_secs(60));
        assert_eq!(next_wait(&settings, 1), Duration::from_secs(15));
        assert_eq!(next_wait(&settings, 2), Duration::from_secs(30));
        assert_eq!(next_wait(&settings, 5), Duration::from_secs(60));
        assert_eq!(next_wait(&settings, 40), Duration::from_secs(60));
    }
}
