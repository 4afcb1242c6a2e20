//! Typed values between JSON and SQL: validating what a client sends against a field's kind,
//! binding it with the right SQL type (PostgreSQL will not take a text NULL into a number
//! column), and reading a row back as JSON.

use serde_json::{Number, Value as Json};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::error::{ErrorCode, Result, StoreError};
use crate::schema::FieldKind;

/// A value on its way to SQL, typed even when null.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// Text (also dates, moments, ids, choices).
    Text(Option<String>),
    /// A real number.
    Float(Option<f64>),
    /// A whole number.
    Int(Option<i64>),
    /// A boolean.
    Bool(Option<bool>),
}

impl SqlValue {
    /// The typed null of a field kind.
    pub fn null(kind: FieldKind) -> SqlValue {
        match kind {
            FieldKind::Float => SqlValue::Float(None),
            FieldKind::Integer => SqlValue::Int(None),
            FieldKind::Bool => SqlValue::Bool(None),
            _ => SqlValue::Text(None),
        }
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            SqlValue::Text(None)
                | SqlValue::Float(None)
                | SqlValue::Int(None)
                | SqlValue::Bool(None)
        )
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Json {
        match self {
            SqlValue::Text(Some(text)) => Json::String(text.clone()),
            SqlValue::Float(Some(number)) => {
                Number::from_f64(*number).map_or(Json::Null, Json::Number)
            }
            SqlValue::Int(Some(number)) => Json::from(*number),
            SqlValue::Bool(Some(flag)) => Json::Bool(*flag),
            _ => Json::Null,
        }
    }
}

/// Binds `value` to the next placeholder of `query`.
pub(crate) fn bind(
    query: Query<'_, Any, AnyArguments>,
    value: SqlValue,
) -> Query<'_, Any, AnyArguments> {
    match value {
        SqlValue::Text(text) => query.bind(text),
        SqlValue::Float(number) => query.bind(number),
        SqlValue::Int(number) => query.bind(number),
        // Flags are stored as 0/1 in both databases (see the migration).
        SqlValue::Bool(flag) => query.bind(flag.map(i64::from)),
    }
}

/// Checks `value` against `kind` and converts it; `field` names it in the error.
pub fn from_json(kind: FieldKind, field: &str, value: &Json) -> Result<SqlValue> {
    if value.is_null() {
        return Ok(SqlValue::null(kind));
    }
    let wrong = |expected: &str| {
        StoreError::new(
            ErrorCode::InvalidValue,
            format!("{field} must be {expected}, got {value}"),
        )
        .with_field(field)
    };
    match kind {
        FieldKind::Text | FieldKind::Reference(_) => match value {
            Json::String(text) => Ok(SqlValue::Text(Some(text.clone()))),
            _ => Err(wrong("a string")),
        },
        FieldKind::Email => match value {
            Json::String(text) if looks_like_email(text) => {
                Ok(SqlValue::Text(Some(text.trim().to_lowercase())))
            }
            _ => Err(wrong("an e-mail address like name@example.com")),
        },
        FieldKind::Float => match value {
            Json::Number(number) => number
                .as_f64()
                .filter(|x| x.is_finite())
                .map(|x| SqlValue::Float(Some(x)))
                .ok_or_else(|| wrong("a finite number")),
            _ => Err(wrong("a number")),
        },
        FieldKind::Integer => match value {
            Json::Number(number) => number
                .as_i64()
                .map(|x| SqlValue::Int(Some(x)))
                .ok_or_else(|| wrong("a whole number")),
            _ => Err(wrong("a whole number")),
        },
        FieldKind::Bool => match value {
            Json::Bool(flag) => Ok(SqlValue::Bool(Some(*flag))),
            _ => Err(wrong("true or false")),
        },
        FieldKind::Date => match value {
            Json::String(text) => parse_date(text)
                .map(|date| SqlValue::Text(Some(date)))
                .ok_or_else(|| wrong("a date YYYY-MM-DD")),
            _ => Err(wrong("a date YYYY-MM-DD")),
        },
        FieldKind::Timestamp => match value {
            Json::String(text) => parse_timestamp(text)
                .map(|moment| SqlValue::Text(Some(moment)))
                .ok_or_else(|| wrong("an RFC 3339 time like 2026-01-31T09:30:00Z, or a date")),
            _ => Err(wrong("an RFC 3339 time like 2026-01-31T09:30:00Z")),
        },
        FieldKind::Choice(options) => match value {
            Json::String(text) if options.contains(&text.as_str()) => {
                Ok(SqlValue::Text(Some(text.clone())))
            }
            _ => Err(wrong(&format!("one of {}", options.join(", ")))),
        },
    }
}

