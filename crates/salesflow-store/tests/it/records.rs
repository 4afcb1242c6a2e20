//! Create, read, update, delete; validation; stage history and the audit log.

use salesflow_store::{Actor, AuditQuery, CustomFieldDef, ErrorCode};
use serde_json::json;

use crate::harness::{cast, on_each_backend, stage};

#[tokio::test]
async fn records_round_trip_and_validate() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let company = store
            .create(
                &cast.manager,
                "companies",
                &json!({"name": "Acme", "domain": "acme.io", "employees": 40}),
            )
            .await
            .unwrap();
        let customer = store
            .create(
                &cast.manager,
                "customers",
                &json!({"name": "Ann Lee", "email": "Ann@Acme.IO", "company_id": company["id"]}),
            )
            .await
            .unwrap();
        assert_eq!(customer["email"], "ann@acme.io", "{backend}");
        assert_eq!(
            customer["owner_id"],
            json!(cast.manager.user_id),
            "{backend}: the creator owns it"
        );
        let read = store
            .get(&cast.manager, "customers", customer["id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(read, customer, "{backend}");

        let updated = store
            .update(
                &cast.manager,
                "customers",
                customer["id"].as_str().unwrap(),
                &json!({"phone": "+1 555", "clv": 123.5}),
            )
            .await
            .unwrap();
        assert_eq!(updated["phone"], "+1 555");
        assert_eq!(updated["clv"], 123.5);
        assert_eq!(updated["name"], "Ann Lee", "an update leaves other fields");

        // Wrong type, unknown field, missing required field, dangling reference, taken unique value.
        let cases = [
            (
                json!({"name": "X", "clv": "lots"}),
                ErrorCode::InvalidValue,
                "clv",
            ),
            (
                json!({"name": "X", "colour": "red"}),
                ErrorCode::UnknownField,
                "colour",
            ),
            (json!({"email": "x@y.io"}), ErrorCode::MissingField, "name"),
            (
                json!({"name": "X", "company_id": "nope"}),
                ErrorCode::InvalidValue,
                "company_id",
            ),
            (
                json!({"name": "X", "email": "not-an-address"}),
                ErrorCode::InvalidValue,
                "email",
            ),
            (
                json!({"name": "X", "id": "mine"}),
                ErrorCode::InvalidValue,
                "id",
            ),
        ];
        for (body, code, field) in cases {
            let error = store
                .create(&cast.manager, "customers", &body)
                .await
                .unwrap_err();
            assert_eq!(
                (error.code(), error.field()),
                (code, Some(field)),
                "{backend}: {body} gave {error}"
            );
        }
        store
            .create(
                &cast.manager,
                "customers",
                &json!({"name": "A", "external_id": "C-1"}),
            )
            .await
            .unwrap();
        let error = store
            .create(
                &cast.manager,
                "customers",
                &json!({"name": "B", "external_id": "C-1"}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            (error.code(), error.field()),
            (ErrorCode::Conflict, Some("external_id")),
            "{backend}"
        );
        let error = store
            .create(&cast.manager, "customers", &json!(["not", "an", "object"]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidValue);

        // A company still referenced cannot go; once free it can, and is gone.
        let company_id = company["id"].as_str().unwrap();
        let error = store
            .delete(&cast.manager, "companies", company_id)
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::Conflict, "{backend}");
        store
            .update(
                &cast.manager,
                "customers",
                customer["id"].as_str().unwrap(),
                &json!({"company_id": null}),
            )
            .await
            .unwrap();
        store
            .delete(&cast.manager, "companies", company_id)
            .await
            .unwrap();
        let error = store
            .get(&cast.manager, "companies", company_id)
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::NotFound);
    })
    .await;
}

