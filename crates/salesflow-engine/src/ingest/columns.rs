//! Which of the file's columns becomes which canonical column.

use std::collections::HashSet;
use std::path::Path;

use salesflow_core::{ReadOptions, TableKind, ValueKind};

use crate::error::{EngineError, Location, Result};
use crate::parse::DateFormat;
use crate::report::ColumnSource;

/// One column of the cleaned table.
#[derive(Debug, Clone)]
pub(crate) struct OutputColumn {
    /// Canonical name (or the file's name, for an extra column).
    pub name: String,
    pub kind: ValueKind,
    pub required: bool,
    /// Index of the file's column it is read from; `None` for an absent optional column.
    pub source: Option<usize>,
    /// The file's name for that column.
    pub source_name: Option<String>,
    /// Set for date and time columns once inferred or given.
    pub date_format: Option<DateFormat>,
}

/// The plan for turning the file's columns into the canonical table.
#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    pub columns: Vec<OutputColumn>,
    pub sources: Vec<ColumnSource>,
    pub extra: Vec<String>,
    /// The file's fields left unread (`keep_only`).
    pub unread: Vec<usize>,
}

fn normalize(name: &str) -> String {
    name.trim()
        .trim_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .to_string()
}

/// Resolves canonical columns against the file's header.
///
/// Order of preference: the user's mapping, the canonical name itself, then a known alias;
/// all matched case- and punctuation-insensitively. A required column that is not found is an
/// error that names it, lists the columns found and says how to map it.
pub(crate) fn plan_columns(
    table: TableKind,
    header: &[String],
    options: &ReadOptions,
    path: &Path,
) -> Result<ColumnPlan> {
    let normalized: Vec<String> = header.iter().map(|h| normalize(h)).collect();
    let find = |name: &str| normalized.iter().position(|h| *h == normalize(name));
    let mut used = HashSet::new();
    let mut columns = Vec::new();
    let mut sources = Vec::new();
    // Explicit mappings first, so an alias cannot steal a column the user mapped elsewhere.
    for (canonical, source) in &options.mapping {
        if let Some(i) = find(source) {
            used.insert(i);
        } else {
            return Err(EngineError::input(
                Location {
                    file: Some(path.to_owned()),
                    line: Some(1),
                    column: None,
                },
                format!(
                    "the mapping {canonical} = \"{source}\" names a column the file does not have"
                ),
                Some(format!("the file's columns are: {}", header.join(", "))),
            ));
        }
        let _ = canonical;
    }
    for spec in table.columns() {
        let (index, how) = if let Some(source) = options.mapping.get(spec.name) {
            (find(source), "mapping")
        } else if let Some(i) = find(spec.name).filter(|i| !used.contains(i)) {
            (Some(i), "exact")
        } else if let Some(i) = spec
            .aliases
            .iter()
            .filter_map(|a| find(a))
            .find(|i| !used.contains(i))
        {
            (Some(i), "alias")
        } else {
            (None, "absent")
        };
        if let Some(i) = index {
            used.insert(i);
        }
        if index.is_none() && spec.required {
            let mut hint = format!(
                "map your column to it with --map {name}=<your column> or under [mapping.{table}] in salesflow.toml",
                name = spec.name
            );
            if header.len() == 1 {
                let h = &header[0];
                if let Some(d) = [',', ';', '\t', '|'].into_iter().find(|d| h.contains(*d)) {
                    let shown = if d == '\t' {
                        "tab".to_string()
                    } else {
                        d.to_string()
                    };
                    hint = format!(
                        "the header is one column `{h}`, which looks `{shown}`-delimited: pass --delimiter '{shown}'"
                    );
                }
            }
            return Err(EngineError::input(
                Location {
                    file: Some(path.to_owned()),
                    line: Some(1),
                    column: None,
                },
                format!(
                    "required column `{}` of {table} not found; columns found: {}",
                    spec.name,
                    header.join(", ")
                ),
                Some(hint),
            ));
        }
        columns.push(OutputColumn {
            name: spec.name.to_string(),
            kind: spec.kind,
            required: spec.required,
            source: index,
            source_name: index.map(|i| header[i].clone()),
            date_format: None,
        });
        sources.push(ColumnSource {
            canonical: spec.name.to_string(),
            source: index.map(|i| header[i].clone()),
            how,
            date_format: None,
            not_read: false,
        });
    }
    let canonical: HashSet<&str> = table.columns().iter().map(|c| c.name).collect();
    let mut extra = Vec::new();
    for (i, name) in header.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        let mut out_name = normalize(name);
        if out_name.is_empty() {
            out_name = format!("column_{}", i + 1);
        }
        // An extra column may not shadow a canonical one (e.g. a second `date`).
        while canonical.contains(out_name.as_str()) || columns.iter().any(|c| c.name == out_name) {
            out_name.push_str("_extra");
        }
        extra.push(name.clone());
        columns.push(OutputColumn {
            name: out_name,
            kind: ValueKind::Text,
            required: false,
            source: Some(i),
            source_name: Some(name.clone()),
            date_format: None,
        });
    }
    Ok(ColumnPlan {
        columns,
        sources,
        extra,
        unread: Vec::new(),
    })
}

