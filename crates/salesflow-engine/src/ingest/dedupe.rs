//! Duplicate rows: exact copies are removed, rows that share a key but disagree are flagged.
//!
//! Rows are hashed column-wise with DataFusion's vectorised hashing, split by the hash's top
//! bits into partitions small enough to sort in cache, sorted by hash, and only rows whose
//! hashes collide are compared value by value, so the cost is a pass and small sorts rather
//! than a hash table of every key.

use std::collections::HashSet;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{SchemaRef, UInt64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::common::hash_utils::{RandomState, create_hashes};

use super::builders::{LINE_COLUMN, UNREAD_COLUMN};
use crate::error::{EngineError, Result};
use crate::positions::Positions;
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

/// Partitions of the hashes per core: a few thousand rows each for millions of rows.
const PARTITIONS_PER_THREAD: usize = 256;

/// What scanning one hash bucket finds: the entries, and the rows to remove.
type BucketScan = (Vec<RowIssue>, HashSet<(u32, u32)>);

/// Where a row is: its batch and its row in the batch.
#[derive(Clone, Copy)]
struct RowRef {
    batch: u32,
    row: u32,
}

/// A row as the hashing passes keep it: the low 32 bits of its key's hash above its position
/// in the table (rows counted across batches), one `u64`. The partition it is in holds the
/// hash's top bits; sorted, a partition's rows come by hash and then in file order, so a run
/// needs no second sort. Half the memory of a full hash with a batch and a row (3.3 M entries
/// on bench/clv: 26 MB instead of 53); with the partitions sized up front, "dedupe" went from
/// 118-130 to 73-94 ms (SALESFLOW_TIMINGS=1, five interleaved runs).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hashed(u64);

impl Hashed {
    fn hash_bits(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The row's batch and row.
    fn locate(self, positions: &Positions) -> RowRef {
        let (batch, row) = positions.locate((self.0 & u64::from(u32::MAX)) as usize);
        RowRef {
            batch: batch as u32,
            row: row as u32,
        }
    }
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
    threads: usize,
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
    // Each batch's first position in the table; a `Hashed` holds a position in 32 bits.
    let positions = Positions::of(&batches);
    let rows = positions.rows();
    if u32::try_from(rows).is_err() {
        return Err(EngineError::input(
            crate::Location::default(),
            format!("a table of {rows} rows is more than one table can hold (4,294,967,295)"),
            Some("split the file and read the parts as separate tables".into()),
        ));
    }
    let threads = threads.clamp(1, batches.len());
    // Hash every row's key on all cores, into partitions by the hash's top bits (rows with
    // equal keys meet in the same one); then each core sorts and scans a range of partitions.
    // One sort of all rows per core was most of this step (0.09 s on bench/clv's 3.3 M
    // orders, SALESFLOW_TIMINGS=1); partitions of a few thousand rows sort in cache.
    let partitions = threads * PARTITIONS_PER_THREAD;
    let partition_of = |hash: u64| (((hash >> 32) * partitions as u64) >> 32) as usize;
    let key_only = matches!(identity, Identity::Key(_));
    let hashed: Vec<Result<Vec<Vec<Hashed>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (batches, key_cols, positions) = (&batches, &key_cols, &positions);
                scope.spawn(move || -> Result<Vec<Vec<Hashed>>> {
                    let state = RandomState::with_seed(0x5a1e5f10);
                    // Sized for an even spread (and a quarter more), so that the partitions
                    // seldom grow by copying.
                    let mine: usize = batches
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .map(RecordBatch::num_rows)
                        .sum();
                    let expected = mine / partitions;
                    let mut parts: Vec<Vec<Hashed>> = (0..partitions)
                        .map(|_| Vec::with_capacity(expected + expected / 4 + 8))
                        .collect();
                    let mut hashes = Vec::new();
                    for (b, batch) in batches.iter().enumerate().skip(t).step_by(threads) {
                        let arrays: Vec<ArrayRef> =
                            key_cols.iter().map(|i| batch.column(*i).clone()).collect();
                        hashes.clear();
                        hashes.resize(batch.num_rows(), 0);
                        create_hashes(&arrays, &state, &mut hashes)?;
                        let nulls: Vec<_> =
                            arrays.iter().filter_map(|a| a.logical_nulls()).collect();
                        for (row, hash) in hashes.iter().enumerate() {
                            // Rows with an empty key have no identity to duplicate.
                            if key_only && nulls.iter().any(|n| n.is_null(row)) {
                                continue;
                            }
                            let position = (positions.start(b) + row) as u64;
                            parts[partition_of(*hash)].push(Hashed((*hash << 32) | position));
                        }
                    }
                    Ok(parts)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(EngineError::worker_panicked("hashing")))
            })
            .collect()
    });
    let hashed = hashed.into_iter().collect::<Result<Vec<_>>>()?;
    let scanned: Vec<Result<BucketScan>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (batches, key_cols, value_cols, identity, schema, hashed, positions) = (
                    &batches,
                    &key_cols,
                    &value_cols,
                    &identity,
                    &schema,
                    &hashed,
                    &positions,
                );
                scope.spawn(move || {
                    let (mut issues, mut removed) = (Vec::new(), HashSet::new());
                    let mut refs: Vec<Hashed> = Vec::new();
                    let table = Table {
                        batches,
                        positions,
                        schema,
                        line_idx,
                    };
                    for p in t * PARTITIONS_PER_THREAD..(t + 1) * PARTITIONS_PER_THREAD {
                        refs.clear();
                        for parts in hashed {
                            refs.extend_from_slice(&parts[p]);
                        }
                        refs.sort_unstable();
                        let (mut found, gone) =
                            scan_bucket(&refs, &table, key_cols, value_cols, identity);
                        issues.append(&mut found);
                        removed.extend(gone);
                    }
                    (issues, removed)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| EngineError::worker_panicked("duplicate scan"))
            })
            .collect()
    });
    let mut issues = Vec::new();
    let mut removed: HashSet<(u32, u32)> = HashSet::new();
    for scan in scanned {
        let (mut bucket_issues, bucket_removed) = scan?;
        issues.append(&mut bucket_issues);
        removed.extend(bucket_removed);
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

/// The table being deduplicated, as the scan looks rows up in it.
struct Table<'a> {
    batches: &'a [RecordBatch],
    positions: &'a Positions,
    schema: &'a SchemaRef,
    line_idx: usize,
}

