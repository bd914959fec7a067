//! What the forecaster knows: per series, its recent history, each model's forecast and error, the
//! latest actual value; and its own health. Shared by the trainer, the observer and the server.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::history::whole_steps;
use super::models::{Forecast, UsualRange, band_widths, consensus};
use crate::series::Labels;

/// One model's forecast of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelForecast {
    pub model: &'static str,
    /// Unix seconds of the first forecast step.
    pub start: f64,
    pub step: f64,
    pub forecast: Forecast,
    /// Mean sMAPE (percent) over the rolling holdouts, when the history was long enough to hold one out.
    pub holdout_smape: Option<f64>,
    /// The calibrated band's out-of-sample coverage over the holdouts (0 to 1), when measured.
    pub coverage: Option<f64>,
    /// The conformal factor the model's own band was scaled by; `None`: the model's own band, uncalibrated.
    pub factor: Option<f64>,
    /// Which form of the model the series got (e.g. ETS seasonal or not), when it has several.
    pub variant: Option<String>,
}

impl ModelForecast {
    /// The forecast step covering `at`, if the forecast covers it.
    #[must_use]
    pub fn index_at(&self, at: f64) -> Option<usize> {
        let offset = at - self.start;
        // Half a step of slack before the first step, as after each one.
        let index = whole_steps(offset, self.step);
        (offset >= -self.step / 2.0 && index < self.forecast.len()).then_some(index)
    }

    /// `(point, lower, upper)` at `at`.
    #[must_use]
    pub fn at(&self, at: f64) -> Option<(f64, f64, f64)> {
        self.index_at(at).map(|i| {
            (
                self.forecast.point[i],
                self.forecast.lower[i],
                self.forecast.upper[i],
            )
        })
    }
}

/// Where a series stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Not enough history yet: `have` of `need` points (the page says how long until then).
    WarmingUp { have: usize, need: usize },
    /// Forecasts are served.
    Ready,
    /// Every model failed on it; the reason.
    Failed(String),
}

/// One series the forecaster follows.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesState {
    /// The target (its query) the series came from.
    pub target: String,
    /// The labels its predictions carry: the source's, without `__name__`, plus `metric`.
    pub labels: Labels,
    pub status: Status,
    /// The history the models were fitted on (unix seconds, value), for the page.
    pub history: Vec<(f64, f64)>,
    pub forecasts: Vec<ModelForecast>,
    /// Model failures of the last training, by model.
    pub model_errors: Vec<(&'static str, String)>,
    /// How many of `model_errors` were panics (a model bug), caught so that they cost only this fit.
    pub model_panics: usize,
    /// The latest actual value seen (unix seconds, value).
    pub latest: Option<(f64, f64)>,
    /// The model `predicted_values_auto` follows (see [`super::select`]).
    pub auto: Option<&'static str>,
    /// Seconds each model's fits of the last training took on this series, holdouts included.
    pub fit_seconds: Vec<(&'static str, f64)>,
    /// The usual range of the whole history the models were fitted on (the consensus' long view).
    pub usual: Option<UsualRange>,
}

impl SeriesState {
    /// Whether the latest actual value lies outside `forecast`'s band (`None`: no band covers it).
    #[must_use]
    pub fn anomaly(&self, forecast: &ModelForecast) -> Option<bool> {
        let (at, value) = self.latest?;
        let (_, lower, upper) = forecast.at(at)?;
        Some(value < lower || value > upper)
    }

    /// How many band half-widths the latest actual value lies from `forecast`'s point (1 is the band's
    /// edge: above 1 is outside); `None`: no band covers it.
    #[must_use]
    pub fn anomaly_score(&self, forecast: &ModelForecast) -> Option<f64> {
        let (at, value) = self.latest?;
        let (point, lower, upper) = forecast.at(at)?;
        Some(band_widths(value, point, lower, upper))
    }

    /// The consensus ([`consensus`]) of every model's anomaly score and the latest value's
    /// [`UsualRange::score`]: the smallest. `None` when no model's band covers the latest value.
    #[must_use]
    pub fn consensus_score(&self) -> Option<f64> {
        let models = consensus(
            self.forecasts
                .iter()
                .filter_map(|forecast| self.anomaly_score(forecast)),
        )?;
        let usual = self
            .usual
            .zip(self.latest)
            .map(|(usual, (_, value))| usual.score(value));
        consensus(std::iter::once(models).chain(usual))
    }

    /// The forecast `predicted_values_auto` follows.
    #[must_use]
    pub fn auto_forecast(&self) -> Option<&ModelForecast> {
        let model = self.auto?;
        self.forecasts.iter().find(|f| f.model == model)
    }
}

/// The forecaster's own health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub prometheus_up: bool,
    /// The last error talking to Prometheus, while it is down.
    pub prometheus_error: Option<String>,
    pub last_success: Option<f64>,
    pub last_duration_seconds: f64,
    /// Where the last successful training's time went.
    pub last_phases: Phases,
    pub training_failures: u64,
    /// Model fits that failed, by reason: `error` (the model refused the series: too short, not
    /// finite…) or `panic` (a model bug, caught: it costs only that series and model).
    pub model_failures: BTreeMap<&'static str, u64>,
    /// When the forecaster started (unix seconds): the clock of "no training has succeeded yet".
    pub started: f64,
    /// Background tasks (`trainer`, `observer`) that stopped and wait to be restarted, with why.
    pub tasks_down: BTreeMap<&'static str, String>,
    /// How many times a background task was restarted after it stopped.
    pub task_restarts: u64,
    /// Targets that matched more series than `max_series`: (query, matched).
    pub capped: Vec<(String, usize)>,
    /// Targets Prometheus refused (a bad query): query and error. Their last series stay served.
    pub target_errors: std::collections::BTreeMap<String, String>,
    /// The part of the series this replica forecasts (see `shard.rs`).
    pub shard: super::Shard,
}

