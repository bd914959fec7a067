//! OpenMetrics text of restored series, as `promtool tsdb create-blocks-from openmetrics` reads it:
//! one family per metric (type unknown), series sorted, samples in time order with timestamps in
//! seconds, `# EOF` at the end.

use std::io::{self, Write};

use crate::dataset::{Series, escape_label_value, seconds_text, value_text};

/// Writes `series` (sorted by metric name, then labels) as OpenMetrics.
pub(super) fn write(series: &[Series], out: &mut impl Write) -> io::Result<()> {
    let mut family = None;
    for one in series {
        let name = one.metric();
        if family != Some(name) {
            writeln!(out, "# TYPE {name} unknown")?;
            family = Some(name);
        }
        let mut prefix = String::from(name);
        let labels: Vec<String> = one
            .labels
            .iter()
            .filter(|(label, _)| *label != "__name__")
            .map(|(label, value)| format!("{label}=\"{}\"", escape_label_value(value)))
            .collect();
        if !labels.is_empty() {
            prefix.push('{');
            prefix.push_str(&labels.join(","));
            prefix.push('}');
        }
        for (at, value) in &one.samples {
            writeln!(out, "{prefix} {} {}", value_text(*value), seconds_text(*at))?;
        }
    }
    out.write_all(b"# EOF\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_grouped_and_the_file_ends_with_eof() {
        let series = |name: &str, job: &str, samples: Vec<(i64, f64)>| Series {
            labels: [("__name__", name), ("job", job)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            samples,
        };
        let mut text = Vec::new();
        write(
            &[
                series("a", "x\"y", vec![(1_000, 1.5), (2_500, f64::NAN)]),
                series("a", "z", vec![(1_000, f64::NEG_INFINITY)]),
                series("b", "z", vec![(3_000, 2.0)]),
            ],
            &mut text,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "# TYPE a unknown\na{job=\"x\\\"y\"} 1.5 1\na{job=\"x\\\"y\"} NaN 2.500\n\
             a{job=\"z\"} -Inf 1\n# TYPE b unknown\nb{job=\"z\"} 2.0 3\n# EOF\n"
        );
    }
}
