//! Create, read, update and delete for every entity, driven by its [`EntitySpec`]: values
//! validated by kind, references checked to exist and be visible, unique values checked,
//! owners enforced, deals' stage changes written to their history, and every change to the
//! audit log — each in one transaction.

use serde::Serialize;
use serde_json::{Map, Value as Json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::Store;
use crate::auth::{Actor, Role};
use crate::custom_fields::{CustomFieldDef, merge_custom_fields};
use crate::db::{Dialect, new_id, now};
use crate::error::{ErrorCode, Result, StoreError};
use crate::schema::{self, EntitySpec, FieldKind, Ownership};
use crate::value::{SqlValue, bind, from_json, read};

/// A record as clients see it: `id`, the entity's fields, `custom_fields` (when the entity
/// has them), `created_at`, `updated_at`.
pub type Record = Map<String, Json>;

/// Fields the store sets itself.
const SYSTEM_FIELDS: &[&str] = &["id", "created_at", "updated_at", "import_id"];

/// The values of one statement: `push` binds a value and returns its placeholder.
///
/// PostgreSQL gets `$1, $2, ...`; SQLite gets anonymous `?`, so placeholders must appear in
/// the SQL in the order they were pushed, and a value used twice is pushed twice. Numbered
/// or named placeholders make SQLite (at parse) and sqlx (at bind) look each one up in a
/// list: quadratic in their number — over a minute for 100,000 rows in 1,000-row INSERTs.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) values: Vec<SqlValue>,
    dialect: Dialect,
}

impl Params {
    pub(crate) fn new(dialect: Dialect) -> Params {
        Params {
            values: Vec::new(),
            dialect,
        }
    }

    /// Binds `value` and returns its placeholder — or, for a null, the literal `NULL`:
    /// PostgreSQL then types it from the column, and no typed null has to survive the Any
    /// driver (sqlx 0.9.0 sends an `Option<f64>::None` as a float4 null, which a statement
    /// prepared for float8 rejects).
    pub(crate) fn push(&mut self, value: SqlValue) -> String {
        if value.is_null() {
            return "NULL".into();
        }
        self.values.push(value);
        match self.dialect {
            Dialect::Sqlite => "?".into(),
            Dialect::Postgres => format!("${}", self.values.len()),
        }
    }

    pub(crate) fn text(&mut self, text: &str) -> String {
        self.push(SqlValue::Text(Some(text.to_string())))
    }

    /// The statement with every value bound.
    pub(crate) fn query(
        self,
        sql: String,
    ) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in self.values {
            query = bind(query, value);
        }
        query
    }
}

