//! Duplicate rows: exact copies are removed, rows that share a key but disagree are flagged.
//!
//! Rows are hashed column-wise with DataFusion's vectorised hashing, sorted by hash, and only
//! rows whose hashes collide are compared value by value, so the cost is a sort of the hashes
//! rather than a hash table of every key.

use std::collections::HashSet;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::common::hash_utils::{RandomState, create_hashes};

use super::builders::LINE_COLUMN;
use crate::error::Result;
use crate::report::{Action, IssueKind, RowIssue};

/// How rows that collide are treated.
pub(crate) enum Identity<'a> {
    /// The table has a key: same key and same values = exact duplicate (removed); same key
    /// and other values = conflicting duplicate (flagged, kept).
    Key(&'a [&'a str]),
    /// No key: identical rows are flagged as possible duplicates and kept, since two equal
    /// rows may be two real events (two identical purchases on a day, say).
    WholeRow,
}

#[derive(Clone, Copy)]
struct RowRef {
    hash: u64,
    batch: u32,
    row: u32,
}

fn scalar(batches: &[RecordBatch], col: usize, r: RowRef) -> ScalarValue {
    ScalarValue::try_from_array(
        batches[r.batch as usize].column(col).as_ref(),
        r.row as usize,
    )
    .unwrap_or(ScalarValue::Null)
}

/// Finds duplicates; returns the batches without removed rows, and the entries.
pub(crate) fn dedupe(
    batches: Vec<RecordBatch>,
    identity: Identity<'_>,
) -> Result<(Vec<RecordBatch>, Vec<RowIssue>)> {
    let Some(first) = batches.first() else {
        return Ok((batches, Vec::new()));
    };
    let schema = first.schema();
    let line_idx = schema.index_of(LINE_COLUMN)?;
    let value_cols: Vec<usize> = (0..schema.fields().len())
        .filter(|i| *i != line_idx)
        .collect();
    let key_cols: Vec<usize> = match identity {
        Identity::Key(names) => {
            let mut cols = Vec::new();
            for name in names {
                cols.push(schema.index_of(name)?);
            }
            cols
        }
        Identity::WholeRow => value_cols.clone(),
    };
    let state = RandomState::with_seed(0x5a1e5f10);
    let mut refs = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    let mut hashes = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        let arrays: Vec<ArrayRef> = key_cols.iter().map(|i| batch.column(*i).clone()).collect();
        hashes.clear();
        hashes.resize(batch.num_rows(), 0);
        create_hashes(&arrays, &state, &mut hashes)?;
        for (row, hash) in hashes.iter().enumerate() {
            // Rows with an empty key have no identity to duplicate.
            if matches!(identity, Identity::Key(_)) && arrays.iter().any(|a| a.is_null(row)) {
                continue;
            }
            refs.push(RowRef {
                hash: *hash,
                batch: b as u32,
                row: row as u32,
            });
        }
    }
    refs.sort_unstable_by_key(|r| (r.hash, r.batch, r.row));
    let line_of = |r: RowRef| {
        batches[r.batch as usize]
            .column(line_idx)
            .as_primitive::<UInt64Type>()
            .value(r.row as usize)
    };
    let mut issues = Vec::new();
    let mut removed: HashSet<(u32, u32)> = HashSet::new();
    let mut start = 0;
    while start < refs.len() {
        let mut end = start + 1;
        while end < refs.len() && refs[end].hash == refs[start].hash {
            end += 1;
        }
        if end - start > 1 {
            // Within a hash run, rows are in file order; group them by actual key.
            let run = &refs[start..end];
            let mut groups: Vec<(Vec<ScalarValue>, Vec<RowRef>)> = Vec::new();
            for r in run {
                let key: Vec<ScalarValue> =
                    key_cols.iter().map(|c| scalar(&batches, *c, *r)).collect();
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, members)) => members.push(*r),
                    None => groups.push((key, vec![*r])),
                }
            }
            for (key, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
                let kept = members[0];
                let kept_line = line_of(kept);
                let kept_values: Vec<ScalarValue> = value_cols
                    .iter()
                    .map(|c| scalar(&batches, *c, kept))
                    .collect();
                let key_text = key
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                for other in &members[1..] {
                    let line = line_of(*other);
                    let same = value_cols
                        .iter()
                        .zip(&kept_values)
                        .all(|(c, v)| scalar(&batches, *c, *other) == *v);
                    let issue = match (&identity, same) {
                        (Identity::WholeRow, _) => RowIssue {
                            line,
                            column: None,
                            action: Action::Flagged,
                            kind: IssueKind::PossibleDuplicate,
                            value: None,
                            message: format!(
                                "identical to line {kept_line}; kept, as the table has no key to tell two real events apart (add an id column to deduplicate)"
                            ),
                        },
                        (Identity::Key(_), true) => {
                            removed.insert((other.batch, other.row));
                            RowIssue {
                                line,
                                column: None,
                                action: Action::Removed,
                                kind: IssueKind::ExactDuplicate,
                                value: Some(key_text.clone()),
                                message: format!("exact duplicate of line {kept_line}"),
                            }
                        }
                        (Identity::Key(names), false) => {
                            let differing: Vec<String> = value_cols
                                .iter()
                                .zip(&kept_values)
                                .filter(|(c, v)| scalar(&batches, **c, *other) != **v)
                                .map(|(c, v)| {
                                    format!(
                                        "{} {} vs {}",
                                        schema.field(*c).name(),
                                        v,
                                        scalar(&batches, *c, *other)
                                    )
                                })
                                .collect();
                            RowIssue {
                                line,
                                column: None,
                                action: Action::Flagged,
                                kind: IssueKind::ConflictingDuplicate,
                                value: Some(key_text.clone()),
                                message: format!(
                                    "{} {key_text} also on line {kept_line} with other values ({}); both kept: fix the export",
                                    names.join("+"),
                                    differing.join("; ")
                                ),
                            }
                        }
                    };
                    issues.push(issue);
                }
            }
        }
        start = end;
    }
    if removed.is_empty() {
        return Ok((batches, issues));
    }
    let mut out = Vec::with_capacity(batches.len());
    for (b, batch) in batches.into_iter().enumerate() {
        let keep: BooleanArray = (0..batch.num_rows())
            .map(|row| Some(!removed.contains(&(b as u32, row as u32))))
            .collect();
        out.push(datafusion::arrow::compute::filter_record_batch(
            &batch, &keep,
        )?);
    }
    Ok((out, issues))
}
