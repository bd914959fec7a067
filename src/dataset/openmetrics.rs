//! OpenMetrics text of stored samples, as `promtool tsdb create-blocks-from openmetrics` reads it
//! back: one family per metric (type unknown), series sorted, samples in time order with timestamps
//! in seconds, `# EOF` at the end. The one writer for that consumer: `promlab restore`, `promlab
//! export --format openmetrics` and `promlab tsdb export --format openmetrics` all come here (the
//! live `/metrics` encoder, for scrapers, is [`crate::metrics`]).

use std::io::{self, Write};

use crate::series::{Series, push_label_set, value_text};
use crate::time::seconds_text;

/// Writes `series` as OpenMetrics, grouped by metric name (then sorted by labels), whatever order
/// they come in: a family split in two would be refused by promtool.
pub(super) fn write(series: &[Series], out: &mut impl Write) -> io::Result<()> {
    let mut sorted: Vec<&Series> = series.iter().collect();
    sorted.sort_by(|a, b| (a.metric(), &a.labels).cmp(&(b.metric(), &b.labels)));
    let mut family = None;
    for one in sorted {
        let name = one.metric();
        if family != Some(name) {
            writeln!(out, "# TYPE {name} unknown")?;
            family = Some(name);
        }
        let mut prefix = String::from(name);
        push_label_set(&mut prefix, &one.labels);
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
                series("b", "z", vec![(3_000, 2.0)]),
                series("a", "x\"y", vec![(1_000, 1.5), (2_500, f64::NAN)]),
                series("a", "z", vec![(1_000, f64::NEG_INFINITY)]),
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
