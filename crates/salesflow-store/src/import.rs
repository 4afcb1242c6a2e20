//! Importing CSV files into the CRM: columns mapped to fields (by a map, or suggested from the
//! header), every cell validated with its line and column named, duplicates found within the
//! file and against the database, references resolved by id or natural key (a customer's
//! `external_id`, a stage's name, a user's e-mail) — and then all of it written in one
//! transaction, or nothing at all. A completed import can be undone: created rows carry the
//! import's id, and updated rows' prior state is kept.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use salesflow_core::progress::Progress;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::Store;
use crate::auth::{Actor, Role, Scope};
use crate::custom_fields::CustomFieldDef;
use crate::db::{Dialect, new_id, now};
use crate::error::{ErrorCode, Result, StoreError};
use crate::records::{
    Params, Stored, decode, record_stage_change, select_list, spec_of, write_update,
};
use crate::schema::{self, EntitySpec, FieldKind};
use crate::value::{SqlValue, bind, from_text};

/// What to do with a row whose key matches an existing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Only create; a row matching an existing record is an error.
    Create,
    /// Only update; a row matching nothing is an error.
    Update,
    /// Update what matches, create the rest.
    Upsert,
}

impl ImportMode {
    /// The mode of this name.
    pub fn parse(name: &str) -> Result<ImportMode> {
        match name {
            "create" => Ok(ImportMode::Create),
            "update" => Ok(ImportMode::Update),
            "upsert" => Ok(ImportMode::Upsert),
            _ => Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!("unknown import mode {name:?}: use create, update or upsert"),
            )
            .with_field("mode")),
        }
    }
}

/// How to import a file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The entity (`customers`, `companies`, `deals`, `orders`, ...).
    pub entity: String,
    /// Create, update or upsert.
    pub mode: ImportMode,
    /// The field that identifies a record (default: the entity's natural key, e.g. a
    /// customer's e-mail, else `external_id`).
    pub key: Option<String>,
    /// File column → field (`custom_fields.x` for a custom field; `""` or `"-"` ignores the
    /// column); columns not named here are matched by the suggestions.
    pub mapping: HashMap<String, String>,
    /// Validate and report without writing.
    pub dry_run: bool,
    /// The field delimiter.
    pub delimiter: u8,
    /// The file's name, for the report and the import record.
    pub source: String,
}

impl ImportOptions {
    /// Options for `entity` with the defaults: create, suggested mapping, commas.
    pub fn new(entity: &str, source: &str) -> ImportOptions {
        ImportOptions {
            entity: entity.to_string(),
            mode: ImportMode::Create,
            key: None,
            mapping: HashMap::new(),
            dry_run: false,
            delimiter: b',',
            source: source.to_string(),
        }
    }
}

/// How one column of the file was used.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnMapping {
    /// The file's header.
    pub column: String,
    /// The field it fills, `None` when ignored.
    pub field: Option<String>,
    /// `map` (given), `suggested` (matched by name) or `ignored`.
    pub how: &'static str,
}

/// A row that cannot be imported.
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    /// Line in the file (1 is the header).
    pub line: u64,
    /// The file's column, when one cell is at fault.
    pub column: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The import's id, to undo it (`None` for a dry run or a rejected file).
    pub import_id: Option<String>,
    /// The entity.
    pub entity: String,
    /// Data rows read.
    pub rows: u64,
    /// Records created (or that would be).
    pub created: u64,
    /// Records updated (or that would be).
    pub updated: u64,
    /// Rows that matched a record and changed nothing.
    pub unchanged: u64,
    /// How the columns were used.
    pub columns: Vec<ColumnMapping>,
    /// Rows in error (the first 1,000; `error_count` has them all).
    pub errors: Vec<RowError>,
    /// Rows in error.
    pub error_count: u64,
    /// Whether nothing was written because it was a dry run.
    pub dry_run: bool,
    /// Whether the database was changed.
    pub committed: bool,
}

const MAX_REPORTED_ERRORS: usize = 1000;

/// Column names people use for our fields, beyond the field names themselves.
fn aliases(field: &str) -> &'static [&'static str] {
    match field {
        "email" => &["e_mail", "email_address", "mail"],
        "name" => &[
            "full_name",
            "customer_name",
            "company_name",
            "deal_name",
            "title",
            "product_name",
        ],
        "phone" => &["phone_number", "telephone", "mobile"],
        "domain" => &["website", "web", "url"],
        "external_id" => &[
            "customer_id",
            "company_id",
            "deal_id",
            "order_id",
            "ref",
            "reference",
        ],
        "company_id" => &["company", "account", "account_id"],
        "customer_id" => &["customer", "contact", "contact_id", "client_id"],
        "owner_id" => &["owner", "owner_email", "assigned_to", "sales_rep"],
        "stage_id" => &["stage", "deal_stage", "status_stage"],
        "pipeline_id" => &["pipeline"],
        "amount" => &["value", "deal_value", "total", "revenue", "price_total"],
        "ordered_at" => &[
            "order_date",
            "date",
            "created",
            "purchase_date",
            "timestamp",
        ],
        "expected_close" => &["close_date", "expected_close_date"],
        "employees" => &["employee_count", "headcount", "size"],
        "product_id" => &["product", "sku"],
        "order_id" => &["order"],
        "unit_price" => &["price"],
        _ => &[],
    }
}

