//! Extreme values of money columns, flagged (never dropped).
//!
//! Amounts are heavy-tailed, so fences are set on the log scale: a positive amount is extreme
//! when its logarithm lies more than 3 interquartile ranges beyond the quartiles (Tukey's
//! "far out" fence) of the column's log-amounts. For log-normal spending that is about one
//! row in a million; quartiles come from an evenly spaced sample of up to 100,000 values.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, UInt64Type};
use datafusion::arrow::record_batch::RecordBatch;

use super::builders::LINE_COLUMN;
use crate::positions::Positions;
use crate::report::{Action, IssueKind, RowIssue};

const SAMPLE: usize = 100_000;
const FENCE_IQRS: f64 = 3.0;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The logarithms of the positive values of column `idx` in an evenly spaced sample of the
/// rows (every row of a table of up to [`SAMPLE`] rows).
fn sampled_logs(batches: &[RecordBatch], idx: usize) -> Vec<f64> {
    let positions = Positions::of(batches);
    let stride = (positions.rows() / SAMPLE).max(1);
    let mut sample = Vec::with_capacity(positions.rows().min(SAMPLE) + 1);
    for (b, batch) in batches.iter().enumerate() {
        let values = batch.column(idx).as_primitive::<Float64Type>();
        // Every `stride`-th row of the table, stepped to directly: with a remainder per row
        // "outliers" took 19-31 ms on bench/clv's 3.3 M orders, this way 11-12 ms
        // (SALESFLOW_TIMINGS=1, three interleaved runs).
        let first = (stride - positions.start(b) % stride) % stride;
        for i in (first..batch.num_rows()).step_by(stride) {
            if values.is_valid(i) && values.value(i) > 0.0 {
                sample.push(values.value(i).ln());
            }
        }
    }
    sample
}

/// Flags extreme values of `column` (a Float64 column) across `batches`.
pub(crate) fn flag(batches: &[RecordBatch], column: &str) -> Vec<RowIssue> {
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return Vec::new();
    };
    let (Ok(idx), Ok(line_idx)) = (schema.index_of(column), schema.index_of(LINE_COLUMN)) else {
        return Vec::new();
    };
    let mut sample = sampled_logs(batches, idx);
    if sample.len() < 20 {
        return Vec::new();
    }
    sample.sort_unstable_by(f64::total_cmp);
    let (q1, q3) = (quantile(&sample, 0.25), quantile(&sample, 0.75));
    let iqr = q3 - q1;
    if iqr <= 0.0 {
        return Vec::new();
    }
    let (low, high) = ((q1 - FENCE_IQRS * iqr).exp(), (q3 + FENCE_IQRS * iqr).exp());
    let mut issues = Vec::new();
    for batch in batches {
        let values = batch.column(idx).as_primitive::<Float64Type>();
        let lines = batch.column(line_idx).as_primitive::<UInt64Type>();
        for row in 0..batch.num_rows() {
            if values.is_null(row) {
                continue;
            }
            let v = values.value(row);
            if v > 0.0 && (v > high || v < low) {
                let side = if v > high {
                    format!("above {high:.2}")
                } else {
                    format!("below {low:.2}")
                };
                issues.push(RowIssue {
                    line: lines.value(row),
                    column: Some(column.to_string()),
                    action: Action::Flagged,
                    kind: IssueKind::Outlier,
                    value: Some(v.to_string()),
                    message: format!("{column} {v} is extreme ({side}, 3 IQRs beyond the quartiles on the log scale); kept, check it"),
                });
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Float64Array;

    use super::*;

    /// The sample is every `stride`-th row of the table, whatever the batches' sizes, without
    /// nulls and values that are not positive.
    #[test]
    fn the_sample_is_every_stride_th_row() {
        for rows in [0, 5, SAMPLE, 2 * SAMPLE + 1, 7 * SAMPLE + 3] {
            let values: Vec<Option<f64>> = (0..rows)
                .map(|i| match i % 11 {
                    0 => None,
                    1 => Some(-1.0),
                    _ => Some(1.0 + i as f64),
                })
                .collect();
            let mut batches = Vec::new();
            let mut start = 0;
            for len in (1..).map(|k| (k * 7_919) % 50_000) {
                let end = (start + len).min(rows);
                let part: Float64Array = values[start..end].iter().copied().collect();
                batches
                    .push(RecordBatch::try_from_iter([("amount", Arc::new(part) as _)]).unwrap());
                start = end;
                if start == rows {
                    break;
                }
            }
            let stride = (rows / SAMPLE).max(1);
            let expected: Vec<f64> = values
                .iter()
                .step_by(stride)
                .flatten()
                .filter(|v| **v > 0.0)
                .map(|v| v.ln())
                .collect();
            assert_eq!(sampled_logs(&batches, 0), expected, "{rows} rows");
        }
    }
}