/// The entity of this API name, or 404.
pub(crate) fn spec_of(entity: &str) -> Result<&'static EntitySpec> {
    schema::entity(entity).ok_or_else(|| {
        StoreError::new(
            ErrorCode::NotFound,
            format!(
                "no entity {entity:?}; the entities are {}",
                schema::ENTITIES
                    .iter()
                    .map(|e| e.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// The SELECT list of an entity, in the order [`decode`] reads it.
pub(crate) fn select_list(spec: &EntitySpec) -> String {
    let mut columns = vec!["id"];
    columns.extend(spec.fields.iter().map(|f| f.name));
    columns.push(if spec.custom_fields {
        "custom_fields"
    } else {
        "NULL AS custom_fields"
    });
    columns.extend(["created_at", "updated_at"]);
    columns.join(", ")
}

/// A stored row: its typed field values (in spec order), custom fields and timestamps.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) id: String,
    pub(crate) values: Vec<SqlValue>,
    pub(crate) custom: Map<String, Json>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl Stored {
    pub(crate) fn value(&self, spec: &EntitySpec, name: &str) -> Option<&SqlValue> {
        spec.fields
            .iter()
            .position(|f| f.name == name)
            .map(|i| &self.values[i])
    }

    pub(crate) fn text(&self, spec: &EntitySpec, name: &str) -> Option<String> {
        match self.value(spec, name) {
            Some(SqlValue::Text(text)) => text.clone(),
            _ => None,
        }
    }

    /// The record clients see.
    pub(crate) fn to_record(&self, spec: &EntitySpec) -> Record {
        let mut record = Map::new();
        record.insert("id".into(), Json::String(self.id.clone()));
        for (field, value) in spec.fields.iter().zip(&self.values) {
            record.insert(field.name.into(), value.to_json());
        }
        if spec.custom_fields {
            record.insert("custom_fields".into(), Json::Object(self.custom.clone()));
        }
        record.insert("created_at".into(), Json::String(self.created_at.clone()));
        record.insert("updated_at".into(), Json::String(self.updated_at.clone()));
        record
    }
}

/// Reads a row selected with [`select_list`].
pub(crate) fn decode(spec: &EntitySpec, row: &AnyRow) -> Result<Stored> {
    let values = spec
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| read(row, i + 1, field.kind))
        .collect::<Result<Vec<_>>>()?;
    let after = spec.fields.len() + 1;
    let custom = match row.try_get::<Option<String>, _>(after)? {
        Some(text) => match serde_json::from_str(&text) {
            Ok(Json::Object(map)) => map,
            _ => Map::new(),
        },
        None => Map::new(),
    };
    Ok(Stored {
        id: row.try_get(0)?,
        values,
        custom,
        created_at: row.try_get(after + 1)?,
        updated_at: row.try_get(after + 2)?,
    })
}

/// The condition limiting `spec`'s rows to those `actor` may see, if any limit applies.
pub(crate) fn visibility(spec: &EntitySpec, actor: &Actor, params: &mut Params) -> Option<String> {
    if actor.sees_everything() {
        return None;
    }
    match spec.ownership {
        Ownership::Shared => None,
        Ownership::Owner => Some(owned_by_team(actor, params)),
        Ownership::Attached => {
            // One branch per kind of record; values are pushed in the order they appear.
            let branches: Vec<String> = schema::ATTACHABLE
                .iter()
                .map(|target| {
                    let target_spec =
                        schema::entity(target).expect("attachable kinds are entities");
                    let inner =
                        visibility(target_spec, actor, params).unwrap_or_else(|| "TRUE".into());
                    format!(
                        "(record_type = '{target}' AND record_id IN (SELECT id FROM {target} WHERE {inner}))"
                    )
                })
                .collect();
            Some(format!("({})", branches.join(" OR ")))
        }
        Ownership::Through(field, target) => {
            let target_spec = schema::entity(target).expect("ownership targets are entities");
            let inner = visibility(target_spec, actor, params).unwrap_or_else(|| "TRUE".into());
            Some(format!(
                "{field} IN (SELECT id FROM {target} WHERE {inner})"
            ))
        }
    }
}

/// `owner_id` is the actor or someone of the actor's team.
fn owned_by_team(actor: &Actor, params: &mut Params) -> String {
    // An actor who is no user owns nothing (and must not match rows whose owner is stored
    // as '', as in deal_totals).
    let Some(user_id) = actor.user_id.as_deref() else {
        return "1 = 0".into();
    };
    let me = params.text(user_id);
    match &actor.team_id {
        Some(team) => {
            let team = params.text(team);
            format!(
                "(owner_id = {me} OR owner_id IN (SELECT id FROM users WHERE team_id = {team}))"
            )
        }
        None => format!("owner_id = {me}"),
    }
}

/// Loads one row `actor` may see, inside the caller's transaction.
pub(crate) async fn fetch(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    actor: &Actor,
    id: &str,
) -> Result<Option<Stored>> {
    let mut params = Params::new(Dialect::of(connection));
    let id_param = params.text(id);
    let mut sql = format!(
        "SELECT {} FROM {} WHERE id = {id_param}",
        select_list(spec),
        spec.name
    );
    if let Some(condition) = visibility(spec, actor, &mut params) {
        sql.push_str(&format!(" AND {condition}"));
    }
    let row = params.query(sql).fetch_optional(&mut *connection).await?;
    row.map(|row| decode(spec, &row)).transpose()
}

/// Whether `actor` may write rows of `spec` at all.
pub(crate) fn check_writer(spec: &EntitySpec, actor: &Actor) -> Result<()> {
    actor.require_writer()?;
    let shared_setup = spec.ownership == Ownership::Shared && spec.name != "tags";
    if shared_setup && !matches!(actor.role, Role::Admin | Role::Manager) {
        return Err(StoreError::forbidden(format!(
            "only admins and managers change {}",
            spec.name
        )));
    }
    Ok(())
}

/// What an update changes: field → [old, new].
pub(crate) type Changes = Map<String, Json>;

/// Validated values of a create or update, before writing.
struct Prepared {
    values: Vec<SqlValue>,
    custom: Map<String, Json>,
    changes: Changes,
    stage_moved: Option<(Option<String>, String)>,
}

impl Store {
    /// Creates a record of `entity` from a JSON object.
    pub async fn create(&self, actor: &Actor, entity: &str, input: &Json) -> Result<Record> {
        let spec = spec_of(entity)?;
        check_writer(spec, actor)?;
        let definitions = self.custom_fields(spec.name).await?;
        let mut transaction = self.begin_write().await?;
        let prepared = prepare(&mut transaction, spec, &definitions, actor, None, input).await?;
        let id = new_id();
        let stamp = now();
        insert(
            &mut transaction,
            spec,
            &id,
            &prepared.values,
            &prepared.custom,
            None,
            &stamp,
        )
        .await?;
        if let Some((from, to)) = &prepared.stage_moved {
            record_stage_change(&mut transaction, actor, &id, from.as_deref(), to, &stamp).await?;
        }
        crate::audit::record(
            &mut transaction,
            actor,
            "create",
            spec.name,
            Some(&id),
            &Json::Object(prepared.changes),
            None,
        )
        .await?;
        let stored = fetch(&mut transaction, spec, &Actor::system(), &id)
            .await?
            .ok_or_else(|| StoreError::not_found(spec.singular, &id))?;
        transaction.commit().await?;
        Ok(stored.to_record(spec))
    }

    /// One record `actor` may see.
    pub async fn get(&self, actor: &Actor, entity: &str, id: &str) -> Result<Record> {
        let spec = spec_of(entity)?;
        actor.require_scope(crate::auth::Scope::Read)?;
        let mut connection = self.pool.acquire().await?;
        fetch(&mut connection, spec, actor, id)
            .await?
            .map(|stored| stored.to_record(spec))
            .ok_or_else(|| StoreError::not_found(spec.singular, id))
    }

    /// Changes the fields named in `patch` (a JSON object; `null` clears a field).
    pub async fn update(
        &self,
        actor: &Actor,
        entity: &str,
        id: &str,
        patch: &Json,
    ) -> Result<Record> {
        let spec = spec_of(entity)?;
        check_writer(spec, actor)?;
        let definitions = self.custom_fields(spec.name).await?;
        let mut transaction = self.begin_write().await?;
        let existing = fetch(&mut transaction, spec, actor, id)
            .await?
            .ok_or_else(|| StoreError::not_found(spec.singular, id))?;
        let prepared = prepare(
            &mut transaction,
            spec,
            &definitions,
            actor,
            Some(&existing),
            patch,
        )
        .await?;
        if prepared.changes.is_empty() {
            transaction.commit().await?;
            return Ok(existing.to_record(spec));
        }
        let stamp = now();
        write_update(
            &mut transaction,
            spec,
            id,
            &prepared.values,
            &prepared.custom,
            &stamp,
        )
        .await?;
        if let Some((from, to)) = &prepared.stage_moved {
            record_stage_change(&mut transaction, actor, id, from.as_deref(), to, &stamp).await?;
        }
        crate::audit::record(
            &mut transaction,
            actor,
            "update",
            spec.name,
            Some(id),
            &Json::Object(prepared.changes),
            None,
        )
        .await?;
        let stored = fetch(&mut transaction, spec, &Actor::system(), id)
            .await?
            .ok_or_else(|| StoreError::not_found(spec.singular, id))?;
        transaction.commit().await?;
        Ok(stored.to_record(spec))
    }

    /// Moves a deal to `stage_id` (of its pipeline or another), recording the change.
    pub async fn move_deal(
        &self,
        actor: &Actor,
        deal_id: &str,
        stage_id: &str,
        lost_reason_id: Option<&str>,
    ) -> Result<Record> {
        let mut patch = serde_json::json!({ "stage_id": stage_id });
        if let Some(reason) = lost_reason_id {
            patch["lost_reason_id"] = Json::String(reason.to_string());
        }
        self.update(actor, "deals", deal_id, &patch).await
    }

    /// Deletes a record with its history, activities and tags; refuses (409) while other
    /// records still reference it.
    pub async fn delete(&self, actor: &Actor, entity: &str, id: &str) -> Result<()> {
        let spec = spec_of(entity)?;
        check_writer(spec, actor)?;
        let mut transaction = self.begin_write().await?;
        let existing = fetch(&mut transaction, spec, actor, id)
            .await?
            .ok_or_else(|| StoreError::not_found(spec.singular, id))?;
        if let Some(user) = referenced_by(&mut transaction, spec, id).await? {
            return Err(StoreError::new(
                ErrorCode::Conflict,
                format!(
                    "this {} is still referenced by {user}; reassign or delete those first (or merge it)",
                    spec.singular
                ),
            ));
        }
        delete_dependents(&mut transaction, spec, id).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {} WHERE id = $1",
            spec.name
        )))
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        let mut changes = Map::new();
        for (field, value) in spec.fields.iter().zip(&existing.values) {
            if !value.is_null() {
                changes.insert(
                    field.name.into(),
                    Json::Array(vec![value.to_json(), Json::Null]),
                );
            }
        }
        for (name, value) in &existing.custom {
            changes.insert(
                format!("custom_fields.{name}"),
                Json::Array(vec![value.clone(), Json::Null]),
            );
        }
        crate::audit::record(
            &mut transaction,
            actor,
            "delete",
            spec.name,
            Some(id),
            &Json::Object(changes),
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// A deal's stage changes, oldest first.
    pub async fn deal_history(&self, actor: &Actor, deal_id: &str) -> Result<Vec<StageChange>> {
        self.get(actor, "deals", deal_id).await?;
        let rows = sqlx::query(
            "SELECT id, from_stage_id, to_stage_id, changed_by, changed_at FROM deal_stage_history WHERE deal_id = $1 ORDER BY changed_at, id",
        )
        .bind(deal_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StageChange {
                    id: row.try_get("id")?,
                    from_stage_id: row.try_get("from_stage_id")?,
                    to_stage_id: row.try_get("to_stage_id")?,
                    changed_by: row.try_get("changed_by")?,
                    changed_at: row.try_get("changed_at")?,
                })
            })
            .collect()
    }
}

/// One move of a deal between stages.
#[derive(Debug, Clone, Serialize)]
pub struct StageChange {
    /// Entry id.
    pub id: String,
    /// The stage left (`null` when the deal was created).
    pub from_stage_id: Option<String>,
    /// The stage entered.
    pub to_stage_id: String,
    /// Who moved it (`null`: the system or an import).
    pub changed_by: Option<String>,
    /// When.
    pub changed_at: String,
}

/// Validates `input` against `spec` (over `existing` for an update) and works out the row.
async fn prepare(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    definitions: &[CustomFieldDef],
    actor: &Actor,
    existing: Option<&Stored>,
    input: &Json,
) -> Result<Prepared> {
    let Json::Object(input) = input else {
        return Err(StoreError::new(
            ErrorCode::InvalidValue,
            format!("the body must be a JSON object of {} fields", spec.singular),
        ));
    };
    let creating = existing.is_none();
    let mut values: Vec<SqlValue> = match existing {
        Some(stored) => stored.values.clone(),
        None => spec.fields.iter().map(|f| SqlValue::null(f.kind)).collect(),
    };
    for (key, value) in input {
        if key == "custom_fields" {
            continue;
        }
        if SYSTEM_FIELDS.contains(&key.as_str()) {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!("{key} is set by salesflow, not by clients"),
            )
            .with_field(key.as_str()));
        }
        let index = spec
            .fields
            .iter()
            .position(|f| f.name == key)
            .ok_or_else(|| {
                StoreError::new(
                    ErrorCode::UnknownField,
                    format!(
                        "{} have no field {key:?}; the fields are {}",
                        spec.name,
                        spec.fields
                            .iter()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .with_field(key.as_str())
            })?;
        values[index] = from_json(spec.fields[index].kind, key, value)?;
    }
    let empty = Map::new();
    let custom = merge_custom_fields(
        spec,
        definitions,
        existing.map_or(&empty, |stored| &stored.custom),
        input.get("custom_fields"),
        creating,
    )?;
    if spec.has_owner() {
        let owner_index = spec.index("owner_id");
        if creating && values[owner_index].is_null() {
            values[owner_index] = SqlValue::Text(actor.user_id.clone());
        }
        if let SqlValue::Text(Some(owner)) = &values[owner_index] {
            let changed =
                existing.is_none_or(|stored| stored.values[owner_index] != values[owner_index]);
            if changed
                && !actor.sees_everything()
                && !owner_in_team(connection, actor, owner).await?
            {
                return Err(StoreError::forbidden(
                    "sales users may assign records only to themselves or their team",
                )
                .with_field("owner_id"));
            }
        }
    }

    let stage_moved = if spec.name == "deals" {
        let stages = load_stages(connection).await?;
        settle_deal_stage(
            &stages,
            spec,
            &mut values,
            existing,
            input.contains_key("closed_at"),
            false,
        )?
    } else {
        None
    };

    for (field, value) in spec.fields.iter().zip(&values) {
        if field.required && value.is_null() {
            return Err(StoreError::new(
                ErrorCode::MissingField,
                format!("{} is required", field.name),
            )
            .with_field(field.name));
        }
    }

    let mut changes = Map::new();
    for (i, field) in spec.fields.iter().enumerate() {
        let old = existing.map_or_else(
            || SqlValue::null(field.kind),
            |stored| stored.values[i].clone(),
        );
        if old == values[i] {
            continue;
        }
        if let (FieldKind::Reference(target), SqlValue::Text(Some(id))) = (field.kind, &values[i]) {
            check_reference(connection, actor, field.name, target, id).await?;
        }
        if field.unique
            && let SqlValue::Text(Some(text)) = &values[i]
        {
            check_unique(
                connection,
                spec,
                field.name,
                text,
                existing.map(|s| s.id.as_str()),
            )
            .await?;
        }
        changes.insert(
            field.name.into(),
            Json::Array(vec![old.to_json(), values[i].to_json()]),
        );
    }
    if matches!(spec.name, "activities" | "taggings")
        && (changes.contains_key("record_id") || changes.contains_key("record_type"))
    {
        let record_type = values[spec.index("record_type")].clone();
        let record_id = values[spec.index("record_id")].clone();
        if let (SqlValue::Text(Some(record_type)), SqlValue::Text(Some(record_id))) =
            (record_type, record_id)
        {
            check_reference(
                connection,
                actor,
                "record_id",
                attachable_entity(&record_type)?,
                &record_id,
            )
            .await?;
        }
    }
    let old_custom = existing.map_or(&empty, |stored| &stored.custom);
    for name in old_custom.keys().chain(custom.keys()) {
        let (old, new) = (old_custom.get(name), custom.get(name));
        if old != new {
            let key = format!("custom_fields.{name}");
            changes.entry(key).or_insert_with(|| {
                Json::Array(vec![
                    old.cloned().unwrap_or(Json::Null),
                    new.cloned().unwrap_or(Json::Null),
                ])
            });
        }
    }
    Ok(Prepared {
        values,
        custom,
        changes,
        stage_moved,
    })
}

/// The entity an activity or tagging's `record_type` names (already checked to be a choice).
fn attachable_entity(record_type: &str) -> Result<&'static str> {
    schema::ATTACHABLE
        .iter()
        .copied()
        .find(|name| *name == record_type)
        .ok_or_else(|| {
            StoreError::new(ErrorCode::InvalidValue, "unknown record_type")
                .with_field("record_type")
        })
}

