//! File sinks: CSV on the calling thread, Parquet on a dedicated thread.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;

use crate::DemoError;
use crate::chunk::{IdKind, Pending};
use crate::tables::Table;

/// Rows per Parquet row group.
pub(crate) const ROW_GROUP_ROWS: usize = 1_000_000;

/// An open CSV file; chunks arrive already encoded (see [`csv_bytes`]).
pub(crate) struct CsvSink {
    path: PathBuf,
    file: BufWriter<File>,
}

/// An open Parquet file.
pub(crate) struct ParquetSink {
    path: PathBuf,
    writer: ArrowWriter<BufWriter<File>>,
}

fn create(path: &Path) -> Result<BufWriter<File>, DemoError> {
    let file = File::create(path).map_err(|source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

fn csv_builder() -> WriterBuilder {
    WriterBuilder::new()
        .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%SZ".to_string())
        .with_date_format("%Y-%m-%d".to_string())
}

/// Encodes a batch as CSV rows without a header. Encoding batches separately
/// and concatenating the bytes gives the same file as one streaming writer.
pub(crate) fn csv_bytes(batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    let mut writer = csv_builder()
        .with_header(false)
        .build(Vec::with_capacity(batch.num_rows() * 64));
    writer.write(batch)?;
    Ok(writer.into_inner())
}

/// Opens `path` for CSV output of `table` and writes the header row.
pub(crate) fn open_csv(path: PathBuf, table: Table) -> Result<CsvSink, DemoError> {
    let mut file = create(&path)?;
    let mut header = csv_builder().with_header(true).build(Vec::new());
    header
        .write(&RecordBatch::new_empty(table.schema()))
        .map_err(|source| DemoError::Arrow {
            path: path.clone(),
            source,
        })?;
    file.write_all(&header.into_inner())
        .map_err(|source| DemoError::Io {
            path: path.clone(),
            source,
        })?;
    Ok(CsvSink { path, file })
}

/// Opens `path` for Parquet output of `table`.
pub(crate) fn open_parquet(path: PathBuf, table: Table) -> Result<ParquetSink, DemoError> {
    let level = ZstdLevel::try_new(1).map_err(|source| DemoError::Parquet {
        path: path.clone(),
        source,
    })?;
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    for &column in table.unique_columns() {
        props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    let writer = ArrowWriter::try_new(create(&path)?, table.schema(), Some(props.build()))
        .map_err(|source| DemoError::Parquet {
            path: path.clone(),
            source,
        })?;
    Ok(ParquetSink { path, writer })
}

impl CsvSink {
    /// Appends encoded rows.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), DemoError> {
        self.file.write_all(bytes).map_err(|source| DemoError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Flushes and closes the file.
    pub(crate) fn close(mut self) -> Result<(), DemoError> {
        self.file.flush().map_err(|source| DemoError::Io {
            path: self.path,
            source,
        })
    }
}

/// Body of the Parquet thread: writes every `(table, batch)` it receives into
/// the matching sink, then closes all sinks when the channel closes.
pub(crate) fn parquet_loop(
    rx: Receiver<(Table, RecordBatch)>,
    mut sinks: Vec<Option<ParquetSink>>,
) -> Result<(), DemoError> {
    for (table, batch) in rx {
        if let Some(sink) = sinks.get_mut(table.index()).and_then(Option::as_mut) {
            sink.writer
                .write(&batch)
                .map_err(|source| DemoError::Parquet {
                    path: sink.path.clone(),
                    source,
                })?;
        }
    }
    for sink in sinks.into_iter().flatten() {
        let path = sink.path;
        sink.writer
            .close()
            .map_err(|source| DemoError::Parquet { path, source })?;
    }
    Ok(())
}

/// Routes batches to the CSV sinks and the Parquet thread, counting rows.
pub(crate) struct Router {
    pub csv: Vec<Option<CsvSink>>,
    pub parquet: Option<SyncSender<(Table, RecordBatch)>>,
    pub rows: Vec<u64>,
}

impl Router {
    /// Writes one batch of `table`; `csv` is its CSV encoding if the caller
    /// already made it (it is encoded here otherwise, when CSV is wanted).
    pub(crate) fn emit(
        &mut self,
        table: Table,
        batch: RecordBatch,
        csv: Option<Vec<u8>>,
    ) -> Result<(), DemoError> {
        let i = table.index();
        self.rows[i] += batch.num_rows() as u64;
        if let Some(sink) = self.csv.get_mut(i).and_then(Option::as_mut) {
            let bytes = match csv {
                Some(bytes) => bytes,
                None => csv_bytes(&batch).map_err(|source| DemoError::Arrow {
                    path: sink.path.clone(),
                    source,
                })?,
            };
            sink.write(&bytes)?;
        }
        if let Some(tx) = &self.parquet
            && batch.num_rows() > 0
            && tx.send((table, batch)).is_err()
        {
            return Err(DemoError::Internal(
                "the Parquet writer thread stopped early".to_string(),
            ));
        }
        Ok(())
    }

    /// Closes the CSV files (the Parquet thread closes its own once the
    /// sender is dropped).
    pub(crate) fn close_csv(&mut self) -> Result<(), DemoError> {
        for sink in self.csv.iter_mut().filter_map(Option::take) {
            sink.close()?;
        }
        Ok(())
    }
}

/// Fills in a chunk's global id column, given the ids used so far.
pub(crate) fn finalize(
    pending: Pending,
    orders_before: u64,
    deals_before: u64,
) -> Result<RecordBatch, ArrowError> {
    let mut columns = pending.columns;
    if let Some(fill) = pending.id {
        let (prefix, width, base) = match fill.kind {
            IdKind::Order => ('O', 8, orders_before),
            IdKind::Deal => ('D', 6, deals_before),
        };
        let rows = match &fill.local {
            Some(local) => local.len(),
            None => columns.first().map_or(0, |c| c.len()),
        };
        let mut builder = StringBuilder::with_capacity(rows, rows * (width + 2));
        let mut buf = String::with_capacity(16);
        let mut push = |n: u64| {
            buf.clear();
            write!(buf, "{prefix}{:0width$}", base + n + 1)
                .expect("formatting into a String cannot fail");
            builder.append_value(&buf);
        };
        match &fill.local {
            Some(local) => local.iter().for_each(|&n| push(u64::from(n))),
            None => (0..rows as u64).for_each(push),
        }
        let ids: ArrayRef = Arc::new(builder.finish());
        columns.insert(fill.column.min(columns.len()), ids);
    }
    RecordBatch::try_new(pending.table.schema(), columns)
}