fn normalise_header(header: &str) -> String {
    let mut out = String::new();
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// The field each header fills: given mappings first, then the field of that name, then an
/// alias, then a custom field of that name. A field is filled by one column at most.
pub fn suggest_mapping(
    spec: &EntitySpec,
    definitions: &[CustomFieldDef],
    headers: &[String],
    given: &HashMap<String, String>,
) -> Result<Vec<ColumnMapping>> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut result: Vec<ColumnMapping> = headers
        .iter()
        .map(|column| ColumnMapping {
            column: column.clone(),
            field: None,
            how: "ignored",
        })
        .collect();
    let known = |field: &str| {
        spec.field(field).is_some()
            || field
                .strip_prefix("custom_fields.")
                .is_some_and(|name| definitions.iter().any(|d| d.name == name))
    };
    for (column, field) in given {
        let Some(index) = headers.iter().position(|h| h == column) else {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!("the map names column {column:?}, which the file does not have (its columns: {})", headers.join(", ")),
            )
            .with_field("map"));
        };
        if field.is_empty() || field == "-" {
            // Mapped to nothing: the column is ignored, not matched by name.
            continue;
        }
        if !known(field) {
            return Err(StoreError::new(
                ErrorCode::UnknownField,
                format!(
                    "the map sends {column:?} to {field:?}, which {} do not have",
                    spec.name
                ),
            )
            .with_field("map"));
        }
        if !taken.insert(field.clone()) {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!("the map sends two columns to {field:?}"),
            )
            .with_field("map"));
        }
        result[index] = ColumnMapping {
            column: column.clone(),
            field: Some(field.clone()),
            how: "map",
        };
    }
    // Exact names first, so `email` wins over an alias elsewhere in the file.
    for pass in 0..3 {
        for (index, column) in headers.iter().enumerate() {
            if result[index].field.is_some() || given.contains_key(column) {
                continue;
            }
            let normalised = normalise_header(column);
            let candidate = match pass {
                0 => spec.field(&normalised).map(|f| f.name.to_string()),
                1 => spec
                    .fields
                    .iter()
                    .find(|f| aliases(f.name).contains(&normalised.as_str()))
                    .map(|f| f.name.to_string()),
                _ => definitions
                    .iter()
                    .find(|d| d.name == normalised)
                    .map(|d| format!("custom_fields.{}", d.name)),
            };
            if let Some(field) = candidate
                && taken.insert(field.clone())
            {
                result[index] = ColumnMapping {
                    column: column.clone(),
                    field: Some(field),
                    how: "suggested",
                };
            }
        }
    }
    Ok(result)
}

/// The field that identifies records of `spec` by default.
fn default_key(spec: &EntitySpec) -> Option<&'static str> {
    match spec.name {
        "customers" => Some("email"),
        "companies" => Some("domain"),
        "products" => Some("sku"),
        _ => spec.field("external_id").map(|f| f.name),
    }
}

/// One parsed row, before it is written.
struct Candidate {
    line: u64,
    values: Vec<Option<SqlValue>>,
    custom: Map<String, Json>,
    existing: Option<String>,
    /// Failed a check; dropped once every check of its step has reported on it.
    rejected: bool,
}

/// Matches rows on their key and checks their unique values, against the database (values
/// lower-cased, as [`existing_values`] reads them) and the rows before them in the file.
struct KeyMatcher<'a> {
    spec: &'a EntitySpec,
    mode: ImportMode,
    key_index: Option<usize>,
    /// Field index -> value in the database (lower-cased) -> ids holding it.
    taken: HashMap<usize, HashMap<String, Vec<String>>>,
    /// Field index -> value (lower-cased) -> first line in the file.
    seen: HashMap<usize, HashMap<String, u64>>,
}

impl KeyMatcher<'_> {
    /// The id of the record the row updates (`None`: it creates one), or the field at fault
    /// and why.
    fn check(&mut self, candidate: &Candidate) -> Result<Option<String>, (&'static str, String)> {
        let spec = self.spec;
        let mut existing = None;
        if let Some(index) = self.key_index {
            let key = spec.fields[index].name;
            match &candidate.values[index] {
                Some(SqlValue::Text(Some(value))) => {
                    let normalised = value.to_lowercase();
                    if let Some(first) = self
                        .seen
                        .entry(index)
                        .or_default()
                        .insert(normalised.clone(), candidate.line)
                    {
                        return Err((
                            key,
                            format!(
                                "{key} {value:?} is also on line {first}: a duplicate within the file"
                            ),
                        ));
                    }
                    match (
                        self.taken[&index].get(&normalised).map(Vec::as_slice),
                        self.mode,
                    ) {
                        (Some([id]), ImportMode::Create) => {
                            return Err((
                                key,
                                format!(
                                    "{key} {value:?} already belongs to {} {id}; import with --mode upsert to update it",
                                    spec.singular
                                ),
                            ));
                        }
                        (Some([id]), _) => existing = Some(id.clone()),
                        (Some(ids), _) if ids.len() > 1 => {
                            return Err((
                                key,
                                format!(
                                    "{key} {value:?} matches {} {} already; merge them first",
                                    ids.len(),
                                    spec.name
                                ),
                            ));
                        }
                        (_, ImportMode::Update) => {
                            return Err((
                                key,
                                format!("no {} has {key} {value:?} to update", spec.singular),
                            ));
                        }
                        _ => {}
                    }
                }
                _ if self.mode == ImportMode::Update => {
                    return Err((key, format!("{key} is empty: nothing to match")));
                }
                _ => {}
            }
        }
        for (index, field) in spec.fields.iter().enumerate() {
            if !field.unique || Some(index) == self.key_index {
                continue;
            }
            let Some(SqlValue::Text(Some(value))) = &candidate.values[index] else {
                continue;
            };
            let name = field.name;
            let normalised = value.to_lowercase();
            if let Some(first) = self
                .seen
                .entry(index)
                .or_default()
                .insert(normalised.clone(), candidate.line)
            {
                return Err((
                    name,
                    format!("{name} {value:?} is also on line {first}; it must be unique"),
                ));
            }
            let holders = self.taken[&index]
                .get(&normalised)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if let Some(other) = holders
                .iter()
                .find(|holder| existing.as_ref() != Some(*holder))
            {
                return Err((
                    name,
                    format!(
                        "{name} {value:?} is already used by {} {other}",
                        spec.singular
                    ),
                ));
            }
        }
        Ok(existing)
    }
}

