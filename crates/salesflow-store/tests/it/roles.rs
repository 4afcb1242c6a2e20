//! Roles and tokens: each role sees exactly what it may.

use salesflow_store::{Actor, ErrorCode, Filter, FilterOp, ListQuery, Role, Scope};
use serde_json::json;

use crate::harness::{cast, on_each_backend};

#[tokio::test]
async fn sales_users_see_their_team_only() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let customer = store.create(&cast.north, "customers", &json!({"name": "Northwind Ltd", "email": "buyer@northwind.io"})).await.unwrap();
        let deal = store.create(&cast.north, "deals", &json!({"name": "Northwind renewal", "amount": 900, "pipeline_id": store.list(&cast.admin, "pipelines", &ListQuery::default()).await.unwrap().records[0]["id"], "customer_id": customer["id"]})).await.unwrap();
        store.create(&Actor::system(), "orders", &json!({"customer_id": customer["id"], "ordered_at": "2026-01-02", "amount": 50})).await.unwrap();
        let deal_id = deal["id"].as_str().unwrap();

        // The other team: not by id, not in a list, not in search, not through a filter, not in
        // the kanban totals, not its orders.
        let error = store.get(&cast.south, "deals", deal_id).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::NotFound, "{backend}: another team's deal does not exist for them");
        let page = store.list(&cast.south, "deals", &ListQuery { with_total: true, ..ListQuery::default() }).await.unwrap();
        assert!(page.records.is_empty() && page.total == Some(0), "{backend}");
        let by_id = ListQuery { filters: vec![Filter { field: "id".into(), op: FilterOp::Eq, value: json!(deal_id) }], ..ListQuery::default() };
        assert!(store.list(&cast.south, "deals", &by_id).await.unwrap().records.is_empty());
        assert!(store.search(&cast.south, "northwind", 10).await.unwrap().is_empty(), "{backend}: search hides it");
        assert!(store.list(&cast.south, "orders", &ListQuery::default()).await.unwrap().records.is_empty(), "{backend}: orders follow their customer");
        let pipeline_id = deal["pipeline_id"].as_str().unwrap();
        let kanban = store.kanban(&cast.south, pipeline_id).await.unwrap();
        assert_eq!(kanban.iter().map(|c| c.count).sum::<i64>(), 0, "{backend}");
        let error = store.update(&cast.south, "deals", deal_id, &json!({"amount": 1})).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::NotFound);
        let error = store.delete(&cast.south, "deals", deal_id).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::NotFound);
        // Nor can they attach their deal to the other team's customer, or hand a deal to them.
        let error = store.create(&cast.south, "deals", &json!({"name": "poach", "pipeline_id": pipeline_id, "customer_id": customer["id"]})).await.unwrap_err();
        assert_eq!(error.field(), Some("customer_id"), "{backend}");
        let error = store.create(&cast.south, "deals", &json!({"name": "gift", "pipeline_id": pipeline_id, "owner_id": cast.north.user_id})).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Forbidden);

        // The same team sees and changes it; managers, admins and analysts see it.
        store.update(&cast.north_mate, "deals", deal_id, &json!({"amount": 950})).await.unwrap();
        assert_eq!(store.search(&cast.north_mate, "northwind", 10).await.unwrap().len(), 2);
        for actor in [&cast.manager, &cast.admin, &cast.analyst] {
            assert_eq!(store.get(actor, "deals", deal_id).await.unwrap()["amount"], 950.0);
            assert_eq!(store.kanban(actor, pipeline_id).await.unwrap().iter().map(|c| c.count).sum::<i64>(), 1);
        }

        // Analysts change nothing.
        let error = store.create(&cast.analyst, "customers", &json!({"name": "x"})).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Forbidden, "{backend}");
        let error = store.update(&cast.analyst, "deals", deal_id, &json!({"amount": 1})).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Forbidden);
        // Sales users do not reconfigure pipelines.
        let error = store.create(&cast.north, "pipelines", &json!({"name": "Mine"})).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Forbidden);
    })
    .await;
}

