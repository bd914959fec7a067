//! The series Prometheus answers with: a range query's [`Series`], an instant query's [`Sample`], raw
//! samples' [`ExactSeries`], and their [`Labels`]. The client that fetches them is
//! [`crate::clients::Prometheus`].

use std::collections::BTreeMap;

/// A series' labels, sorted by name (`__name__` included when Prometheus returns it).
pub type Labels = BTreeMap<String, String>;

/// One series of a range query: its labels and `(unix seconds, value)` points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(f64, f64)>,
}

/// One series of an instant query: its labels and its sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub at: f64,
    pub value: f64,
}

/// One series of raw samples: its labels and `(unix milliseconds, value)` samples in time order, each
/// value exactly as Prometheus stored it (NaN and infinities included).
#[derive(Debug, Clone, PartialEq)]
pub struct ExactSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}
