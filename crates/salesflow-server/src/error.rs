//! The one JSON shape every error has — `{"error": {"code", "message", "field"}}` — and the
//! HTTP status each stable code means.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use salesflow_store::{ErrorCode, StoreError};
use serde_json::json;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub StoreError);

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError(error)
    }
}

/// The HTTP status of a code.
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidValue | ErrorCode::MissingField | ErrorCode::ImportRejected => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ErrorCode::UnknownField | ErrorCode::InvalidQuery | ErrorCode::MalformedJson => {
            StatusCode::BAD_REQUEST
        }
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Database => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        // A database failure's details stay in the server's log, not in the response.
        let message = if code == ErrorCode::Database {
            eprintln!("salesflow serve: {}", self.0);
            "the database failed; the server log has the details".to_string()
        } else {
            self.0.message().to_string()
        };
        let body =
            json!({"error": {"code": code.as_str(), "message": message, "field": self.0.field()}});
        let mut response = (status(code), Json(body)).into_response();
        if code == ErrorCode::Unauthorized {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer realm=\"salesflow\""),
            );
        }
        response
    }
}

/// The handlers' result.
pub type ApiResult<T> = Result<T, ApiError>;