/// Natural keys a reference may be written as, besides the id.
fn reference_keys(target: &str) -> &'static [&'static str] {
    match target {
        "users" => &["email"],
        "customers" => &["external_id", "email"],
        "companies" => &["external_id", "domain"],
        "deals" | "orders" => &["external_id"],
        "products" => &["sku"],
        "pipelines" | "lost_reasons" | "tags" => &["name"],
        _ => &[],
    }
}

impl Store {
    /// Imports a CSV file. All or nothing: any row in error means nothing is written and the
    /// report lists them all (`committed: false`).
    pub async fn import(
        &self,
        actor: &Actor,
        options: &ImportOptions,
        reader: impl Read,
        progress: &dyn Progress,
    ) -> Result<ImportReport> {
        actor.require_scope(Scope::Import)?;
        if !matches!(actor.role, Role::Admin | Role::Manager) {
            return Err(StoreError::forbidden("only admins and managers import"));
        }
        let spec = spec_of(&options.entity)?;
        if !spec.importable {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!("{} cannot be imported from a file", spec.name),
            )
            .with_field("kind"));
        }
        let definitions = self.custom_fields(spec.name).await?;
        let mut csv_reader = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .flexible(true)
            .from_reader(reader);
        let headers: Vec<String> = csv_reader
            .headers()
            .map_err(|error| {
                StoreError::new(
                    ErrorCode::ImportRejected,
                    format!("{}: cannot read the header: {error}", options.source),
                )
            })?
            .iter()
            .map(str::to_string)
            .collect();
        let columns = suggest_mapping(spec, &definitions, &headers, &options.mapping)?;
        let key = match &options.key {
            Some(key) => Some(spec.field(key).map(|f| f.name).ok_or_else(|| {
                StoreError::new(
                    ErrorCode::UnknownField,
                    format!("{} have no field {key:?} to match on", spec.name),
                )
                .with_field("key")
            })?),
            None => default_key(spec),
        };
        let key_index = key.and_then(|key| spec.fields.iter().position(|f| f.name == key));
        if options.mode != ImportMode::Create
            && key_index.is_none_or(|i| {
                !columns
                    .iter()
                    .any(|c| c.field.as_deref() == Some(spec.fields[i].name))
            })
        {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!(
                    "to update {} the file needs a key column ({}); name it with --key",
                    spec.name,
                    key.unwrap_or("external_id")
                ),
            )
            .with_field("key"));
        }

        let mut report = ImportReport {
            import_id: None,
            entity: spec.name.to_string(),
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            columns: columns.clone(),
            errors: Vec::new(),
            error_count: 0,
            dry_run: options.dry_run,
            committed: false,
        };
        let fail = |report: &mut ImportReport, line: u64, column: Option<&str>, message: String| {
            report.error_count += 1;
            if report.errors.len() < MAX_REPORTED_ERRORS {
                report.errors.push(RowError {
                    line,
                    column: column.map(str::to_string),
                    message,
                });
            }
        };

        // 1. Parse and check every cell.
        progress.start("reading", 0);
        let mut candidates: Vec<Candidate> = Vec::new();
        for record in csv_reader.records() {
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    let line = error.position().map_or(0, |p| p.line());
                    fail(&mut report, line, None, format!("unreadable CSV: {error}"));
                    continue;
                }
            };
            report.rows += 1;
            let line = record.position().map_or(report.rows + 1, |p| p.line());
            if record.len() != headers.len() {
                fail(
                    &mut report,
                    line,
                    None,
                    format!(
                        "{} fields where the header has {}",
                        record.len(),
                        headers.len()
                    ),
                );
                continue;
            }
            let mut values: Vec<Option<SqlValue>> = vec![None; spec.fields.len()];
            let mut custom = Map::new();
            let mut row_ok = true;
            for (cell, mapping) in record.iter().zip(&columns) {
                let Some(field) = &mapping.field else {
                    continue;
                };
                if let Some(name) = field.strip_prefix("custom_fields.") {
                    let definition = definitions
                        .iter()
                        .find(|d| d.name == name)
                        .expect("mapped custom fields are defined");
                    let parsed = from_text(definition.field_kind(), field, cell)
                        .and_then(|value| definition.validate(&value.to_json()));
                    match parsed {
                        Ok(Json::Null) => {}
                        Ok(value) => {
                            custom.insert(name.to_string(), value);
                        }
                        Err(error) => {
                            fail(
                                &mut report,
                                line,
                                Some(&mapping.column),
                                error.message().to_string(),
                            );
                            row_ok = false;
                        }
                    }
                    continue;
                }
                let index = spec
                    .fields
                    .iter()
                    .position(|f| f.name == field)
                    .expect("mapped fields exist");
                // A reference is resolved later, by id or natural key, so read it as text.
                let kind = match spec.fields[index].kind {
                    FieldKind::Reference(_) => FieldKind::Text,
                    kind => kind,
                };
                match from_text(kind, field, cell) {
                    Ok(value) => values[index] = Some(value),
                    Err(error) => {
                        fail(
                            &mut report,
                            line,
                            Some(&mapping.column),
                            format!("{} (value {cell:?})", error.message()),
                        );
                        row_ok = false;
                    }
                }
            }
            if row_ok {
                candidates.push(Candidate {
                    line,
                    values,
                    custom,
                    existing: None,
                    rejected: false,
                });
            }
            if report.rows.is_multiple_of(10_000) {
                progress.advance(10_000);
            }
        }
        progress.finish();
        let column_of = |field: &str| {
            columns
                .iter()
                .find(|c| c.field.as_deref() == Some(field))
                .map(|c| c.column.clone())
        };

        let mut connection = self.pool.acquire().await?;
        // 2. Resolve references by id or natural key.
        progress.start("checking references", candidates.len() as u64);
        for (index, field) in spec.fields.iter().enumerate() {
            let FieldKind::Reference(target) = field.kind else {
                continue;
            };
            if target == "stages" {
                continue; // by name within the row's pipeline, below
            }
            let wanted: HashSet<String> = candidates
                .iter()
                .filter_map(|c| match &c.values[index] {
                    Some(SqlValue::Text(Some(text))) => Some(text.clone()),
                    _ => None,
                })
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let resolved = resolve_references(&mut connection, target, &wanted).await?;
            for candidate in &mut candidates {
                if let Some(SqlValue::Text(Some(text))) = &candidate.values[index] {
                    match resolved.get(text) {
                        Some(Ok(id)) => {
                            candidate.values[index] = Some(SqlValue::Text(Some(id.clone())))
                        }
                        Some(Err(count)) => {
                            let message = format!(
                                "{} {text:?} matches {count} {target}; use the id",
                                field.name
                            );
                            fail(
                                &mut report,
                                candidate.line,
                                column_of(field.name).as_deref(),
                                message,
                            );
                            candidate.rejected = true;
                        }
                        None => {
                            let keys = reference_keys(target);
                            let message = format!(
                                "{} {text:?} is no {} (looked up by id{}); import those first or fix the value",
                                field.name,
                                schema::entity(target).map_or("user", |s| s.singular),
                                keys.iter().map(|k| format!(", {k}")).collect::<String>()
                            );
                            fail(
                                &mut report,
                                candidate.line,
                                column_of(field.name).as_deref(),
                                message,
                            );
                            candidate.rejected = true;
                        }
                    }
                }
            }
        }
        candidates.retain(|c| !c.rejected);
        progress.finish();

        // 3. Match keys against the database and the file; check unique fields. Each column's
        // values in the database are read once, also when the key is a unique field.
        let mut checked: Vec<usize> = key_index.into_iter().collect();
        checked.extend(
            (0..spec.fields.len()).filter(|&i| spec.fields[i].unique && Some(i) != key_index),
        );
        let mut matcher = KeyMatcher {
            spec,
            mode: options.mode,
            key_index,
            taken: HashMap::new(),
            seen: HashMap::new(),
        };
        for &index in &checked {
            let values = existing_values(&mut connection, spec, spec.fields[index].name).await?;
            matcher.taken.insert(index, values);
        }
        for candidate in &mut candidates {
            match matcher.check(candidate) {
                Ok(existing) => candidate.existing = existing,
                Err((field, message)) => {
                    fail(
                        &mut report,
                        candidate.line,
                        column_of(field).as_deref(),
                        message,
                    );
                    candidate.rejected = true;
                }
            }
        }
        candidates.retain(|c| !c.rejected);

        // 4. Complete each row: owners, deal stages, required fields.
        let stages = if spec.name == "deals" {
            crate::records::load_stages(&mut connection).await?
        } else {
            Vec::new()
        };
        let mut prepared: Vec<(Candidate, Vec<SqlValue>, Option<Stored>)> =
            Vec::with_capacity(candidates.len());
        let existing_rows = load_existing(
            &mut connection,
            spec,
            candidates
                .iter()
                .filter_map(|c| c.existing.clone())
                .collect(),
        )
        .await?;
        for candidate in candidates {
            let prior = candidate
                .existing
                .as_ref()
                .and_then(|id| existing_rows.get(id))
                .cloned();
            let mut values: Vec<SqlValue> = match &prior {
                Some(stored) => stored.values.clone(),
                None => spec.fields.iter().map(|f| SqlValue::null(f.kind)).collect(),
            };
            for (index, value) in candidate.values.iter().enumerate() {
                // An empty cell leaves an existing record's value as it is.
                if let Some(value) = value
                    && !(prior.is_some() && value.is_null())
                {
                    values[index] = value.clone();
                }
            }
            if spec.has_owner() && prior.is_none() {
                let owner = spec.index("owner_id");
                if values[owner].is_null() {
                    values[owner] = SqlValue::Text(actor.user_id.clone());
                }
            }
            if spec.name == "deals" {
                // What the file gave, not the merged values: an update's stored closed_at is
                // not "given" by a row that moves the deal.
                let closed_at_given = candidate.values[spec.index("closed_at")]
                    .as_ref()
                    .is_some_and(|value| !value.is_null());
                if let Err(error) = crate::records::settle_deal_stage(
                    &stages,
                    spec,
                    &mut values,
                    prior.as_ref(),
                    closed_at_given,
                    true,
                ) {
                    fail(
                        &mut report,
                        candidate.line,
                        column_of("stage_id").as_deref(),
                        error.message().to_string(),
                    );
                    continue;
                }
            }
            if let Some(missing) = spec
                .fields
                .iter()
                .zip(&values)
                .find(|(f, v)| f.required && v.is_null())
            {
                let hint = match column_of(missing.0.name) {
                    Some(column) => format!("the {column:?} cell is empty"),
                    None => format!(
                        "no column of the file maps to it; add one or map it with --map (columns: {})",
                        headers.join(", ")
                    ),
                };
                fail(
                    &mut report,
                    candidate.line,
                    column_of(missing.0.name).as_deref(),
                    format!("{} is required: {hint}", missing.0.name),
                );
                continue;
            }
            if let Some(missing) = definitions
                .iter()
                .find(|d| d.required && prior.is_none() && !candidate.custom.contains_key(&d.name))
            {
                fail(
                    &mut report,
                    candidate.line,
                    None,
                    format!("custom field {:?} is required", missing.name),
                );
                continue;
            }
            prepared.push((candidate, values, prior));
        }
        if spec.name == "activities" {
            check_attachments(
                &mut connection,
                spec,
                &mut prepared,
                &mut |line, message| fail(&mut report, line, Some("record_id"), message),
            )
            .await?;
        }
        drop(connection);

        for (candidate, values, prior) in &prepared {
            match prior {
                None => report.created += 1,
                Some(stored) => {
                    let mut custom = stored.custom.clone();
                    custom.extend(candidate.custom.clone());
                    if *values == stored.values && custom == stored.custom {
                        report.unchanged += 1;
                    } else {
                        report.updated += 1;
                    }
                }
            }
        }
        if report.error_count > 0 {
            report.created = 0;
            report.updated = 0;
            report.unchanged = 0;
            return Ok(report);
        }
        if options.dry_run {
            return Ok(report);
        }

        // 5. Write everything in one transaction.
        let import_id = new_id();
        let started = now();
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO imports (id, entity, source, mode, key_field, actor_id, started_at, rows_created, rows_updated, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 'running')",
        )
        .bind(&import_id)
        .bind(spec.name)
        .bind(&options.source)
        .bind(serde_json::to_value(options.mode).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
        .bind(key.map(str::to_string))
        .bind(actor.user_id.clone())
        .bind(&started)
        .execute(&mut *transaction)
        .await?;
        progress.start("writing", prepared.len() as u64);
        let creates: Vec<(String, &Vec<SqlValue>, &Map<String, Json>)> = prepared
            .iter()
            .filter(|(_, _, prior)| prior.is_none())
            .map(|(candidate, values, _)| (new_id(), values, &candidate.custom))
            .collect();
        // A load larger than the table is faster with its secondary indexes built once at
        // the end (a sort) than updated row by row (random inserts into every index). Inside
        // the transaction, so a failure rolls the indexes back too.
        let mut dropped = Vec::new();
        if creates.len() >= REBUILD_INDEXES_FROM {
            // The entity's table, and for deals the stage history that gets a row per deal.
            let tables: &[&str] = match spec.name {
                "deals" => &["deals", "deal_stage_history"],
                name => &[name],
            };
            for table in tables {
                // Counted only as far as the question needs (a full COUNT scans the table).
                let table_rows: i64 = sqlx::query(AssertSqlSafe(format!(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table} LIMIT {}) t",
                    creates.len() + 1
                )))
                .fetch_one(&mut *transaction)
                .await?
                .try_get("n")?;
                if creates.len() as i64 > table_rows {
                    dropped.extend(drop_secondary_indexes(&mut transaction, table).await?);
                }
            }
        }
        insert_many(
            &mut transaction,
            spec,
            &creates,
            &import_id,
            &started,
            actor,
            progress,
        )
        .await?;
        if !dropped.is_empty() {
            progress.start("rebuilding indexes", dropped.len() as u64);
            for definition in &dropped {
                sqlx::query(AssertSqlSafe(definition.clone()))
                    .execute(&mut *transaction)
                    .await?;
                progress.advance(1);
            }
            progress.finish();
        }
        let mut sequence = 0i64;
        for (candidate, values, prior) in &prepared {
            let Some(stored) = prior else { continue };
            let mut custom = stored.custom.clone();
            custom.extend(candidate.custom.clone());
            if *values == stored.values && custom == stored.custom {
                continue;
            }
            sequence += 1;
            sqlx::query("INSERT INTO import_changes (import_id, seq, entity, record_id, prior) VALUES ($1, $2, $3, $4, $5)")
                .bind(&import_id)
                .bind(sequence)
                .bind(spec.name)
                .bind(&stored.id)
                .bind(prior_json(spec, stored))
                .execute(&mut *transaction)
                .await?;
            write_update(
                &mut transaction,
                spec,
                &stored.id,
                values,
                &custom,
                &started,
            )
            .await?;
            let mut changes = Map::new();
            for (i, field) in spec.fields.iter().enumerate() {
                if stored.values[i] != values[i] {
                    changes.insert(
                        field.name.into(),
                        Json::Array(vec![stored.values[i].to_json(), values[i].to_json()]),
                    );
                }
            }
            for (name, value) in &candidate.custom {
                if stored.custom.get(name) != Some(value) {
                    changes.insert(
                        format!("custom_fields.{name}"),
                        Json::Array(vec![
                            stored.custom.get(name).cloned().unwrap_or(Json::Null),
                            value.clone(),
                        ]),
                    );
                }
            }
            if spec.name == "deals" {
                let stage = |vals: &[SqlValue]| match &vals[spec.index("stage_id")] {
                    SqlValue::Text(text) => text.clone(),
                    _ => None,
                };
                if let (from, Some(to)) = (stage(&stored.values), stage(values))
                    && from.as_deref() != Some(to.as_str())
                {
                    record_stage_change(
                        &mut transaction,
                        actor,
                        &stored.id,
                        from.as_deref(),
                        &to,
                        &started,
                    )
                    .await?;
                }
            }
            crate::audit::record(
                &mut transaction,
                actor,
                "update",
                spec.name,
                Some(&stored.id),
                &Json::Object(changes),
                Some(&import_id),
            )
            .await?;
            progress.advance(1);
        }
        let summary = serde_json::json!({"source": [null, options.source], "created": [null, report.created], "updated": [null, report.updated]});
        crate::audit::record(
            &mut transaction,
            actor,
            "import",
            spec.name,
            None,
            &summary,
            Some(&import_id),
        )
        .await?;
        sqlx::query("UPDATE imports SET finished_at = $1, rows_created = $2, rows_updated = $3, status = 'completed' WHERE id = $4")
            .bind(now())
            .bind(report.created as i64)
            .bind(report.updated as i64)
            .bind(&import_id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        progress.finish();
        if self.dialect == Dialect::Postgres
            && report.created + report.updated >= REBUILD_INDEXES_FROM as u64
        {
            // PostgreSQL plans from statistics that autovacuum refreshes only some time after
            // a bulk load, and counts by index only once a vacuum has marked the pages
            // all-visible; until then (and while autovacuum then runs) counts and sorted pages
            // of the table take up to seconds. Outside the transaction, as VACUUM must be.
            // SQLite's planner needs none of it.
            let tables: &[&str] = match spec.name {
                "deals" => &["deals", "deal_stage_history", "deal_totals"],
                name => &[name],
            };
            for table in tables {
                // Best effort: the import is committed, and its report (with the id to undo
                // it by) must reach the caller even if this fails; autovacuum catches up.
                let _ = sqlx::query(AssertSqlSafe(format!("VACUUM (ANALYZE) {table}")))
                    .execute(&self.pool)
                    .await;
            }
        }
        report.import_id = Some(import_id);
        report.committed = true;
        Ok(report)
    }

    /// Undoes a completed import: its created records are deleted and its updated ones get
    /// back exactly the values they had. Refused (409) when a record has changed since, when
    /// other records now reference one it created, or when activities or tags were attached
    /// to one it created.
    pub async fn undo_import(&self, actor: &Actor, import_id: &str) -> Result<(u64, u64)> {
        actor.require_scope(Scope::Import)?;
        if !matches!(actor.role, Role::Admin | Role::Manager) {
            return Err(StoreError::forbidden(
                "only admins and managers undo imports",
            ));
        }
        let mut transaction = self.begin_write().await?;
        let row = sqlx::query("SELECT entity, status, finished_at FROM imports WHERE id = $1")
            .bind(import_id)
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or_else(|| StoreError::not_found("import", import_id))?;
        let status: String = row.try_get("status")?;
        if status != "completed" {
            return Err(StoreError::new(
                ErrorCode::Conflict,
                format!("import {import_id} is {status}, not completed"),
            ));
        }
        // Claimed first, by a conditional write: of two undos at once (PostgreSQL lets both
        // read "completed"), the second waits on this row and then finds it taken.
        let claimed = sqlx::query(
            "UPDATE imports SET status = 'undone', undone_at = $1 WHERE id = $2 AND status = 'completed'",
        )
        .bind(now())
        .bind(import_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Err(StoreError::new(
                ErrorCode::Conflict,
                format!("import {import_id} is being undone already"),
            ));
        }
        let finished: String = row.try_get("finished_at")?;
        let spec = spec_of(&row.try_get::<String, _>("entity")?)?;
        let changed_since = format!(
            "SELECT id FROM {} WHERE updated_at > $1 AND (import_id = $2 OR id IN (SELECT record_id FROM import_changes WHERE import_id = $2)) LIMIT 1",
            spec.name
        );
        if let Some(row) = sqlx::query(AssertSqlSafe(changed_since))
            .bind(&finished)
            .bind(import_id)
            .fetch_optional(&mut *transaction)
            .await?
        {
            let id: String = row.try_get("id")?;
            return Err(StoreError::new(
                ErrorCode::Conflict,
                format!(
                    "{} {id} changed after the import; undoing would lose that change",
                    spec.singular
                ),
            ));
        }
        // Notes and tags attached to a created record since are work undo would delete with
        // it (they have no foreign key to stop it), so they stop the undo as a change does.
        if schema::ATTACHABLE.contains(&spec.name) {
            for (table, what) in [("activities", "activities"), ("taggings", "tags")] {
                let sql = format!(
                    "SELECT record_id FROM {table} WHERE record_type = $1 AND record_id IN (SELECT id FROM {} WHERE import_id = $2) LIMIT 1",
                    spec.name
                );
                if let Some(row) = sqlx::query(AssertSqlSafe(sql))
                    .bind(spec.name)
                    .bind(import_id)
                    .fetch_optional(&mut *transaction)
                    .await?
                {
                    let id: String = row.try_get("record_id")?;
                    return Err(StoreError::new(
                        ErrorCode::Conflict,
                        format!(
                            "{} {id}, created by the import, has {what} attached since; undoing would delete them (move or delete them first)",
                            spec.singular
                        ),
                    ));
                }
            }
        }
        // Read only once the undo is allowed: an import's changes can be many.
        let changes = sqlx::query(
            "SELECT record_id, prior FROM import_changes WHERE import_id = $1 ORDER BY seq DESC",
        )
        .bind(import_id)
        .fetch_all(&mut *transaction)
        .await?;
        for change in &changes {
            let id: String = change.try_get("record_id")?;
            let prior: Json =
                serde_json::from_str(&change.try_get::<String, _>("prior")?).unwrap_or(Json::Null);
            let values = spec
                .fields
                .iter()
                .map(|f| {
                    crate::value::from_json(
                        f.kind,
                        f.name,
                        prior.get(f.name).unwrap_or(&Json::Null),
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let custom = prior
                .get("custom_fields")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            let updated_at = prior
                .get("updated_at")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            write_update(&mut transaction, spec, &id, &values, &custom, &updated_at).await?;
        }
        if spec.name == "deals" {
            sqlx::query("DELETE FROM deal_stage_history WHERE changed_at >= (SELECT started_at FROM imports WHERE id = $1) AND (deal_id IN (SELECT id FROM deals WHERE import_id = $1) OR deal_id IN (SELECT record_id FROM import_changes WHERE import_id = $1))")
                .bind(import_id)
                .execute(&mut *transaction)
                .await?;
        }
        let deleted = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {} WHERE import_id = $1",
            spec.name
        )))
        .bind(import_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        let summary =
            serde_json::json!({"deleted": [null, deleted], "restored": [null, changes.len()]});
        crate::audit::record(
            &mut transaction,
            actor,
            "undo_import",
            spec.name,
            None,
            &summary,
            Some(import_id),
        )
        .await?;
        transaction.commit().await?;
        Ok((deleted, changes.len() as u64))
    }
}

