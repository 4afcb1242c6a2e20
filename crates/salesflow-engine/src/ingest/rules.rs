//! Table-specific rules applied to typed batches: what a row's status means.
//!
//! Orders: `status` is normalised (trimmed, lower-case; refund-like words become `refunded`,
//! cancel-like words `cancelled`). Refunded and cancelled orders stay in the table, so they
//! can be counted, but are not purchases (the customer summaries skip them). A negative
//! amount is a refund: without a status it is marked `refunded` (a repair, reported); with a
//! status that says it is a purchase (e.g. `completed`) the row contradicts itself and is
//! rejected.

use std::borrow::Cow;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, StringViewBuilder};
use datafusion::arrow::datatypes::Float64Type;
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::TableKind;

use super::builders::LINE_COLUMN;
use crate::report::{Action, IssueKind, RowIssue};

/// Status words that mean the money went back.
const REFUND_WORDS: &[&str] = &[
    "refunded",
    "refund",
    "returned",
    "return",
    "chargeback",
    "charged_back",
    "reversed",
];
/// Status words that mean the order never happened.
const CANCEL_WORDS: &[&str] = &[
    "cancelled",
    "canceled",
    "cancel",
    "void",
    "voided",
    "failed",
    "declined",
    "rejected",
];

/// The canonical status of a refund.
pub const REFUNDED: &str = "refunded";
/// The canonical status of a cancelled order.
pub const CANCELLED: &str = "cancelled";

fn normalize_status(raw: &str) -> Cow<'_, str> {
    let raw = raw.trim();
    // Most exports already write lower-case words: no allocation for them.
    let s: Cow<'_, str> = if raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(raw.to_lowercase().replace([' ', '-'], "_"))
    };
    if REFUND_WORDS.contains(&s.as_ref()) {
        Cow::Borrowed(REFUNDED)
    } else if CANCEL_WORDS.contains(&s.as_ref()) {
        Cow::Borrowed(CANCELLED)
    } else {
        s
    }
}

/// Applies the table's rules; returns the batch (rejected rows removed) and the entries.
pub(crate) fn apply(
    table: TableKind,
    batch: RecordBatch,
) -> datafusion::arrow::error::Result<(RecordBatch, Vec<RowIssue>)> {
    match table {
        TableKind::Orders => orders(batch),
        _ => Ok((batch, Vec::new())),
    }
}

fn orders(batch: RecordBatch) -> datafusion::arrow::error::Result<(RecordBatch, Vec<RowIssue>)> {
    let schema = batch.schema();
    let (Ok(amount_idx), Ok(status_idx), Ok(line_idx)) = (
        schema.index_of("amount"),
        schema.index_of("status"),
        schema.index_of(LINE_COLUMN),
    ) else {
        return Ok((batch, Vec::new()));
    };
    let amounts = batch.column(amount_idx).as_primitive::<Float64Type>();
    let lines = batch
        .column(line_idx)
        .as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
    let statuses = batch.column(status_idx).as_string_view_opt();
    let mut new_status = StringViewBuilder::with_capacity(batch.num_rows());
    let mut keep = BooleanBuilder::with_capacity(batch.num_rows());
    let mut issues = Vec::new();
    // Most exports already write canonical statuses: then the column is kept as it is.
    let mut changed = false;
    for row in 0..batch.num_rows() {
        let status = statuses.filter(|s| s.is_valid(row)).map(|s| {
            let raw = s.value(row);
            let status = normalize_status(raw);
            changed |= status != raw;
            status
        });
        let amount = amounts.value(row);
        let line = lines.value(row);
        let mut kept = true;
        match status.as_deref() {
            _ if amount >= 0.0 || amounts.is_null(row) => {}
            None => {
                issues.push(RowIssue {
                    line,
                    column: Some("status".into()),
                    action: Action::Repaired,
                    kind: IssueKind::RefundWithoutStatus,
                    value: Some(amount.to_string()),
                    message: format!("negative amount {amount} without a status: marked `refunded`, not counted as a purchase"),
                });
                new_status.append_value(REFUNDED);
                keep.append_value(true);
                changed = true;
                continue;
            }
            Some(REFUNDED) | Some(CANCELLED) => {}
            Some(other) => {
                issues.push(RowIssue {
                    line,
                    column: Some("amount".into()),
                    action: Action::Rejected,
                    kind: IssueKind::NegativeAmount,
                    value: Some(amount.to_string()),
                    message: format!(
                        "negative amount {amount} on an order with status `{other}`; a refund needs status `refunded`, or fix the sign"
                    ),
                });
                kept = false;
            }
        }
        match status {
            Some(s) => new_status.append_value(s.as_ref()),
            None => new_status.append_null(),
        }
        keep.append_value(kept);
    }
    let batch = if changed {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns[status_idx] = Arc::new(new_status.finish());
        RecordBatch::try_new(schema, columns)?
    } else {
        batch
    };
    let keep = keep.finish();
    if keep.true_count() == batch.num_rows() {
        return Ok((batch, issues));
    }
    let batch = datafusion::arrow::compute::filter_record_batch(&batch, &keep)?;
    Ok((batch, issues))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_normalise() {
        assert_eq!(normalize_status(" Refunded "), "refunded");
        assert_eq!(normalize_status("CANCELED"), "cancelled");
        assert_eq!(normalize_status("Charged Back"), "refunded");
        assert_eq!(normalize_status("Completed"), "completed");
    }
}