/// A stage as the deal rules need it.
pub(crate) struct StageRow {
    pub(crate) id: String,
    pub(crate) pipeline_id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
}

/// Every stage, each pipeline's in order (a small table: read whole).
pub(crate) async fn load_stages(connection: &mut AnyConnection) -> Result<Vec<StageRow>> {
    let rows = sqlx::query(
        "SELECT id, pipeline_id, name, kind FROM stages ORDER BY pipeline_id, position, id",
    )
    .fetch_all(&mut *connection)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StageRow {
                id: row.try_get("id")?,
                pipeline_id: row.try_get("pipeline_id")?,
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
            })
        })
        .collect()
}

/// Settles a deal's pipeline, stage and `closed_at` — the one set of rules for the API and
/// the import. `values` are the deal's values after the change (for an update, the stored
/// ones with the change over them). A deal without a stage (or moved to another pipeline
/// with its old stage) starts at the pipeline's first open stage; a stage of another
/// pipeline moves the deal there, unless the pipeline was changed too and disagrees; a
/// missing pipeline comes from the stage. On a stage change `closed_at` is stamped for won
/// and lost stages and cleared for open ones, unless the change sets it itself. With
/// `by_name` (imports) the stage may also be named, within the deal's pipeline. Returns the
/// move (from, to) when the stage changed.
pub(crate) fn settle_deal_stage(
    stages: &[StageRow],
    spec: &EntitySpec,
    values: &mut [SqlValue],
    existing: Option<&Stored>,
    closed_at_given: bool,
    by_name: bool,
) -> Result<Option<(Option<String>, String)>> {
    let (pipeline_i, stage_i, closed_i) = (
        spec.index("pipeline_id"),
        spec.index("stage_id"),
        spec.index("closed_at"),
    );
    let text = |value: &SqlValue| match value {
        SqlValue::Text(text) => text.clone(),
        _ => None,
    };
    let invalid =
        |message: String| StoreError::new(ErrorCode::InvalidValue, message).with_field("stage_id");
    let old_stage = existing.and_then(|stored| stored.text(spec, "stage_id"));
    let old_pipeline = existing.and_then(|stored| stored.text(spec, "pipeline_id"));
    let pipeline = text(&values[pipeline_i]);
    let pipeline_changed = pipeline != old_pipeline;
    let named = text(&values[stage_i])
        .filter(|stage| !(pipeline_changed && old_stage.as_ref() == Some(stage)));
    let chosen = match (&named, &pipeline) {
        (Some(stage), pipeline) => match stages.iter().find(|s| s.id == *stage) {
            Some(row) => row,
            None if by_name => {
                let matches: Vec<&StageRow> = stages
                    .iter()
                    .filter(|s| {
                        s.name.eq_ignore_ascii_case(stage)
                            && pipeline.as_ref().is_none_or(|p| s.pipeline_id == *p)
                    })
                    .collect();
                match matches[..] {
                    [one] => one,
                    [] => {
                        return Err(invalid(format!(
                            "stage {stage:?} is no stage{}",
                            pipeline
                                .as_ref()
                                .map_or(String::new(), |p| format!(" of pipeline {p}"))
                        )));
                    }
                    _ => {
                        return Err(invalid(format!(
                            "stage {stage:?} is in several pipelines; give the pipeline too"
                        )));
                    }
                }
            }
            None => return Err(invalid(format!("stage_id {stage:?} is no stage"))),
        },
        (None, Some(pipeline)) => stages
            .iter()
            .find(|s| s.pipeline_id == *pipeline && s.kind == "open")
            .ok_or_else(|| invalid(format!("pipeline {pipeline} has no open stage")))?,
        // Reported as a missing required field.
        (None, None) => return Ok(None),
    };
    match &pipeline {
        Some(pipeline) if *pipeline != chosen.pipeline_id && pipeline_changed => {
            return Err(invalid(format!(
                "stage {:?} belongs to pipeline {:?}, not {pipeline:?}",
                chosen.id, chosen.pipeline_id
            )));
        }
        // No pipeline, or a stage of another one chosen for a deal staying put: the deal
        // goes where its stage is.
        _ => values[pipeline_i] = SqlValue::Text(Some(chosen.pipeline_id.clone())),
    }
    values[stage_i] = SqlValue::Text(Some(chosen.id.clone()));
    if old_stage.as_deref() == Some(chosen.id.as_str()) {
        return Ok(None);
    }
    if !closed_at_given {
        values[closed_i] = if chosen.kind == "open" {
            SqlValue::Text(None)
        } else {
            SqlValue::Text(Some(now()))
        };
    }
    Ok(Some((old_stage, chosen.id.clone())))
}

