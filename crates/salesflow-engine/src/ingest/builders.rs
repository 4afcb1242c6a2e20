//! Typed Arrow builders filled one row at a time from text fields.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringViewBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::{Locale, ValueKind};

use super::columns::{ColumnPlan, OutputColumn};
use crate::parse::{micros_to_days, parse_bool, parse_integer, parse_number};
use crate::report::{Action, IssueKind, RowIssue};

/// The hidden column carrying each row's line number through cleaning.
pub(crate) const LINE_COLUMN: &str = "_line";
/// The hidden column carrying a hash of the fields a command does not read (when it reads
/// only some, `ColumnPlan::keep_only`), so that telling exact from conflicting duplicates
/// still sees every field.
pub(crate) const UNREAD_COLUMN: &str = "_unread";

/// The Arrow type of a canonical value kind.
pub(crate) fn arrow_type(kind: ValueKind) -> DataType {
    match kind {
        // Views: ids and categories are short, and DataFusion hashes and compares short
        // views without touching the string bytes (the summary query on 10 M orders went from
        // 4.45 s to 3.9 s with them, `SALESFLOW_TIMINGS=1`).
        ValueKind::Id | ValueKind::Text => DataType::Utf8View,
        ValueKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ValueKind::Date => DataType::Date32,
        ValueKind::Money | ValueKind::Float => DataType::Float64,
        ValueKind::Integer => DataType::Int64,
        ValueKind::Boolean => DataType::Boolean,
    }
}

/// The schema of a cleaned table, with the `_unread` column (when the plan leaves fields
/// unread) and the `_line` column last.
pub(crate) fn table_schema(plan: &ColumnPlan) -> SchemaRef {
    let mut fields: Vec<Field> = plan
        .columns
        .iter()
        .map(|c| Field::new(&c.name, arrow_type(c.kind), !c.required))
        .collect();
    if !plan.unread.is_empty() {
        fields.push(Field::new(UNREAD_COLUMN, DataType::UInt64, false));
    }
    fields.push(Field::new(LINE_COLUMN, DataType::UInt64, false));
    Arc::new(Schema::new(fields))
}

enum Builder {
    Text(StringViewBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    Float(Float64Builder),
    Integer(Int64Builder),
    Boolean(BooleanBuilder),
}

/// A value parsed from a field, not yet committed to the builders.
#[derive(Clone, Copy)]
enum Parsed {
    Null,
    /// The field's text (by field index, fetched again at commit time).
    Text(usize),
    Timestamp(i64),
    Date(i32),
    Float(f64),
    Integer(i64),
    Boolean(bool),
}

/// Something that hands out a row's fields by index, already checked to be UTF-8.
pub(crate) trait Fields {
    fn len(&self) -> usize;
    fn get(&self, i: usize) -> &str;
}

impl Fields for csv::StringRecord {
    fn len(&self) -> usize {
        csv::StringRecord::len(self)
    }
    fn get(&self, i: usize) -> &str {
        csv::StringRecord::get(self, i).unwrap_or_default()
    }
}

impl Fields for Vec<&str> {
    fn len(&self) -> usize {
        <[&str]>::len(self)
    }
    fn get(&self, i: usize) -> &str {
        self[i]
    }
}

/// Fills typed builders from rows of text, rejecting rows that cannot be read.
pub(crate) struct RowBuilder<'a> {
    columns: &'a [OutputColumn],
    header_len: usize,
    locale: Locale,
    builders: Vec<Builder>,
    lines: UInt64Builder,
    /// The file's fields not read, and the hash of each row's.
    unread: &'a [usize],
    unread_hashes: UInt64Builder,
    scratch: Vec<Parsed>,
    pub issues: Vec<RowIssue>,
    pub rows_read: u64,
}

