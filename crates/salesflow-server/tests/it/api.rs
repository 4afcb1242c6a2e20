use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use salesflow_store::{Actor, Role, Scope, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{dump, on_each_backend, stage, user_with_token};

struct Api {
    router: Router,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
    text: String,
}

impl Api {
    fn new(store: Store) -> Api {
        let address: SocketAddr = "203.0.113.7:5000".parse().unwrap();
        Api {
            router: salesflow_server::router(store).layer(MockConnectInfo(address)),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = auth {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).to_string();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }
}

#[tokio::test]
async fn errors_have_one_shape_and_the_right_status() {
    on_each_backend(|store, backend| async move {
        let api = Api::new(store.clone());
        let admin = user_with_token(&store, "admin@x.io", Role::Admin, None, Scope::ALL).await;
        let reader =
            user_with_token(&store, "reader@x.io", Role::Manager, None, &[Scope::Read]).await;

        let reply = api.call("GET", "/api/v1/customers", None, None, &[]).await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{backend}"
        );
        assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE));
        let reply = api
            .call("GET", "/api/v1/customers", Some("sf_forged"), None, &[])
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

        let reply = api
            .call(
                "POST",
                "/api/v1/customers",
                Some(&reader),
                Some(r#"{"name": "x"}"#),
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{backend}: wrong scope"
        );

        let reply = api
            .call(
                "POST",
                "/api/v1/customers",
                Some(&admin),
                Some(r#"{"name": "Acme", "clv": }"#),
                &[],
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{backend}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["code"], "malformed_json");
        assert_eq!(
            reply.body["error"]["field"], "clv",
            "the field being read when the JSON broke"
        );
        let reply = api
            .call(
                "POST",
                "/api/v1/customers",
                Some(&admin),
                Some(r#"{"name": "Acme", "clv": "high"}"#),
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("clv"))
        );
        let reply = api
            .call(
                "POST",
                "/api/v1/customers",
                Some(&admin),
                Some(r#"{"name": "Acme", "shoe_size": 9}"#),
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("unknown_field"))
        );
        let reply = api
            .call(
                "GET",
                "/api/v1/customers?shoe_size=9",
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let reply = api
            .call(
                "GET",
                "/api/v1/customers?sort=name%3B%20DROP%20TABLE%20customers",
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("sort"))
        );
        let reply = api
            .call("GET", "/api/v1/widgets", Some(&admin), None, &[])
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let reply = api
            .call("GET", "/api/v1/customers/nope", Some(&admin), None, &[])
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );

        let reply = api
            .call(
                "POST",
                "/api/v1/customers",
                Some(&admin),
                Some(r#"{"name": "Acme", "external_id": "A1"}"#),
                &[],
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{backend}: {}",
            reply.text
        );
        let reply = api
            .call(
                "POST",
                "/api/v1/customers",
                Some(&admin),
                Some(r#"{"name": "Other", "external_id": "A1"}"#),
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["field"].as_str()),
            (StatusCode::CONFLICT, Some("external_id"))
        );

        // Revoked tokens stop at once.
        let revocable = store
            .create_token(
                &Actor::system(),
                &store.users(&Actor::system()).await.unwrap()[0].id,
                "tmp",
                &[Scope::Read],
            )
            .await
            .unwrap();
        assert_eq!(
            api.call("GET", "/api/v1/me", Some(&revocable.token), None, &[])
                .await
                .status,
            StatusCode::OK
        );
        let reply = api
            .call(
                "DELETE",
                &format!("/api/v1/tokens/{}", revocable.id),
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        assert_eq!(
            api.call("GET", "/api/v1/me", Some(&revocable.token), None, &[])
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

#[tokio::test]
async fn a_sales_user_cannot_reach_another_teams_deal_by_any_route() {
    on_each_backend(|store, backend| async move {
        let api = Api::new(store.clone());
        let north = user_with_token(&store, "north@x.io", Role::Sales, Some("North"), &[Scope::Read, Scope::Write]).await;
        let south = user_with_token(&store, "south@x.io", Role::Sales, Some("South"), &[Scope::Read, Scope::Write]).await;
        let analyst = user_with_token(&store, "analyst@x.io", Role::Analyst, None, Scope::ALL).await;
        let body = json!({"name": "Zanzibar expansion", "amount": 1200, "stage_id": stage(&store, "Demo").await}).to_string();
        let reply = api.call("POST", "/api/v1/deals", Some(&north), Some(&body), &[]).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{backend}: {}", reply.text);
        let id = reply.body["id"].as_str().unwrap().to_string();
        let pipeline = reply.body["pipeline_id"].as_str().unwrap().to_string();

        assert_eq!(api.call("GET", &format!("/api/v1/deals/{id}"), Some(&south), None, &[]).await.status, StatusCode::NOT_FOUND, "{backend}");
        let listed = api.call("GET", "/api/v1/deals?total=true", Some(&south), None, &[]).await;
        assert_eq!((listed.body["data"].as_array().unwrap().len(), listed.body["total"].as_i64()), (0, Some(0)));
        let found = api.call("GET", "/api/v1/search?q=zanzibar", Some(&south), None, &[]).await;
        assert_eq!(found.body["data"].as_array().unwrap().len(), 0);
        let exported = api.call("GET", "/api/v1/deals/export", Some(&south), None, &[]).await;
        assert_eq!(exported.status, StatusCode::OK);
        assert_eq!(exported.text.lines().count(), 1, "{backend}: only the header: {}", exported.text);
        assert!(!exported.text.contains("Zanzibar"));
        let history = api.call("GET", &format!("/api/v1/deals/{id}/history"), Some(&south), None, &[]).await;
        assert_eq!(history.status, StatusCode::NOT_FOUND);
        let moved = api.call("POST", &format!("/api/v1/deals/{id}/move"), Some(&south), Some(&json!({"stage_id": stage(&store, "Won").await}).to_string()), &[]).await;
        assert_eq!(moved.status, StatusCode::NOT_FOUND);
        let kanban = api.call("GET", &format!("/api/v1/pipelines/{pipeline}/kanban"), Some(&south), None, &[]).await;
        assert_eq!(kanban.body["stages"].as_array().unwrap().iter().map(|s| s["count"].as_i64().unwrap()).sum::<i64>(), 0);

        // Its owner sees it everywhere; the analyst reads but cannot write.
        let exported = api.call("GET", "/api/v1/deals/export", Some(&north), None, &[]).await;
        assert!(exported.text.contains("Zanzibar expansion"), "{backend}");
        assert_eq!(api.call("GET", &format!("/api/v1/deals/{id}"), Some(&analyst), None, &[]).await.status, StatusCode::OK);
        let reply = api.call("PATCH", &format!("/api/v1/deals/{id}"), Some(&analyst), Some(r#"{"amount": 1}"#), &[]).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{backend}");
    })
    .await;
}

#[tokio::test]
async fn a_stage_change_appears_in_history_and_audit_log() {
    on_each_backend(|store, backend| async move {
        let api = Api::new(store.clone());
        let admin = user_with_token(&store, "admin@x.io", Role::Admin, None, Scope::ALL).await;
        let reply = api
            .call(
                "POST",
                "/api/v1/deals",
                Some(&admin),
                Some(&json!({"name": "D", "stage_id": stage(&store, "Contact").await}).to_string()),
                &[],
            )
            .await;
        let id = reply.body["id"].as_str().unwrap().to_string();
        let demo = stage(&store, "Demo").await;
        let reply = api
            .call(
                "POST",
                &format!("/api/v1/deals/{id}/move"),
                Some(&admin),
                Some(&json!({"stage_id": demo}).to_string()),
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["stage_id"].as_str()),
            (StatusCode::OK, Some(demo.as_str())),
            "{backend}"
        );
        let history = api
            .call(
                "GET",
                &format!("/api/v1/deals/{id}/history"),
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(history.body["data"].as_array().unwrap().len(), 2);
        assert_eq!(history.body["data"][1]["to_stage_id"], demo);
        let audit = api
            .call(
                "GET",
                &format!("/api/v1/audit?entity=deals&record_id={id}&action=update"),
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(
            audit.body["data"][0]["changes"]["stage_id"][1], demo,
            "{backend}: {}",
            audit.text
        );
        let reply = api
            .call("GET", "/api/v1/audit?colour=red", Some(&admin), None, &[])
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn imports_through_the_api_are_all_or_nothing_and_undoable() {
    on_each_backend(|store, backend| async move {
        let api = Api::new(store.clone());
        let admin = user_with_token(&store, "admin@x.io", Role::Admin, None, Scope::ALL).await;
        let before = dump(&store).await;
        let mut csv = String::from("email,name,tier\n");
        for i in 0..300 {
            csv.push_str(&format!(
                "c{i}@x.io,Customer {i},{}\n",
                if i == 250 { "" } else { "gold" }
            ));
        }
        let bad = csv.replace("c120@x.io", "c120-at-x.io");
        let reply = api
            .call(
                "POST",
                "/api/v1/imports?kind=customers",
                Some(&admin),
                Some(&bad),
                &[],
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{backend}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["code"], "import_rejected");
        assert_eq!(reply.body["report"]["errors"][0]["line"], 122);
        assert_eq!(dump(&store).await, before, "{backend}");
        // A flag that is neither true nor false is refused, not read as "no dry run".
        let reply = api
            .call(
                "POST",
                "/api/v1/imports?kind=customers&dry_run=yes",
                Some(&admin),
                Some(&csv),
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("dry_run")),
            "{backend}: {}",
            reply.text
        );
        assert_eq!(dump(&store).await, before, "{backend}");
        // Only the import takes large bodies: 3 MB at the login is refused unread.
        let huge = format!(
            r#"{{"email": "a@x.io", "password": "{}"}}"#,
            "x".repeat(3 << 20)
        );
        let reply = api
            .call("POST", "/api/v1/auth/login", None, Some(&huge), &[])
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{backend}: {}",
            reply.text
        );
        assert!(
            reply.text.contains("cannot read the body"),
            "{}",
            reply.text
        );
        let reply = api
            .call(
                "POST",
                "/api/v1/imports?kind=customers",
                Some(&admin),
                Some(&csv),
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["created"].as_i64()),
            (StatusCode::OK, Some(300)),
            "{backend}: {}",
            reply.text
        );
        let id = reply.body["import_id"].as_str().unwrap().to_string();
        let reply = api
            .call(
                "POST",
                &format!("/api/v1/imports/{id}/undo"),
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(reply.body["deleted"], 300, "{}", reply.text);
        assert_eq!(dump(&store).await, before);
    })
    .await;
}

#[tokio::test]
async fn sessions_need_csrf_and_logins_are_rate_limited() {
    on_each_backend(|store, backend| async move {
        let api = Api::new(store.clone());
        let system = Actor::system();
        store
            .create_user(
                &system,
                "rep@x.io",
                "Rep",
                Role::Manager,
                None,
                Some("a long password"),
            )
            .await
            .unwrap();
        let reply = api
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(r#"{"email": "rep@x.io", "password": "a long password"}"#),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{backend}: {}", reply.text);
        let cookie = reply.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(
            !cookie.contains("Secure"),
            "{backend}: plain HTTP would drop a Secure cookie"
        );
        let behind_tls = api
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(r#"{"email": "rep@x.io", "password": "a long password"}"#),
                &[("x-forwarded-proto", "https")],
            )
            .await;
        let tls_cookie = behind_tls.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(tls_cookie.ends_with("; Secure"), "{backend}: {tls_cookie}");
        let session = cookie.split(';').next().unwrap().to_string();
        let csrf = reply.body["csrf_token"].as_str().unwrap().to_string();
        let me = api
            .call("GET", "/api/v1/me", None, None, &[("cookie", &session)])
            .await;
        assert_eq!(me.body["user"]["email"], "rep@x.io");
        let reply = api
            .call(
                "POST",
                "/api/v1/customers",
                None,
                Some(r#"{"name": "x"}"#),
                &[("cookie", &session)],
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{backend}: no CSRF token"
        );
        let reply = api
            .call(
                "POST",
                "/api/v1/customers",
                None,
                Some(r#"{"name": "x"}"#),
                &[("cookie", &session), ("x-csrf-token", &csrf)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);

        for _ in 0..5 {
            let reply = api
                .call(
                    "POST",
                    "/api/v1/auth/login",
                    None,
                    Some(r#"{"email": "rep@x.io", "password": "guess guess"}"#),
                    &[],
                )
                .await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        }
        let reply = api
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(r#"{"email": "rep@x.io", "password": "a long password"}"#),
                &[],
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    on_each_backend(|store, backend| async move {
        let api = Api::new(store.clone());
        let admin = user_with_token(&store, "admin@x.io", Role::Admin, None, Scope::ALL).await;
        let document = api
            .call("GET", "/api/v1/openapi.json", Some(&admin), None, &[])
            .await;
        assert_eq!(document.body["openapi"], "3.1.0");
        let paths = document.body["paths"].as_object().unwrap();
        assert!(paths.len() > 40, "{backend}");
        for (path, item) in paths {
            for method in ["get", "post", "patch", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                let uri = path.replace("{id}", "missing");
                let reply = api
                    .call(
                        &method.to_uppercase(),
                        &uri,
                        Some(&admin),
                        Some("{}"),
                        &[("content-type", "application/json")],
                    )
                    .await;
                assert_ne!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{backend}: {method} {path}"
                );
                assert!(
                    !reply.text.contains("no such endpoint"),
                    "{backend}: {method} {path} is documented but not served"
                );
            }
        }
        let schema = &document.body["components"]["schemas"]["DealInput"];
        assert_eq!(
            schema["required"],
            json!(["name", "pipeline_id", "stage_id"])
        );
    })
    .await;
}
