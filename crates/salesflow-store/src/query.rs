//! Reading many records: lists filtered on any field (custom ones too), sorted, paged by
//! cursor with a total count; search by name, e-mail or domain; a pipeline's kanban summary.
//! Field names are resolved against the entity's description (an unknown one is an error,
//! never spliced into SQL) and values are always bound.

use serde::Serialize;
use serde_json::Value as Json;
use sqlx::Row;

use crate::Store;
use crate::auth::{Actor, Scope};
use crate::custom_fields::CustomFieldDef;
use crate::db::{Dialect, hex};
use crate::error::{ErrorCode, Result, StoreError};
use crate::records::{Params, Record, decode, select_list, spec_of, visibility};
use crate::schema::{EntitySpec, FieldKind};
use crate::value::{SqlValue, from_json, from_text};

/// How a filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// Equal.
    Eq,
    /// Not equal (nulls excluded).
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Contains the text, ignoring case.
    Contains,
    /// Starts with the text, ignoring case.
    StartsWith,
    /// One of a list (a JSON array, or comma-separated text).
    In,
    /// Is null (`true`) or not (`false`).
    IsNull,
}

impl FilterOp {
    /// The operator of this name (`eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `contains`,
    /// `starts_with`, `in`, `is_null`).
    pub fn parse(name: &str) -> Result<FilterOp> {
        Ok(match name {
            "eq" => FilterOp::Eq,
            "ne" => FilterOp::Ne,
            "lt" => FilterOp::Lt,
            "lte" => FilterOp::Lte,
            "gt" => FilterOp::Gt,
            "gte" => FilterOp::Gte,
            "contains" => FilterOp::Contains,
            "starts_with" => FilterOp::StartsWith,
            "in" => FilterOp::In,
            "is_null" => FilterOp::IsNull,
            _ => {
                return Err(StoreError::new(
                    ErrorCode::InvalidQuery,
                    format!(
                        "unknown filter operator {name:?}: use eq, ne, lt, lte, gt, gte, contains, starts_with, in or is_null"
                    ),
                ));
            }
        })
    }
}

/// One condition of a list.
#[derive(Debug, Clone)]
pub struct Filter {
    /// A field, `id`, `created_at`, `updated_at`, or a custom field (`tier` or `custom_fields.tier`).
    pub field: String,
    /// The comparison.
    pub op: FilterOp,
    /// The value: JSON, or text as it came in a query string (parsed by the field's kind).
    pub value: Json,
}

/// A list request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// All must hold.
    pub filters: Vec<Filter>,
    /// A field to sort on, `-field` for descending; ties and the default go by id (creation order).
    pub sort: Option<String>,
    /// Page size (default 50, at most 1000).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Whether to count every matching record.
    pub with_total: bool,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The records.
    pub records: Vec<Record>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
    /// How many records match, when asked.
    pub total: Option<i64>,
}

/// A column a filter or sort may name.
struct Column {
    expression: String,
    kind: FieldKind,
    nullable: bool,
}

fn resolve(
    spec: &EntitySpec,
    definitions: &[CustomFieldDef],
    dialect: Dialect,
    name: &str,
) -> Result<Column> {
    match name {
        "id" => {
            return Ok(Column {
                expression: "id".into(),
                kind: FieldKind::Text,
                nullable: false,
            });
        }
        "created_at" | "updated_at" => {
            return Ok(Column {
                expression: name.into(),
                kind: FieldKind::Timestamp,
                nullable: false,
            });
        }
        _ => {}
    }
    if let Some(field) = spec.field(name) {
        return Ok(Column {
            expression: field.name.into(),
            kind: field.kind,
            nullable: !field.required,
        });
    }
    let custom_name = name.strip_prefix("custom_fields.").unwrap_or(name);
    if let Some(definition) = definitions.iter().find(|d| d.name == custom_name) {
        // Numbers in custom fields compare and read back as reals, whatever their kind.
        let kind = if definition.is_numeric() {
            FieldKind::Float
        } else {
            definition.field_kind()
        };
        return Ok(Column {
            expression: dialect.custom_field(&definition.name, kind),
            kind,
            nullable: true,
        });
    }
    Err(StoreError::new(
        ErrorCode::UnknownField,
        format!("{} have no field {name:?} to filter or sort on", spec.name),
    )
    .with_field(name))
}