impl<'a> RowBuilder<'a> {
    pub fn new(plan: &'a ColumnPlan, header_len: usize, locale: Locale, capacity: usize) -> Self {
        let (columns, unread) = (&plan.columns[..], &plan.unread[..]);
        let builders = columns
            .iter()
            .map(|c| match c.kind {
                ValueKind::Id | ValueKind::Text => {
                    Builder::Text(StringViewBuilder::with_capacity(capacity))
                }
                ValueKind::Timestamp => Builder::Timestamp(
                    TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
                ),
                ValueKind::Date => Builder::Date(Date32Builder::with_capacity(capacity)),
                ValueKind::Money | ValueKind::Float => {
                    Builder::Float(Float64Builder::with_capacity(capacity))
                }
                ValueKind::Integer => Builder::Integer(Int64Builder::with_capacity(capacity)),
                ValueKind::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(capacity)),
            })
            .collect();
        RowBuilder {
            columns,
            header_len,
            locale,
            builders,
            lines: UInt64Builder::with_capacity(capacity),
            unread,
            unread_hashes: UInt64Builder::with_capacity(if unread.is_empty() {
                0
            } else {
                capacity
            }),
            scratch: Vec::with_capacity(columns.len()),
            issues: Vec::new(),
            rows_read: 0,
        }
    }

    fn reject(
        &mut self,
        line: u64,
        column: Option<&OutputColumn>,
        kind: IssueKind,
        value: Option<&[u8]>,
        message: String,
    ) {
        self.issues.push(RowIssue {
            line,
            column: column.map(|c| c.name.clone()),
            action: Action::Rejected,
            kind,
            value: value.map(|v| String::from_utf8_lossy(v).into_owned()),
            message,
        });
    }

    /// Records a row that is not valid UTF-8 (in the file's field `field`).
    pub fn push_invalid_utf8(&mut self, line: u64, field: usize, raw: &[u8]) {
        self.rows_read += 1;
        let column = self.columns.iter().find(|c| c.source == Some(field));
        let name = column.map_or_else(
            || format!("field {}", field + 1),
            |c| format!("`{}`", c.name),
        );
        let message = format!(
            "{name} is not valid UTF-8 text; the file is probably Latin-1 or Windows-1252: convert it with `iconv -f WINDOWS-1252 -t UTF-8`"
        );
        self.reject(line, column, IssueKind::InvalidUtf8, Some(raw), message);
    }

    /// Parses one row; commits it to the builders or records why not.
    pub fn push_row<F: Fields>(&mut self, fields: &F, line: u64) {
        self.rows_read += 1;
        if fields.len() != self.header_len {
            let message = format!(
                "the row has {} fields, the header {}; check the delimiter and quoting of this line",
                fields.len(),
                self.header_len
            );
            self.reject(line, None, IssueKind::WrongFieldCount, None, message);
            return;
        }
        self.scratch.clear();
        for column in self.columns {
            let Some(index) = column.source else {
                self.scratch.push(Parsed::Null);
                continue;
            };
            let text = fields.get(index).trim_ascii();
            if text.is_empty() {
                if column.required {
                    let message = format!(
                        "required value `{}` is empty (file column `{}`)",
                        column.name,
                        column.source_name.as_deref().unwrap_or_default()
                    );
                    self.reject(line, Some(column), IssueKind::MissingValue, None, message);
                    return;
                }
                self.scratch.push(Parsed::Null);
                continue;
            }
            let parsed = match column.kind {
                ValueKind::Id | ValueKind::Text => Ok(Parsed::Text(index)),
                ValueKind::Timestamp | ValueKind::Date => {
                    let format = column
                        .date_format
                        .as_ref()
                        .expect("date formats are set before parsing");
                    match format.parse_micros(text) {
                        Some(m) if column.kind == ValueKind::Date => {
                            Ok(Parsed::Date(micros_to_days(m)))
                        }
                        Some(m) => Ok(Parsed::Timestamp(m)),
                        None => Err(format!(
                            "`{text}` is not a date in the column's format, {}; give the format with --date-format",
                            format.describe()
                        )),
                    }
                }
                ValueKind::Money | ValueKind::Float => parse_number(text, self.locale)
                    .map(Parsed::Float)
                    .map_err(|e| e.0),
                ValueKind::Integer => parse_integer(text, self.locale)
                    .map(Parsed::Integer)
                    .map_err(|e| e.0),
                ValueKind::Boolean => parse_bool(text).map(Parsed::Boolean).map_err(|e| e.0),
            };
            match parsed {
                Ok(p) => self.scratch.push(p),
                Err(why) => {
                    let message = format!("{}: {why}", column.name);
                    self.reject(
                        line,
                        Some(column),
                        IssueKind::Unparseable,
                        Some(text.as_bytes()),
                        message,
                    );
                    return;
                }
            }
        }
        for (builder, parsed) in self.builders.iter_mut().zip(&self.scratch) {
            match (builder, *parsed) {
                (Builder::Text(b), Parsed::Text(i)) => {
                    // Validated as UTF-8 above.
                    b.append_value(fields.get(i).trim_ascii())
                }
                (Builder::Text(b), _) => b.append_null(),
                (Builder::Timestamp(b), Parsed::Timestamp(v)) => b.append_value(v),
                (Builder::Timestamp(b), _) => b.append_null(),
                (Builder::Date(b), Parsed::Date(v)) => b.append_value(v),
                (Builder::Date(b), _) => b.append_null(),
                (Builder::Float(b), Parsed::Float(v)) => b.append_value(v),
                (Builder::Float(b), _) => b.append_null(),
                (Builder::Integer(b), Parsed::Integer(v)) => b.append_value(v),
                (Builder::Integer(b), _) => b.append_null(),
                (Builder::Boolean(b), Parsed::Boolean(v)) => b.append_value(v),
                (Builder::Boolean(b), _) => b.append_null(),
            }
        }
        if !self.unread.is_empty() {
            self.unread_hashes
                .append_value(unread_hash(self.unread.iter().map(|i| fields.get(*i))));
        }
        self.lines.append_value(line);
    }

    /// The rows committed so far, as a batch with the `_line` column last.
    pub fn finish(
        mut self,
        schema: SchemaRef,
    ) -> datafusion::arrow::error::Result<(RecordBatch, Vec<RowIssue>, u64)> {
        let mut arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Text(b) => Arc::new(b.finish()),
                    Builder::Timestamp(b) => Arc::new(b.finish()),
                    Builder::Date(b) => Arc::new(b.finish()),
                    Builder::Float(b) => Arc::new(b.finish()),
                    Builder::Integer(b) => Arc::new(b.finish()),
                    Builder::Boolean(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        if !self.unread.is_empty() {
            arrays.push(Arc::new(self.unread_hashes.finish()));
        }
        arrays.push(Arc::new(self.lines.finish()));
        let batch = RecordBatch::try_new(schema, arrays)?;
        Ok((batch, self.issues, self.rows_read))
    }
}

/// A hash of a row's unread fields, as they would be read (trimmed; empty is empty). The
/// seed is fixed so that every parsing thread hashes alike; 0xFF, which UTF-8 text never
/// holds, separates the fields.
pub(crate) fn unread_hash<'t>(fields: impl Iterator<Item = &'t str>) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = foldhash::fast::FixedState::with_seed(0x0dd_f1e1d5).build_hasher();
    for field in fields {
        hasher.write(field.trim_ascii().as_bytes());
        hasher.write_u8(0xff);
    }
    hasher.finish()
}
