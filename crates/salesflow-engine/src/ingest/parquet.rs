//! Parquet files to the canonical typed batches.
//!
//! Row groups are decoded on every core and kept in file order, so a row's number in the
//! cleaning report is its position in the file. Columns already of the canonical type pass
//! through; other numeric and temporal types are cast; text columns are parsed like CSV
//! fields, and values that do not parse are reported with their row.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    StringArray, TimestampMicrosecondBuilder, UInt64Array,
};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use salesflow_core::{Locale, ValueKind};

use super::builders::arrow_type;
use super::columns::OutputColumn;
use crate::error::{EngineError, Location, Result};
use crate::parse::{DateFormat, micros_to_days, parse_bool, parse_integer, parse_number};
use crate::report::{Action, IssueKind, RowIssue};

fn io(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::input(
        Location {
            file: Some(path.to_owned()),
            line: None,
            column: None,
        },
        format!("cannot read as Parquet: {e}"),
        Some(
            "check that the file is a complete Parquet file (or give it a .csv name if it is text)"
                .into(),
        ),
    )
}

/// The file's column names and its batches in file order.
pub(crate) fn read(path: &Path, threads: usize) -> Result<(Vec<String>, Vec<RecordBatch>)> {
    let open = || {
        File::open(path).map_err(|source| EngineError::Io {
            path: path.to_owned(),
            source,
        })
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(|e| io(path, e))?;
    let header: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    // Read text straight into string views, the type the cleaned tables use.
    let view_schema = Arc::new(Schema::new(
        builder
            .schema()
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 => {
                    f.as_ref().clone().with_data_type(DataType::Utf8View)
                }
                _ => f.as_ref().clone(),
            })
            .collect::<Vec<_>>(),
    ));
    let options = ArrowReaderOptions::new().with_schema(view_schema);
    let options = &options;
    let groups = builder.metadata().num_row_groups();
    drop(builder);
    let mut per_group: Vec<Result<Vec<RecordBatch>>> =
        (0..groups).map(|_| Ok(Vec::new())).collect();
    let threads = threads.max(1).min(groups.max(1));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for g in (t..groups).step_by(threads) {
                        let batches = (|| -> Result<Vec<RecordBatch>> {
                            let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(
                                open()?,
                                options.clone(),
                            )
                            .map_err(|e| io(path, e))?
                            .with_row_groups(vec![g])
                            .with_batch_size(64 * 1024)
                            .build()
                            .map_err(|e| io(path, e))?;
                            reader
                                .collect::<std::result::Result<Vec<_>, _>>()
                                .map_err(|e| io(path, e))
                        })();
                        out.push((g, batches));
                    }
                    out
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(results) => {
                    for (g, batches) in results {
                        per_group[g] = batches;
                    }
                }
                // Never let a lost thread drop row groups silently.
                Err(_) => per_group[0] = Err(EngineError::worker_panicked("Parquet reader")),
            }
        }
    });
    let mut batches = Vec::new();
    for group in per_group {
        batches.extend(group?);
    }
    Ok((header, batches))
}

/// Converts one source batch to the canonical schema; `first_row` is the 1-based file row of
/// its first row. Rows with unusable values are left out and reported.
pub(crate) fn convert(
    batch: &RecordBatch,
    columns: &[OutputColumn],
    schema: &SchemaRef,
    locale: Locale,
    first_row: u64,
) -> Result<(RecordBatch, Vec<RowIssue>)> {
    let n = batch.num_rows();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len() + 1);
    let mut bad: Vec<Option<RowIssue>> = vec![None; n];
    for column in columns {
        let target = arrow_type(column.kind);
        let Some(source) = column.source.map(|i| batch.column(i)) else {
            arrays.push(datafusion::arrow::array::new_null_array(&target, n));
            continue;
        };
        let converted = convert_column(source, column, &target, locale, first_row, &mut bad)?;
        if column.required {
            for (row, slot) in bad.iter_mut().enumerate() {
                if converted.is_null(row) && slot.is_none() {
                    *slot = Some(RowIssue {
                        line: first_row + row as u64,
                        column: Some(column.name.clone()),
                        action: Action::Rejected,
                        kind: IssueKind::MissingValue,
                        value: None,
                        message: format!("required value `{}` is empty", column.name),
                    });
                }
            }
        }
        arrays.push(converted);
    }
    arrays.push(Arc::new(UInt64Array::from_iter_values(
        first_row..first_row + n as u64,
    )));
    let issues: Vec<RowIssue> = bad.iter().flatten().cloned().collect();
    // Required columns may hold nulls until the rejected rows are filtered out.
    let loose = Arc::new(datafusion::arrow::datatypes::Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    let mut out = RecordBatch::try_new(loose, arrays)?;
    if !issues.is_empty() {
        let keep: datafusion::arrow::array::BooleanArray =
            bad.iter().map(|b| Some(b.is_none())).collect();
        out = filter_record_batch(&out, &keep)?;
    }
    Ok((
        RecordBatch::try_new(schema.clone(), out.columns().to_vec())?,
        issues,
    ))
}

