//! The seam every forecasting model sits behind: history in, a forecast with an interval out.

use super::arima::Arima;
use super::ets::Ets;
use super::fourier::Fourier;
#[cfg(feature = "lstm")]
use super::lstm::Lstm;
use super::mstl::Mstl;
#[cfg(feature = "prophet")]
use super::prophet::Prophet;
use super::seasonal_naive::SeasonalNaive;

/// What a model predicts for the `horizon` steps after the history: a point and an interval per step.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub point: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

impl Forecast {
    #[must_use]
    pub fn len(&self) -> usize {
        self.point.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.point.is_empty()
    }

    /// The forecast when every value is finite: a library's NaN or infinity is `model`'s failure, never
    /// a value served.
    pub(super) fn finite(self, model: &'static str) -> Result<Self, ModelError> {
        let finite = self
            .point
            .iter()
            .chain(&self.lower)
            .chain(&self.upper)
            .all(|value| value.is_finite());
        if finite {
            Ok(self)
        } else {
            Err(ModelError::Failed {
                model,
                reason: "the forecast is not finite".to_owned(),
            })
        }
    }
}

/// Why a model could not forecast a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The history is shorter than the model needs.
    #[error("{model} needs at least {need} points, the history has {have}")]
    TooShort {
        model: &'static str,
        need: usize,
        have: usize,
    },
    /// The model's own fitting or prediction failed.
    #[error("{model} failed: {reason}")]
    Failed { model: &'static str, reason: String },
    /// The model needs a cargo feature this build was made without.
    #[error(
        "{model} is not in this build: promlab was built without the {feature} feature: cargo build --features {feature}"
    )]
    NotBuilt {
        model: &'static str,
        feature: &'static str,
    },
    /// A value is NaN or infinite (the caller cleans the history first).
    #[error("{model} got a value that is not finite at position {at}")]
    NotFinite { model: &'static str, at: usize },
}

/// A forecasting model: fit on `history` (evenly spaced, finite) and forecast `horizon` steps with a
/// `level` (e.g. 0.95) prediction interval.
pub trait Model: Send + Sync + std::fmt::Debug {
    /// The name in `predicted_values_<name>`.
    fn name(&self) -> &'static str;

    fn forecast(&self, history: &[f64], horizon: usize, level: f64)
    -> Result<Forecast, ModelError>;
}

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
    /// Seasonal naive, MSTL, ARIMA and Prophet: the season in steps; `None` detects it.
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
        ModelKind::Ets => Box::new(Ets),
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

/// Checks that every value is finite and that there are at least `need` of them.
pub(super) fn check_history(
    model: &'static str,
    history: &[f64],
    need: usize,
) -> Result<(), ModelError> {
    if let Some(at) = history.iter().position(|value| !value.is_finite()) {
        return Err(ModelError::NotFinite { model, at });
    }
    if history.len() < need {
        return Err(ModelError::TooShort {
            model,
            need,
            have: history.len(),
        });
    }
    Ok(())
}

/// A library's error as this model's failure.
pub(super) fn failed(model: &'static str) -> impl Fn(&dyn std::fmt::Display) -> ModelError {
    move |error| ModelError::Failed {
        model,
        reason: error.to_string(),
    }
}

/// The standard normal quantile (`distrs`, Wichura's AS 241, the algorithm R's `qnorm` uses; `distrs` is
/// already in the tree through augurs): the `z` of a two-sided `level` interval is
/// `normal_quantile(0.5 + level / 2)`. `p` is kept within 1e-12 of 0 and 1, so the answer is finite.
#[must_use]
pub fn normal_quantile(p: f64) -> f64 {
    distrs::Normal::ppf(p.clamp(1e-12, 1.0 - 1e-12), 0.0, 1.0)
}

/// The root mean square of `residuals` (0 when there are none).
pub(super) fn rms(residuals: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = residuals.fold((0.0, 0_usize), |(sum, count), e| (sum + e * e, count + 1));
    if count == 0 {
        0.0
    } else {
        (sum / count as f64).sqrt()
    }
}

/// Symmetric mean absolute percentage error, in percent (0 to 200); pairs where both are 0 count as 0.
#[must_use]
pub fn smape(actual: &[f64], predicted: &[f64]) -> f64 {
    let pairs = actual.len().min(predicted.len());
    if pairs == 0 {
        return f64::NAN;
    }
    let total: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, f)| {
            let scale = a.abs() + f.abs();
            if scale == 0.0 {
                0.0
            } else {
                2.0 * (f - a).abs() / scale
            }
        })
        .sum();
    100.0 * total / pairs as f64
}

/// Standard normal draws (Box-Muller), seeded: the noise of the models' tests.
#[cfg(test)]
pub(super) fn gaussian_noise(seed: u64, count: usize) -> Vec<f64> {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.random(), rng.random());
            (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
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

    #[test]
    fn normal_quantiles_match_the_tables() {
        for (p, z) in [
            (0.975, 1.959_963_985),
            (0.5, 0.0),
            (0.841_344_746, 1.0),
            (0.001, -3.090_232_306),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 1e-6,
                "{p}: {}",
                normal_quantile(p)
            );
        }
    }

    #[test]
    fn smape_is_symmetric_and_bounded() {
        assert!((smape(&[1.0, 2.0], &[1.0, 2.0])).abs() < 1e-12);
        assert!((smape(&[1.0], &[3.0]) - 100.0).abs() < 1e-9);
        assert!((smape(&[3.0], &[1.0]) - 100.0).abs() < 1e-9);
        assert!((smape(&[0.0], &[0.0])).abs() < 1e-12);
        assert!((smape(&[1.0], &[-1.0]) - 200.0).abs() < 1e-9);
        assert!(smape(&[], &[]).is_nan());
    }
}
