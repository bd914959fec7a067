//! `mstl`: Multiple Seasonal-Trend decomposition with LOESS (augurs), the season removed by LOESS and
//! the rest forecast by non-seasonal ETS, then the season added back.

use augurs::ets::AutoETS;
use augurs::mstl::MSTLModel;
use augurs::prelude::*;

use super::model::{Forecast, Model, ModelError, check_history, failed};
use super::stats::detect_season;

const NAME: &str = "mstl";
const MIN_POINTS: usize = 8;

/// The model; `season` in steps, detected from the history when `None`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mstl {
    season: Option<usize>,
}

impl Mstl {
    #[must_use]
    pub(super) fn new(season: Option<usize>) -> Self {
        Self { season }
    }
}

impl Model for Mstl {
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
        // LOESS needs two whole seasons. Without them, or without a season at all, the decomposition
        // has nothing to remove and MSTL is its trend model alone: ETS.
        let season = self.season.unwrap_or_else(|| detect_season(history));
        let trend = AutoETS::non_seasonal();
        let forecast = if season >= 2 && history.len() >= 2 * season {
            MSTLModel::new(vec![season], trend.into_trend_model())
                .fit(history)
                .map_err(|error| failed(&error))?
                .predict(horizon, level)
                .map_err(|error| failed(&error))?
        } else {
            trend
                .fit(history)
                .map_err(|error| failed(&error))?
                .predict(horizon, level)
                .map_err(|error| failed(&error))?
        };
        Forecast::from_augurs(NAME, forecast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seasonal(t: usize) -> f64 {
        0.5 + 0.3 * (std::f64::consts::TAU * t as f64 / 20.0).sin()
    }

    #[test]
    fn without_a_season_it_is_its_trend_model() {
        let history: Vec<f64> = (0..30).map(|t| 1.0 + 0.1 * f64::from(t)).collect();
        let forecast = Mstl::new(None).forecast(&history, 5, 0.95).unwrap();
        assert!(
            (forecast.point[0] - 4.0).abs() < 0.05,
            "{:?}",
            forecast.point
        );
    }

    #[test]
    fn a_season_is_carried_forward() {
        let history: Vec<f64> = (0..200).map(seasonal).collect();
        let forecast = Mstl::new(None).forecast(&history, 40, 0.95).unwrap();
        for (h, point) in forecast.point.iter().enumerate() {
            let expected = seasonal(200 + h);
            assert!(
                (point - expected).abs() < 0.05,
                "step {h}: {point} vs {expected}"
            );
        }
    }
}