/// A record's prior state as kept for undo: the record as clients see it (fields, custom
/// fields, `updated_at`).
fn prior_json(spec: &EntitySpec, stored: &Stored) -> String {
    Json::Object(stored.to_record(spec)).to_string()
}

/// Value (lower-cased) → ids of the rows holding it, for one column.
async fn existing_values(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    field: &str,
) -> Result<HashMap<String, Vec<String>>> {
    let sql = format!(
        "SELECT {field} AS v, id FROM {} WHERE {field} IS NOT NULL",
        spec.name
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&mut *connection)
        .await?;
    let mut values: HashMap<String, Vec<String>> = HashMap::with_capacity(rows.len());
    for row in rows {
        let value: String = match row.try_get::<String, _>("v") {
            Ok(text) => text,
            Err(_) => continue, // a numeric key cannot collide with a text one
        };
        values
            .entry(value.to_lowercase())
            .or_default()
            .push(row.try_get("id")?);
    }
    Ok(values)
}

/// For each wanted value: the id it names (by id or natural key), or how many rows it
/// ambiguously names.
async fn resolve_references(
    connection: &mut AnyConnection,
    target: &str,
    wanted: &HashSet<String>,
) -> Result<HashMap<String, std::result::Result<String, usize>>> {
    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    let wanted: Vec<&String> = wanted.iter().collect();
    let keys = reference_keys(target);
    for chunk in wanted.chunks(500) {
        let mut params = Params::new(Dialect::of(connection));
        // Each IN list is pushed anew: SQLite's placeholders are positional.
        let list = |params: &mut Params| {
            chunk
                .iter()
                .map(|value| params.text(value))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut columns = vec!["id".to_string()];
        let mut conditions = vec![format!("id IN ({})", list(&mut params))];
        for key in keys {
            columns.push(key.to_string());
            conditions.push(format!("{key} IN ({})", list(&mut params)));
        }
        let sql = format!(
            "SELECT {} FROM {target} WHERE {}",
            columns.join(", "),
            conditions.join(" OR ")
        );
        for row in params.query(sql).fetch_all(&mut *connection).await? {
            let id: String = row.try_get(0)?;
            let mut names = vec![id.clone()];
            for i in 1..columns.len() {
                if let Ok(Some(value)) = row.try_get::<Option<String>, _>(i) {
                    names.push(value);
                }
            }
            names.dedup();
            for name in names {
                let ids = found.entry(name).or_default();
                if !ids.contains(&id) {
                    ids.push(id.clone());
                }
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|(name, ids)| {
            if ids.len() == 1 {
                (name, Ok(ids[0].clone()))
            } else {
                (name, Err(ids.len()))
            }
        })
        .collect())
}

/// The existing rows of these ids.
async fn load_existing(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    ids: Vec<String>,
) -> Result<HashMap<String, Stored>> {
    let mut rows = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut params = Params::new(Dialect::of(connection));
        let placeholders: Vec<String> = chunk.iter().map(|id| params.text(id)).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE id IN ({})",
            select_list(spec),
            spec.name,
            placeholders.join(", ")
        );
        for row in params.query(sql).fetch_all(&mut *connection).await? {
            let stored = decode(spec, &row)?;
            rows.insert(stored.id.clone(), stored);
        }
    }
    Ok(rows)
}