impl ColumnPlan {
    /// Records the date formats chosen, for the report.
    pub fn note_formats(&mut self) {
        for source in &mut self.sources {
            let column = self.columns.iter().find(|c| c.name == source.canonical);
            source.date_format = column
                .and_then(|c| c.date_format.as_ref())
                .map(DateFormat::describe);
        }
    }

    /// Leaves out the columns `used` does not name, where that cannot change which rows are
    /// kept: optional text columns (a text value never rejects a row) other than the table's
    /// key and `also_read` (what its cleaning looks at), and the extra columns. Their fields
    /// are still told apart when duplicates are compared, by a hash of them (`unread`). A
    /// table whose key is not in the file keeps every column: its duplicates are whole
    /// identical rows, reported with their values.
    pub fn keep_only(&mut self, table: TableKind, used: &[String], also_read: &[&str]) {
        let Some(key) = table.key() else {
            return;
        };
        let has = |name: &str| {
            self.columns
                .iter()
                .any(|c| c.name == name && c.source.is_some())
        };
        if !key.iter().all(|k| has(k)) {
            return;
        }
        let needed = |c: &OutputColumn| {
            c.required
                || !matches!(c.kind, ValueKind::Id | ValueKind::Text)
                || used.contains(&c.name)
                || key.contains(&c.name.as_str())
                || also_read.contains(&c.name.as_str())
        };
        for source in &mut self.sources {
            if let Some(column) = self.columns.iter().find(|c| c.name == source.canonical) {
                source.not_read = column.source.is_some() && !needed(column);
            }
        }
        self.unread = self
            .columns
            .iter()
            .filter(|c| !needed(c))
            .filter_map(|c| c.source)
            .collect();
        self.columns.retain(needed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_alias_and_mapping() {
        let mut options = ReadOptions::default();
        options.mapping.insert("amount".into(), "Net Total".into());
        let plan = plan_columns(
            TableKind::Orders,
            &header(&["CustomerID", "Invoice Date", "Net Total", "Total", "Notes"]),
            &options,
            Path::new("o.csv"),
        )
        .unwrap();
        let by_name = |n: &str| plan.columns.iter().find(|c| c.name == n).unwrap();
        assert_eq!(by_name("customer_id").source, Some(0));
        assert_eq!(by_name("ordered_at").source, Some(1));
        assert_eq!(by_name("amount").source, Some(2));
        assert_eq!(by_name("order_id").source, None);
        assert_eq!(plan.extra, vec!["Total", "Notes"]);
        assert_eq!(plan.sources[2].how, "mapping");
    }

    #[test]
    fn keep_only_leaves_out_unused_text_columns_but_never_what_decides_the_rows() {
        let used: Vec<String> = ["customer_id", "ordered_at", "amount"]
            .map(String::from)
            .to_vec();
        let names = |plan: &ColumnPlan| -> Vec<String> {
            plan.columns.iter().map(|c| c.name.clone()).collect()
        };
        let plan_of = |file: &[&str]| {
            plan_columns(
                TableKind::Orders,
                &header(file),
                &ReadOptions::default(),
                Path::new("o.csv"),
            )
            .unwrap()
        };
        let file = [
            "customer_id",
            "order_id",
            "ordered_at",
            "amount",
            "currency",
            "channel",
            "status",
            "Notes",
        ];
        let mut plan = plan_of(&file);
        plan.keep_only(TableKind::Orders, &used, &["status"]);
        // order_id is the key, status is read by the cleaning; currency, channel and the
        // extra column are text nothing here reads.
        assert_eq!(
            names(&plan),
            ["customer_id", "ordered_at", "amount", "order_id", "status"]
        );
        let not_read: Vec<&str> = plan
            .sources
            .iter()
            .filter(|s| s.not_read)
            .map(|s| s.canonical.as_str())
            .collect();
        assert_eq!(not_read, ["currency", "channel"]);

        // Without the key in the file, duplicates are whole identical rows: every column stays.
        let file = ["customer_id", "ordered_at", "amount", "channel"];
        let mut plan = plan_of(&file);
        let before = names(&plan);
        plan.keep_only(TableKind::Orders, &used, &["status"]);
        assert_eq!(names(&plan), before);
        assert!(plan.sources.iter().all(|s| !s.not_read));
    }

    #[test]
    fn missing_required_column_lists_what_was_found() {
        let err = plan_columns(
            TableKind::Orders,
            &header(&["customer_id", "ordered_at"]),
            &ReadOptions::default(),
            Path::new("o.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("required column `amount`"), "{err}");
        assert!(err.contains("customer_id, ordered_at"), "{err}");
        assert!(err.contains("--map amount="), "{err}");
        let err = plan_columns(
            TableKind::Orders,
            &header(&["customer_id;ordered_at;amount"]),
            &ReadOptions::default(),
            Path::new("o.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("--delimiter ';'"), "{err}");
    }
}
