//! Columns of engine results read as numbers or text for the supervised models.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{AnalyticsError, Result};

/// A result column that is missing: salesflow's own mistake, not the user's.
pub(crate) fn missing(name: &str) -> AnalyticsError {
    AnalyticsError::Engine(salesflow_engine::EngineError::Internal(format!(
        "the engine's result has no column {name}"
    )))
}

/// Column `name` of `batches` as numbers (`None` for nulls and non-finite values).
pub(crate) fn numbers(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for batch in batches {
        let column = batch.column_by_name(name).ok_or_else(|| missing(name))?;
        let column =
            cast(column, &DataType::Float64).map_err(|e| AnalyticsError::Engine(e.into()))?;
        let column = column.as_primitive::<Float64Type>();
        out.extend(
            (0..column.len())
                .map(|i| Some(column.value(i)).filter(|v| column.is_valid(i) && v.is_finite())),
        );
    }
    Ok(out)
}

/// Column `name` of `batches` as numbers, where salesflow guarantees no nulls. A value that is
/// not finite (an amount so large that a sum overflows) is the input's fault.
pub(crate) fn required_numbers(batches: &[RecordBatch], name: &str) -> Result<Vec<f64>> {
    numbers(batches, name)?
        .into_iter()
        .enumerate()
        .map(|(row, v)| {
            v.ok_or_else(|| {
                AnalyticsError::Engine(salesflow_engine::EngineError::input(
                    salesflow_engine::Location::default(),
                    format!(
                        "customer {} of the summary: {name} is not a finite number",
                        row + 1
                    ),
                    Some(
                        "check orders.amount for values too large to add up (above about 1e300)"
                            .into(),
                    ),
                ))
            })
        })
        .collect()
}

/// Column `name` of `batches` as text (`None` for nulls).
pub(crate) fn texts(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<String>>> {
    let mut out = Vec::new();
    for batch in batches {
        let column = batch.column_by_name(name).ok_or_else(|| missing(name))?;
        let column = cast(column, &DataType::Utf8).map_err(|e| AnalyticsError::Engine(e.into()))?;
        let column = column.as_string::<i32>();
        out.extend(
            (0..column.len()).map(|i| column.is_valid(i).then(|| column.value(i).to_owned())),
        );
    }
    Ok(out)
}

/// The number of distinct values (nulls as one) of text column `name`, or `None` once it
/// passes `limit`: checked on the Arrow arrays, so a column of a million unique emails costs
/// no allocation per row.
pub(crate) fn distinct_up_to(
    batches: &[RecordBatch],
    name: &str,
    limit: usize,
) -> Result<Option<usize>> {
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut null = false;
    for batch in batches {
        let column = batch.column_by_name(name).ok_or_else(|| missing(name))?;
        let column = cast(column, &DataType::Utf8).map_err(|e| AnalyticsError::Engine(e.into()))?;
        let column = column.as_string::<i32>();
        for i in 0..column.len() {
            if !column.is_valid(i) {
                null = true;
            } else if !seen.contains(column.value(i)) {
                seen.insert(column.value(i).to_owned());
            }
            if seen.len() + usize::from(null) > limit {
                return Ok(None);
            }
        }
    }
    Ok(Some(seen.len() + usize::from(null)))
}
