//! `ets`: exponential smoothing with the error, trend and damping chosen by `AICc` (augurs' `AutoETS`, a
//! port of statsforecast's), the season fitted when the series has one:
//!
//! - a season detected (or configured) with two whole seasons of history: the season removed first by
//!   classical seasonal adjustment (the mean of each phase about a least-squares trend line), non-seasonal
//!   `AutoETS` on the adjusted series, the season added back to its forecast: the seasonally adjusted ETS
//!   of Hyndman & Athanasopoulos, FPP3 §13.1 (`stlf`), with phase means for STL's season. augurs 0.10.3
//!   takes a season length (`AutoETS::new(m, "ZZZ")`), but its seasonal state initialisation is
//!   `unimplemented!()` (augurs-ets `model.rs`, `initial_state`), and a state per step of a day of
//!   minutes would be more than an optimiser can fit anyway (statsforecast and R's `ets` refuse seasons
//!   over 24);
//! - no season (or too little history for two): non-seasonal `AutoETS`.
//!
//! [`Model::variant`] names which, for the page.
//!
//! `AutoETS` is fitted on the last [`FIT_WINDOW`] points only (the season's profile still uses the whole
//! history). Its six candidate models each run an optimiser over every point, so its cost grows with
//! the history, while its forecast hardly depends on points that old: exponential smoothing weighs
//! them by `(1 - alpha)^age`. Measured (bench/forecast-scale.sh, 1,000 one-day series at 1-minute
//! steps): the whole day took 14.5 s for a mean sMAPE of 2.001 %, the last 480 points 5.4 s for 1.990 %.

use augurs::ets::AutoETS;
use augurs::prelude::*;

use super::model::{Forecast, Model, ModelError, check_history, failed};
use super::stats::{detect_season, mean};

const NAME: &str = "ets";
/// `AutoETS` needs a few points per parameter it may fit.
const MIN_POINTS: usize = 8;
/// The most recent points `AutoETS` is fitted on (see the module's documentation).
pub(super) const FIT_WINDOW: usize = 480;

/// The model; `season` in steps, detected from the history when `None`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ets {
    season: Option<usize>,
}

/// Which ETS a history gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    NonSeasonal,
    /// Seasonal adjustment with this season, then non-seasonal `AutoETS`.
    Seasonal(usize),
}

impl Ets {
    #[must_use]
    pub(super) fn new(season: Option<usize>) -> Self {
        Self { season }
    }

    fn choose(&self, history: &[f64]) -> Variant {
        let season = self.season.unwrap_or_else(|| detect_season(history));
        if season < 2 || history.len() < 2 * season + MIN_POINTS {
            Variant::NonSeasonal
        } else {
            Variant::Seasonal(season)
        }
    }
}

/// The seasonal profile of `history` for `season`: each phase's mean deviation from the least-squares
/// line through the history's whole seasons at its end, centred. `profile[t % season]` is the season at
/// step `t`.
fn seasonal_profile(history: &[f64], season: usize) -> Vec<f64> {
    let whole = history.len() / season * season;
    let offset = history.len() - whole;
    let tail = &history[offset..];
    let times: Vec<f64> = (0..whole).map(|t| t as f64).collect();
    let (t_mean, y_mean) = (mean(&times), mean(tail));
    let covariance: f64 = times
        .iter()
        .zip(tail)
        .map(|(t, y)| (t - t_mean) * (y - y_mean))
        .sum();
    let spread: f64 = times.iter().map(|t| (t - t_mean).powi(2)).sum();
    let slope = if spread > 0.0 {
        covariance / spread
    } else {
        0.0
    };
    let mut phase_means = vec![0.0; season];
    for (i, value) in tail.iter().enumerate() {
        let line = y_mean + slope * (i as f64 - t_mean);
        phase_means[(offset + i) % season] += value - line;
    }
    let cycles = (whole / season) as f64;
    for phase in &mut phase_means {
        *phase /= cycles;
    }
    let centre = mean(&phase_means);
    phase_means.iter().map(|phase| phase - centre).collect()
}

