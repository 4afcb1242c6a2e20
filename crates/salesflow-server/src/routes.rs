//! The handlers: each parses, calls the store with the caller, and renders JSON.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use salesflow_core::progress::NoProgress;
use salesflow_store::{
    AuditQuery, CustomFieldDef, ErrorCode, ImportMode, ImportOptions, ListQuery, Role, Scope,
    StoreError, schema,
};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE};
use crate::body::{JsonBody, list_query, pairs};
use crate::error::ApiResult;

/// Session lifetime.
const SESSION_HOURS: i64 = 12;

fn text_field(body: &Value, name: &str) -> Result<String, StoreError> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            StoreError::new(
                ErrorCode::MissingField,
                format!("{name} is required (a string)"),
            )
            .with_field(name)
        })
}

pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(entity): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = list_query(raw.as_deref())?;
    let page = state.store.list(&actor, &entity, &query).await?;
    Ok(Json(
        json!({"data": page.records, "next_cursor": page.next_cursor, "total": page.total}),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(entity): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let record = state.store.create(&actor, &entity, &body).await?;
    Ok((StatusCode::CREATED, Json(Value::Object(record))))
}

pub async fn get(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((entity, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(Value::Object(
        state.store.get(&actor, &entity, &id).await?,
    )))
}

pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((entity, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    Ok(Json(Value::Object(
        state.store.update(&actor, &entity, &id, &body).await?,
    )))
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((entity, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.delete(&actor, &entity, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every visible record matching the filters, as CSV (default) or JSON lines.
pub async fn export(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(entity): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let spec = schema::entity(&entity)
        .ok_or_else(|| StoreError::new(ErrorCode::NotFound, format!("no entity {entity:?}")))?;
    let mut query: ListQuery = list_query(raw.as_deref())?;
    query.limit = Some(1000);
    query.with_total = false;
    let json_lines = pairs(raw.as_deref())
        .iter()
        .any(|(k, v)| k == "format" && v == "jsonl");
    let mut columns = vec!["id".to_string()];
    columns.extend(spec.fields.iter().map(|f| f.name.to_string()));
    if spec.custom_fields {
        columns.push("custom_fields".into());
    }
    columns.extend(["created_at".into(), "updated_at".into()]);
    let mut csv_writer = csv::Writer::from_writer(Vec::new());
    let mut lines = String::new();
    if !json_lines {
        csv_writer
            .write_record(&columns)
            .map_err(|e| StoreError::new(ErrorCode::Database, e.to_string()))?;
    }
    loop {
        let page = state.store.list(&actor, &entity, &query).await?;
        for record in &page.records {
            if json_lines {
                lines.push_str(&Value::Object(record.clone()).to_string());
                lines.push('\n');
                continue;
            }
            let row: Vec<String> = columns
                .iter()
                .map(|c| match record.get(c) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(text)) => text.clone(),
                    Some(other) => other.to_string(),
                })
                .collect();
            csv_writer
                .write_record(&row)
                .map_err(|e| StoreError::new(ErrorCode::Database, e.to_string()))?;
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let (content_type, body) = if json_lines {
        ("application/x-ndjson", lines.into_bytes())
    } else {
        (
            "text/csv; charset=utf-8",
            csv_writer
                .into_inner()
                .map_err(|e| StoreError::new(ErrorCode::Database, e.to_string()))?,
        )
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

pub async fn history(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"data": state.store.deal_history(&actor, &id).await?}),
    ))
}

pub async fn move_deal(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let stage = text_field(&body, "stage_id")?;
    let reason = body.get("lost_reason_id").and_then(Value::as_str);
    Ok(Json(Value::Object(
        state.store.move_deal(&actor, &id, &stage, reason).await?,
    )))
}

pub async fn kanban(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"pipeline_id": id, "stages": state.store.kanban(&actor, &id).await?}),
    ))
}

pub async fn search(
    State(state): State<AppState>,
    Caller(actor): Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let params = pairs(raw.as_deref());
    let term = params
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let limit = match params.iter().find(|(k, _)| k == "limit") {
        Some((_, value)) => crate::body::parse_limit(value)?,
        None => 20,
    };
    Ok(Json(
        json!({"data": state.store.search(&actor, term, limit).await?}),
    ))
}

pub async fn merge(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((entity, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let duplicate = text_field(&body, "duplicate_id")?;
    Ok(Json(json!(
        state.store.merge(&actor, &entity, &id, &duplicate).await?
    )))
}

pub async fn duplicates(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(entity): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"data": state.store.duplicate_groups(&actor, &entity).await?}),
    ))
}

