//! Datasets of Prometheus samples and the files they are written to: CSV, JSON Lines, Parquet and
//! OpenMetrics, in a long layout (one row per sample) or a wide one (one column per series), always
//! written atomically.
//!
//! The series type knows nothing of where samples came from: the export (Prometheus' API), a TSDB
//! block reader and the restore of a backup feed the same writers, so `promlab export` and `promlab
//! tsdb export` write the same files.

mod csv;
mod jsonl;
mod openmetrics;
mod parquet;

use std::io::{self, Write};
use std::path::Path;

use crate::fs::{FsError, WriteOptions, write_atomically};
use crate::series::Series;

/// The file format a dataset is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (zstd), read as is by pandas, pyarrow and polars.
    Parquet,
    /// OpenMetrics text, which `promtool tsdb create-blocks-from openmetrics` reads back (long only).
    OpenMetrics,
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
    /// OpenMetrics has no wide layout: every sample line names its series.
    #[error(
        "OpenMetrics has no wide layout (each line names its series): use --layout long, or --format csv, jsonl or parquet for a wide file"
    )]
    WideOpenMetrics,
}

/// Checks that `format` can be written in `layout`, before any work is done.
pub fn check(format: Format, layout: Layout) -> Result<(), DatasetError> {
    match (format, layout) {
        (Format::OpenMetrics, Layout::Wide) => Err(DatasetError::WideOpenMetrics),
        _ => Ok(()),
    }
}

/// Writes `series` to `path` in `format` and `layout`, through a temporary file renamed into place.
pub fn write(
    series: &[Series],
    format: Format,
    layout: Layout,
    path: &Path,
) -> Result<(), DatasetError> {
    check(format, layout)?;
    write_atomically(path, WriteOptions::default(), |out| {
        write_to(series, format, layout, out)
    })?;
    Ok(())
}

/// Writes `series` to `out` (standard output, a file already opened atomically) in `format` and
/// `layout`, which [`check`] has accepted (OpenMetrics is always written long).
pub fn write_to(
    series: &[Series],
    format: Format,
    layout: Layout,
    out: &mut (impl Write + Send),
) -> io::Result<()> {
    match (format, layout) {
        (Format::Parquet, Layout::Long) => parquet::long(series, out),
        (Format::Parquet, Layout::Wide) => parquet::wide(series, out),
        (Format::Csv, Layout::Long) => csv::long(series, out),
        (Format::Csv, Layout::Wide) => csv::wide(series, out),
        (Format::Jsonl, Layout::Long) => jsonl::long(series, out),
        (Format::Jsonl, Layout::Wide) => jsonl::wide(series, out),
        (Format::OpenMetrics, _) => openmetrics::write(series, out),
    }
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
    use crate::series::Labels;

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
