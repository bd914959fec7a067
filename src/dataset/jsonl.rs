//! JSON Lines: one object per line. Finite values are JSON numbers; NaN and the infinities, which JSON
//! cannot write as numbers, are the strings Prometheus uses ("NaN", "+Inf", "-Inf").

use std::io::{self, Write};

use super::WideRows;
use crate::series::{Series, value_text};
use crate::time::seconds_text;

fn json_value(value: f64) -> String {
    if value.is_finite() {
        value_text(value)
    } else {
        format!("\"{}\"", value_text(value))
    }
}

fn json_string(text: &str) -> io::Result<String> {
    serde_json::to_string(text).map_err(io::Error::other)
}

/// `{"timestamp":T,"metric":"m","labels":{...},"value":V}`, one line per sample.
pub(super) fn long(series: &[Series], out: &mut impl Write) -> io::Result<()> {
    for one in series {
        let labels: serde_json::Map<String, serde_json::Value> = one
            .labels
            .iter()
            .filter(|(name, _)| *name != "__name__")
            .map(|(name, value)| (name.clone(), value.clone().into()))
            .collect();
        let middle = format!(
            ",\"metric\":{},\"labels\":{},\"value\":",
            json_string(one.metric())?,
            serde_json::Value::Object(labels)
        );
        for (at, value) in &one.samples {
            out.write_all(b"{\"timestamp\":")?;
            out.write_all(seconds_text(*at).as_bytes())?;
            out.write_all(middle.as_bytes())?;
            out.write_all(json_value(*value).as_bytes())?;
            out.write_all(b"}\n")?;
        }
    }
    Ok(())
}

/// `{"timestamp":T,"<series>":V,...}`, one line per timestamp, series without a sample left out.
pub(super) fn wide(series: &[Series], out: &mut impl Write) -> io::Result<()> {
    let keys = series
        .iter()
        .map(|one| json_string(&one.column_name()).map(|key| format!(",{key}:")))
        .collect::<io::Result<Vec<_>>>()?;
    let mut rows = WideRows::new(series);
    let mut values = Vec::with_capacity(series.len());
    for at in std::mem::take(&mut rows.timestamps) {
        rows.values_at(at, &mut values);
        out.write_all(b"{\"timestamp\":")?;
        out.write_all(seconds_text(at).as_bytes())?;
        for (key, value) in keys.iter().zip(&values) {
            if let Some(value) = value {
                out.write_all(key.as_bytes())?;
                out.write_all(json_value(*value).as_bytes())?;
            }
        }
        out.write_all(b"}\n")?;
    }
    Ok(())
}
