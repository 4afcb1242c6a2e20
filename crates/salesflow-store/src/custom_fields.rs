//! Custom fields: typed fields an admin adds to an entity (a customer's `tier`, a deal's
//! `source`), validated like built-in ones and kept as a JSON object on the row.

use serde::Serialize;
use serde_json::{Map, Value as Json};
use sqlx::Row;

use crate::Store;
use crate::auth::Actor;
use crate::db::{new_id, now};
use crate::error::{ErrorCode, Result, StoreError};
use crate::schema::{EntitySpec, FieldKind};
use crate::value::from_json;

/// A custom field's definition.
#[derive(Debug, Clone, Serialize)]
pub struct CustomFieldDef {
    /// The entity it belongs to.
    pub entity: String,
    /// Its name (`[a-z][a-z0-9_]*`, not a built-in field's).
    pub name: String,
    /// text, number, integer, boolean, date or choice.
    pub kind: String,
    /// Must be set on every row created from now on.
    pub required: bool,
    /// The allowed values of a choice.
    pub options: Vec<String>,
}

impl CustomFieldDef {
    /// The field kind values are checked against (choices are checked against their options
    /// in [`CustomFieldDef::validate`]).
    pub(crate) fn field_kind(&self) -> FieldKind {
        match self.kind.as_str() {
            "number" => FieldKind::Float,
            "integer" => FieldKind::Integer,
            "boolean" => FieldKind::Bool,
            "date" => FieldKind::Date,
            _ => FieldKind::Text,
        }
    }

    /// Whether comparisons on it are numeric.
    pub(crate) fn is_numeric(&self) -> bool {
        matches!(self.kind.as_str(), "number" | "integer")
    }

    /// Checks one value.
    pub(crate) fn validate(&self, value: &Json) -> Result<Json> {
        let field = format!("custom_fields.{}", self.name);
        if self.kind == "choice" && !value.is_null() {
            return match value {
                Json::String(text) if self.options.contains(text) => Ok(value.clone()),
                _ => Err(StoreError::new(
                    ErrorCode::InvalidValue,
                    format!(
                        "{field} must be one of {}, got {value}",
                        self.options.join(", ")
                    ),
                )
                .with_field(field)),
            };
        }
        Ok(from_json(self.field_kind(), &field, value)?.to_json())
    }
}

const KINDS: &[&str] = &["text", "number", "integer", "boolean", "date", "choice"];

impl Store {
    /// Defines a custom field on `entity`. Admins only.
    pub async fn define_custom_field(
        &self,
        actor: &Actor,
        definition: &CustomFieldDef,
    ) -> Result<()> {
        actor.require_admin()?;
        let spec = crate::schema::entity(&definition.entity)
            .filter(|spec| spec.custom_fields)
            .ok_or_else(|| {
                StoreError::new(
                    ErrorCode::InvalidValue,
                    format!("{:?} does not take custom fields", definition.entity),
                )
                .with_field("entity")
            })?;
        let name = &definition.name;
        let valid_name = name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name
            || spec.field(name).is_some()
            || ["id", "created_at", "updated_at", "custom_fields"].contains(&name.as_str())
        {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!("custom field name {name:?} must be lower-case letters, digits and _ (starting with a letter) and not a built-in field"),
            )
            .with_field("name"));
        }
        if !KINDS.contains(&definition.kind.as_str()) {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                format!(
                    "custom field kind {:?} is not one of {}",
                    definition.kind,
                    KINDS.join(", ")
                ),
            )
            .with_field("kind"));
        }
        if (definition.kind == "choice") == definition.options.is_empty() {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                "a choice field needs options, and only a choice field takes them",
            )
            .with_field("options"));
        }
        let mut transaction = self.begin_write().await?;
        let taken = sqlx::query("SELECT 1 FROM custom_field_defs WHERE entity = $1 AND name = $2")
            .bind(&definition.entity)
            .bind(name)
            .fetch_optional(&mut *transaction)
            .await?;
        if taken.is_some() {
            return Err(StoreError::new(
                ErrorCode::Conflict,
                format!("{} already has a custom field {name:?}", definition.entity),
            )
            .with_field("name"));
        }
        let id = new_id();
        sqlx::query(
            "INSERT INTO custom_field_defs (id, entity, name, kind, required, options, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&definition.entity)
        .bind(name)
        .bind(&definition.kind)
        .bind(i64::from(definition.required))
        .bind(serde_json::to_string(&definition.options).unwrap_or_default())
        .bind(now())
        .execute(&mut *transaction)
        .await?;
        let changes = serde_json::json!({"entity": [null, definition.entity], "name": [null, name], "kind": [null, definition.kind]});
        crate::audit::record(
            &mut transaction,
            actor,
            "create",
            "custom_field_defs",
            Some(&id),
            &changes,
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The custom fields of `entity`.
    pub async fn custom_fields(&self, entity: &str) -> Result<Vec<CustomFieldDef>> {
        // Entities that take no custom fields need no query (lists, writes and exports ask).
        if crate::schema::entity(entity).is_some_and(|spec| !spec.custom_fields) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT entity, name, kind, required, options FROM custom_field_defs WHERE entity = $1 ORDER BY name",
        )
        .bind(entity)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let required = row.try_get::<i64, _>("required")? != 0;
                Ok(CustomFieldDef {
                    entity: row.try_get("entity")?,
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    required,
                    options: serde_json::from_str(&row.try_get::<String, _>("options")?)
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// Checks a `custom_fields` object against the definitions and merges it over `existing`
/// (an update sets only the keys it names; `null` clears one). `creating` enforces required.
pub(crate) fn merge_custom_fields(
    spec: &EntitySpec,
    definitions: &[CustomFieldDef],
    existing: &Map<String, Json>,
    given: Option<&Json>,
    creating: bool,
) -> Result<Map<String, Json>> {
    let mut merged = existing.clone();
    if let Some(given) = given {
        let Json::Object(given) = given else {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                "custom_fields must be an object",
            )
            .with_field("custom_fields"));
        };
        if !spec.custom_fields && !given.is_empty() {
            return Err(StoreError::new(
                ErrorCode::UnknownField,
                format!("{} have no custom fields", spec.name),
            )
            .with_field("custom_fields"));
        }
        for (name, value) in given {
            let definition = definitions.iter().find(|d| &d.name == name).ok_or_else(|| {
                StoreError::new(
                    ErrorCode::UnknownField,
                    format!(
                        "{} has no custom field {name:?}; define it first (POST /api/v1/custom_fields)",
                        spec.name
                    ),
                )
                .with_field(format!("custom_fields.{name}"))
            })?;
            let value = definition.validate(value)?;
            if value.is_null() {
                merged.remove(name);
            } else {
                merged.insert(name.clone(), value);
            }
        }
    }
    if creating
        && let Some(missing) = definitions
            .iter()
            .find(|d| d.required && !merged.contains_key(&d.name))
    {
        return Err(StoreError::new(
            ErrorCode::MissingField,
            format!("custom field {:?} is required", missing.name),
        )
        .with_field(format!("custom_fields.{}", missing.name)));
    }
    Ok(merged)
}