/// The kind an operand of a `kind` column is read as: a reference or choice compared as plain
/// text (any string is a fine operand).
fn operand_kind(kind: FieldKind) -> FieldKind {
    match kind {
        FieldKind::Choice(_) | FieldKind::Email => FieldKind::Text,
        other => other,
    }
}

/// A filter value of `kind`: text is parsed (it came from a URL), JSON checked.
fn filter_value(kind: FieldKind, field: &str, value: &Json) -> Result<SqlValue> {
    // E-mails are stored lower-cased, so they are looked for lower-cased.
    if let (FieldKind::Email, Json::String(text)) = (kind, value) {
        return from_text(FieldKind::Text, field, &text.to_lowercase());
    }
    let kind = operand_kind(kind);
    match value {
        Json::String(text) => from_text(kind, field, text),
        other => from_json(kind, field, other),
    }
}

fn like_pattern(text: &str, prefix_only: bool) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    if prefix_only {
        format!("{escaped}%")
    } else {
        format!("%{escaped}%")
    }
}

fn condition(
    column: &Column,
    filter: &Filter,
    dialect: Dialect,
    params: &mut Params,
) -> Result<String> {
    let expression = &column.expression;
    let field = filter.field.as_str();
    let invalid =
        |message: String| StoreError::new(ErrorCode::InvalidQuery, message).with_field(field);
    Ok(match filter.op {
        FilterOp::IsNull => {
            let wanted = match &filter.value {
                Json::Bool(flag) => *flag,
                Json::String(text) if text == "true" || text.is_empty() => true,
                Json::String(text) if text == "false" => false,
                Json::Null => true,
                other => return Err(invalid(format!("is_null takes true or false, got {other}"))),
            };
            format!("{expression} IS {}NULL", if wanted { "" } else { "NOT " })
        }
        FilterOp::Contains | FilterOp::StartsWith => {
            if matches!(
                column.kind,
                FieldKind::Float | FieldKind::Integer | FieldKind::Bool
            ) {
                // PostgreSQL has no LIKE on numbers (a 500); say so for both databases.
                return Err(invalid(format!(
                    "contains and starts_with compare text; {field} is a number or flag: use eq, ne, lt, gt or in"
                )));
            }
            let text = match &filter.value {
                Json::String(text) => text.clone(),
                other => other.to_string(),
            };
            let placeholder = params.push(SqlValue::Text(Some(like_pattern(
                &text,
                filter.op == FilterOp::StartsWith,
            ))));
            dialect.contains(expression, &placeholder)
        }
        FilterOp::In => {
            let items: Vec<Json> = match &filter.value {
                Json::Array(items) => items.clone(),
                Json::String(text) => text
                    .split(',')
                    .map(|item| Json::String(item.to_string()))
                    .collect(),
                other => vec![other.clone()],
            };
            if items.is_empty() || items.len() > 1000 {
                return Err(invalid("`in` takes 1 to 1000 values".into()));
            }
            let placeholders = items
                .iter()
                .map(|item| filter_value(column.kind, field, item).map(|value| params.push(value)))
                .collect::<Result<Vec<_>>>()?;
            format!("{expression} IN ({})", placeholders.join(", "))
        }
        op => {
            let value = filter_value(column.kind, field, &filter.value)?;
            if value.is_null() {
                return Err(invalid(format!(
                    "{field} cannot be compared with null; use is_null"
                )));
            }
            let symbol = match op {
                FilterOp::Eq => "=",
                FilterOp::Ne => "<>",
                FilterOp::Lt => "<",
                FilterOp::Lte => "<=",
                FilterOp::Gt => ">",
                _ => ">=",
            };
            format!("{expression} {symbol} {}", params.push(value))
        }
    })
}