fn convert_column(
    source: &ArrayRef,
    column: &OutputColumn,
    target: &DataType,
    locale: Locale,
    first_row: u64,
    bad: &mut [Option<RowIssue>],
) -> Result<ArrayRef> {
    let is_text = matches!(
        source.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    if source.data_type() == target {
        return Ok(source.clone());
    }
    if !is_text || matches!(column.kind, ValueKind::Id | ValueKind::Text) {
        // Numbers to numbers, timestamps between units, anything to text.
        if matches!(column.kind, ValueKind::Timestamp | ValueKind::Date)
            && !matches!(
                source.data_type(),
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
            )
            && !is_text
        {
            return Err(EngineError::input(
                Location {
                    file: None,
                    line: None,
                    column: column.source_name.clone(),
                },
                format!(
                    "`{}` holds {} values, not dates or times",
                    column.name,
                    source.data_type()
                ),
                Some("store it as a Parquet timestamp or date, or as ISO 8601 text".into()),
            ));
        }
        return cast(source, target).map_err(|e| {
            EngineError::input(
                Location {
                    file: None,
                    line: None,
                    column: column.source_name.clone(),
                },
                format!(
                    "`{}` holds {} values, which cannot be read as {target}: {e}",
                    column.name,
                    source.data_type()
                ),
                None,
            )
        });
    }
    let text = cast(source, &DataType::Utf8)?;
    let text: &StringArray = text.as_string::<i32>();
    let mut fail = |row: usize, value: &str, why: String| {
        if bad[row].is_none() {
            bad[row] = Some(RowIssue {
                line: first_row + row as u64,
                column: Some(column.name.clone()),
                action: Action::Rejected,
                kind: IssueKind::Unparseable,
                value: Some(value.to_string()),
                message: format!("{}: {why}", column.name),
            });
        }
    };
    let n = text.len();
    let array: ArrayRef = match column.kind {
        ValueKind::Timestamp | ValueKind::Date => {
            let format = column.date_format.clone().unwrap_or(DateFormat::Iso);
            let mut ts = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
            let mut dates = Date32Builder::with_capacity(n);
            for (row, v) in text.iter().enumerate() {
                let parsed = v
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| (s, format.parse_micros(s)));
                match parsed {
                    Some((_, Some(m))) => {
                        ts.append_value(m);
                        dates.append_value(micros_to_days(m));
                    }
                    Some((s, None)) => {
                        fail(
                            row,
                            s,
                            format!(
                                "`{s}` is not a date in the column's format, {}",
                                format.describe()
                            ),
                        );
                        ts.append_null();
                        dates.append_null();
                    }
                    None => {
                        ts.append_null();
                        dates.append_null();
                    }
                }
            }
            if column.kind == ValueKind::Date {
                Arc::new(dates.finish())
            } else {
                Arc::new(ts.finish())
            }
        }
        ValueKind::Money | ValueKind::Float => {
            let mut b = Float64Builder::with_capacity(n);
            for (row, v) in text.iter().enumerate() {
                match v
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| (s, parse_number(s, locale)))
                {
                    Some((_, Ok(x))) => b.append_value(x),
                    Some((s, Err(e))) => {
                        fail(row, s, e.0);
                        b.append_null();
                    }
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        ValueKind::Integer => {
            let mut b = Int64Builder::with_capacity(n);
            for (row, v) in text.iter().enumerate() {
                match v
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| (s, parse_integer(s, locale)))
                {
                    Some((_, Ok(x))) => b.append_value(x),
                    Some((s, Err(e))) => {
                        fail(row, s, e.0);
                        b.append_null();
                    }
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        ValueKind::Boolean => {
            let mut b = BooleanBuilder::with_capacity(n);
            for (row, v) in text.iter().enumerate() {
                match v
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| (s, parse_bool(s)))
                {
                    Some((_, Ok(x))) => b.append_value(x),
                    Some((s, Err(e))) => {
                        fail(row, s, e.0);
                        b.append_null();
                    }
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        ValueKind::Id | ValueKind::Text => unreachable!("text columns are cast above"),
    };
    Ok(array)
}
