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

/// The columns the table's rules look at (read even when a command does not use them).
pub(crate) fn columns_read(table: TableKind) -> &'static [&'static str] {
    match table {
        TableKind::Orders => &["amount", "status"],
        _ => &[],
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
    let rows = batch.num_rows();
    // Most exports already write canonical statuses: then the column is kept as it is, and a
    // new one is only built from the first row that changes (building it for every batch
    // was 53 MB of fresh memory and 3.3 M appends on bench/clv's orders, to be thrown away).
    let mut rebuilt: Option<StringViewBuilder> = None;
    let rebuild_up_to = |end: usize| {
        let mut builder = StringViewBuilder::with_capacity(rows);
        for row in 0..end {
            match statuses.filter(|s| s.is_valid(row)) {
                Some(s) => builder.append_value(s.value(row)),
                None => builder.append_null(),
            }
        }
        builder
    };
    let mut keep = BooleanBuilder::with_capacity(rows);
    let mut issues = Vec::new();
    // Statuses repeat: the last one's normal form is reused for the same text.
    let mut last: Option<(&str, Cow<'_, str>)> = None;
    for row in 0..rows {
        let raw = statuses.filter(|s| s.is_valid(row)).map(|s| s.value(row));
        let status: Option<Cow<'_, str>> = raw.map(|raw| match &last {
            Some((text, normal)) if *text == raw => normal.clone(),
            _ => {
                let normal = normalize_status(raw);
                last = Some((raw, normal.clone()));
                normal
            }
        });
        let amount = amounts.value(row);
        let line = lines.value(row);
        let mut kept = true;
        let mut value = status.as_deref();
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
                value = Some(REFUNDED);
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
        if rebuilt.is_none() && value != raw {
            rebuilt = Some(rebuild_up_to(row));
        }
        if let Some(builder) = rebuilt.as_mut() {
            match value {
                Some(s) => builder.append_value(s),
                None => builder.append_null(),
            }
        }
        keep.append_value(kept);
    }
    let batch = match rebuilt {
        Some(mut builder) => {
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            columns[status_idx] = Arc::new(builder.finish());
            RecordBatch::try_new(schema, columns)?
        }
        None => batch,
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

    /// The status column is kept as it is while every status is canonical, and rebuilt from
    /// the first row that changes: the rows before it keep their values, nulls included.
    #[test]
    fn statuses_are_rebuilt_only_from_the_first_change() {
        use datafusion::arrow::array::{Float64Array, StringViewArray, UInt64Array};
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let batch = |statuses: Vec<Option<&str>>, amounts: Vec<f64>| {
            let rows = statuses.len() as u64;
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![
                    Field::new("amount", DataType::Float64, true),
                    Field::new("status", DataType::Utf8View, true),
                    Field::new(LINE_COLUMN, DataType::UInt64, false),
                ])),
                vec![
                    Arc::new(Float64Array::from(amounts)),
                    Arc::new(StringViewArray::from(statuses)),
                    Arc::new(UInt64Array::from_iter_values(2..2 + rows)),
                ],
            )
            .unwrap()
        };
        let statuses = |batch: &RecordBatch| -> Vec<Option<String>> {
            batch
                .column(1)
                .as_string_view()
                .iter()
                .map(|s| s.map(str::to_string))
                .collect()
        };
        let canonical = batch(
            vec![Some("completed"), None, Some("completed")],
            vec![1.0; 3],
        );
        let column = Arc::clone(canonical.column(1));
        let (same, issues) = orders(canonical).unwrap();
        assert!(issues.is_empty() && Arc::ptr_eq(&column, same.column(1)));

        let mixed = batch(
            vec![
                Some("completed"),
                None,
                Some("Refunded"),
                Some("completed"),
                None,
                Some("completed"),
            ],
            vec![5.0, 3.0, 2.0, 1.0, -4.0, -1.0],
        );
        let (out, issues) = orders(mixed).unwrap();
        let kinds: Vec<_> = issues.iter().map(|i| (i.line, i.kind)).collect();
        assert_eq!(
            kinds,
            [
                (6, IssueKind::RefundWithoutStatus),
                (7, IssueKind::NegativeAmount)
            ]
        );
        let text = |s: &str| Some(s.to_string());
        assert_eq!(
            statuses(&out),
            [
                text("completed"),
                None,
                text("refunded"),
                text("completed"),
                text("refunded")
            ]
        );
    }

    #[test]
    fn status_words_normalise() {
        assert_eq!(normalize_status(" Refunded "), "refunded");
        assert_eq!(normalize_status("CANCELED"), "cancelled");
        assert_eq!(normalize_status("Charged Back"), "refunded");
        assert_eq!(normalize_status("Completed"), "completed");
    }
}
