//! Who is calling: a bearer token (`Authorization: Bearer sf_...`) or a session cookie set by
//! `POST /api/v1/auth/login`. Cookie sessions must echo their CSRF token in `X-CSRF-Token`
//! on anything but GET, so another site's form cannot act with the user's cookie. Failed
//! logins are limited per e-mail and per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use salesflow_store::{Actor, ErrorCode, StoreError};

use crate::AppState;
use crate::error::ApiError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "salesflow_session";

/// The caller, as an extractor: 401 without valid credentials.
pub struct Caller(pub Actor);

/// The value of cookie `name` in the request's headers.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = header
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    StoreError::new(
                        ErrorCode::Unauthorized,
                        "the Authorization header must be `Bearer <token>`",
                    )
                })?;
            return Ok(Caller(state.store.authenticate_token(token.trim()).await?));
        }
        if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
            let (actor, csrf) = state.store.authenticate_session(secret).await?;
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            let echoed = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            if !safe && echoed != Some(csrf.as_str()) {
                return Err(StoreError::new(
                    ErrorCode::Forbidden,
                    "a cookie session must send its CSRF token (from the login response) in X-CSRF-Token",
                )
                .into());
            }
            return Ok(Caller(actor));
        }
        Err(StoreError::new(
            ErrorCode::Unauthorized,
            "no credentials: send `Authorization: Bearer <token>` (salesflow token create) or log in",
        )
        .into())
    }
}

/// Failed logins per key (an e-mail, an address) within a window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_PER_EMAIL: u32 = 5;
const MAX_PER_ADDRESS: u32 = 20;

impl LoginLimiter {
    fn keys(email: &str, address: Option<IpAddr>) -> [(String, u32); 2] {
        [
            (
                format!("email:{}", email.trim().to_lowercase()),
                MAX_PER_EMAIL,
            ),
            (
                format!("ip:{}", address.map_or("unknown".into(), |a| a.to_string())),
                MAX_PER_ADDRESS,
            ),
        ]
    }

    /// Starts a login attempt: 429 while too many recent attempts failed, else the attempt is
    /// counted as failed until [`LoginLimiter::settled`] says otherwise. Checking and counting
    /// under one lock, so that parallel guesses cannot all pass the check before any counts.
    pub fn begin(&self, email: &str, address: Option<IpAddr>) -> Result<(), ApiError> {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let keys = Self::keys(email, address);
        for (key, limit) in &keys {
            if let Some((count, since)) = failures.get(key)
                && *count >= *limit
                && since.elapsed() < WINDOW
            {
                let wait = (WINDOW - since.elapsed()).as_secs() / 60 + 1;
                return Err(StoreError::new(
                    ErrorCode::RateLimited,
                    format!("too many failed logins; try again in {wait} minutes"),
                )
                .into());
            }
        }
        for (key, _) in keys {
            let entry = failures.entry(key).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// Ends an attempt that did not fail on its credentials: it is not counted, and a
    /// successful login (`logged_in`) also forgets the e-mail's earlier failures.
    pub fn settled(&self, email: &str, address: Option<IpAddr>, logged_in: bool) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (key, _) in Self::keys(email, address) {
            let forget = logged_in && key.starts_with("email:");
            match failures.get_mut(&key) {
                Some(_) if forget => {
                    failures.remove(&key);
                }
                Some(entry) => entry.0 = entry.0.saturating_sub(1),
                None => {}
            }
        }
    }
}