#[tokio::test]
async fn stage_changes_reach_history_and_audit_log() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let deal = store.create(&cast.north, "deals", &json!({"name": "Big one", "amount": 5000, "stage_id": stage(&store, "Contact").await})).await.unwrap();
        let deal_id = deal["id"].as_str().unwrap();
        assert!(deal["pipeline_id"].is_string(), "{backend}: the pipeline follows from the stage");
        assert!(deal["closed_at"].is_null());
        let demo = stage(&store, "Demo").await;
        let moved = store.move_deal(&cast.north, deal_id, &demo, None).await.unwrap();
        assert_eq!(moved["stage_id"], json!(demo));
        let won = stage(&store, "Won").await;
        let closed = store.move_deal(&cast.north, deal_id, &won, None).await.unwrap();
        assert!(closed["closed_at"].is_string(), "{backend}: winning closes the deal");

        let history = store.deal_history(&cast.north, deal_id).await.unwrap();
        let steps: Vec<(Option<String>, String)> = history.iter().map(|h| (h.from_stage_id.clone(), h.to_stage_id.clone())).collect();
        let contact = stage(&store, "Contact").await;
        assert_eq!(steps, vec![(None, contact.clone()), (Some(contact), demo.clone()), (Some(demo.clone()), won.clone())], "{backend}");
        assert!(history.iter().all(|h| h.changed_by == cast.north.user_id));

        let log = store
            .audit_log(&cast.admin, &AuditQuery { entity: Some("deals".into()), record_id: Some(deal_id.into()), ..AuditQuery::default() })
            .await
            .unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["create", "update", "update"], "{backend}");
        assert_eq!(log[2].changes["stage_id"], json!([demo, won]), "{backend}: old and new value");
        assert_eq!(log[2].actor_id, cast.north.user_id);
        // Only admins read the log.
        let error = store.audit_log(&cast.manager, &AuditQuery::default()).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Forbidden);
    })
    .await;
}