/// Where one training cycle's time went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phases {
    /// Wall-clock seconds pulling the targets' history from Prometheus.
    pub pull_seconds: f64,
    /// Wall-clock seconds fitting every model on every series, on all the cores.
    pub fit_seconds: f64,
    /// Per model, the seconds its fits took, summed over the series and the cores (holdouts included):
    /// it may exceed `fit_seconds` on several cores.
    pub model_seconds: BTreeMap<&'static str, f64>,
}

impl Phases {
    /// The phases of a cycle that pulled for `pull_seconds`, fitted for `fit_seconds`, and gave `fitted`.
    #[must_use]
    pub fn of(pull_seconds: f64, fit_seconds: f64, fitted: &[SeriesState]) -> Self {
        let mut model_seconds = BTreeMap::new();
        for (model, seconds) in fitted.iter().flat_map(|series| &series.fit_seconds) {
            *model_seconds.entry(*model).or_default() += seconds;
        }
        Self {
            pull_seconds,
            fit_seconds,
            model_seconds,
        }
    }
}

/// Training that has not succeeded for this many retrain intervals makes the forecaster unhealthy.
pub(super) const STALE_INTERVALS: f64 = 3.0;

impl Health {
    /// Why the forecaster is unhealthy at `now` (unix seconds), if it is: a background task is down, or
    /// no training has succeeded for [`STALE_INTERVALS`] retrain intervals (since the start, when none
    /// has yet). `/healthz` answers 503 with it; the compose healthcheck reads `/healthz`.
    #[must_use]
    pub fn problem(&self, now: f64, retrain_interval: f64) -> Option<String> {
        if let Some((task, why)) = self.tasks_down.iter().next() {
            return Some(format!(
                "the {task} task stopped ({why}) and is being restarted"
            ));
        }
        let limit = STALE_INTERVALS * retrain_interval;
        let since = self.last_success.unwrap_or(self.started);
        (now - since > limit).then(|| {
            let why = self
                .prometheus_error
                .as_deref()
                .map_or_else(String::new, |error| format!(": {error}"));
            match self.last_success {
                Some(_) => format!(
                    "no training has succeeded for {:.0} s, {STALE_INTERVALS} retrain intervals{why}",
                    now - since
                ),
                None => format!(
                    "no training has succeeded in the {:.0} s since the start{why}",
                    now - since
                ),
            }
        })
    }
}

#[derive(Debug, Default)]
pub struct Inner {
    pub series: BTreeMap<Labels, SeriesState>,
    pub health: Health,
}

/// Cheap to clone; readers never wait for a training (it swaps its results in at the end).
#[derive(Debug, Clone, Default)]
pub struct ForecastState {
    inner: Arc<RwLock<Inner>>,
}

