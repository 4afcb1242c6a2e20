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
use crate::report::{Action, IssueKind, RowIssue};

const SAMPLE: usize = 100_000;
const FENCE_IQRS: f64 = 3.0;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Flags extreme values of `column` (a Float64 column) across `batches`.
pub(crate) fn flag(batches: &[RecordBatch], column: &str) -> Vec<RowIssue> {
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return Vec::new();
    };
    let (Ok(idx), Ok(line_idx)) = (schema.index_of(column), schema.index_of(LINE_COLUMN)) else {
        return Vec::new();
    };
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let stride = (total / SAMPLE).max(1);
    let mut sample = Vec::with_capacity(total.min(SAMPLE) + 1);
    let mut seen = 0usize;
    for batch in batches {
        let values = batch.column(idx).as_primitive::<Float64Type>();
        for (i, v) in values.iter().enumerate() {
            if (seen + i).is_multiple_of(stride)
                && let Some(v) = v
                && v > 0.0
            {
                sample.push(v.ln());
            }
        }
        seen += batch.num_rows();
    }
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