pub async fn audit(
    State(state): State<AppState>,
    Caller(actor): Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut query = AuditQuery::default();
    for (key, value) in pairs(raw.as_deref()) {
        match key.as_str() {
            "entity" => query.entity = Some(value),
            "record_id" => query.record_id = Some(value),
            "actor_id" => query.actor_id = Some(value),
            "action" => query.action = Some(value),
            "since" => query.since = Some(value),
            "until" => query.until = Some(value),
            "after" => query.after = Some(value),
            "limit" => query.limit = Some(crate::body::parse_limit(&value)?),
            _ => {
                return Err(StoreError::new(
                    ErrorCode::InvalidQuery,
                    format!("unknown audit filter {key:?}: use entity, record_id, actor_id, action, since, until, after, limit"),
                )
                .with_field(key)
                .into());
            }
        }
    }
    let entries = state.store.audit_log(&actor, &query).await?;
    let next = entries.last().map(|e| e.id.clone());
    Ok(Json(json!({"data": entries, "next_after": next})))
}

/// `POST /api/v1/imports?kind=customers&mode=upsert&key=email&dry_run=true` with the CSV as
/// the body; `map` is a JSON object of column → field.
pub async fn import(
    State(state): State<AppState>,
    Caller(actor): Caller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let params = pairs(raw.as_deref());
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let kind = get("kind").ok_or_else(|| {
        StoreError::new(
            ErrorCode::MissingField,
            "kind is required (customers, companies, deals, ...)",
        )
        .with_field("kind")
    })?;
    let mut options =
        ImportOptions::new(&kind, &get("source").unwrap_or_else(|| "upload.csv".into()));
    if let Some(mode) = get("mode") {
        options.mode = ImportMode::parse(&mode)?;
    }
    options.key = get("key");
    if let Some(value) = get("dry_run") {
        options.dry_run = crate::body::parse_flag("dry_run", &value)?;
    }
    if let Some(map) = get("map") {
        options.mapping = serde_json::from_str(&map).map_err(|error| {
            StoreError::new(
                ErrorCode::InvalidQuery,
                format!("map must be a JSON object of column to field: {error}"),
            )
            .with_field("map")
        })?;
    }
    let report = state
        .store
        .import(&actor, &options, body.as_ref(), &NoProgress)
        .await?;
    let status = if report.error_count > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = if report.error_count > 0 {
        json!({"error": {"code": "import_rejected", "message": format!("{} of {} rows cannot be imported; nothing was written", report.error_count, report.rows), "field": null}, "report": report})
    } else {
        json!(report)
    };
    Ok((status, Json(body)).into_response())
}

pub async fn undo_import(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (deleted, restored) = state.store.undo_import(&actor, &id).await?;
    Ok(Json(
        json!({"import_id": id, "deleted": deleted, "restored": restored}),
    ))
}

pub async fn custom_fields(
    State(state): State<AppState>,
    Caller(actor): Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    actor.require_scope(Scope::Read)?;
    let params = pairs(raw.as_deref());
    let mut all = Vec::new();
    for spec in schema::ENTITIES.iter().filter(|s| s.custom_fields) {
        if params.iter().any(|(k, v)| k == "entity" && v != spec.name) {
            continue;
        }
        all.extend(state.store.custom_fields(spec.name).await?);
    }
    Ok(Json(json!({"data": all})))
}

