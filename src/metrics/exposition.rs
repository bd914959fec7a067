//! The exposition encoder: one family at a time, into a `String`, in the format the scraper asked for.

use std::fmt::Write as _;

use super::{HistogramValue, SummaryValue};
use crate::series::{push_label_value, push_value};

/// A sample's label pairs, borrowed, in the order they are written: `[("scenario", "spike")]` (the
/// encoder's hot path; [`crate::series::Labels`] is the owned, sorted set).
pub type LabelPairs<'a> = &'a [(&'a str, &'a str)];

/// The exposition format of a `/metrics` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The classic Prometheus text format, version 0.0.4.
    Text,
    /// OpenMetrics text, version 1.0.0 (what Prometheus asks for first).
    OpenMetrics,
}

impl Format {
    /// Chooses the format from an HTTP `Accept` header: OpenMetrics when the client prefers it (by
    /// q-value) over `text/plain`, the text format otherwise (and when there is no header at all).
    #[must_use]
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Text;
        };
        let (mut openmetrics_q, mut text_q) = (0.0_f64, 0.0_f64);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media_type = parts.next().unwrap_or_default().to_ascii_lowercase();
            let quality = parts
                .filter_map(|param| param.strip_prefix("q="))
                .find_map(|q| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            match media_type.as_str() {
                "application/openmetrics-text" => openmetrics_q = openmetrics_q.max(quality),
                "text/plain" | "text/*" | "*/*" => text_q = text_q.max(quality),
                _ => {}
            }
        }
        if openmetrics_q > 0.0 && openmetrics_q > text_q {
            Self::OpenMetrics
        } else {
            Self::Text
        }
    }

    /// The `Content-Type` of a body in this format.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Writes metric families in one format. Names are given without the suffixes the format adds
/// (`_total` for counters, `_info` for info metrics); `unit`, when given, must end the name.
///
/// A sample whose labels name the same label twice is refused (left out, with a warning, and counted in
/// [`Encoder::refused`]): Prometheus would reject the whole scrape for it, losing every other sample.
#[derive(Debug)]
pub struct Encoder {
    format: Format,
    out: String,
    refused: usize,
}

impl Encoder {
    #[must_use]
    pub fn new(format: Format) -> Self {
        Self {
            format,
            out: String::with_capacity(4096),
            refused: 0,
        }
    }

    /// How many samples were left out because a label name appeared twice in them.
    #[must_use]
    pub fn refused(&self) -> usize {
        self.refused
    }

    /// A gauge family: one sample per label set.
    pub fn gauge<'a>(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<&str>,
        series: impl IntoIterator<Item = (LabelPairs<'a>, f64)>,
    ) {
        self.header(name, name, "gauge", help, unit);
        for (labels, value) in series {
            self.sample(name, "", labels, None, value);
        }
    }

    /// A counter family; the samples are written `<name>_total`.
    pub fn counter<'a>(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<&str>,
        series: impl IntoIterator<Item = (LabelPairs<'a>, f64)>,
    ) {
        let total = format!("{name}_total");
        let family = match self.format {
            Format::Text => total.as_str(),
            Format::OpenMetrics => name,
        };
        self.header(family, name, "counter", help, unit);
        for (labels, value) in series {
            self.sample(name, "_total", labels, None, value);
        }
    }

    /// An info family (a constant 1 carrying labels); the sample is written `<name>_info`.
    pub fn info(&mut self, name: &str, help: &str, labels: LabelPairs<'_>) {
        let info = format!("{name}_info");
        match self.format {
            Format::Text => self.header(&info, name, "gauge", help, None),
            Format::OpenMetrics => self.header(name, name, "info", help, None),
        }
        self.sample(name, "_info", labels, None, 1.0);
    }