#[tokio::test]
async fn tokens_scopes_revocation_and_passwords() {
    on_each_backend(|store, backend| async move {
        let system = Actor::system();
        let (user, generated) = store
            .create_user(&system, "Rep@X.io", "Rep", Role::Sales, None, None)
            .await
            .unwrap();
        let password = generated.expect("a generated one-time password");
        assert_eq!(
            store.login("rep@x.io", &password).await.unwrap().id,
            user.id,
            "{backend}"
        );
        assert_eq!(
            store
                .login("rep@x.io", "wrong password!")
                .await
                .unwrap_err()
                .code(),
            ErrorCode::Unauthorized
        );
        assert_eq!(
            store
                .login("nobody@x.io", &password)
                .await
                .unwrap_err()
                .code(),
            ErrorCode::Unauthorized
        );

        let read_only = store
            .create_token(&system, &user.id, "dashboard", &[Scope::Read])
            .await
            .unwrap();
        assert!(read_only.token.starts_with("sf_") && read_only.token.len() == 67);
        let actor = store.authenticate_token(&read_only.token).await.unwrap();
        store
            .list(&actor, "customers", &ListQuery::default())
            .await
            .unwrap();
        let error = store
            .create(&actor, "customers", &json!({"name": "x"}))
            .await
            .unwrap_err();
        assert_eq!(
            error.code(),
            ErrorCode::Forbidden,
            "{backend}: a read token cannot write"
        );

        store.revoke_token(&actor, &read_only.id).await.unwrap();
        let error = store
            .authenticate_token(&read_only.token)
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::Unauthorized, "{backend}: revoked");
        let error = store.authenticate_token("sf_made_up").await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Unauthorized);

        // A sales user issues tokens only for themselves, and no wider than the credential used.
        let actor = store
            .authenticate_token(
                &store
                    .create_token(&system, &user.id, "r", &[Scope::Read])
                    .await
                    .unwrap()
                    .token,
            )
            .await
            .unwrap();
        assert!(
            store
                .create_token(&actor, &user.id, "own", &[Scope::Read])
                .await
                .is_ok()
        );
        let error = store
            .create_token(&actor, &user.id, "wider", &[Scope::Read, Scope::Write])
            .await
            .unwrap_err();
        assert_eq!(
            error.code(),
            ErrorCode::Forbidden,
            "{backend}: a read token cannot mint a write token"
        );
        let error = store
            .create_token(&actor, &cast_other(&store).await, "theirs", &[Scope::Read])
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::Forbidden);
        let error = store.ensure_team(&actor, "Mine").await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Forbidden);

        let (session, csrf) = store.create_session(&user, 8).await.unwrap();
        let (session_actor, session_csrf) = store.authenticate_session(&session).await.unwrap();
        assert_eq!(
            (session_actor.user_id, session_csrf),
            (Some(user.id.clone()), csrf)
        );
        store.end_session(&session).await.unwrap();
        assert_eq!(
            store
                .authenticate_session(&session)
                .await
                .unwrap_err()
                .code(),
            ErrorCode::Unauthorized
        );
    })
    .await;
}

async fn cast_other(store: &salesflow_store::Store) -> String {
    let (other, _) = store
        .create_user(
            &Actor::system(),
            "other@x.io",
            "Other",
            Role::Sales,
            None,
            None,
        )
        .await
        .unwrap();
    other.id
}

#[tokio::test]
async fn taggings_follow_the_record_they_tag() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let customer = store.create(&cast.north, "customers", &json!({"name": "Northwind Ltd"})).await.unwrap();
        let tag = store.create(&cast.north, "tags", &json!({"name": "hot"})).await.unwrap();
        let tagging = store.create(&cast.north, "taggings", &json!({"tag_id": tag["id"], "record_type": "customers", "record_id": customer["id"]})).await.unwrap();
        let tagging_id = tagging["id"].as_str().unwrap();

        let page = store.list(&cast.south, "taggings", &ListQuery { with_total: true, ..ListQuery::default() }).await.unwrap();
        assert!(page.records.is_empty() && page.total == Some(0), "{backend}: another team's tagging is not listed");
        for error in [
            store.get(&cast.south, "taggings", tagging_id).await.unwrap_err(),
            store.delete(&cast.south, "taggings", tagging_id).await.unwrap_err(),
        ] {
            assert_eq!(error.code(), ErrorCode::NotFound, "{backend}");
        }
        assert_eq!(store.list(&cast.north_mate, "taggings", &ListQuery::default()).await.unwrap().records.len(), 1, "{backend}: the team sees it");
        assert_eq!(store.list(&cast.analyst, "taggings", &ListQuery::default()).await.unwrap().records.len(), 1);
        store.delete(&cast.north_mate, "taggings", tagging_id).await.unwrap();
    })
    .await;
}