async fn owner_in_team(connection: &mut AnyConnection, actor: &Actor, owner: &str) -> Result<bool> {
    if actor.user_id.as_deref() == Some(owner) {
        return Ok(true);
    }
    let Some(team) = &actor.team_id else {
        return Ok(false);
    };
    let row = sqlx::query("SELECT 1 AS found FROM users WHERE id = $1 AND team_id = $2")
        .bind(owner)
        .bind(team)
        .fetch_optional(&mut *connection)
        .await?;
    Ok(row.is_some())
}

/// A reference must point at a row that exists and that the actor may see.
async fn check_reference(
    connection: &mut AnyConnection,
    actor: &Actor,
    field: &str,
    target: &str,
    id: &str,
) -> Result<()> {
    let mut params = Params::new(Dialect::of(connection));
    let id_param = params.text(id);
    let mut sql = format!("SELECT 1 AS found FROM {target} WHERE id = {id_param}");
    if let Some(target_spec) = schema::entity(target)
        && let Some(condition) = visibility(target_spec, actor, &mut params)
    {
        sql.push_str(&format!(" AND {condition}"));
    }
    if params
        .query(sql)
        .fetch_optional(&mut *connection)
        .await?
        .is_none()
    {
        let singular = schema::entity(target).map_or("user", |spec| spec.singular);
        return Err(StoreError::new(
            ErrorCode::InvalidValue,
            format!("{field} {id:?} is no {singular} you can see"),
        )
        .with_field(field));
    }
    Ok(())
}

