//! One stored chunk: the raw samples of one metric over one chunk of the day, as zstd-compressed
//! JSON Lines (with zstd's own checksum), one line per series:
//! `{"labels":{"__name__":"up","job":"a"},"samples":[[1763596800000,"1"],...]}`.
//! Timestamps are unix milliseconds; values are Prometheus' own text, so they read back exactly.

use std::io::{BufRead as _, Write as _};

use serde::{Deserialize, Serialize};

use crate::series::{Labels, Series, parse_value, value_text};

#[derive(Serialize, Deserialize)]
struct Line {
    labels: Labels,
    samples: Vec<(i64, String)>,
}

/// The compressed bytes of `series`.
pub(super) fn encode(series: &[Series]) -> std::io::Result<Vec<u8>> {
    let mut encoder = zstd::Encoder::new(Vec::new(), 3)?;
    encoder.include_checksum(true)?;
    for one in series {
        let line = Line {
            labels: one.labels.clone(),
            samples: one
                .samples
                .iter()
                .map(|(at, value)| (*at, value_text(*value)))
                .collect(),
        };
        serde_json::to_writer(&mut encoder, &line)?;
        encoder.write_all(b"\n")?;
    }
    encoder.finish()
}

/// The series in `bytes`, or what is wrong with them (truncated, corrupt, not a chunk).
pub(super) fn decode(bytes: &[u8]) -> Result<Vec<Series>, String> {
    let decoder = zstd::Decoder::new(bytes).map_err(|error| error.to_string())?;
    let mut series = Vec::new();
    for (number, line) in std::io::BufReader::new(decoder).lines().enumerate() {
        let line = line.map_err(|error| format!("not a whole zstd stream: {error}"))?;
        let line: Line = serde_json::from_str(&line)
            .map_err(|error| format!("line {} is not a chunk line: {error}", number + 1))?;
        let samples = line
            .samples
            .into_iter()
            .map(|(at, text)| {
                parse_value(&text)
                    .map(|value| (at, value))
                    .ok_or_else(|| format!("{text:?} is not a sample value"))
            })
            .collect::<Result<_, _>>()?;
        series.push(Series {
            labels: line.labels,
            samples,
        });
    }
    Ok(series)
}

pub(super) use crate::fs::sha256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_back_exactly_and_detect_damage() {
        let series = vec![Series {
            labels: [("__name__".to_owned(), "x".to_owned())]
                .into_iter()
                .collect(),
            samples: vec![(1, 0.1), (2, f64::INFINITY), (3, 1e-300), (4, -0.0)],
        }];
        let bytes = encode(&series).unwrap();
        let back = decode(&bytes).unwrap();
        let bits = |s: &[Series]| -> Vec<(i64, u64)> {
            s[0].samples
                .iter()
                .map(|(t, v)| (*t, v.to_bits()))
                .collect()
        };
        assert_eq!(bits(&back), bits(&series));
        let mut damaged = bytes.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0xff;
        assert!(decode(&damaged).is_err());
        assert!(decode(&bytes[..bytes.len() - 3]).is_err());
        assert_eq!(sha256(b"").len(), 64);
    }
}
