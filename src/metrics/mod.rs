//! Prometheus metrics as promlab serves them: the two exposition formats (text 0.0.4 and OpenMetrics
//! 1.0.0, negotiated per request) and the histogram and summary collectors behind them.
//!
//! Written here rather than taken from `prometheus-client`: that crate writes OpenMetrics only and has no
//! summary type, and promlab must serve both formats and all four metric types a student learns about.

mod exposition;
mod histogram;
mod summary;

pub use exposition::{Encoder, Format, LabelPairs};
pub use histogram::{Histogram, HistogramValue};
pub use summary::{Summary, SummaryValue};