/// Activities must be attached to records that exist.
async fn check_attachments(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    prepared: &mut Vec<(Candidate, Vec<SqlValue>, Option<Stored>)>,
    fail: &mut (dyn FnMut(u64, String) + Send),
) -> Result<()> {
    let (type_i, id_i) = (spec.index("record_type"), spec.index("record_id"));
    let mut wanted: HashMap<String, HashSet<String>> = HashMap::new();
    for (_, values, _) in prepared.iter() {
        if let (SqlValue::Text(Some(kind)), SqlValue::Text(Some(id))) =
            (&values[type_i], &values[id_i])
        {
            wanted.entry(kind.clone()).or_default().insert(id.clone());
        }
    }
    // Each value as given (an id or a natural key such as an e-mail) -> the record's id.
    let mut resolved: HashMap<(String, String), std::result::Result<String, usize>> =
        HashMap::new();
    for (kind, names) in wanted {
        for (name, id) in resolve_references(connection, &kind, &names).await? {
            resolved.insert((kind.clone(), name), id);
        }
    }
    prepared.retain_mut(|(candidate, values, _)| {
        let (SqlValue::Text(Some(kind)), SqlValue::Text(Some(name))) =
            (&values[type_i], &values[id_i])
        else {
            return true;
        };
        match resolved.get(&(kind.clone(), name.clone())) {
            // Stored as the id, whatever the file named it by.
            Some(Ok(id)) => {
                values[id_i] = SqlValue::Text(Some(id.clone()));
                true
            }
            Some(Err(count)) => {
                fail(
                    candidate.line,
                    format!("record_id {name:?} matches {count} {kind}; use the id"),
                );
                false
            }
            None => {
                fail(
                    candidate.line,
                    format!("record_id {name:?} is no record of {kind}"),
                );
                false
            }
        }
    });
    Ok(())
}