pub async fn define_custom_field(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let definition = CustomFieldDef {
        entity: text_field(&body, "entity")?,
        name: text_field(&body, "name")?,
        kind: text_field(&body, "kind")?,
        required: body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        options: body
            .get("options")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    };
    state.store.define_custom_field(&actor, &definition).await?;
    Ok((StatusCode::CREATED, Json(json!(definition))))
}

pub async fn me(Caller(actor): Caller, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let user = match &actor.user_id {
        Some(id) => Some(state.store.user(id).await?),
        None => None,
    };
    let scopes: Vec<&str> = actor.scopes.iter().map(|s| s.as_str()).collect();
    Ok(Json(
        json!({"user": user, "role": actor.role.as_str(), "scopes": scopes}),
    ))
}

pub async fn users(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"data": state.store.users(&actor).await?})))
}

pub async fn create_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let role = Role::parse(&text_field(&body, "role")?)?;
    let team_id = match body.get("team").and_then(Value::as_str) {
        Some(team) => Some(state.store.ensure_team(&actor, team).await?),
        None => None,
    };
    let (user, password) = state
        .store
        .create_user(
            &actor,
            &text_field(&body, "email")?,
            &text_field(&body, "name")?,
            role,
            team_id.as_deref(),
            body.get("password").and_then(Value::as_str),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": user, "one_time_password": password})),
    ))
}

pub async fn create_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user_id = match body.get("user_id").and_then(Value::as_str) {
        Some(id) => id.to_string(),
        None => actor.user_id.clone().ok_or_else(|| {
            StoreError::new(ErrorCode::MissingField, "user_id is required").with_field("user_id")
        })?,
    };
    let scopes = match body.get("scopes") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| {
                        StoreError::new(ErrorCode::InvalidValue, "scopes are strings")
                            .with_field("scopes")
                    })
                    .and_then(Scope::parse)
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(StoreError::new(
                ErrorCode::InvalidValue,
                "scopes must be a list like [\"read\"]",
            )
            .with_field("scopes")
            .into());
        }
        None => vec![Scope::Read],
    };
    let name = body.get("name").and_then(Value::as_str).unwrap_or("api");
    let issued = state
        .store
        .create_token(&actor, &user_id, name, &scopes)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(issued))))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.store.revoke_token(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The session cookie's `Set-Cookie` value. `Secure` when the request reached the proxy in
/// front of the server over HTTPS (`X-Forwarded-Proto: https`; the server itself speaks plain
/// HTTP, where browsers would drop a Secure cookie).
fn session_cookie(request: &HeaderMap, value: &str, max_age: i64) -> String {
    let over_https = request
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    let secure = if over_https { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    )
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    request_headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let email = text_field(&body, "email")?;
    let password = text_field(&body, "password")?;
    let ip = Some(address.ip());
    state.limiter.begin(&email, ip)?;
    let user = match state.store.login(&email, &password).await {
        Ok(user) => user,
        Err(error) => {
            if error.code() != ErrorCode::Unauthorized {
                state.limiter.settled(&email, ip, false);
            }
            return Err(error.into());
        }
    };
    state.limiter.settled(&email, ip, true);
    let (secret, csrf) = state.store.create_session(&user, SESSION_HOURS).await?;
    let cookie = session_cookie(&request_headers, &secret, SESSION_HOURS * 3600);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie)
            .map_err(|e| StoreError::new(ErrorCode::Database, e.to_string()))?,
    );
    Ok((headers, Json(json!({"user": user, "csrf_token": csrf}))).into_response())
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let secret = crate::auth::cookie(&headers, SESSION_COOKIE).map(str::to_string);
    if let Some(secret) = secret {
        state.store.end_session(&secret).await?;
    }
    let expired = session_cookie(&headers, "", 0);
    Ok(([(header::SET_COOKIE, expired)], StatusCode::NO_CONTENT).into_response())
}

pub async fn not_found() -> ApiResult<()> {
    Err(StoreError::new(
        ErrorCode::NotFound,
        "no such endpoint; GET /api/v1/openapi.json lists them",
    )
    .into())
}
