//! Reading plain numeric tables (customer summaries, cohort counts) for the models.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

use crate::error::{EngineError, Location, Result};
use crate::ingest::FileFormat;

/// The line number of a file's first data row as messages give it: a CSV's header is line
/// 1, a Parquet file's rows count from 1.
pub fn first_data_line(path: &Path) -> u64 {
    if FileFormat::of(path) == FileFormat::Csv {
        2
    } else {
        1
    }
}

/// Named numeric columns of a file, as `f64`, every value present and finite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumericColumns {
    /// The label column (`customer_id` unless asked otherwise) as text, when the file has
    /// one.
    pub ids: Option<Vec<String>>,
    /// The requested columns that were found, by name.
    pub columns: BTreeMap<String, Vec<f64>>,
    /// Number of rows.
    pub rows: usize,
}

impl NumericColumns {
    /// The column `name` (it was required, or found).
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.columns.get(name).map(Vec::as_slice)
    }
}

/// Reads `required` and, where present, `optional` numeric columns of a CSV (with a header)
/// or Parquet file, with `customer_id` as the label. A missing required column, an empty,
/// non-numeric or non-finite value is an error that names the column and the line.
pub async fn read_numeric_columns(
    path: &Path,
    required: &[&str],
    optional: &[&str],
) -> Result<NumericColumns> {
    read_labelled_numeric_columns(path, "customer_id", required, optional).await
}

/// [`read_numeric_columns`] with the text column `label` as the rows' names.
pub async fn read_labelled_numeric_columns(
    path: &Path,
    label: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<NumericColumns> {
    if !path.is_file() {
        return Err(EngineError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let ctx = SessionContext::new();
    let path_text = path.to_string_lossy();
    let frame = match FileFormat::of(path) {
        FileFormat::Parquet => {
            ctx.read_parquet(path_text.as_ref(), ParquetReadOptions::default())
                .await?
        }
        FileFormat::Csv => {
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_string();
            ctx.read_csv(
                path_text.as_ref(),
                CsvReadOptions::new()
                    .has_header(true)
                    .file_extension(&extension),
            )
            .await?
        }
    };
    let header: Vec<String> = frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let location = |line: Option<u64>, column: Option<&str>| Location {
        file: Some(path.to_owned()),
        line,
        column: column.map(str::to_string),
    };
    for name in required {
        if !header.iter().any(|h| h == name) {
            return Err(EngineError::input(
                location(Some(1), None),
                format!(
                    "required column `{name}` not found; columns found: {}",
                    header.join(", ")
                ),
                Some(format!(
                    "the file needs the columns {}",
                    required.join(", ")
                )),
            ));
        }
    }
    let batches = frame.collect().await?;
    let mut out = NumericColumns::default();
    let first_line = first_data_line(path);
    for name in required
        .iter()
        .chain(optional)
        .filter(|n| header.iter().any(|h| h == *n))
    {
        let mut values = Vec::new();
        for batch in &batches {
            let Some(raw) = batch.column_by_name(name) else {
                continue;
            };
            let numbers = cast(raw, &DataType::Float64)?;
            let numbers = numbers.as_primitive::<Float64Type>();
            for i in 0..numbers.len() {
                let line = first_line + (values.len() as u64);
                if numbers.is_null(i) || !numbers.value(i).is_finite() {
                    let text = cast(raw, &DataType::Utf8).ok();
                    let shown = text
                        .as_ref()
                        .map(|t| t.as_string::<i32>())
                        .filter(|t| t.is_valid(i))
                        .map_or(String::from("an empty value"), |t| {
                            format!("`{}`", t.value(i))
                        });
                    return Err(EngineError::input(
                        location(Some(line), Some(name)),
                        format!("{shown} is not a finite number"),
                        Some("every value of this column must be a number".into()),
                    ));
                }
                values.push(numbers.value(i));
            }
        }
        out.rows = values.len();
        out.columns.insert(name.to_string(), values);
    }
    if header.iter().any(|h| h == label) {
        let mut ids = Vec::with_capacity(out.rows);
        for batch in &batches {
            if let Some(raw) = batch.column_by_name(label) {
                let text = cast(raw, &DataType::Utf8)?;
                ids.extend(
                    text.as_string::<i32>()
                        .iter()
                        .map(|v| v.unwrap_or_default().to_string()),
                );
            }
        }
        out.ids = Some(ids);
    }
    Ok(out)
}