/// Inserts the created rows in batches (and a deal's first stage in its history). The audit
/// log gets one `import` entry for them all, written by the caller: each created record
/// carries the import's id, and its values as created are its values before any later,
/// audited, update — so per-record `create` entries would repeat the table beside it.
async fn insert_many(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    rows: &[(String, &Vec<SqlValue>, &Map<String, Json>)],
    import_id: &str,
    stamp: &str,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<()> {
    let mut columns = vec!["id"];
    columns.extend(spec.fields.iter().map(|f| f.name));
    if spec.custom_fields {
        columns.push("custom_fields");
    }
    columns.extend(["import_id", "created_at", "updated_at"]);
    let history_columns = [
        "id",
        "deal_id",
        "from_stage_id",
        "to_stage_id",
        "changed_by",
        "changed_at",
    ];
    let stage_i = spec.fields.iter().position(|f| f.name == "stage_id");
    let text = |value: &str| SqlValue::Text(Some(value.to_string()));
    for chunk in rows.chunks(BULK_ROWS) {
        let mut records = Vec::with_capacity(chunk.len());
        let mut history = Vec::new();
        for (id, values, custom) in chunk {
            let mut row = Vec::with_capacity(columns.len());
            row.push(text(id));
            row.extend(values.iter().cloned());
            if spec.custom_fields {
                row.push(SqlValue::Text(Some(
                    Json::Object((*custom).clone()).to_string(),
                )));
            }
            row.extend([text(import_id), text(stamp), text(stamp)]);
            records.push(row);
            if let Some(SqlValue::Text(Some(stage))) = stage_i.map(|i| &values[i]) {
                history.push(vec![
                    SqlValue::Text(Some(new_id())),
                    text(id),
                    SqlValue::Text(None),
                    text(stage),
                    SqlValue::Text(actor.user_id.clone()),
                    text(stamp),
                ]);
            }
        }
        bulk_insert(connection, spec.name, &columns, records).await?;
        bulk_insert(connection, "deal_stage_history", &history_columns, history).await?;
        progress.advance(chunk.len() as u64);
    }
    Ok(())
}

/// Creates from which an import into a smaller table rebuilds the indexes afterwards.
const REBUILD_INDEXES_FROM: usize = 10_000;

/// Drops `table`'s indexes other than its primary key and unique constraints, returning the
/// statements that create them again.
async fn drop_secondary_indexes(
    connection: &mut AnyConnection,
    table: &str,
) -> Result<Vec<String>> {
    let sql = match Dialect::of(connection) {
        // Indexes SQLite made for PRIMARY KEY and UNIQUE have no SQL of their own.
        Dialect::Sqlite => {
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL"
        }
        Dialect::Postgres => {
            "SELECT indexname::text AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 \
             AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass)"
        }
    };
    let rows = sqlx::query(sql)
        .bind(table)
        .fetch_all(&mut *connection)
        .await?;
    let mut definitions = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("name")?;
        definitions.push(row.try_get::<String, _>("sql")?);
        sqlx::query(AssertSqlSafe(format!("DROP INDEX {name}")))
            .execute(&mut *connection)
            .await?;
    }
    Ok(definitions)
}

