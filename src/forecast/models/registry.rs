//! The registry: the one place that knows every model. [`ModelKind`] is a model's name in a config or a
//! backtest, [`ModelSettings`] what the models are built with, and [`build`] turns a kind into the model.

use super::arima::Arima;
use super::ets::Ets;
use super::fourier::Fourier;
#[cfg(feature = "lstm")]
use super::lstm::Lstm;
#[cfg(any(not(feature = "lstm"), not(feature = "prophet")))]
use super::model::Forecast;
use super::model::{Model, ModelError};
use super::mstl::Mstl;
#[cfg(feature = "prophet")]
use super::prophet::Prophet;
use super::seasonal_naive::SeasonalNaive;

/// The models promlab knows, by the name a config uses. Every model is listed whatever the build's
/// features (the generated dashboards and the config's names must not change with them); one whose
/// feature is off is refused with the fix when a config or a backtest asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    SeasonalNaive,
    Fourier,
    Ets,
    Mstl,
    Arima,
    /// Needs the `prophet` cargo feature.
    Prophet,
    /// Needs the `lstm` cargo feature.
    Lstm,
}

impl ModelKind {
    pub const ALL: [Self; 7] = [
        Self::SeasonalNaive,
        Self::Fourier,
        Self::Ets,
        Self::Mstl,
        Self::Arima,
        Self::Prophet,
        Self::Lstm,
    ];

    /// The models a forecaster and a backtest run when told none: every model the build has but `lstm`
    /// (1.5 s a fit on a day of minutes: a retrain of 1,000 one-day series would take 25 minutes on 2
    /// cores, BENCHMARKS.md), which is opted into by naming it. `prophet` is among them where built.
    #[must_use]
    pub fn defaults() -> Vec<Self> {
        Self::defaults_with(built)
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::SeasonalNaive => "seasonal_naive",
            Self::Fourier => "fourier",
            Self::Ets => "ets",
            Self::Mstl => "mstl",
            Self::Arima => "arima",
            Self::Prophet => "prophet",
            Self::Lstm => "lstm",
        }
    }

    /// The cargo feature the model needs, if any.
    #[must_use]
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Self::Prophet => Some("prophet"),
            Self::Lstm => Some("lstm"),
            _ => None,
        }
    }

    /// Whether this build has the model: `Err` names the feature to build with.
    pub fn check_built(self) -> Result<(), ModelError> {
        self.check_with(built)
    }

    /// Whether a build with the features `built` says it has has the model.
    fn check_with(self, built: impl Fn(&str) -> bool) -> Result<(), ModelError> {
        match self.feature() {
            Some(feature) if !built(feature) => Err(ModelError::NotBuilt {
                model: self.name(),
                feature,
            }),
            _ => Ok(()),
        }
    }

    /// The defaults of a build with the features `built` says it has.
    fn defaults_with(built: impl Fn(&str) -> bool) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|kind| *kind != Self::Lstm && kind.check_with(&built).is_ok())
            .collect()
    }
}

/// Whether this build has the cargo feature `feature` (of those the models need).
fn built(feature: &str) -> bool {
    (feature == "prophet" && cfg!(feature = "prophet"))
        || (feature == "lstm" && cfg!(feature = "lstm"))
}

/// Settings of the models that have some.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSettings {
    /// Fourier: harmonics kept.
    pub harmonics: usize,
    /// Seasonal naive, ETS, MSTL, ARIMA and Prophet: the season in steps; `None` detects it.
    pub season: Option<usize>,
    /// The spacing of the history in seconds (Prophet places its seasonalities in time).
    pub step_seconds: f64,
}

/// Builds the model `kind` with `settings`.
#[must_use]
pub fn build(kind: ModelKind, settings: ModelSettings) -> Box<dyn Model> {
    match kind {
        ModelKind::SeasonalNaive => Box::new(SeasonalNaive::new(settings.season)),
        ModelKind::Fourier => Box::new(Fourier::new(settings.harmonics)),
        ModelKind::Ets => Box::new(Ets::new(settings.season)),
        ModelKind::Mstl => Box::new(Mstl::new(settings.season)),
        ModelKind::Arima => Box::new(Arima::new(settings.season)),
        #[cfg(feature = "prophet")]
        ModelKind::Prophet => Box::new(Prophet::new(settings.step_seconds, settings.season)),
        #[cfg(not(feature = "prophet"))]
        ModelKind::Prophet => Box::new(NotBuilt {
            model: "prophet",
            feature: "prophet",
        }),
        #[cfg(feature = "lstm")]
        ModelKind::Lstm => Box::new(Lstm),
        #[cfg(not(feature = "lstm"))]
        ModelKind::Lstm => Box::new(NotBuilt {
            model: "lstm",
            feature: "lstm",
        }),
    }
}

/// A model this build lacks: every forecast is the error naming the feature to build with (configs
/// and backtests refuse it before; this keeps `build` total).
#[cfg(any(not(feature = "lstm"), not(feature = "prophet")))]
#[derive(Debug, Clone, Copy)]
struct NotBuilt {
    model: &'static str,
    feature: &'static str,
}

#[cfg(any(not(feature = "lstm"), not(feature = "prophet")))]
impl Model for NotBuilt {
    fn name(&self) -> &'static str {
        self.model
    }

    fn forecast(&self, _: &[f64], _: usize, _: f64) -> Result<Forecast, ModelError> {
        Err(ModelError::NotBuilt {
            model: self.model,
            feature: self.feature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_whose_feature_is_not_built_is_refused_with_the_fix_and_left_out_of_the_defaults() {
        // Whatever this build's features, both kinds of build are checked.
        let none = |_: &str| false;
        let error = ModelKind::Lstm.check_with(none).unwrap_err().to_string();
        assert!(
            error.contains("built without the lstm feature: cargo build --features lstm"),
            "{error}"
        );
        let error = ModelKind::Prophet.check_with(none).unwrap_err().to_string();
        assert!(error.contains("cargo build --features prophet"), "{error}");
        assert!(ModelKind::Fourier.check_with(none).is_ok());
        assert!(ModelKind::Prophet.check_with(|f| f == "prophet").is_ok());
        let five = [
            ModelKind::SeasonalNaive,
            ModelKind::Fourier,
            ModelKind::Ets,
            ModelKind::Mstl,
            ModelKind::Arima,
        ];
        assert_eq!(ModelKind::defaults_with(none), five);
        let mut six = five.to_vec();
        six.push(ModelKind::Prophet);
        assert_eq!(ModelKind::defaults_with(|_| true), six);
    }
}
