//! Reading one canonical table from a CSV or Parquet file, cleaned, with its report.

mod builders;
mod columns;
mod dedupe;
mod delimited;
mod outliers;
mod parquet;
pub mod rules;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::progress::Progress;
use salesflow_core::{ReadOptions, TableKind, ValueKind};

use crate::error::{EngineError, Location, Result};
use crate::parse::{DateFormat, infer_format};
use crate::report::TableReport;
use builders::{LINE_COLUMN, UNREAD_COLUMN, table_schema};
use columns::{ColumnPlan, plan_columns};

/// A cleaned canonical table in memory, with the account of how it was cleaned.
#[derive(Debug, Clone)]
pub struct LoadedTable {
    /// Which table.
    pub kind: TableKind,
    /// Canonical columns (all of them; absent optional ones are empty), then extra columns;
    /// only those the command uses and those cleaning needs when the read said which it uses
    /// (`ReadOptions::used_columns`).
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// What happened to every input row.
    pub report: TableReport,
}

impl LoadedTable {
    /// Number of rows kept.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Whether `column` exists and holds at least one value (absent optional columns are
    /// all null).
    pub fn has_values(&self, column: &str) -> bool {
        use datafusion::arrow::array::Array as _;
        let Ok(index) = self.schema.index_of(column) else {
            return false;
        };
        self.batches
            .iter()
            .any(|b| b.column(index).null_count() < b.num_rows())
    }
}

/// The file formats salesflow reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Delimited text.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The format of `path`, by its extension.
    pub fn of(path: &Path) -> FileFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("parquet" | "pq") => FileFormat::Parquet,
            _ => FileFormat::Csv,
        }
    }
}

/// How many rows are looked at to infer date formats.
const SAMPLE_ROWS: usize = 1000;