/// Rows per bulk statement.
const BULK_ROWS: usize = 2000;

/// Inserts `rows` (values in `columns` order) into `table`. SQLite: the same multi-row
/// statement every batch, prepared once. PostgreSQL: one statement with one array per column,
/// unnested. Measured on 100,000 customers (`examples/import_file`, one audit row per
/// created row at the time): SQLite json_each 6.0 s against bound rows 4.1 s; PostgreSQL
/// multi-row VALUES 9.3 s, json_populate_recordset 8.4 s. Without those audit rows:
/// PostgreSQL json_populate_recordset 4.7 s, unnest 4.1 s.
pub(crate) async fn bulk_insert(
    connection: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<SqlValue>>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let list = columns.join(", ");
    match Dialect::of(connection) {
        Dialect::Sqlite => {
            let row = format!("({})", vec!["?"; columns.len()].join(", "));
            for batch in rows.chunks(SQLITE_ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO {table} ({list}) VALUES {}",
                    vec![row.as_str(); batch.len()].join(", ")
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for value in batch.iter().flatten() {
                    // SQLite takes a typed null of any type, so nulls are bound too and
                    // every full batch has the same text.
                    query = bind(query, value.clone());
                }
                query.execute(&mut *connection).await?;
            }
        }
        Dialect::Postgres => {
            // One array parameter per column, zipped back into rows by unnest.
            let mut arrays: Vec<String> = vec![String::from("{"); columns.len()];
            for row in &rows {
                for (array, value) in arrays.iter_mut().zip(row) {
                    if array.len() > 1 {
                        array.push(',');
                    }
                    push_array_element(array, value);
                }
            }
            let casts: Vec<String> = rows[0]
                .iter()
                .enumerate()
                .map(|(i, value)| {
                    let element = match value {
                        SqlValue::Text(_) => "text",
                        SqlValue::Float(_) => "double precision",
                        SqlValue::Int(_) | SqlValue::Bool(_) => "bigint",
                    };
                    format!("${}::{element}[]", i + 1)
                })
                .collect();
            let sql = format!(
                "INSERT INTO {table} ({list}) SELECT * FROM unnest({})",
                casts.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for mut array in arrays {
                array.push('}');
                query = query.bind(array);
            }
            query.execute(&mut *connection).await?;
        }
    }
    Ok(())
}

/// Appends `value` to a PostgreSQL array literal: NULL bare, everything else double-quoted
/// with `"` and `\` escaped.
fn push_array_element(array: &mut String, value: &SqlValue) {
    let text = match value {
        SqlValue::Text(Some(text)) => text.clone(),
        SqlValue::Float(Some(number)) => format!("{number:e}"),
        SqlValue::Int(Some(number)) => number.to_string(),
        SqlValue::Bool(Some(flag)) => i64::from(*flag).to_string(),
        _ => {
            array.push_str("NULL");
            return;
        }
    };
    array.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            array.push('\\');
        }
        array.push(c);
    }
    array.push('"');
}

/// Rows per SQLite INSERT: under its 32,766 parameters for the widest table.
const SQLITE_ROWS_PER_STATEMENT: usize = 500;
