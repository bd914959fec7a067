//! `ets`: exponential smoothing with the error, trend and damping chosen by `AICc` (augurs' `AutoETS`, a
//! port of statsforecast's), non-seasonal: the level and trend of a series, with its intervals.

use augurs::ets::AutoETS;
use augurs::prelude::*;

use super::model::{Forecast, Model, ModelError, check_history, failed};

const NAME: &str = "ets";
/// `AutoETS` needs a few points per parameter it may fit.
const MIN_POINTS: usize = 8;

/// The model.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ets;

impl Model for Ets {
    fn name(&self) -> &'static str {
        NAME
    }

    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        check_history(NAME, history, MIN_POINTS)?;
        let failed = failed(NAME);
        let fitted = AutoETS::non_seasonal()
            .fit(history)
            .map_err(|error| failed(&error))?;
        let forecast = fitted
            .predict(horizon, level)
            .map_err(|error| failed(&error))?;
        Forecast::from_augurs(NAME, forecast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_is_continued_inside_its_band() {
        let history: Vec<f64> = (0..60).map(|t| 2.0 + 0.1 * f64::from(t)).collect();
        let forecast = Ets.forecast(&history, 10, 0.95).unwrap();
        for (h, point) in forecast.point.iter().enumerate() {
            let expected = 2.0 + 0.1 * (60 + h) as f64;
            assert!(
                (point - expected).abs() < 0.05,
                "step {h}: {point} vs {expected}"
            );
            assert!(forecast.lower[h] <= *point && *point <= forecast.upper[h]);
        }
    }

    #[test]
    fn short_histories_are_refused() {
        assert!(matches!(
            Ets.forecast(&[1.0; 3], 2, 0.9),
            Err(ModelError::TooShort { need: 8, .. })
        ));
    }
}
