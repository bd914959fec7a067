//! Apache Parquet through Arrow's own writer, zstd-compressed: timestamps are UTC milliseconds
//! (pandas reads them as `datetime64[ms, UTC]`), values float64, missing values null.

use std::io::{self, Write};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use super::WideRows;
use crate::series::Series;

/// Rows per record batch (and so per row group at most): bounded memory, good compression.
const BATCH_ROWS: usize = 1 << 20;

/// Parquet's error as the I/O error underneath when there is one (a full disk), so the hint fits.
fn io_error(error: ParquetError) -> io::Error {
    match error {
        ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => *io,
            Err(other) => io::Error::other(other),
        },
        other => io::Error::other(other),
    }
}

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

fn writer<W: Write + Send>(out: W, schema: Arc<Schema>) -> io::Result<ArrowWriter<W>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(BATCH_ROWS))
        .build();
    ArrowWriter::try_new(out, schema, Some(properties)).map_err(io_error)
}

/// Columns `timestamp`, `metric`, `labels`, `value`: one row per sample.
pub(super) fn long(series: &[Series], out: &mut (impl Write + Send)) -> io::Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("timestamp", timestamp_type(), false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("labels", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
    ]));
    let mut writer = writer(out, schema.clone())?;
    let mut batch = LongBatch::default();
    for one in series {
        let labels = one.label_text();
        for (at, value) in &one.samples {
            batch.timestamps.push(*at);
            batch.metrics.append_value(one.metric());
            batch.labels.append_value(&labels);
            batch.values.append_value(*value);
            if batch.timestamps.len() == BATCH_ROWS {
                writer.write(&batch.take(&schema)?).map_err(io_error)?;
            }
        }
    }
    if !batch.timestamps.is_empty() {
        writer.write(&batch.take(&schema)?).map_err(io_error)?;
    }
    writer.close().map_err(io_error)?;
    Ok(())
}

#[derive(Default)]
struct LongBatch {
    timestamps: Vec<i64>,
    metrics: StringBuilder,
    labels: StringBuilder,
    values: Float64Builder,
}

impl LongBatch {
    fn take(&mut self, schema: &Arc<Schema>) -> io::Result<RecordBatch> {
        let timestamps = TimestampMillisecondArray::from(std::mem::take(&mut self.timestamps))
            .with_timezone("UTC");
        let columns: Vec<ArrayRef> = vec![
            Arc::new(timestamps),
            Arc::new(self.metrics.finish()),
            Arc::new(self.labels.finish()),
            Arc::new(self.values.finish()),
        ];
        RecordBatch::try_new(schema.clone(), columns).map_err(io::Error::other)
    }
}

/// Column `timestamp` and one nullable float column per series, named `metric{labels}`.
pub(super) fn wide(series: &[Series], out: &mut (impl Write + Send)) -> io::Result<()> {
    let mut fields = vec![Field::new("timestamp", timestamp_type(), false)];
    fields.extend(
        series
            .iter()
            .map(|one| Field::new(one.column_name(), DataType::Float64, true)),
    );
    let schema = Arc::new(Schema::new(fields));
    let mut writer = writer(out, schema.clone())?;
    let mut rows = WideRows::new(series);
    let all = std::mem::take(&mut rows.timestamps);
    let mut values = Vec::with_capacity(series.len());
    for chunk in all.chunks(BATCH_ROWS) {
        let mut columns: Vec<Float64Builder> = (0..series.len())
            .map(|_| Float64Builder::with_capacity(chunk.len()))
            .collect();
        for at in chunk {
            rows.values_at(*at, &mut values);
            for (column, value) in columns.iter_mut().zip(&values) {
                column.append_option(*value);
            }
        }
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(
            TimestampMillisecondArray::from(chunk.to_vec()).with_timezone("UTC"),
        )];
        arrays.extend(
            columns
                .iter_mut()
                .map(|column| Arc::new(column.finish()) as ArrayRef),
        );
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(io::Error::other)?;
        writer.write(&batch).map_err(io_error)?;
    }
    writer.close().map_err(io_error)?;
    Ok(())
}