/// Where a page ended: the sort key and id of its last record.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Cursor {
    sort: String,
    last: Json,
    id: String,
}

fn encode_cursor(cursor: &Cursor) -> String {
    hex(serde_json::to_string(cursor).unwrap_or_default().as_bytes())
}

fn decode_cursor(text: &str) -> Result<Cursor> {
    let invalid = || {
        StoreError::new(
            ErrorCode::InvalidQuery,
            "the cursor is not one this list returned; start again without it",
        )
        .with_field("cursor")
    };
    if !text.len().is_multiple_of(2) || text.len() > 8192 {
        return Err(invalid());
    }
    // By bytes: the cursor came from a URL and may hold anything, e.g. a multi-byte
    // character that slicing the text by two would split (a panic).
    let bytes = text
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|digits| u8::from_str_radix(digits, 16).ok())
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(invalid)?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// A pipeline's stage with its deals counted and summed.
#[derive(Debug, Clone, Serialize)]
pub struct KanbanColumn {
    /// Stage id.
    pub stage_id: String,
    /// Stage name.
    pub name: String,
    /// open, won or lost.
    pub kind: String,
    /// Win probability of the stage.
    pub probability: Option<f64>,
    /// Deals in the stage (that the actor may see).
    pub count: i64,
    /// Their total amount.
    pub amount: f64,
    /// Total amount times the stage's probability.
    pub weighted_amount: f64,
}

/// One search hit.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// The entity.
    pub entity: &'static str,
    /// The record.
    pub record: Record,
}

impl Store {
    /// One page of `entity`'s records that `actor` may see.
    pub async fn list(&self, actor: &Actor, entity: &str, query: &ListQuery) -> Result<Page> {
        let spec = spec_of(entity)?;
        actor.require_scope(Scope::Read)?;
        let definitions = self.custom_fields(spec.name).await?;
        let mut params = Params::new(self.dialect);
        let mut conditions = Vec::new();
        if let Some(visible) = visibility(spec, actor, &mut params) {
            conditions.push(visible);
        }
        for filter in &query.filters {
            let column = resolve(spec, &definitions, self.dialect, &filter.field)?;
            conditions.push(condition(&column, filter, self.dialect, &mut params)?);
        }
        let total = if query.with_total {
            let where_clause = where_clause(&conditions);
            let sql = format!("SELECT COUNT(*) AS n FROM {} {where_clause}", spec.name);
            let count_params = params.clone();
            Some(
                count_params
                    .query(sql)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get::<i64, _>("n")?,
            )
        } else {
            None
        };

        let sort_name = query.sort.clone().unwrap_or_else(|| "id".into());
        let (descending, sort_field) = match sort_name.strip_prefix('-') {
            Some(field) => (true, field.to_string()),
            None => (false, sort_name.trim_start_matches('+').to_string()),
        };
        let sort_column =
            resolve(spec, &definitions, self.dialect, &sort_field).map_err(|error| {
                StoreError::new(ErrorCode::InvalidQuery, error.message().to_string())
                    .with_field("sort")
            })?;
        let sort_index = std::iter::once("id")
            .chain(spec.fields.iter().map(|f| f.name))
            .position(|name| name == sort_field);

        if let Some(cursor_text) = &query.cursor {
            let cursor = decode_cursor(cursor_text)?;
            if cursor.sort != sort_name {
                return Err(StoreError::new(
                    ErrorCode::InvalidQuery,
                    "the cursor belongs to a list sorted another way",
                )
                .with_field("cursor"));
            }
            conditions.push(after_cursor(
                &sort_column,
                descending,
                &cursor,
                &sort_field,
                &mut params,
            )?);
        }
        let expression = &sort_column.expression;
        let (direction, id_direction) = if descending {
            ("DESC", "DESC")
        } else {
            ("ASC", "ASC")
        };
        // Null sorts as the smallest value in both databases (SQLite's own order).
        let nulls = match (sort_column.nullable, descending) {
            (false, _) => "",
            (true, false) => " NULLS FIRST",
            (true, true) => " NULLS LAST",
        };
        let order = if sort_field == "id" {
            format!("id {id_direction}")
        } else {
            format!("{expression} {direction}{nulls}, id {id_direction}")
        };
        let limit = query.limit.unwrap_or(50).clamp(1, 1000) as usize;
        let sql = format!(
            "SELECT {}, {expression} AS sort_key FROM {} {} ORDER BY {order} LIMIT {}",
            select_list(spec),
            spec.name,
            where_clause(&conditions),
            limit + 1
        );
        let rows = params.query(sql).fetch_all(&self.pool).await?;
        let has_more = rows.len() > limit;
        let mut records = Vec::with_capacity(limit);
        let mut last_key = Json::Null;
        for row in rows.iter().take(limit) {
            let stored = decode(spec, row)?;
            last_key = match sort_index {
                Some(0) => Json::String(stored.id.clone()),
                Some(i) => stored.values[i - 1].to_json(),
                None => crate::value::read(row, spec.fields.len() + 4, sort_column.kind)?.to_json(),
            };
            records.push(stored.to_record(spec));
        }
        let next_cursor = if has_more {
            let id = records
                .last()
                .and_then(|r| r.get("id"))
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            Some(encode_cursor(&Cursor {
                sort: sort_name,
                last: last_key,
                id,
            }))
        } else {
            None
        };
        Ok(Page {
            records,
            next_cursor,
            total,
        })
    }

