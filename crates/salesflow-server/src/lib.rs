//! salesflow's HTTP layer: the CRM's REST API under `/api/v1` (axum), over
//! [`salesflow_store::Store`]. Thin by design — each handler parses the request, calls the
//! store with the caller's [`salesflow_store::Actor`] (from a bearer token or a session
//! cookie, see [`auth`]), and renders JSON; errors come out in one shape with a stable code
//! mapped to its HTTP status ([`error`]). The OpenAPI document is generated from the same
//! entity descriptions the store runs on ([`openapi`]).

pub mod auth;
pub mod body;
pub mod error;
pub mod openapi;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use salesflow_store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The CRM.
    pub store: Store,
    /// Failed-login counts.
    pub limiter: Arc<auth::LoginLimiter>,
}

/// Largest import body: a CSV of a few hundred thousand rows. Every other route keeps axum's
/// default limit (2 MB), so an anonymous login cannot make the server buffer this much.
const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;

/// The API's routes over `store`.
pub fn router(store: Store) -> Router {
    let state = AppState {
        store,
        limiter: Arc::new(auth::LoginLimiter::default()),
    };
    // Serialised once: the document is the same for every request.
    let openapi = axum::body::Bytes::from(openapi::document().to_string());
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = openapi.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        )
        .route("/api/v1/auth/login", post(routes::login))
        .route("/api/v1/auth/logout", post(routes::logout))
        .route("/api/v1/me", get(routes::me))
        .route(
            "/api/v1/users",
            get(routes::users).post(routes::create_user),
        )
        .route("/api/v1/tokens", post(routes::create_token))
        .route(
            "/api/v1/tokens/{id}",
            axum::routing::delete(routes::revoke_token),
        )
        .route(
            "/api/v1/custom_fields",
            get(routes::custom_fields).post(routes::define_custom_field),
        )
        .route("/api/v1/search", get(routes::search))
        .route("/api/v1/audit", get(routes::audit))
        .route(
            "/api/v1/imports",
            post(routes::import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/api/v1/imports/{id}/undo", post(routes::undo_import))
        .route("/api/v1/deals/{id}/history", get(routes::history))
        .route("/api/v1/deals/{id}/move", post(routes::move_deal))
        .route("/api/v1/pipelines/{id}/kanban", get(routes::kanban))
        .route("/api/v1/{entity}/duplicates", get(routes::duplicates))
        .route("/api/v1/{entity}/export", get(routes::export))
        .route("/api/v1/{entity}/{id}/merge", post(routes::merge))
        .route("/api/v1/{entity}", get(routes::list).post(routes::create))
        .route(
            "/api/v1/{entity}/{id}",
            get(routes::get)
                .patch(routes::update)
                .delete(routes::delete),
        )
        .fallback(routes::not_found)
        .with_state(state)
}

/// Serves the API on `bind` until the process is stopped.
pub async fn serve(store: Store, bind: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    axum::serve(
        listener,
        router(store).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
