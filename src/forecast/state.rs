//! What the forecaster knows: per series, its recent history, each model's forecast and error, the
//! latest actual value; and its own health. Shared by the trainer, the observer and the server.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::history::whole_steps;
use super::model::Forecast;
use crate::prom::Labels;

/// One model's forecast of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelForecast {
    pub model: &'static str,
    /// Unix seconds of the first forecast step.
    pub start: f64,
    pub step: f64,
    pub forecast: Forecast,
    /// sMAPE (percent) on the last holdout, when the history was long enough to hold one out.
    pub holdout_smape: Option<f64>,
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
    /// The latest actual value seen (unix seconds, value).
    pub latest: Option<(f64, f64)>,
}

impl SeriesState {
    /// Whether the latest actual value lies outside `forecast`'s band (`None`: no band covers it).
    #[must_use]
    pub fn anomaly(&self, forecast: &ModelForecast) -> Option<bool> {
        let (at, value) = self.latest?;
        let (_, lower, upper) = forecast.at(at)?;
        Some(value < lower || value > upper)
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
    pub training_failures: u64,
    pub model_failures: u64,
    /// Targets that matched more series than `max_series`: (query, matched).
    pub capped: Vec<(String, usize)>,
    /// Targets Prometheus refused (a bad query): query and error. Their last series stay served.
    pub target_errors: std::collections::BTreeMap<String, String>,
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
    fn an_actual_outside_the_band_is_an_anomaly() {
        let mut series = SeriesState {
            target: "model_result".to_owned(),
            labels: Labels::new(),
            status: Status::Ready,
            history: Vec::new(),
            forecasts: vec![forecast()],
            model_errors: Vec::new(),
            latest: Some((110.0, 0.65)),
        };
        assert_eq!(series.anomaly(&series.forecasts[0]), Some(false));
        series.latest = Some((110.0, 0.95));
        assert_eq!(series.anomaly(&series.forecasts[0]), Some(true));
        series.latest = Some((500.0, 0.95));
        assert_eq!(
            series.anomaly(&series.forecasts[0]),
            None,
            "no band, no flag"
        );
    }
}
