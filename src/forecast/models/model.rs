//! The seam every forecasting model sits behind: the [`Model`] trait (history in, a forecast with an
//! interval out), its value types ([`Forecast`], [`ModelError`]) and the checks every model makes of a
//! history. Knows no model: the models import it, [`super::registry`] names them.

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

    /// The forecast `point` with a band `half_widths` either side of it.
    pub(super) fn around(point: Vec<f64>, half_widths: impl IntoIterator<Item = f64>) -> Self {
        let (lower, upper) = point
            .iter()
            .zip(half_widths)
            .map(|(point, half)| (point - half, point + half))
            .unzip();
        Self {
            point,
            lower,
            upper,
        }
    }

    /// An augurs forecast as ours (ETS and MSTL come from augurs): one without intervals is `model`'s
    /// failure, never a zero band; one with a value not finite, too.
    pub(super) fn from_augurs(
        model: &'static str,
        forecast: augurs::Forecast,
    ) -> Result<Self, ModelError> {
        let intervals = forecast.intervals.ok_or(ModelError::Failed {
            model,
            reason: "no prediction interval came back".to_owned(),
        })?;
        Self {
            point: forecast.point,
            lower: intervals.lower,
            upper: intervals.upper,
        }
        .finite(model)
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

    /// Which form of the model `history` gets, when the model has several (e.g. seasonal or not), for
    /// the page; `None` when it has one.
    fn variant(&self, _history: &[f64]) -> Option<String> {
        None
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