async fn check_unique(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    field: &str,
    value: &str,
    except: Option<&str>,
) -> Result<()> {
    let sql = format!(
        "SELECT 1 AS taken FROM {} WHERE {field} = $1 AND id <> $2",
        spec.name
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(value)
        .bind(except.unwrap_or(""))
        .fetch_optional(&mut *connection)
        .await?;
    if row.is_some() {
        // Not which one: the caller may not be allowed to see it (another team's).
        return Err(StoreError::new(
            ErrorCode::Conflict,
            format!(
                "{field} {value:?} is already used by another {}",
                spec.singular
            ),
        )
        .with_field(field));
    }
    Ok(())
}

/// Inserts one row.
pub(crate) async fn insert(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    id: &str,
    values: &[SqlValue],
    custom: &Map<String, Json>,
    import_id: Option<&str>,
    stamp: &str,
) -> Result<()> {
    let mut params = Params::new(Dialect::of(connection));
    let mut columns = vec!["id".to_string()];
    let mut placeholders = vec![params.text(id)];
    for (field, value) in spec.fields.iter().zip(values) {
        columns.push(field.name.to_string());
        placeholders.push(params.push(value.clone()));
    }
    if spec.custom_fields {
        columns.push("custom_fields".into());
        placeholders.push(params.text(&Json::Object(custom.clone()).to_string()));
    }
    if spec.importable {
        columns.push("import_id".into());
        placeholders.push(params.push(SqlValue::Text(import_id.map(str::to_string))));
    }
    columns.extend(["created_at".into(), "updated_at".into()]);
    placeholders.push(params.text(stamp));
    placeholders.push(params.text(stamp));
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        spec.name,
        columns.join(", "),
        placeholders.join(", ")
    );
    params.query(sql).execute(&mut *connection).await?;
    Ok(())
}