impl Model for Ets {
    fn name(&self) -> &'static str {
        NAME
    }

    fn variant(&self, history: &[f64]) -> Option<String> {
        Some(match self.choose(history) {
            Variant::NonSeasonal => "non-seasonal: no season detected".to_owned(),
            Variant::Seasonal(season) => {
                format!("seasonal: season of {season} steps, seasonally adjusted")
            }
        })
    }

    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        check_history(NAME, history, MIN_POINTS)?;
        let failed = failed(NAME);
        let fit = |values: &[f64]| -> Result<Forecast, ModelError> {
            let values = &values[values.len().saturating_sub(FIT_WINDOW)..];
            let fitted = AutoETS::non_seasonal()
                .fit(values)
                .map_err(|error| failed(&error))?;
            let forecast = fitted
                .predict(horizon, level)
                .map_err(|error| failed(&error))?;
            Forecast::from_augurs(NAME, forecast)
        };
        match self.choose(history) {
            Variant::NonSeasonal => fit(history),
            Variant::Seasonal(season) => {
                let profile = seasonal_profile(history, season);
                let n = history.len();
                let adjusted: Vec<f64> = history
                    .iter()
                    .enumerate()
                    .map(|(t, value)| value - profile[t % season])
                    .collect();
                let forecast = fit(&adjusted)?;
                let add = |values: Vec<f64>| -> Vec<f64> {
                    values
                        .into_iter()
                        .enumerate()
                        .map(|(h, value)| value + profile[(n + h) % season])
                        .collect()
                };
                Forecast {
                    point: add(forecast.point),
                    lower: add(forecast.lower),
                    upper: add(forecast.upper),
                }
                .finite(NAME)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_is_continued_inside_its_band() {
        let history: Vec<f64> = (0..60).map(|t| 2.0 + 0.1 * f64::from(t)).collect();
        let forecast = Ets::default().forecast(&history, 10, 0.95).unwrap();
        for (h, point) in forecast.point.iter().enumerate() {
            let expected = 2.0 + 0.1 * (60 + h) as f64;
            assert!(
                (point - expected).abs() < 0.05,
                "step {h}: {point} vs {expected}"
            );
            assert!(forecast.lower[h] <= *point && *point <= forecast.upper[h]);
        }
    }

    use super::super::stats::gaussian_noise;

    fn seasonal(period: usize, n: usize) -> Vec<f64> {
        gaussian_noise(3, n)
            .into_iter()
            .enumerate()
            .map(|(t, e)| {
                20.0 + 5.0 * (std::f64::consts::TAU * t as f64 / period as f64).sin() + 0.3 * e
            })
            .collect()
    }

    #[test]
    fn seasonal_data_gets_its_season_and_white_noise_none() {
        let ets = Ets::default();
        // A trend under the season is not taken for it.
        let daily: Vec<f64> = seasonal(12, 120)
            .into_iter()
            .enumerate()
            .map(|(t, value)| value + 0.05 * t as f64)
            .collect();
        assert_eq!(ets.choose(&daily), Variant::Seasonal(12));
        let forecast = ets.forecast(&daily, 12, 0.95).unwrap();
        let expected: Vec<f64> = (120..132)
            .map(|t| {
                20.0 + 5.0 * (std::f64::consts::TAU * f64::from(t) / 12.0).sin()
                    + 0.05 * f64::from(t)
            })
            .collect();
        assert!(
            crate::forecast::models::smape(&expected, &forecast.point) < 3.0,
            "{:?}",
            forecast.point
        );
        let long = seasonal(60, 400);
        assert_eq!(ets.choose(&long), Variant::Seasonal(60));
        let forecast = ets.forecast(&long, 60, 0.95).unwrap();
        let expected: Vec<f64> = (400..460)
            .map(|t| 20.0 + 5.0 * (std::f64::consts::TAU * f64::from(t) / 60.0).sin())
            .collect();
        assert!(crate::forecast::models::smape(&expected, &forecast.point) < 3.0);
        assert!(
            ets.variant(&long)
                .unwrap()
                .starts_with("seasonal: season of 60 steps")
        );
        let noise = gaussian_noise(11, 300);
        assert_eq!(ets.choose(&noise), Variant::NonSeasonal);
        assert!(ets.variant(&noise).unwrap().starts_with("non-seasonal"));
        // A season given in the config is used as given.
        assert_eq!(Ets::new(Some(1)).choose(&daily), Variant::NonSeasonal);
    }

    #[test]
    fn short_histories_are_refused() {
        assert!(matches!(
            Ets::default().forecast(&[1.0; 3], 2, 0.9),
            Err(ModelError::TooShort { need: 8, .. })
        ));
    }

    #[test]
    fn only_the_recent_window_shapes_the_fit_while_the_season_uses_the_whole_history() {
        // A level of 100 long ago, then a level of 10: the forecast is the recent level's, and a history
        // of any length before the window gives the same forecast (the cost stays bounded).
        let recent: Vec<f64> = gaussian_noise(5, FIT_WINDOW)
            .into_iter()
            .map(|noise| 10.0 + 0.1 * noise)
            .collect();
        let with_old = |old: usize| -> Vec<f64> {
            std::iter::repeat_n(100.0, old)
                .chain(recent.iter().copied())
                .collect()
        };
        let ets = Ets::new(Some(1));
        let short = ets.forecast(&recent, 5, 0.95).unwrap();
        for old in [100, 5_000] {
            let long = ets.forecast(&with_old(old), 5, 0.95).unwrap();
            for (a, b) in short.point.iter().zip(&long.point) {
                assert!(
                    (a - b).abs() < 1e-9,
                    "{old} old points changed the forecast"
                );
            }
            assert!((long.point[0] - 10.0).abs() < 0.2, "{:?}", long.point);
        }
    }
}
