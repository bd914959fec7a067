//! Datasets of Prometheus samples and the files they are written to: CSV, JSON Lines and Parquet, in
//! a long layout (one row per sample) or a wide one (one column per series), always written atomically.
//!
//! The series type knows nothing of where samples came from: the export (Prometheus' API) and a TSDB
//! block reader feed the same writers.

mod csv;
mod jsonl;
mod parquet;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::fs::{FsError, WriteOptions, write_atomically};

/// A series' labels, sorted by name, `__name__` included.
pub type Labels = BTreeMap<String, String>;

/// One series: its labels and `(unix milliseconds, value)` samples in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

impl Series {
    /// The metric name (`__name__`), empty for an expression's result.
    #[must_use]
    pub fn metric(&self) -> &str {
        self.labels.get("__name__").map_or("", String::as_str)
    }

    /// The labels other than the name, as Prometheus writes them: `{job="a",mode="idle"}`.
    #[must_use]
    pub fn label_text(&self) -> String {
        let mut text = String::from("{");
        for (name, value) in self.labels.iter().filter(|(name, _)| *name != "__name__") {
            if text.len() > 1 {
                text.push(',');
            }
            let _ = write!(text, "{name}=\"{}\"", escape_label_value(value));
        }
        text.push('}');
        text
    }

    /// The series as one name: `metric{labels}` (the wide layout's column names).
    #[must_use]
    pub fn column_name(&self) -> String {
        let labels = self.label_text();
        if labels == "{}" && !self.metric().is_empty() {
            self.metric().to_owned()
        } else {
            format!("{}{labels}", self.metric())
        }
    }
}

/// A label value escaped as in Prometheus' text formats: backslash, double quote and newline.
#[must_use]
pub fn escape_label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A value as Prometheus writes it: the shortest text that reads back as the same float, and `NaN`,
/// `+Inf`, `-Inf` for the others.
#[must_use]
pub fn value_text(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        // Debug, not Display: the same shortest round trip, with an exponent for tiny and huge values.
        format!("{value:?}")
    }
}

/// A value as Prometheus writes it back to a float (`NaN`, `+Inf`, `-Inf` included).
#[must_use]
pub fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// Unix milliseconds as unix seconds: `1700000000` or `1700000000.123`.
#[must_use]
pub fn seconds_text(millis: i64) -> String {
    let sign = if millis < 0 { "-" } else { "" };
    let magnitude = millis.unsigned_abs();
    match magnitude % 1000 {
        0 => format!("{sign}{}", magnitude / 1000),
        rest => format!("{sign}{}.{rest:03}", magnitude / 1000),
    }
}

/// The file format a dataset is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (zstd), read as is by pandas, pyarrow and polars.
    Parquet,
}

/// How samples are laid out in rows and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One row per sample: timestamp, metric name, labels, value.
    Long,
    /// One row per timestamp, one column per series (empty where a series has no sample).
    Wide,
}

/// Why a dataset could not be written. The file is then absent: nothing half-written is left.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file (or its temporary sibling) could not be created, written or renamed.
    #[error(transparent)]
    Write(#[from] FsError),
}

/// Writes `series` to `path` in `format` and `layout`, through a temporary file renamed into place.
pub fn write(
    series: &[Series],
    format: Format,
    layout: Layout,
    path: &Path,
) -> Result<(), DatasetError> {
    let options = WriteOptions::default();
    match format {
        Format::Parquet => write_atomically(path, options, |out| match layout {
            Layout::Long => parquet::long(series, out),
            Layout::Wide => parquet::wide(series, out),
        }),
        Format::Csv => write_atomically(path, options, |out| match layout {
            Layout::Long => csv::long(series, out),
            Layout::Wide => csv::wide(series, out),
        }),
        Format::Jsonl => write_atomically(path, options, |out| match layout {
            Layout::Long => jsonl::long(series, out),
            Layout::Wide => jsonl::wide(series, out),
        }),
    }?;
    Ok(())
}

/// The union of every series' timestamps, sorted, and for each series the value at each of them.
pub(crate) struct WideRows<'a> {
    pub timestamps: Vec<i64>,
    series: &'a [Series],
    cursors: Vec<usize>,
}

impl<'a> WideRows<'a> {
    pub(crate) fn new(series: &'a [Series]) -> Self {
        let mut timestamps: Vec<i64> = series
            .iter()
            .flat_map(|one| one.samples.iter().map(|(at, _)| *at))
            .collect();
        timestamps.sort_unstable();
        timestamps.dedup();
        Self {
            timestamps,
            series,
            cursors: vec![0; series.len()],
        }
    }

    /// The values of each series at `at`, which must be asked in increasing order.
    pub(crate) fn values_at(&mut self, at: i64, values: &mut Vec<Option<f64>>) {
        values.clear();
        for (one, cursor) in self.series.iter().zip(&mut self.cursors) {
            match one.samples.get(*cursor) {
                Some((time, value)) if *time == at => {
                    *cursor += 1;
                    values.push(Some(*value));
                }
                _ => values.push(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_times_are_written_as_prometheus_writes_them() {
        assert_eq!(value_text(0.1), "0.1");
        assert_eq!(value_text(1e-300), "1e-300");
        assert_eq!(value_text(2.0), "2.0");
        assert_eq!(value_text(f64::NAN), "NaN");
        assert_eq!(value_text(f64::NEG_INFINITY), "-Inf");
        assert_eq!(seconds_text(1_700_000_000_000), "1700000000");
        assert_eq!(seconds_text(1_700_000_000_050), "1700000000.050");
        assert_eq!(seconds_text(-1), "-0.001");
    }

    #[test]
    fn labels_are_escaped_and_the_name_kept_apart() {
        let series = Series {
            labels: [("__name__", "up"), ("job", "a\"b"), ("path", "c:\\d\n")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            samples: Vec::new(),
        };
        assert_eq!(series.metric(), "up");
        assert_eq!(series.label_text(), r#"{job="a\"b",path="c:\\d\n"}"#);
        assert_eq!(series.column_name(), r#"up{job="a\"b",path="c:\\d\n"}"#);
    }

    #[test]
    fn wide_rows_take_the_union_of_timestamps() {
        let series = [
            Series {
                labels: Labels::new(),
                samples: vec![(1, 1.0), (3, 3.0)],
            },
            Series {
                labels: Labels::new(),
                samples: vec![(2, 2.0), (3, 30.0)],
            },
        ];
        let mut rows = WideRows::new(&series);
        assert_eq!(rows.timestamps, [1, 2, 3]);
        let mut values = Vec::new();
        let mut seen = Vec::new();
        for at in rows.timestamps.clone() {
            rows.values_at(at, &mut values);
            seen.push(values.clone());
        }
        assert_eq!(
            seen,
            [
                vec![Some(1.0), None],
                vec![None, Some(2.0)],
                vec![Some(3.0), Some(30.0)]
            ]
        );
    }
}