    /// Records whose name, e-mail or domain contains `term` (case-insensitive), among
    /// companies, customers and deals the actor may see; at most `limit` per entity.
    pub async fn search(&self, actor: &Actor, term: &str, limit: u32) -> Result<Vec<SearchHit>> {
        actor.require_scope(Scope::Read)?;
        let term = term.trim();
        if term.is_empty() {
            return Err(
                StoreError::new(ErrorCode::InvalidQuery, "search needs a term").with_field("q"),
            );
        }
        let mut hits = Vec::new();
        for spec in [
            &crate::schema::COMPANIES,
            &crate::schema::CUSTOMERS,
            &crate::schema::DEALS,
        ] {
            let mut params = Params::new(self.dialect);
            let pattern = like_pattern(term, false);
            let matches: Vec<String> = spec
                .search_fields
                .iter()
                .map(|field| {
                    let placeholder = params.text(&pattern);
                    self.dialect.contains(field, &placeholder)
                })
                .collect();
            let mut conditions = vec![format!("({})", matches.join(" OR "))];
            if let Some(visible) = visibility(spec, actor, &mut params) {
                conditions.push(visible);
            }
            let sql = format!(
                "SELECT {} FROM {} {} ORDER BY id LIMIT {}",
                select_list(spec),
                spec.name,
                where_clause(&conditions),
                limit.clamp(1, 100)
            );
            for row in params.query(sql).fetch_all(&self.pool).await? {
                hits.push(SearchHit {
                    entity: spec.name,
                    record: decode(spec, &row)?.to_record(spec),
                });
            }
        }
        Ok(hits)
    }

