//! The cleaning report: an account of every input row.
//!
//! For each table: how many rows were read, kept, rejected and removed as duplicates
//! (`rows_read = rows_kept + rows_rejected + duplicates_removed`, always), and one entry per
//! row that was rejected, removed, repaired or flagged, with its line and reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Left out of the table: it cannot be used.
    Rejected,
    /// Left out of the table: an exact copy of an earlier row.
    Removed,
    /// Kept with a value changed; the entry says which and why.
    Repaired,
    /// Kept as it is, but worth a look.
    Flagged,
}

/// Why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// A required value is empty.
    MissingValue,
    /// A value could not be read as its column's type.
    Unparseable,
    /// The row has a different number of fields than the header.
    WrongFieldCount,
    /// The row is not valid UTF-8 text.
    InvalidUtf8,
    /// Same key and same values as an earlier row.
    ExactDuplicate,
    /// Same key as an earlier row, different values.
    ConflictingDuplicate,
    /// Identical to an earlier row in a table without a key (kept: it may be a real repeat).
    PossibleDuplicate,
    /// A negative amount on a row whose status says it is a purchase.
    NegativeAmount,
    /// A negative amount without a status, read as a refund.
    RefundWithoutStatus,
    /// A value far outside the column's usual range.
    Outlier,
}

impl Action {
    /// The lower-case name used in the JSON report.
    pub fn label(self) -> &'static str {
        match self {
            Action::Rejected => "rejected",
            Action::Removed => "removed",
            Action::Repaired => "repaired",
            Action::Flagged => "flagged",
        }
    }
}

impl IssueKind {
    /// The snake_case name used in the JSON report.
    pub fn label(self) -> &'static str {
        match self {
            IssueKind::MissingValue => "missing_value",
            IssueKind::Unparseable => "unparseable",
            IssueKind::WrongFieldCount => "wrong_field_count",
            IssueKind::InvalidUtf8 => "invalid_utf8",
            IssueKind::ExactDuplicate => "exact_duplicate",
            IssueKind::ConflictingDuplicate => "conflicting_duplicate",
            IssueKind::PossibleDuplicate => "possible_duplicate",
            IssueKind::NegativeAmount => "negative_amount",
            IssueKind::RefundWithoutStatus => "refund_without_status",
            IssueKind::Outlier => "outlier",
        }
    }
}

/// One row's entry in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowIssue {
    /// 1-based line of a text file (1-based row of a Parquet file).
    pub line: u64,
    /// The canonical column concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What happened to the row.
    pub action: Action,
    /// Why, as a stable machine-readable kind.
    pub kind: IssueKind,
    /// The offending value as written, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Why, for people, with a fix when there is one.
    pub message: String,
}

/// How one canonical column was found in the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSource {
    /// The canonical name.
    pub canonical: String,
    /// The file's column it was read from (absent optional columns are all empty).
    pub source: Option<String>,
    /// `exact`, `alias`, `mapping` or `absent`.
    pub how: &'static str,
    /// The date format used, for date and time columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// The command did not use the column, so its values were not read (the loaded table
    /// leaves it out; see `ReadOptions::used_columns`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_read: bool,
}

/// Descriptive statistics of a numeric column (after cleaning).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnStats {
    /// The canonical name.
    pub column: String,
    /// Values present.
    pub count: u64,
    /// Values missing (empty).
    pub missing: u64,
    /// Mean.
    pub mean: Option<f64>,
    /// Sample standard deviation.
    pub std: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// First quartile (linear interpolation).
    pub q1: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// Third quartile.
    pub q3: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
}