/// Converts text (from a CSV cell or a query string) to a value of `kind`: numbers and
/// booleans are parsed rather than required to be JSON.
pub fn from_text(kind: FieldKind, field: &str, text: &str) -> Result<SqlValue> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(SqlValue::null(kind));
    }
    // Whole numbers as integers first: through f64 they would lose digits beyond 2^53.
    let whole = (kind == FieldKind::Integer)
        .then(|| trimmed.parse::<i64>().ok())
        .flatten();
    let json = match kind {
        FieldKind::Integer if whole.is_some() => Json::from(whole.unwrap_or_default()),
        FieldKind::Float | FieldKind::Integer => match trimmed.parse::<f64>() {
            Ok(number)
                if kind == FieldKind::Integer && number.fract() == 0.0 && number.abs() < 9e15 =>
            {
                Json::from(number as i64)
            }
            Ok(number) if kind == FieldKind::Float => {
                Number::from_f64(number).map_or(Json::String(trimmed.to_string()), Json::Number)
            }
            _ => Json::String(trimmed.to_string()),
        },
        FieldKind::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "y" | "t" => Json::Bool(true),
            "false" | "no" | "0" | "n" | "f" => Json::Bool(false),
            _ => Json::String(trimmed.to_string()),
        },
        _ => Json::String(trimmed.to_string()),
    };
    from_json(kind, field, &json)
}

fn looks_like_email(text: &str) -> bool {
    let text = text.trim();
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn parse_date(text: &str) -> Option<String> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .map(|date| date.format("%Y-%m-%d").to_string())
}

/// An RFC 3339 time (any offset) or a plain date, as UTC text in the store's one format.
pub(crate) fn parse_timestamp(text: &str) -> Option<String> {
    let text = text.trim();
    let utc = if let Ok(moment) = chrono::DateTime::parse_from_rfc3339(text) {
        moment.with_timezone(&chrono::Utc)
    } else if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        naive.and_utc()
    } else if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        naive.and_utc()
    } else {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
    };
    Some(utc.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

/// Reads column `index` of `row` as a value of `kind`.
pub(crate) fn read(row: &AnyRow, index: usize, kind: FieldKind) -> Result<SqlValue> {
    Ok(match kind {
        FieldKind::Float => SqlValue::Float(match row.try_get::<Option<f64>, _>(index) {
            Ok(number) => number,
            // SQLite hands back an integer-valued real as an integer when computed.
            Err(_) => row.try_get::<Option<i64>, _>(index)?.map(|x| x as f64),
        }),
        FieldKind::Integer => SqlValue::Int(row.try_get::<Option<i64>, _>(index)?),
        FieldKind::Bool => SqlValue::Bool(row.try_get::<Option<i64>, _>(index)?.map(|x| x != 0)),
        _ => SqlValue::Text(row.try_get::<Option<String>, _>(index)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_numbers_keep_every_digit() {
        assert_eq!(
            from_text(FieldKind::Integer, "n", "9007199254740993").unwrap(),
            SqlValue::Int(Some(9_007_199_254_740_993))
        );
        assert_eq!(
            from_text(FieldKind::Integer, "n", "12.0").unwrap(),
            SqlValue::Int(Some(12))
        );
        assert!(from_text(FieldKind::Integer, "n", "1.5").is_err());
    }

    #[test]
    fn validates_by_kind() {
        assert_eq!(
            from_json(FieldKind::Email, "email", &json!(" Ann@Example.COM ")).unwrap(),
            SqlValue::Text(Some("ann@example.com".into()))
        );
        assert!(from_json(FieldKind::Email, "email", &json!("ann@")).is_err());
        let error = from_json(FieldKind::Float, "amount", &json!("12")).unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidValue);
        assert_eq!(error.field(), Some("amount"));
        assert!(from_json(FieldKind::Integer, "n", &json!(1.5)).is_err());
        assert_eq!(
            from_json(
                FieldKind::Timestamp,
                "t",
                &json!("2026-01-31T10:30:00+01:00")
            )
            .unwrap(),
            SqlValue::Text(Some("2026-01-31T09:30:00.000000Z".into()))
        );
        assert!(from_json(FieldKind::Choice(&["a", "b"]), "c", &json!("z")).is_err());
        assert_eq!(
            from_json(FieldKind::Float, "x", &Json::Null).unwrap(),
            SqlValue::Float(None)
        );
    }

    #[test]
    fn text_cells() {
        assert_eq!(
            from_text(FieldKind::Float, "x", " 12.5 ").unwrap(),
            SqlValue::Float(Some(12.5))
        );
        assert_eq!(
            from_text(FieldKind::Integer, "x", "40").unwrap(),
            SqlValue::Int(Some(40))
        );
        assert!(from_text(FieldKind::Integer, "x", "4.5").is_err());
        assert!(from_text(FieldKind::Float, "x", "NaN").is_err());
        assert_eq!(
            from_text(FieldKind::Bool, "x", "yes").unwrap(),
            SqlValue::Bool(Some(true))
        );
        assert_eq!(
            from_text(FieldKind::Text, "x", "  ").unwrap(),
            SqlValue::Text(None)
        );
    }
}