/// Reads and cleans `path` as table `kind`.
pub fn load_table(
    kind: TableKind,
    path: &Path,
    options: &ReadOptions,
    threads: usize,
    progress: &dyn Progress,
) -> Result<LoadedTable> {
    if !path.exists() {
        return Err(EngineError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let format = FileFormat::of(path);
    let clock = std::time::Instant::now();
    let lap = |what: &str| {
        if std::env::var_os("SALESFLOW_TIMINGS").is_some() {
            eprintln!("[timing] {what}: {:.3}s", clock.elapsed().as_secs_f64());
        }
    };
    let (mut plan, schema, parsed_batches, mut issues, rows_read) = match format {
        FileFormat::Csv => {
            let source =
                delimited::TextSource::open(path, options.delimiter, options.columns.as_deref())?;
            let mut plan = plan_columns(kind, &source.header, options, path)?;
            if let Some(used) = &options.used_columns {
                plan.keep_only(kind, used, rules::columns_read(kind));
            }
            let samples = source.sample_rows(SAMPLE_ROWS);
            choose_date_formats(&mut plan, options, path, |i| {
                samples.iter().filter_map(|r| r.get(i).cloned()).collect()
            })?;
            let schema = table_schema(&plan);
            let parsed = source.parse(&plan, options.locale, schema.clone(), threads, progress)?;
            (
                plan,
                schema,
                parsed.batches,
                parsed.issues,
                parsed.rows_read,
            )
        }
        FileFormat::Parquet => {
            let (header, raw) = parquet::read(path, threads)?;
            // Every column, used or not: Parquet's columns come decoded already, so leaving
            // some out would save little (`used_columns` is for delimited text).
            let mut plan = plan_columns(kind, &header, options, path)?;
            choose_date_formats(&mut plan, options, path, |i| {
                let mut values = Vec::new();
                for batch in &raw {
                    if let Ok(text) = datafusion::arrow::compute::cast(
                        batch.column(i),
                        &datafusion::arrow::datatypes::DataType::Utf8,
                    ) {
                        let text = datafusion::arrow::array::AsArray::as_string::<i32>(&text);
                        values.extend(
                            text.iter()
                                .flatten()
                                .take(SAMPLE_ROWS - values.len())
                                .map(String::from),
                        );
                    }
                    if values.len() >= SAMPLE_ROWS {
                        break;
                    }
                }
                values
            })?;
            let schema = table_schema(&plan);
            let mut batches = Vec::with_capacity(raw.len());
            let mut issues = Vec::new();
            let mut row = 1u64;
            let total: u64 = raw.iter().map(|b| b.num_rows() as u64).sum();
            progress.start(&format!("reading {}", path.display()), total);
            for batch in &raw {
                let (converted, mut batch_issues) =
                    parquet::convert(batch, &plan.columns, &schema, options.locale, row)
                        .map_err(|e| with_file(e, path))?;
                row += batch.num_rows() as u64;
                progress.advance(batch.num_rows() as u64);
                issues.append(&mut batch_issues);
                if converted.num_rows() > 0 {
                    batches.push(converted);
                }
            }
            progress.finish();
            (plan, schema, batches, issues, total)
        }
    };
    lap("parsed");
    if rows_read == 0 {
        return Err(EngineError::input(
            Location {
                file: Some(path.to_owned()),
                line: None,
                column: None,
            },
            "the file has a header but no data rows",
            Some(format!("export {kind} again with its rows")),
        ));
    }
    let batches = apply_rules_parallel(kind, parsed_batches, threads, &mut issues)?;
    lap("rules");
    let identity = match kind.key() {
        Some(key)
            if key.iter().all(|k| {
                plan.columns
                    .iter()
                    .any(|c| c.name == *k && c.source.is_some())
            }) =>
        {
            dedupe::Identity::Key(key)
        }
        // Tables without a usable key: identical rows are only flagged.
        _ => dedupe::Identity::WholeRow,
    };
    let (batches, mut dup_issues) = dedupe::dedupe(batches, identity, threads)?;
    issues.append(&mut dup_issues);
    lap("dedupe");
    for column in plan
        .columns
        .iter()
        .filter(|c| c.kind == ValueKind::Money && c.source.is_some())
    {
        issues.extend(outliers::flag(&batches, &column.name));
    }
    lap("outliers");
    plan.note_formats();
    let (schema, batches) = drop_hidden_columns(&schema, batches)?;
    let rows_kept = batches.iter().map(|b| b.num_rows() as u64).sum();
    let mut report = TableReport {
        table: kind.name().to_string(),
        file: path.to_owned(),
        format: match format {
            FileFormat::Csv => "csv".into(),
            FileFormat::Parquet => "parquet".into(),
        },
        rows_read,
        rows_kept,
        columns: plan.sources.clone(),
        extra_columns: plan.extra.clone(),
        issues,
        ..TableReport::default()
    };
    report.recount();
    if kind == TableKind::Orders {
        report.not_purchases = count_not_purchases(&batches);
    }
    lap("report");
    Ok(LoadedTable {
        kind,
        schema,
        batches,
        report,
    })
}

/// A batch after the table's rules, with the entries they made.
type CleanedBatch = (RecordBatch, Vec<crate::report::RowIssue>);

/// Applies the table's rules to every batch, on `threads` cores, keeping batch order.
fn apply_rules_parallel(
    kind: TableKind,
    batches: Vec<RecordBatch>,
    threads: usize,
    issues: &mut Vec<crate::report::RowIssue>,
) -> Result<Vec<RecordBatch>> {
    let threads = threads.clamp(1, batches.len().max(1));
    let mut slots: Vec<Option<RecordBatch>> = batches.into_iter().map(Some).collect();
    let per = slots.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<CleanedBatch>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .chunks_mut(per)
            .map(|part| {
                scope.spawn(move || {
                    part.iter_mut()
                        .filter_map(Option::take)
                        .map(|b| rules::apply(kind, b).map_err(EngineError::from))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(EngineError::worker_panicked("cleaning")))
            })
            .collect()
    });
    let mut out = Vec::new();
    for part in results {
        for (batch, mut batch_issues) in part? {
            issues.append(&mut batch_issues);
            out.push(batch);
        }
    }
    Ok(out)
}

fn with_file(e: EngineError, path: &Path) -> EngineError {
    match e {
        EngineError::Input(mut input) if input.location.file.is_none() => {
            input.location.file = Some(path.to_owned());
            EngineError::Input(input)
        }
        other => other,
    }
}

fn choose_date_formats(
    plan: &mut ColumnPlan,
    options: &ReadOptions,
    path: &Path,
    samples: impl Fn(usize) -> Vec<String>,
) -> Result<()> {
    for column in &mut plan.columns {
        if !matches!(column.kind, ValueKind::Timestamp | ValueKind::Date) {
            continue;
        }
        column.date_format = Some(match (&options.date_format, column.source) {
            (Some(f), _) => DateFormat::Custom(f.clone()),
            (None, Some(i)) => {
                let values = samples(i);
                infer_format(values.iter().map(String::as_str)).map_err(|why| {
                    EngineError::input(
                        Location {
                            file: Some(path.to_owned()),
                            line: None,
                            column: column.source_name.clone(),
                        },
                        format!("cannot tell how `{}` is written: {why}", column.name),
                        None,
                    )
                })?
            }
            (None, None) => DateFormat::Iso,
        });
    }
    Ok(())
}

/// Drops the `_line` and `_unread` columns, which only cleaning needs.
fn drop_hidden_columns(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|i| ![LINE_COLUMN, UNREAD_COLUMN].contains(&schema.field(*i).name().as_str()))
        .collect();
    let out_schema: SchemaRef = Arc::new(Schema::new(
        keep.iter()
            .map(|i| schema.field(*i).clone())
            .collect::<Vec<_>>(),
    ));
    let batches = batches
        .into_iter()
        .map(|b| b.project(&keep))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((out_schema, batches))
}