    /// A histogram family: cumulative `_bucket` samples ending with `le="+Inf"`, then `_sum` and `_count`.
    pub fn histogram<'a>(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<&str>,
        series: impl IntoIterator<Item = (LabelPairs<'a>, &'a HistogramValue)>,
    ) {
        self.header(name, name, "histogram", help, unit);
        for (labels, value) in series {
            for (upper, count) in value.buckets() {
                self.sample(name, "_bucket", labels, Some(("le", upper)), count as f64);
            }
            self.sample(name, "_sum", labels, None, value.sum);
            self.sample(name, "_count", labels, None, value.count as f64);
        }
    }

    /// A summary family: one sample per quantile, then `_sum` and `_count`.
    pub fn summary<'a>(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<&str>,
        series: impl IntoIterator<Item = (LabelPairs<'a>, &'a SummaryValue)>,
    ) {
        self.header(name, name, "summary", help, unit);
        for (labels, value) in series {
            for &(quantile, estimate) in &value.quantiles {
                self.sample(name, "", labels, Some(("quantile", quantile)), estimate);
            }
            self.sample(name, "_sum", labels, None, value.sum);
            self.sample(name, "_count", labels, None, value.count as f64);
        }
    }

    /// The finished body (OpenMetrics ends with `# EOF`).
    #[must_use]
    pub fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }

    fn header(&mut self, family: &str, name: &str, kind: &str, help: &str, unit: Option<&str>) {
        let out = &mut self.out;
        out.push_str("# HELP ");
        out.push_str(family);
        out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '"' if self.format == Format::OpenMetrics => out.push_str("\\\""),
                c => out.push(c),
            }
        }
        out.push('\n');
        let _ = writeln!(out, "# TYPE {family} {kind}");
        if let (Format::OpenMetrics, Some(unit)) = (self.format, unit) {
            debug_assert!(name.ends_with(unit), "{name} must end with its unit {unit}");
            let _ = writeln!(out, "# UNIT {family} {unit}");
        }
    }

    fn sample(
        &mut self,
        name: &str,
        suffix: &str,
        labels: LabelPairs<'_>,
        extra: Option<(&str, f64)>,
        value: f64,
    ) {
        let names = labels
            .iter()
            .map(|(key, _)| *key)
            .chain(extra.map(|(key, _)| key));
        let mut seen: Vec<&str> = Vec::with_capacity(labels.len() + 1);
        for key in names {
            if seen.contains(&key) {
                tracing::warn!(
                    sample = %format_args!("{name}{suffix}"),
                    label = key,
                    "sample left out of the exposition: the label {key:?} appears twice in it"
                );
                self.refused += 1;
                return;
            }
            seen.push(key);
        }
        let out = &mut self.out;
        out.push_str(name);
        out.push_str(suffix);
        if !labels.is_empty() || extra.is_some() {
            out.push('{');
            let mut first = true;
            for &(key, label_value) in labels {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(key);
                out.push_str("=\"");
                push_label_value(out, label_value);
                out.push('"');
            }
            if let Some((key, bound)) = extra {
                if !first {
                    out.push(',');
                }
                out.push_str(key);
                out.push_str("=\"");
                push_value(out, bound);
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
        push_value(out, value);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Histogram, Summary};
    use std::time::Duration;

    #[test]
    fn prometheus_scrape_header_prefers_openmetrics() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
    }

    #[test]
    fn browsers_curl_and_text_preferring_clients_get_text() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("text/html,application/xhtml+xml,*/*;q=0.8")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some(
                "text/plain;version=0.0.4,application/openmetrics-text;q=0.5"
            )),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
    }

    #[test]
    fn counters_and_info_take_the_suffix_each_format_expects() {
        let mut text = Encoder::new(Format::Text);
        text.counter("jobs", "Jobs done.", None, [(&[][..], 3.0)]);
        text.info("build", "Build.", &[("version", "1")]);
        assert_eq!(
            text.finish(),
            "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3.0\n\
             # HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version=\"1\"} 1.0\n"
        );

        let mut open = Encoder::new(Format::OpenMetrics);
        open.counter("jobs", "Jobs done.", None, [(&[][..], 3.0)]);
        open.info("build", "Build.", &[("version", "1")]);
        assert_eq!(
            open.finish(),
            "# HELP jobs Jobs done.\n# TYPE jobs counter\njobs_total 3.0\n\
             # HELP build Build.\n# TYPE build info\nbuild_info{version=\"1\"} 1.0\n# EOF\n"
        );
    }

    #[test]
    fn a_sample_naming_a_label_twice_is_refused_and_the_others_are_written() {
        for format in [Format::Text, Format::OpenMetrics] {
            let mut encoder = Encoder::new(format);
            encoder.gauge(
                "g",
                "A gauge.",
                None,
                [
                    (&[("model", "a"), ("model", "b")][..], 1.0),
                    (&[("model", "a")][..], 2.0),
                ],
            );
            // A label that a summary's own `quantile` would repeat.
            let summary = SummaryValue {
                quantiles: vec![(0.5, 1.0)],
                sum: 1.0,
                count: 1,
            };
            encoder.summary(
                "s",
                "A summary.",
                None,
                [(&[("quantile", "x")][..], &summary)],
            );
            assert_eq!(encoder.refused(), 2);
            let text = encoder.finish();
            assert!(text.contains("g{model=\"a\"} 2.0\n"), "{text}");
            assert!(!text.contains("model=\"b\""), "{text}");
            assert!(!text.contains("s{quantile=\"x\",quantile="), "{text}");
        }
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut text = Encoder::new(Format::Text);
        text.gauge(
            "g",
            "a \\ b\nc",
            None,
            [(&[("path", "C:\\x \"y\"\nz")][..], f64::NAN)],
        );
        assert_eq!(
            text.finish(),
            "# HELP g a \\\\ b\\nc\n# TYPE g gauge\ng{path=\"C:\\\\x \\\"y\\\"\\nz\"} NaN\n"
        );
    }

    #[test]
    fn histograms_and_summaries_are_written_in_full() {
        let mut histogram = Histogram::new(&[0.1, 1.0]);
        histogram.observe(0.05);
        histogram.observe(0.5);
        histogram.observe(5.0);
        let histogram = histogram.value();
        let mut summary = Summary::new(&[0.5], Duration::from_secs(60));
        summary.observe(Duration::ZERO, 2.0);
        let summary = summary.value(Duration::ZERO);

        let mut open = Encoder::new(Format::OpenMetrics);
        open.histogram("d_seconds", "D.", Some("seconds"), [(&[][..], &histogram)]);
        open.summary("s_seconds", "S.", Some("seconds"), [(&[][..], &summary)]);
        assert_eq!(
            open.finish(),
            "# HELP d_seconds D.\n# TYPE d_seconds histogram\n# UNIT d_seconds seconds\n\
             d_seconds_bucket{le=\"0.1\"} 1.0\nd_seconds_bucket{le=\"1.0\"} 2.0\n\
             d_seconds_bucket{le=\"+Inf\"} 3.0\nd_seconds_sum 5.55\nd_seconds_count 3.0\n\
             # HELP s_seconds S.\n# TYPE s_seconds summary\n# UNIT s_seconds seconds\n\
             s_seconds{quantile=\"0.5\"} 2.0\ns_seconds_sum 2.0\ns_seconds_count 1.0\n# EOF\n"
        );
    }
}
