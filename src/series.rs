//! The one series type every module shares: [`Labels`], [`Series`] (raw samples in unix milliseconds)
//! and [`Sample`] (an instant query's answer), with their text as Prometheus writes it: values
//! ([`value_text`], [`parse_value`]: shortest round trip, `NaN`, `+Inf`, `-Inf`) and labels
//! ([`escape_label_value`], [`Series::label_text`]). The API client, the TSDB reader, the backup, the
//! dataset writers and the exposition encoder all speak it.
//!
//! What stays apart on purpose: `tsdb::format` writes Go's `%g` floats and `strconv.Quote`d labels,
//! because `promlab tsdb dump` must match `promtool tsdb dump` byte for byte.

use std::collections::BTreeMap;

/// A series' labels, sorted by name, `__name__` included when there is one.
pub type Labels = BTreeMap<String, String>;

/// One series: its labels and `(unix milliseconds, value)` samples in time order, each value exactly
/// as Prometheus stored it (NaN and infinities included).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// One series of an instant query: its labels and its latest sample (`at` in unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub at: f64,
    pub value: f64,
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
        let mut text = String::new();
        push_label_set(&mut text, &self.labels);
        if text.is_empty() {
            text.push_str("{}");
        }
        text
    }

    /// The series as one name: `metric{labels}` (the wide layout's column names), the braces left
    /// out when a named series has no other label.
    #[must_use]
    pub fn column_name(&self) -> String {
        let mut text = self.metric().to_owned();
        push_label_set(&mut text, &self.labels);
        if text.is_empty() {
            text.push_str("{}");
        }
        text
    }

    /// The samples as `(unix seconds, value)` points, the form the forecast models fit.
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // milliseconds since 1970 stay far below 2^53
    pub fn seconds_points(&self) -> Vec<(f64, f64)> {
        self.samples
            .iter()
            .map(|&(at, value)| (at as f64 / 1000.0, value))
            .collect()
    }
}

/// Appends the labels other than `__name__` as `{a="1",b="2"}` (nothing when there are none), values
/// escaped: the label part of a sample line in the text formats.
pub fn push_label_set<'a>(
    out: &mut String,
    labels: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    let mut first = true;
    for (name, value) in labels {
        if name == "__name__" {
            continue;
        }
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        push_label_value(out, value);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
}

/// Appends a label value escaped as in Prometheus' text formats: backslash, double quote, newline.
pub fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A label value escaped as in Prometheus' text formats (see [`push_label_value`]).
#[must_use]
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_label_value(&mut out, value);
    out
}

/// Appends a value as Prometheus writes it: the shortest text that reads back as the same float,
/// always with a decimal point or an exponent (`1.0`, `0.005`, `1e-7`), and `NaN`, `+Inf`, `-Inf`.
pub fn push_value(out: &mut String, value: f64) {
    use std::fmt::Write as _;
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // Debug, not Display: the same shortest round trip, with an exponent for tiny and huge values.
        let _ = write!(out, "{value:?}");
    }
}

/// A value as Prometheus writes it (see [`push_value`]).
#[must_use]
pub fn value_text(value: f64) -> String {
    let mut out = String::new();
    push_value(&mut out, value);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_are_written_and_read_as_prometheus_writes_them() {
        assert_eq!(value_text(0.1), "0.1");
        assert_eq!(value_text(1e-300), "1e-300");
        assert_eq!(value_text(2.0), "2.0");
        assert_eq!(value_text(f64::NAN), "NaN");
        assert_eq!(value_text(f64::INFINITY), "+Inf");
        assert_eq!(value_text(f64::NEG_INFINITY), "-Inf");
        for value in [0.1 + 0.2, 1e-7, 123_456.789, -0.0, f64::MAX, 5e-324] {
            assert_eq!(parse_value(&value_text(value)), Some(value), "{value:?}");
        }
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_value("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_value("0.25"), Some(0.25));
        assert_eq!(parse_value("x"), None);
    }

    #[test]
    fn labels_are_escaped_and_the_name_kept_apart() {
        let series = Series {
            labels: labels(&[("__name__", "up"), ("job", "a\"b"), ("path", "c:\\d\n")]),
            samples: Vec::new(),
        };
        assert_eq!(series.metric(), "up");
        assert_eq!(series.label_text(), r#"{job="a\"b",path="c:\\d\n"}"#);
        assert_eq!(series.column_name(), r#"up{job="a\"b",path="c:\\d\n"}"#);
        let bare = Series {
            labels: labels(&[("__name__", "up")]),
            samples: Vec::new(),
        };
        assert_eq!(
            (bare.label_text().as_str(), bare.column_name().as_str()),
            ("{}", "up")
        );
        let nameless = Series {
            labels: Labels::new(),
            samples: vec![(1_500, 2.0)],
        };
        assert_eq!(nameless.column_name(), "{}");
        assert_eq!(nameless.seconds_points(), [(1.5, 2.0)]);
        assert_eq!(escape_label_value("a\\\"\n"), r#"a\\\"\n"#);
    }
}
