//! The store's error: a stable machine-readable [`ErrorCode`] (what the API shows clients and
//! maps to an HTTP status), a message that says what to fix, and the offending field.

use std::fmt;

/// Stable error codes. Their `as_str` spellings are public API: clients match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A value has the wrong type or form (HTTP 422).
    InvalidValue,
    /// A required field is missing or null (HTTP 422).
    MissingField,
    /// The field does not exist on this entity (HTTP 400).
    UnknownField,
    /// A filter, sort or cursor cannot be understood (HTTP 400).
    InvalidQuery,
    /// The request body is not well-formed JSON (HTTP 400).
    MalformedJson,
    /// The record (or the record a reference points to) does not exist or is not visible (HTTP 404).
    NotFound,
    /// A unique value is taken, or a record is still referenced (HTTP 409).
    Conflict,
    /// No valid credentials (HTTP 401).
    Unauthorized,
    /// Credentials are valid but do not allow this (HTTP 403).
    Forbidden,
    /// Too many attempts (HTTP 429).
    RateLimited,
    /// An import file has rows that cannot be imported; nothing was written (HTTP 422).
    ImportRejected,
    /// The database failed (HTTP 500).
    Database,
}

impl ErrorCode {
    /// Every code, for documents that list them (the OpenAPI error schema).
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidValue,
        ErrorCode::MissingField,
        ErrorCode::UnknownField,
        ErrorCode::InvalidQuery,
        ErrorCode::MalformedJson,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::RateLimited,
        ErrorCode::ImportRejected,
        ErrorCode::Database,
    ];

    /// The code's public spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ImportRejected => "import_rejected",
            ErrorCode::Database => "database_error",
        }
    }

    /// Whether the caller's input (rather than the system) is at fault.
    pub fn is_client_error(self) -> bool {
        self != ErrorCode::Database
    }
}

/// An error from the store.
#[derive(Debug)]
pub struct StoreError {
    code: ErrorCode,
    message: String,
    field: Option<String>,
}

impl StoreError {
    /// A new error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        StoreError {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same error, naming the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub(crate) fn not_found(singular: &str, id: &str) -> Self {
        StoreError::new(ErrorCode::NotFound, format!("no {singular} with id {id:?}"))
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        StoreError::new(ErrorCode::Forbidden, message)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} (field {field})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        // Constraint violations reach here only when a concurrent write won a race the
        // up-front checks could not see; they are still the client's conflict, not a crash.
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                return StoreError::new(
                    ErrorCode::Conflict,
                    format!("a unique value is taken: {db}"),
                );
            }
            if db.is_foreign_key_violation() {
                return StoreError::new(
                    ErrorCode::Conflict,
                    format!("a referenced record is missing or still referenced: {db}"),
                );
            }
        }
        StoreError::new(ErrorCode::Database, format!("database error: {error}"))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::new(
            ErrorCode::Database,
            format!("migrating the database failed: {error}"),
        )
    }
}

/// The store's result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
