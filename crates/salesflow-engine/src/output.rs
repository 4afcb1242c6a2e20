//! Writing and printing result tables.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;

use crate::error::{EngineError, Result};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated with a header.
    Csv,
    /// A JSON array of row objects.
    Json,
    /// Apache Parquet.
    Parquet,
    /// A bordered text table (for terminals).
    Table,
}

impl Format {
    /// The format of an output path, by extension (CSV unless .json or .parquet).
    pub fn of_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("parquet" | "pq") => Format::Parquet,
            _ => Format::Csv,
        }
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes the batches to `out` in `format`.
pub fn write_batches(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: Format,
) -> Result<()> {
    match format {
        Format::Csv => {
            let mut text = Vec::with_capacity(1 << 16);
            if batches.is_empty() {
                crate::csv_text::append_csv(
                    &mut text,
                    &RecordBatch::new_empty(schema.clone()),
                    true,
                )?;
            }
            for (i, batch) in batches.iter().enumerate() {
                crate::csv_text::append_csv(&mut text, batch, i == 0)?;
                if text.len() >= 1 << 20 {
                    out.write_all(&text)
                        .map_err(datafusion::arrow::error::ArrowError::from)?;
                    text.clear();
                }
            }
            out.write_all(&text)
                .map_err(datafusion::arrow::error::ArrowError::from)?;
        }
        Format::Json => {
            let mut writer = datafusion::arrow::json::ArrayWriter::new(out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs)?;
            writer.finish()?;
        }
        Format::Table => {
            let text = if batches.is_empty() {
                datafusion::arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(
                    schema.clone(),
                )])?
            } else {
                datafusion::arrow::util::pretty::pretty_format_batches(batches)?
            };
            writeln!(out, "{text}").map_err(datafusion::arrow::error::ArrowError::from)?;
        }
        Format::Parquet => {
            return Err(EngineError::input(
                crate::Location::default(),
                "Parquet is a file format; it cannot be printed",
                Some("write it to a file: --out result.parquet".into()),
            ));
        }
    }
    Ok(())
}

/// Writes `text` to `path` beside its destination and renames it into place (parent folders
/// are created), so a failed write never leaves half a file behind.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let tmp = path.with_extension(format!(
        "{}.partial",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    let result = std::fs::write(&tmp, text)
        .map_err(io_err(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_err(path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes the batches to a file; the format follows the extension (`.csv`, `.json`,
/// `.parquet`). The file is written beside its destination and renamed into place, so a
/// failed write never leaves half a file behind.
pub fn write_file(path: &Path, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let format = Format::of_path(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let tmp = path.with_extension(format!(
        "{}.partial",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    let result = (|| -> Result<()> {
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        match format {
            Format::Parquet => {
                let mut writer = ArrowWriter::try_new(file, schema.clone(), None)
                    .map_err(|e| EngineError::Arrow(e.into()))?;
                for batch in batches {
                    writer
                        .write(batch)
                        .map_err(|e| EngineError::Arrow(e.into()))?;
                }
                writer.close().map_err(|e| EngineError::Arrow(e.into()))?;
            }
            Format::Csv => {
                let mut out = BufWriter::with_capacity(1 << 20, file);
                write_csv_parallel(&mut out, schema, batches)?;
                out.flush().map_err(io_err(&tmp))?;
            }
            other => {
                let mut out = BufWriter::with_capacity(1 << 20, file);
                write_batches(&mut out, schema, batches, other)?;
                out.flush().map_err(io_err(&tmp))?;
            }
        }
        std::fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// CSV text of many batches, formatted on every core and written in order (formatting
/// numbers is most of the cost of writing CSV).
fn write_csv_parallel(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    write_csv_on_threads(out, schema, batches, crate::default_threads())
}

/// Rows per piece of text a worker formats at a time.
const SLICE_ROWS: usize = 65_536;

/// The batches cut into pieces of [`SLICE_ROWS`] rows, formatted by `threads` workers (each
/// takes the next piece as it comes free) and written in order by the calling thread as they
/// are done, so writing overlaps formatting and only a few pieces' text is in memory at a time
/// (the whole file's text was, formatted per core into one growing buffer each). With zmij for
/// the floats, bench/clv's 118 MB predictions.csv went from 0.37 to 0.16 s ("predictions
/// written", `SALESFLOW_TIMINGS=1 salesflow clv --orders ...`).
fn write_csv_on_threads(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    threads: usize,
) -> Result<()> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if threads < 2 || rows < 100_000 {
        return write_batches(out, schema, batches, Format::Csv);
    }
    // Zero-copy slices, so that one big batch (a table built in memory) is shared out too.
    let pieces: Vec<RecordBatch> = batches
        .iter()
        .flat_map(|batch| {
            (0..batch.num_rows())
                .step_by(SLICE_ROWS)
                .map(|start| batch.slice(start, SLICE_ROWS.min(batch.num_rows() - start)))
        })
        .collect();
    let next = AtomicUsize::new(0);
    // Buffers written out go back to the workers.
    let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let (done, finished) = mpsc::channel::<(usize, Result<Vec<u8>>)>();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..threads {
            let (done, next, spare, pieces) = (done.clone(), &next, &spare, &pieces);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(piece) = pieces.get(i) else { break };
                    let mut text = spare
                        .lock()
                        .ok()
                        .and_then(|mut spare| spare.pop())
                        .unwrap_or_default();
                    text.clear();
                    let result = crate::csv_text::append_csv(&mut text, piece, i == 0)
                        .map(|()| text)
                        .map_err(EngineError::from);
                    if done.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        // Pieces that arrived before an earlier one, by index.
        let mut early: BTreeMap<usize, Result<Vec<u8>>> = BTreeMap::new();
        let mut written = 0;
        for (i, text) in finished.iter() {
            early.insert(i, text);
            while let Some(text) = early.remove(&written) {
                let text = text.and_then(|text| {
                    out.write_all(&text)
                        .map_err(|e| EngineError::Arrow(e.into()))?;
                    Ok(text)
                });
                match text {
                    Ok(text) => {
                        if let Ok(mut spare) = spare.lock() {
                            spare.push(text);
                        }
                        written += 1;
                    }
                    Err(e) => {
                        // The workers stop at their next piece.
                        next.store(pieces.len(), Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        }
        // Every worker has ended. A piece is missing only if a worker panicked, and the scope
        // re-raises that panic as it returns.
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Float64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn parallel_csv_of_one_big_batch_is_the_serial_text() {
        let rows = 150_001;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("value", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("C{i}")),
                )),
                Arc::new(Float64Array::from_iter(
                    (0..rows).map(|i| (i % 7 != 0).then_some(i as f64 / 3.0)),
                )),
            ],
        )
        .unwrap();
        let batches = [batch.slice(0, 10), batch.slice(10, rows - 10)];
        let (mut serial, mut parallel) = (Vec::new(), Vec::new());
        write_batches(&mut serial, &schema, &batches, Format::Csv).unwrap();
        write_csv_on_threads(&mut parallel, &schema, &batches, 4).unwrap();
        assert_eq!(serial.len(), parallel.len());
        assert!(serial == parallel);
        assert!(serial.starts_with(b"id,value\nC0,\nC1,0.3333333333333333\n"));
    }
}
