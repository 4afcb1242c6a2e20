//! Reading requests: a JSON body whose syntax errors say where (line, column and the field
//! being read), and list parameters from the query string.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use salesflow_store::{ErrorCode, Filter, FilterOp, ListQuery, StoreError};
use serde_json::Value as Json;

use crate::error::ApiError;

/// A JSON request body.
pub struct JsonBody(pub Json);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|error| {
            StoreError::new(
                ErrorCode::MalformedJson,
                format!("cannot read the body: {error}"),
            )
        })?;
        parse_json(&bytes).map(JsonBody).map_err(ApiError)
    }
}

/// Parses a body, naming the line, column and field of the first error.
pub fn parse_json(bytes: &[u8]) -> Result<Json, StoreError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(StoreError::new(
            ErrorCode::MalformedJson,
            "the body is empty; send a JSON object",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: Json = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let mut failure = StoreError::new(
            ErrorCode::MalformedJson,
            format!(
                "malformed JSON at line {} column {}: {inner}",
                inner.line(),
                inner.column()
            ),
        );
        if path != "." && !path.is_empty() {
            failure = failure.with_field(path);
        }
        failure
    })?;
    deserializer.end().map_err(|error| {
        StoreError::new(ErrorCode::MalformedJson, format!("malformed JSON: {error}"))
    })?;
    Ok(value)
}

/// `?limit=50&cursor=...&sort=-amount&total=true&stage_id=...&amount[gte]=1000&name[contains]=acme`
/// as a list request: every other parameter is a filter, `field` (equals) or `field[op]`.
pub fn list_query(raw: Option<&str>) -> Result<ListQuery, StoreError> {
    let mut query = ListQuery::default();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "limit" => query.limit = Some(parse_limit(&value)?),
            "cursor" => query.cursor = Some(value.into_owned()),
            "sort" => query.sort = Some(value.into_owned()),
            "total" => query.with_total = parse_flag("total", &value)?,
            "format" => {}
            _ => {
                let (field, op) = match key.split_once('[') {
                    Some((field, rest)) => {
                        let op = rest.strip_suffix(']').ok_or_else(|| {
                            StoreError::new(
                                ErrorCode::InvalidQuery,
                                format!("filter {key:?} must look like field[op]"),
                            )
                            .with_field(key.as_ref())
                        })?;
                        (field.to_string(), FilterOp::parse(op)?)
                    }
                    None => (key.into_owned(), FilterOp::Eq),
                };
                query.filters.push(Filter {
                    field,
                    op,
                    value: Json::String(value.into_owned()),
                });
            }
        }
    }
    Ok(query)
}

/// A `limit` parameter: a whole number.
pub fn parse_limit(value: &str) -> Result<u32, StoreError> {
    value.parse().map_err(|_| {
        StoreError::new(
            ErrorCode::InvalidQuery,
            format!("limit must be a whole number, got {value:?}"),
        )
        .with_field("limit")
    })
}

/// A yes/no parameter: `true`/`false`/`1`/`0` in any case, or empty (`?total`) for yes.
/// Anything else is an error rather than a silent no, so that `dry_run=yes` never runs a real
/// import.
pub fn parse_flag(name: &str, value: &str) -> Result<bool, StoreError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(StoreError::new(
            ErrorCode::InvalidQuery,
            format!("{name} must be true or false, got {value:?}"),
        )
        .with_field(name)),
    }
}

/// The query string's pairs, for endpoints with named parameters.
pub fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_names_the_place() {
        let error = parse_json(br#"{"name": "Acme", "amount": }"#).unwrap_err();
        assert_eq!(error.code(), ErrorCode::MalformedJson);
        assert_eq!(error.field(), Some("amount"));
        assert!(
            error.message().contains("line 1 column"),
            "{}",
            error.message()
        );
        assert!(parse_json(b"  ").is_err());
        assert!(parse_json(br#"{"a": 1} trailing"#).is_err());
    }

    #[test]
    fn list_parameters() {
        let query = list_query(Some(
            "limit=10&sort=-amount&total=true&stage_id=s1&amount%5Bgte%5D=100&name[contains]=ac",
        ))
        .unwrap();
        assert_eq!(
            (query.limit, query.sort.as_deref(), query.with_total),
            (Some(10), Some("-amount"), true)
        );
        let filters: Vec<(&str, FilterOp, &str)> = query
            .filters
            .iter()
            .map(|f| (f.field.as_str(), f.op, f.value.as_str().unwrap()))
            .collect();
        assert_eq!(
            filters,
            [
                ("stage_id", FilterOp::Eq, "s1"),
                ("amount", FilterOp::Gte, "100"),
                ("name", FilterOp::Contains, "ac")
            ]
        );
        assert!(list_query(Some("amount[between]=1")).is_err());
        assert!(list_query(Some("limit=ten")).is_err());
        assert!(list_query(Some("total=True")).unwrap().with_total);
        assert!(!list_query(Some("total=0")).unwrap().with_total);
        assert!(list_query(Some("total=yes")).is_err());
    }
}