fn count_not_purchases(batches: &[RecordBatch]) -> std::collections::BTreeMap<String, u64> {
    use datafusion::arrow::array::{Array, AsArray};
    let mut counts = std::collections::BTreeMap::new();
    for batch in batches {
        let Some(status) = batch.column_by_name("status") else {
            continue;
        };
        let status = status.as_string_view();
        for i in 0..status.len() {
            if status.is_valid(i) {
                let s = status.value(i);
                if s == rules::REFUNDED || s == rules::CANCELLED {
                    *counts.entry(s.to_string()).or_insert(0) += 1;
                }
            }
        }
    }
    counts
}

/// Finds the file of `kind` in `dir`: `<name>.csv`, `.tsv`, `.txt` or `.parquet`.
pub fn find_table_file(dir: &Path, kind: TableKind) -> Option<PathBuf> {
    ["parquet", "csv", "tsv", "txt", "pq"]
        .iter()
        .map(|ext| dir.join(format!("{}.{ext}", kind.name())))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use salesflow_core::progress::NoProgress;

    /// Reading only the columns a command uses keeps the same rows, with the same account.
    #[test]
    fn used_columns_change_the_columns_not_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.csv");
        let mut text = b"customer_id,order_id,ordered_at,amount,currency,channel,status,notes\n\
            c1,o1,2024-01-02,10.5,USD,web,completed,first\n\
            c1,o1,2024-01-02,10.5,USD,web,completed,again\n\
            c2,o2,2024-01-03,-4,USD,mobile,,\n\
            c3,o3,2024-01-04,abc,EUR,web,completed,\n\
            c4,o4,2024-01-05,7,USD,"
            .to_vec();
        // Not UTF-8 in a column that is not read: the row is still rejected.
        text.extend_from_slice(b"w\xe9b,completed,\nc5,o5,2024-01-06,3,USD,web,Refunded,x\n");
        // An exact copy of line 2, unread fields included: removed either way.
        text.extend_from_slice(b"c1,o1,2024-01-02,10.5,USD,web,completed, first\n");
        std::fs::write(&path, &text).unwrap();
        let all = load_table(
            TableKind::Orders,
            &path,
            &ReadOptions::default(),
            2,
            &NoProgress,
        )
        .unwrap();
        let options = ReadOptions {
            used_columns: Some(vec!["customer_id".into(), "amount".into()]),
            ..ReadOptions::default()
        };
        let some = load_table(TableKind::Orders, &path, &options, 2, &NoProgress).unwrap();
        let names = |t: &LoadedTable| -> Vec<String> {
            t.schema.fields().iter().map(|f| f.name().clone()).collect()
        };
        assert_eq!(
            names(&some),
            ["customer_id", "ordered_at", "amount", "order_id", "status"]
        );
        assert!(names(&all).contains(&"channel".to_string()));
        assert!(names(&all).contains(&"notes".to_string()));
        // Kept: line 2, its namesake on line 3 (it differs in `notes`, which `some` did not
        // read), line 4 (a refund) and line 7 (refunded); line 8 repeats line 2.
        for t in [&all, &some] {
            assert_eq!((t.report.rows_read, t.report.rows_kept), (7, 4));
            assert!(
                t.report
                    .issues
                    .iter()
                    .any(|i| i.line == 8 && i.kind == crate::report::IssueKind::ExactDuplicate)
            );
        }
        let conflict = |t: &LoadedTable| {
            t.report
                .issues
                .iter()
                .find(|i| i.line == 3)
                .map(|i| i.message.clone())
                .unwrap_or_default()
        };
        assert!(
            conflict(&all).contains("notes first vs again"),
            "{}",
            conflict(&all)
        );
        assert!(
            conflict(&some).contains("columns this command does not read"),
            "{}",
            conflict(&some)
        );
        let lines = |t: &LoadedTable| -> Vec<(u64, String)> {
            t.report
                .issues
                .iter()
                .map(|i| (i.line, format!("{:?} {:?}", i.action, i.kind)))
                .collect()
        };
        assert_eq!(lines(&some), lines(&all));
        assert_eq!(some.report.not_purchases, all.report.not_purchases);
        let project = |t: &LoadedTable| -> Vec<RecordBatch> {
            let keep: Vec<usize> = names(&some)
                .iter()
                .map(|n| t.schema.index_of(n).unwrap())
                .collect();
            t.batches
                .iter()
                .map(|b| b.project(&keep).unwrap())
                .collect()
        };
        let pretty = |b: &[RecordBatch]| {
            datafusion::arrow::util::pretty::pretty_format_batches(b)
                .unwrap()
                .to_string()
        };
        assert_eq!(pretty(&project(&some)), pretty(&project(&all)));
        let not_read: Vec<&str> = some
            .report
            .columns
            .iter()
            .filter(|c| c.not_read)
            .map(|c| c.canonical.as_str())
            .collect();
        assert_eq!(not_read, ["currency", "channel"]);
    }
}
