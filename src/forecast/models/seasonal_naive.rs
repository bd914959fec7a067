//! `seasonal_naive`: tomorrow repeats today. Each step repeats the value one season earlier (the last
//! value when there is no season); the baseline every other model is compared with.

use super::model::{Forecast, Model, ModelError, check_history};
use super::stats::{detect_season, rms, two_sided_z};

const NAME: &str = "seasonal_naive";

/// The model; `season` in steps, detected from the history when `None`.
#[derive(Debug, Clone, Copy)]
pub struct SeasonalNaive {
    season: Option<usize>,
}

impl SeasonalNaive {
    #[must_use]
    pub fn new(season: Option<usize>) -> Self {
        Self { season }
    }
}

impl Model for SeasonalNaive {
    fn name(&self) -> &'static str {
        NAME
    }

    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        let season = self.season.unwrap_or_else(|| detect_season(history)).max(1);
        check_history(NAME, history, season + 1)?;
        let n = history.len();
        // Hyndman & Athanasopoulos, 5.5: sigma_h = sigma * sqrt(k + 1), k whole seasons ahead.
        let sigma = rms((season..n).map(|t| history[t] - history[t - season]));
        let z = two_sided_z(level);
        let point = (0..horizon)
            .map(|h| history[n - season + h % season])
            .collect();
        let widths = (0..horizon).map(|h| z * sigma * ((h / season) as f64 + 1.0).sqrt());
        Ok(Forecast::around(point, widths))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize, period: usize) -> Vec<f64> {
        (0..n)
            .map(|t| (std::f64::consts::TAU * t as f64 / period as f64).sin())
            .collect()
    }

    #[test]
    fn a_periodic_series_is_repeated_exactly() {
        let history = wave(100, 20);
        assert_eq!(detect_season(&history), 20);
        let forecast = SeasonalNaive::new(None)
            .forecast(&history, 30, 0.95)
            .unwrap();
        let future = wave(130, 20);
        for (h, point) in forecast.point.iter().enumerate() {
            assert!((point - future[100 + h]).abs() < 1e-9, "step {h}");
        }
        // A perfect season leaves no residual: the band closes on the point.
        assert!(
            forecast
                .upper
                .iter()
                .zip(&forecast.lower)
                .all(|(u, l)| (u - l).abs() < 1e-9)
        );
    }

    #[test]
    fn without_a_season_it_repeats_the_last_value_with_a_widening_band() {
        let history = [1.0, 3.0, 2.0, 4.0, 3.0, 5.0, 4.0, 6.0];
        let forecast = SeasonalNaive::new(Some(1))
            .forecast(&history, 4, 0.95)
            .unwrap();
        assert!(forecast.point.iter().all(|p| (p - 6.0).abs() < 1e-12));
        let widths: Vec<f64> = forecast
            .upper
            .iter()
            .zip(&forecast.lower)
            .map(|(u, l)| u - l)
            .collect();
        assert!(widths.windows(2).all(|w| w[1] > w[0]), "{widths:?}");
        assert_eq!(detect_season(&[5.0; 20]), 1, "a flat line has no season");
    }

    #[test]
    fn too_short_and_not_finite_histories_are_refused() {
        let model = SeasonalNaive::new(Some(10));
        assert_eq!(
            model.forecast(&[1.0; 5], 3, 0.9).unwrap_err(),
            ModelError::TooShort {
                model: NAME,
                need: 11,
                have: 5
            }
        );
        assert!(matches!(
            model.forecast(&[1.0, f64::NAN], 3, 0.9),
            Err(ModelError::NotFinite { at: 1, .. })
        ));
    }
}