#[tokio::test]
async fn custom_fields_are_typed_filtered_and_sorted() {
    on_each_backend(|store, backend| async move {
        let system = Actor::system();
        for (name, kind, options) in [
            (
                "tier",
                "choice",
                vec!["gold".to_string(), "silver".to_string()],
            ),
            ("seats", "integer", vec![]),
        ] {
            let definition = CustomFieldDef {
                entity: "customers".into(),
                name: name.into(),
                kind: kind.into(),
                required: false,
                options,
            };
            store
                .define_custom_field(&system, &definition)
                .await
                .unwrap();
        }
        for (name, tier, seats) in [("a", "gold", 5), ("b", "silver", 50), ("c", "gold", 12)] {
            store
                .create(
                    &system,
                    "customers",
                    &json!({"name": name, "custom_fields": {"tier": tier, "seats": seats}}),
                )
                .await
                .unwrap();
        }
        let error = store
            .create(
                &system,
                "customers",
                &json!({"name": "d", "custom_fields": {"tier": "bronze"}}),
            )
            .await
            .unwrap_err();
        assert_eq!(error.field(), Some("custom_fields.tier"), "{backend}");
        let error = store
            .create(
                &system,
                "customers",
                &json!({"name": "d", "custom_fields": {"shoe": 9}}),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::UnknownField);

        let query = salesflow_store::ListQuery {
            filters: vec![salesflow_store::Filter {
                field: "tier".into(),
                op: salesflow_store::FilterOp::Eq,
                value: json!("gold"),
            }],
            sort: Some("-custom_fields.seats".into()),
            with_total: true,
            ..Default::default()
        };
        let page = store.list(&system, "customers", &query).await.unwrap();
        let names: Vec<&str> = page
            .records
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["c", "a"],
            "{backend}: gold customers by seats, descending (numeric, not text)"
        );
        assert_eq!(page.total, Some(2));
        let query = salesflow_store::ListQuery {
            filters: vec![salesflow_store::Filter {
                field: "seats".into(),
                op: salesflow_store::FilterOp::Gt,
                value: json!("10"),
            }],
            ..Default::default()
        };
        assert_eq!(
            store
                .list(&system, "customers", &query)
                .await
                .unwrap()
                .records
                .len(),
            2,
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn merging_moves_everything_to_the_survivor() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let system = Actor::system();
        let survivor = store.create(&cast.manager, "customers", &json!({"name": "Ann Lee", "email": "ann@acme.io"})).await.unwrap();
        let duplicate = store
            .create(&cast.manager, "customers", &json!({"name": "Ann Lee (old)", "email": "ANN@acme.io", "phone": "+1 555", "external_id": "OLD-7"}))
            .await
            .unwrap();
        let (survivor_id, duplicate_id) = (survivor["id"].as_str().unwrap(), duplicate["id"].as_str().unwrap());
        assert_eq!(store.duplicate_groups(&system, "customers").await.unwrap(), vec![vec![survivor_id.to_string(), duplicate_id.to_string()]], "{backend}");
        let pipeline = store.list(&system, "pipelines", &Default::default()).await.unwrap().records[0]["id"].clone();
        let deal = store.create(&cast.manager, "deals", &json!({"name": "D", "pipeline_id": pipeline, "customer_id": duplicate_id})).await.unwrap();
        let order = store.create(&system, "orders", &json!({"customer_id": duplicate_id, "ordered_at": "2026-03-01", "amount": 20})).await.unwrap();
        let note = store.create(&cast.manager, "activities", &json!({"kind": "note", "subject": "called", "record_type": "customers", "record_id": duplicate_id})).await.unwrap();
        let tag = store.create(&cast.manager, "tags", &json!({"name": "vip"})).await.unwrap();
        for record in [survivor_id, duplicate_id] {
            store.create(&cast.manager, "taggings", &json!({"tag_id": tag["id"], "record_type": "customers", "record_id": record})).await.unwrap();
        }

        let report = store.merge(&cast.manager, "customers", survivor_id, duplicate_id).await.unwrap();
        assert_eq!(report.moved["deals.customer_id"], 1, "{backend}");
        assert_eq!(report.moved["orders.customer_id"], 1);
        assert_eq!(report.filled, ["external_id", "phone"]);
        assert_eq!(store.get(&system, "deals", deal["id"].as_str().unwrap()).await.unwrap()["customer_id"], survivor_id);
        assert_eq!(store.get(&system, "orders", order["id"].as_str().unwrap()).await.unwrap()["customer_id"], survivor_id);
        assert_eq!(store.get(&system, "activities", note["id"].as_str().unwrap()).await.unwrap()["record_id"], survivor_id);
        let merged = store.get(&system, "customers", survivor_id).await.unwrap();
        assert_eq!((merged["phone"].as_str(), merged["external_id"].as_str()), (Some("+1 555"), Some("OLD-7")));
        assert_eq!(store.get(&system, "customers", duplicate_id).await.unwrap_err().code(), ErrorCode::NotFound);
        let taggings = store.list(&system, "taggings", &Default::default()).await.unwrap().records;
        assert_eq!(taggings.len(), 1, "{backend}: one vip tag left on the survivor");
        let log = store.audit_log(&cast.admin, &AuditQuery { action: Some("merge".into()), ..AuditQuery::default() }).await.unwrap();
        assert_eq!(log[0].changes["merged"][0]["email"], "ann@acme.io");
        assert!(store.duplicate_groups(&system, "customers").await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn analytics_read_the_crm_and_write_scores_back() {
    on_each_backend(|store, backend| async move {
        let system = Actor::system();
        let customer = store.create(&system, "customers", &json!({"name": "Ann", "email": "ann@x.io"})).await.unwrap();
        let id = customer["id"].as_str().unwrap().to_string();
        for (day, amount) in [("2026-01-05", 20.5), ("2026-02-07", 31.0)] {
            store.create(&system, "orders", &json!({"customer_id": id, "ordered_at": day, "amount": amount, "channel": "web"})).await.unwrap();
        }
        store.create(&system, "deals", &json!({"name": "D", "stage_id": stage(&store, "Demo").await, "amount": 900, "customer_id": id})).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let counts = store.export_for_analysis(&system, dir.path()).await.unwrap();
        assert_eq!(counts.tables[0], ("orders.csv".to_string(), 2), "{backend}");
        let orders = std::fs::read_to_string(dir.path().join("orders.csv")).unwrap();
        let first = orders.lines().nth(1).unwrap();
        assert!(first.ends_with(&format!("{id},2026-01-05T00:00:00.000000Z,20.5,,web,")), "{backend}: {first}");
        let stages = std::fs::read_to_string(dir.path().join("stage_events.csv")).unwrap();
        assert!(stages.lines().nth(1).unwrap().contains(",Demo,"), "{backend}: {stages}");
        let deals = std::fs::read_to_string(dir.path().join("deals.csv")).unwrap();
        assert!(deals.lines().nth(1).unwrap().contains(",Demo,900,"), "{backend}: {deals}");

        let scores = [
            salesflow_store::CustomerScore { customer_id: id.clone(), segment: Some("Champions".into()), clv: Some(123.25), p_alive: None, next_action: Some("upsell".into()) },
            salesflow_store::CustomerScore { customer_id: "not-in-the-crm".into(), segment: None, clv: Some(f64::NAN), p_alive: Some(0.5), next_action: None },
        ];
        assert_eq!(store.write_scores(&system, &scores).await.unwrap(), 1, "{backend}");
        let scored = store.get(&system, "customers", &id).await.unwrap();
        assert_eq!((scored["segment"].as_str(), scored["clv"].as_f64(), scored["next_action"].as_str()), (Some("Champions"), Some(123.25), Some("upsell")));
        assert!(scored["p_alive"].is_null() && scored["scored_at"].is_string());
    })
    .await;
}