/// Writes every field of a row.
pub(crate) async fn write_update(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    id: &str,
    values: &[SqlValue],
    custom: &Map<String, Json>,
    stamp: &str,
) -> Result<()> {
    let mut params = Params::new(Dialect::of(connection));
    let mut assignments = Vec::new();
    for (field, value) in spec.fields.iter().zip(values) {
        assignments.push(format!("{} = {}", field.name, params.push(value.clone())));
    }
    if spec.custom_fields {
        assignments.push(format!(
            "custom_fields = {}",
            params.text(&Json::Object(custom.clone()).to_string())
        ));
    }
    assignments.push(format!("updated_at = {}", params.text(stamp)));
    let id_param = params.text(id);
    let sql = format!(
        "UPDATE {} SET {} WHERE id = {id_param}",
        spec.name,
        assignments.join(", ")
    );
    params.query(sql).execute(&mut *connection).await?;
    Ok(())
}

pub(crate) async fn record_stage_change(
    connection: &mut AnyConnection,
    actor: &Actor,
    deal_id: &str,
    from: Option<&str>,
    to: &str,
    stamp: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO deal_stage_history (id, deal_id, from_stage_id, to_stage_id, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(deal_id)
    .bind(from.map(str::to_string))
    .bind(to)
    .bind(actor.user_id.clone())
    .bind(stamp)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// The first entity whose rows still reference record `id` of `spec`, as "deals" etc.
async fn referenced_by(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    id: &str,
) -> Result<Option<String>> {
    for other in schema::ENTITIES {
        for field in other.fields {
            if field.kind == FieldKind::Reference(spec.name) {
                let sql = format!(
                    "SELECT 1 AS found FROM {} WHERE {} = $1 LIMIT 1",
                    other.name, field.name
                );
                if sqlx::query(AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&mut *connection)
                    .await?
                    .is_some()
                {
                    return Ok(Some(format!("{} (field {})", other.name, field.name)));
                }
            }
        }
    }
    Ok(None)
}

/// Removes what belongs to a record and nothing else: a deal's stage history, and the
/// activities and tags attached to it.
async fn delete_dependents(
    connection: &mut AnyConnection,
    spec: &EntitySpec,
    id: &str,
) -> Result<()> {
    if spec.name == "deals" {
        sqlx::query("DELETE FROM deal_stage_history WHERE deal_id = $1")
            .bind(id)
            .execute(&mut *connection)
            .await?;
    }
    if spec.name == "tags" {
        sqlx::query("DELETE FROM taggings WHERE tag_id = $1")
            .bind(id)
            .execute(&mut *connection)
            .await?;
    }
    if schema::ATTACHABLE.contains(&spec.name) {
        for table in ["activities", "taggings"] {
            let sql = format!("DELETE FROM {table} WHERE record_type = $1 AND record_id = $2");
            sqlx::query(AssertSqlSafe(sql))
                .bind(spec.name)
                .bind(id)
                .execute(&mut *connection)
                .await?;
        }
    }
    Ok(())
}
