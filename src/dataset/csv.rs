//! CSV (RFC 4180): a header line, fields quoted only when they hold a comma, a quote or a newline.

use std::io::{self, Write};

use super::WideRows;
use crate::series::{Series, value_text};
use crate::time::seconds_text;

/// A field as CSV needs it.
fn field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

/// `timestamp,metric,labels,value`, one line per sample, series after series.
pub(super) fn long(series: &[Series], out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"timestamp,metric,labels,value\n")?;
    for one in series {
        // What every line of the series shares, escaped once.
        let middle = format!(",{},{},", field(one.metric()), field(&one.label_text()));
        for (at, value) in &one.samples {
            out.write_all(seconds_text(*at).as_bytes())?;
            out.write_all(middle.as_bytes())?;
            out.write_all(value_text(*value).as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// `timestamp,<series>...`, one line per timestamp, an empty field where a series has no sample.
pub(super) fn wide(series: &[Series], out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"timestamp")?;
    for one in series {
        write!(out, ",{}", field(&one.column_name()))?;
    }
    out.write_all(b"\n")?;
    let mut rows = WideRows::new(series);
    let mut values = Vec::with_capacity(series.len());
    for at in std::mem::take(&mut rows.timestamps) {
        rows.values_at(at, &mut values);
        out.write_all(seconds_text(at).as_bytes())?;
        for value in &values {
            out.write_all(b",")?;
            if let Some(value) = value {
                out.write_all(value_text(*value).as_bytes())?;
            }
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}