impl ForecastState {
    pub fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        f(&self.inner.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.write().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forecast() -> ModelForecast {
        ModelForecast {
            model: "fourier",
            start: 100.0,
            step: 10.0,
            forecast: Forecast {
                point: vec![0.5, 0.6],
                lower: vec![0.4, 0.5],
                upper: vec![0.6, 0.7],
            },
            holdout_smape: None,
            coverage: None,
            factor: None,
            variant: None,
        }
    }

    #[test]
    fn the_band_covers_only_its_own_steps() {
        let forecast = forecast();
        assert_eq!(forecast.at(96.0), Some((0.5, 0.4, 0.6)));
        assert_eq!(forecast.at(112.0), Some((0.6, 0.5, 0.7)));
        assert_eq!(forecast.at(80.0), None, "before the forecast");
        assert_eq!(forecast.at(130.0), None, "after the horizon");
    }

    #[test]
    fn health_fails_after_three_retrain_intervals_without_training_or_with_a_task_down() {
        let mut health = Health {
            started: 1_000.0,
            ..Health::default()
        };
        assert_eq!(health.problem(1_000.0 + 3.0 * 60.0, 60.0), None, "starting");
        let starting = health.problem(1_000.0 + 3.0 * 60.0 + 1.0, 60.0);
        assert!(starting.is_some_and(|why| why.contains("since the start")));
        health.last_success = Some(2_000.0);
        assert_eq!(health.problem(2_100.0, 60.0), None);
        health.prometheus_error = Some("connection refused".to_owned());
        let stale = health.problem(2_181.0, 60.0).expect("stale");
        assert!(
            stale.contains("181 s") && stale.contains("connection refused"),
            "{stale}"
        );
        health.last_success = Some(2_180.0);
        health
            .tasks_down
            .insert("observer", "panicked: boom".to_owned());
        let down = health.problem(2_181.0, 60.0).expect("a task down");
        assert!(down.contains("observer") && down.contains("boom"), "{down}");
    }

    #[test]
    fn an_actual_outside_the_band_is_an_anomaly() {
        let mut series = SeriesState {
            target: "model_result".to_owned(),
            labels: Labels::new(),
            status: Status::Ready,
            history: Vec::new(),
            forecasts: vec![forecast()],
            model_errors: Vec::new(),
            model_panics: 0,
            latest: Some((110.0, 0.65)),
            auto: None,
            fit_seconds: Vec::new(),
            usual: None,
        };
        assert_eq!(series.anomaly(&series.forecasts[0]), Some(false));
        let score = series.anomaly_score(&series.forecasts[0]).unwrap();
        assert!(
            (score - 0.5).abs() < 1e-9,
            "{score}: half a half-width away"
        );
        series.latest = Some((110.0, 0.95));
        assert_eq!(series.anomaly(&series.forecasts[0]), Some(true));
        let score = series.anomaly_score(&series.forecasts[0]).unwrap();
        assert!((score - 3.5).abs() < 1e-9, "{score}");
        series.latest = Some((500.0, 0.95));
        assert_eq!(
            series.anomaly(&series.forecasts[0]),
            None,
            "no band, no flag"
        );
    }

    #[test]
    fn the_consensus_score_is_the_least_unusual_models() {
        let mut wide = forecast();
        wide.model = "ets";
        wide.forecast.lower = vec![0.0, -0.1];
        wide.forecast.upper = vec![1.0, 1.3];
        let mut series = SeriesState {
            target: "model_result".to_owned(),
            labels: Labels::new(),
            status: Status::Ready,
            history: Vec::new(),
            forecasts: vec![forecast(), wide],
            model_errors: Vec::new(),
            model_panics: 0,
            // 0.35 above both points: 3.5 of fourier's half-widths (0.1), 0.5 of ets' (0.7).
            latest: Some((110.0, 0.95)),
            auto: None,
            fit_seconds: Vec::new(),
            usual: None,
        };
        let score = series.consensus_score().unwrap();
        assert!((score - 0.5).abs() < 1e-9, "{score}: ets finds it usual");
        series.forecasts.truncate(1);
        let score = series.consensus_score().unwrap();
        assert!((score - 3.5).abs() < 1e-9, "{score}: fourier alone");
        // A history that swung between 0.1 and 0.9 (mean 0.5, sd 0.4): 0.95 is 0.375 of its 3 sd.
        series.usual = UsualRange::of(&[0.1, 0.9, 0.1, 0.9]);
        let score = series.consensus_score().unwrap();
        assert!(
            (score - 0.375).abs() < 1e-9,
            "{score}: a value the series often takes"
        );
        // A history that stayed near 0.5 (sd 0.01): 0.95 is 15 of its 3 sd, fourier's 3.5 decides.
        series.usual = UsualRange::of(&[0.49, 0.51, 0.49, 0.51]);
        let score = series.consensus_score().unwrap();
        assert!(
            (score - 3.5).abs() < 1e-9,
            "{score}: far outside the usual range too"
        );
        series.latest = Some((500.0, 0.95));
        assert_eq!(series.consensus_score(), None, "no band covers it");
    }
}
