//! The forecasting models, layered without a circle:
//!
//! - [`model`]: the [`Model`] trait and its value types, knowing no model;
//! - [`stats`]: the statistics several models (and the backtest) share, such as [`detect_season`];
//! - [`conformal`]: the calibrated band every model's forecast gets, from rolling holdouts;
//! - one file per model (`seasonal_naive`, `fourier`, `ets`, `mstl`, `arima`, `prophet`, `lstm`), each
//!   importing only `model` and `stats`;
//! - [`registry`]: [`ModelKind`] and [`build`], the one place that knows every model.

mod arima;
mod conformal;
mod ets;
mod fourier;
#[cfg(feature = "lstm")]
mod lstm;
mod model;
mod mstl;
#[cfg(feature = "prophet")]
mod prophet;
mod registry;
mod seasonal_naive;
mod stats;

pub use arima::{ArimaFit, Order as ArimaOrder, auto_fit as arima_auto_fit};
pub use conformal::{
    Calibrated, UsualRange, band_widths, calibrate, conformal_quantile, consensus, half_width,
};
pub use fourier::Fourier;
pub use model::{Forecast, Model, ModelError};
pub use registry::{ModelKind, ModelSettings, build};
pub use seasonal_naive::SeasonalNaive;
pub use stats::{detect_season, normal_quantile, smape};
pub(crate) use stats::{mean, median};