/// The report on one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableReport {
    /// Canonical table name.
    pub table: String,
    /// The file read.
    pub file: PathBuf,
    /// `csv` or `parquet`.
    pub format: String,
    /// Data rows in the file (header and blank lines excluded).
    pub rows_read: u64,
    /// Rows in the cleaned table.
    pub rows_kept: u64,
    /// Rows left out because they cannot be used.
    pub rows_rejected: u64,
    /// Rows left out as exact duplicates.
    pub duplicates_removed: u64,
    /// Kept rows with a repaired value.
    pub rows_repaired: u64,
    /// Kept rows flagged for a look.
    pub rows_flagged: u64,
    /// How each canonical column was found.
    pub columns: Vec<ColumnSource>,
    /// Columns of the file that are not canonical, kept as text.
    pub extra_columns: Vec<String>,
    /// Rows kept in the table but not counted as purchases (orders only): by status.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub not_purchases: BTreeMap<String, u64>,
    /// Statistics of the numeric columns, when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stats: Vec<ColumnStats>,
    /// One entry per row that was rejected, removed, repaired or flagged, in line order.
    pub issues: Vec<RowIssue>,
}

impl TableReport {
    /// Sorts the entries by line and recounts the totals from them.
    pub(crate) fn recount(&mut self) {
        self.issues.sort_by_key(|i| (i.line, i.action));
        let mut rows = BTreeMap::<Action, std::collections::BTreeSet<u64>>::new();
        for issue in &self.issues {
            rows.entry(issue.action).or_default().insert(issue.line);
        }
        let count = |a: Action| rows.get(&a).map_or(0, |s| s.len() as u64);
        self.rows_rejected = count(Action::Rejected);
        self.duplicates_removed = count(Action::Removed);
        self.rows_repaired = count(Action::Repaired);
        self.rows_flagged = count(Action::Flagged);
    }

    /// Counts of issues by (action, kind).
    pub fn counts(&self) -> BTreeMap<(Action, IssueKind), u64> {
        let mut counts = BTreeMap::new();
        for issue in &self.issues {
            *counts.entry((issue.action, issue.kind)).or_insert(0) += 1;
        }
        counts
    }
}

/// The report on every table read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CleaningReport {
    /// One per table, in canonical order.
    pub tables: Vec<TableReport>,
}

impl CleaningReport {
    /// A few lines for people: per table, what was kept and what was not, and the first
    /// entries of each kind.
    pub fn human_summary(&self, examples_per_kind: usize) -> String {
        let mut out = String::new();
        for t in &self.tables {
            let _ = writeln!(
                out,
                "{table}: {read} rows read from {file}: {kept} kept, {rej} rejected, {dup} duplicates removed, {rep} repaired, {flag} flagged",
                table = t.table,
                read = t.rows_read,
                file = t.file.display(),
                kept = t.rows_kept,
                rej = t.rows_rejected,
                dup = t.duplicates_removed,
                rep = t.rows_repaired,
                flag = t.rows_flagged,
            );
            for (status, n) in &t.not_purchases {
                let _ = writeln!(
                    out,
                    "  {n} {status} orders kept but not counted as purchases"
                );
            }
            for ((action, kind), n) in t.counts() {
                let _ = writeln!(
                    out,
                    "  {n} {action:?} ({kind:?})",
                    action = action,
                    kind = kind
                );
                for issue in t
                    .issues
                    .iter()
                    .filter(|i| i.action == action && i.kind == kind)
                    .take(examples_per_kind)
                {
                    let _ = writeln!(out, "    line {}: {}", issue.line, issue.message);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_the_json_names() {
        let kinds = [
            IssueKind::MissingValue,
            IssueKind::Unparseable,
            IssueKind::WrongFieldCount,
            IssueKind::InvalidUtf8,
            IssueKind::ExactDuplicate,
            IssueKind::ConflictingDuplicate,
            IssueKind::PossibleDuplicate,
            IssueKind::NegativeAmount,
            IssueKind::RefundWithoutStatus,
            IssueKind::Outlier,
        ];
        for kind in kinds {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.label());
        }
        for action in [
            Action::Rejected,
            Action::Removed,
            Action::Repaired,
            Action::Flagged,
        ] {
            assert_eq!(serde_json::to_value(action).unwrap(), action.label());
        }
    }
}