/// Finds the duplicates among rows sorted by hash and position: exact ones to remove, the
/// others to flag.
fn scan_bucket(
    refs: &[Hashed],
    table: &Table<'_>,
    key_cols: &[usize],
    value_cols: &[usize],
    identity: &Identity<'_>,
) -> BucketScan {
    let Table {
        batches,
        positions,
        schema,
        line_idx,
    } = *table;
    let line_of = |r: RowRef| {
        batches[r.batch as usize]
            .column(line_idx)
            .as_primitive::<UInt64Type>()
            .value(r.row as usize)
    };
    let mut issues = Vec::new();
    let mut removed = HashSet::new();
    for run in refs
        .chunk_by(|a, b| a.hash_bits() == b.hash_bits())
        .filter(|run| run.len() > 1)
    {
        // In file order (so that the first of equal rows is the one kept), grouped by their
        // actual key.
        let mut groups: Vec<(Vec<ScalarValue>, Vec<RowRef>)> = Vec::new();
        for r in run.iter().map(|h| h.locate(positions)) {
            let key: Vec<ScalarValue> = key_cols.iter().map(|c| scalar(batches, *c, r)).collect();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(r),
                None => groups.push((key, vec![r])),
            }
        }
        for (key, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
            let kept = members[0];
            let kept_line = line_of(kept);
            let kept_values: Vec<ScalarValue> = value_cols
                .iter()
                .map(|c| scalar(batches, *c, kept))
                .collect();
            let key_text = key
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            for other in &members[1..] {
                let line = line_of(*other);
                let differing: Vec<String> = value_cols
                    .iter()
                    .zip(&kept_values)
                    .filter_map(|(c, v)| {
                        let mine = scalar(batches, *c, *other);
                        let name = schema.field(*c).name();
                        (mine != *v).then(|| match name.as_str() {
                            // Only a hash of those fields was kept: no values to show.
                            UNREAD_COLUMN => {
                                "columns this command does not read (`salesflow validate` shows them)"
                                    .to_string()
                            }
                            _ => format!("{name} {v} vs {mine}"),
                        })
                    })
                    .collect();
                let issue = match identity {
                    Identity::WholeRow => RowIssue {
                        line,
                        column: None,
                        action: Action::Flagged,
                        kind: IssueKind::PossibleDuplicate,
                        value: None,
                        message: format!(
                            "identical to line {kept_line}; kept, as the table has no key to tell two real events apart (add an id column to deduplicate)"
                        ),
                    },
                    Identity::Key(_) if differing.is_empty() => {
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
                    Identity::Key(names) => RowIssue {
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
                    },
                };
                issues.push(issue);
            }
        }
    }
    (issues, removed)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use datafusion::arrow::array::{Float64Array, StringViewArray, UInt64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::test_support::pseudo_random;

    /// Orders in batches of uneven sizes: ids drawn from a small range (so that many repeat),
    /// amounts from a few values (so that some repeats are exact).
    fn orders(rows: usize, seed: u64) -> (Vec<RecordBatch>, Vec<(String, u64)>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("order_id", DataType::Utf8View, false),
            Field::new("amount", DataType::Float64, false),
            Field::new(LINE_COLUMN, DataType::UInt64, false),
        ]));
        let mut next = pseudo_random(seed);
        let mut all = Vec::new();
        let mut batches = Vec::new();
        let mut line = 2;
        while all.len() < rows {
            let len = (next() % 700) as usize;
            let part: Vec<(String, f64, u64)> = (0..len.min(rows - all.len()))
                .map(|_| {
                    line += 1;
                    let id = format!("o{}", next() % (rows as u64 * 3 / 4).max(1));
                    (id, (next() % 3) as f64, line)
                })
                .collect();
            batches.push(
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(StringViewArray::from_iter_values(
                            part.iter().map(|r| r.0.as_str()),
                        )),
                        Arc::new(Float64Array::from_iter_values(part.iter().map(|r| r.1))),
                        Arc::new(UInt64Array::from_iter_values(part.iter().map(|r| r.2))),
                    ],
                )
                .unwrap(),
            );
            all.extend(part);
        }
        let rows = all
            .iter()
            .map(|(id, a, l)| (format!("{id}|{a}"), *l))
            .collect();
        (batches, rows)
    }

    /// Every key's later rows are duplicates of its first: removed when all values match it,
    /// flagged otherwise; found on any thread count and across batches.
    #[test]
    fn duplicates_are_found_as_a_map_of_keys_finds_them() {
        for (rows, seed) in [(0, 1), (1, 2), (5_000, 3), (40_000, 4)] {
            let (batches, all) = orders(rows, seed);
            let mut first: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
            let mut expected = Vec::new();
            for (row, line) in &all {
                let (id, _) = row.split_once('|').unwrap();
                match first.get(id) {
                    None => {
                        first.insert(id, (row.as_str(), *line));
                    }
                    Some((kept, kept_line)) => {
                        let kind = if kept == row {
                            IssueKind::ExactDuplicate
                        } else {
                            IssueKind::ConflictingDuplicate
                        };
                        expected.push((*line, kind, *kept_line));
                    }
                }
            }
            expected.sort();
            for threads in [1, 2, 3] {
                let (kept, issues) =
                    dedupe(batches.clone(), Identity::Key(&["order_id"]), threads).unwrap();
                let mut found: Vec<(u64, IssueKind, u64)> = issues
                    .iter()
                    .map(|i| {
                        let of = i.message.split("line ").nth(1).unwrap();
                        let of: String = of.chars().take_while(char::is_ascii_digit).collect();
                        (i.line, i.kind, of.parse().unwrap())
                    })
                    .collect();
                found.sort();
                assert_eq!(found, expected, "{rows} rows, {threads} threads");
                let removed = expected
                    .iter()
                    .filter(|e| e.1 == IssueKind::ExactDuplicate)
                    .count();
                let left: usize = kept.iter().map(RecordBatch::num_rows).sum();
                assert_eq!(left, rows - removed);
            }
        }
    }
}