    /// Count, amount and weighted amount of the deals in each stage of a pipeline (those the
    /// actor may see), in stage order.
    pub async fn kanban(&self, actor: &Actor, pipeline_id: &str) -> Result<Vec<KanbanColumn>> {
        self.get(actor, "pipelines", pipeline_id).await?;
        let stages = sqlx::query("SELECT id, name, kind, probability FROM stages WHERE pipeline_id = $1 ORDER BY position, id")
            .bind(pipeline_id)
            .fetch_all(&self.pool)
            .await?;
        // From the totals the triggers keep (migration 0003), not a scan of the deals: the
        // board costs a few rows per stage however many deals there are.
        let mut params = Params::new(self.dialect);
        let pipeline = params.text(pipeline_id);
        let mut conditions = vec![format!("pipeline_id = {pipeline}")];
        if let Some(visible) = visibility(&crate::schema::DEALS, actor, &mut params) {
            conditions.push(visible);
        }
        // SQLite keeps the amount as a compensated float pair, PostgreSQL as an exact NUMERIC
        // (see the migration). A stage emptied by moves keeps its rows at zero deals; what is
        // left of a float amount there is a rounding residue, reported as 0.
        let amount = match self.dialect {
            Dialect::Sqlite => "SUM(amount + amount_error)",
            Dialect::Postgres => "SUM(amount)",
        };
        let sql = format!(
            "SELECT stage_id, CAST(SUM(deals) AS BIGINT) AS n, \
             CAST(CASE WHEN SUM(deals) = 0 THEN 0.0 ELSE {amount} END AS DOUBLE PRECISION) AS total \
             FROM deal_totals {} GROUP BY stage_id",
            where_clause(&conditions)
        );
        let totals = params.query(sql).fetch_all(&self.pool).await?;
        let mut by_stage = std::collections::HashMap::new();
        for row in &totals {
            let stage: String = row.try_get("stage_id")?;
            let count: i64 = row.try_get("n")?;
            let amount = crate::value::read(row, 2, FieldKind::Float)?;
            let amount = match amount {
                SqlValue::Float(amount) => amount.unwrap_or(0.0),
                _ => 0.0,
            };
            by_stage.insert(stage, (count, amount));
        }
        stages
            .iter()
            .map(|row| {
                let stage_id: String = row.try_get("id")?;
                let probability = match crate::value::read(row, 3, FieldKind::Float)? {
                    SqlValue::Float(p) => p,
                    _ => None,
                };
                let (count, amount) = by_stage.get(&stage_id).copied().unwrap_or((0, 0.0));
                Ok(KanbanColumn {
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    probability,
                    count,
                    amount,
                    weighted_amount: amount * probability.unwrap_or(0.0),
                    stage_id,
                })
            })
            .collect()
    }
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// The rows after the cursor in the list's order (null is the smallest value).
fn after_cursor(
    column: &Column,
    descending: bool,
    cursor: &Cursor,
    field: &str,
    params: &mut Params,
) -> Result<String> {
    // Values are pushed in the order they appear (SQLite's placeholders are positional).
    if field == "id" {
        let id = params.text(&cursor.id);
        return Ok(format!("id {} {id}", if descending { "<" } else { ">" }));
    }
    let expression = &column.expression;
    // The last key as the list wrote it (JSON), not URL text: "" and " Acme " are values.
    let last = from_json(operand_kind(column.kind), field, &cursor.last).map_err(|_| {
        StoreError::new(ErrorCode::InvalidQuery, "the cursor does not fit this list")
            .with_field("cursor")
    })?;
    let (beyond, id_beyond) = if descending { ("<", "<") } else { (">", ">") };
    Ok(match (last.is_null(), descending) {
        (true, false) => {
            let id = params.text(&cursor.id);
            format!("(({expression} IS NULL AND id > {id}) OR {expression} IS NOT NULL)")
        }
        (true, true) => {
            let id = params.text(&cursor.id);
            format!("({expression} IS NULL AND id < {id})")
        }
        (false, _) => {
            let first = params.push(last.clone());
            let again = params.push(last);
            let id = params.text(&cursor.id);
            let nulls = if descending && column.nullable {
                format!(" OR {expression} IS NULL")
            } else {
                String::new()
            };
            format!(
                "({expression} {beyond} {first} OR ({expression} = {again} AND id {id_beyond} {id}){nulls})"
            )
        }
    })
}
