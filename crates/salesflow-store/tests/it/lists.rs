//! Lists: filters, sorts, cursor pages, totals, kanban, search — and injection attempts.

use salesflow_store::{Actor, ErrorCode, Filter, FilterOp, ListQuery, Record};
use serde_json::{Value as Json, json};

use crate::harness::{on_each_backend, stage};

async fn all_pages(store: &salesflow_store::Store, query: &ListQuery) -> (Vec<Record>, usize) {
    let mut query = query.clone();
    let mut records = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.list(&Actor::system(), "deals", &query).await.unwrap();
        pages += 1;
        records.extend(page.records);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return (records, pages),
        }
    }
}

#[tokio::test]
async fn cursor_pages_follow_the_sort_with_nulls_and_ties() {
    on_each_backend(|store, backend| async move {
        let system = Actor::system();
        let contact = stage(&store, "Contact").await;
        // Amounts with ties and gaps (null), names to filter on.
        let amounts = [Some(300.0), None, Some(100.0), Some(300.0), Some(50.5), None, Some(100.0), Some(900.0), Some(300.0), Some(0.0), Some(100.0), None, Some(75.0)];
        for (i, amount) in amounts.iter().enumerate() {
            store
                .create(&system, "deals", &json!({"name": format!("deal {i:02}"), "stage_id": contact, "amount": amount, "currency": if i % 2 == 0 { "EUR" } else { "USD" }}))
                .await
                .unwrap();
        }
        for sort in ["amount", "-amount", "name", "-name", "-created_at", "id"] {
            let query = ListQuery { sort: Some(sort.into()), limit: Some(4), ..ListQuery::default() };
            let (paged, pages) = all_pages(&store, &query).await;
            let everything = store.list(&system, "deals", &ListQuery { sort: Some(sort.into()), limit: Some(100), ..ListQuery::default() }).await.unwrap();
            assert_eq!(paged, everything.records, "{backend}: pages of 4 sorted by {sort} = one page");
            assert_eq!(pages, 4, "{backend}: 13 records in pages of 4");
        }
        let by_amount = store.list(&system, "deals", &ListQuery { sort: Some("amount".into()), limit: Some(100), ..ListQuery::default() }).await.unwrap();
        let order: Vec<Json> = by_amount.records.iter().map(|r| r["amount"].clone()).collect();
        assert_eq!(&order[..4], &[Json::Null, Json::Null, Json::Null, json!(0.0)], "{backend}: null sorts first ascending");
        let descending = store.list(&system, "deals", &ListQuery { sort: Some("-amount".into()), limit: Some(100), ..ListQuery::default() }).await.unwrap();
        assert_eq!(descending.records[0]["amount"], 900.0);
        assert!(descending.records[12]["amount"].is_null(), "{backend}: and last descending");

        let query = ListQuery {
            filters: vec![
                Filter { field: "currency".into(), op: FilterOp::Eq, value: json!("EUR") },
                Filter { field: "amount".into(), op: FilterOp::Gte, value: json!("100") },
            ],
            sort: Some("-amount".into()),
            limit: Some(2),
            with_total: true,
            ..ListQuery::default()
        };
        let page = store.list(&system, "deals", &query).await.unwrap();
        assert_eq!(page.total, Some(5), "{backend}: EUR deals of 100 or more: 300, 100, 100, 300, 100");
        assert_eq!(page.records.iter().map(|r| r["amount"].as_f64().unwrap()).collect::<Vec<_>>(), [300.0, 300.0]);
        let filters = [
            (Filter { field: "name".into(), op: FilterOp::Contains, value: json!("EAL 1") }, 3),
            (Filter { field: "name".into(), op: FilterOp::StartsWith, value: json!("deal 0") }, 10),
            (Filter { field: "amount".into(), op: FilterOp::IsNull, value: json!(true) }, 3),
            (Filter { field: "amount".into(), op: FilterOp::In, value: json!("100,300") }, 6),
            (Filter { field: "amount".into(), op: FilterOp::Ne, value: json!(100) }, 7),
            (Filter { field: "name".into(), op: FilterOp::Contains, value: json!("%") }, 0),
        ];
        for (filter, expected) in filters {
            let query = ListQuery { filters: vec![filter.clone()], with_total: true, ..ListQuery::default() };
            assert_eq!(store.list(&system, "deals", &query).await.unwrap().total, Some(expected), "{backend}: {filter:?}");
        }

        let kanban = store.kanban(&system, by_amount.records[0]["pipeline_id"].as_str().unwrap()).await.unwrap();
        assert_eq!(kanban.len(), 6, "{backend}");
        assert_eq!((kanban[0].count, kanban[0].amount), (13, 2225.5), "{backend}: every deal in Contact");
        assert!((kanban[0].weighted_amount - 222.55).abs() < 1e-9);
        assert!(kanban[1..].iter().all(|c| c.count == 0 && c.amount == 0.0));
    })
    .await;
}

#[tokio::test]
async fn injection_attempts_in_filters_and_sorts_are_harmless() {
    on_each_backend(|store, backend| async move {
        let system = Actor::system();
        store
            .create(
                &system,
                "customers",
                &json!({"name": "Robert'); DROP TABLE customers;--"}),
            )
            .await
            .unwrap();
        store
            .create(&system, "customers", &json!({"name": "Alice"}))
            .await
            .unwrap();
        let attempts_on_fields = [
            "name; DROP TABLE customers",
            "name = name OR 1",
            "custom_fields.x') OR ('1'='1",
            "\"name\"",
        ];
        for field in attempts_on_fields {
            let query = ListQuery {
                filters: vec![Filter {
                    field: field.into(),
                    op: FilterOp::Eq,
                    value: json!("x"),
                }],
                ..ListQuery::default()
            };
            let error = store.list(&system, "customers", &query).await.unwrap_err();
            assert_eq!(error.code(), ErrorCode::UnknownField, "{backend}: {field}");
        }
        for sort in [
            "name; DROP TABLE customers",
            "-(SELECT 1)",
            "name DESC, (SELECT password_hash FROM users)",
        ] {
            let query = ListQuery {
                sort: Some(sort.into()),
                ..ListQuery::default()
            };
            let error = store.list(&system, "customers", &query).await.unwrap_err();
            assert_eq!(error.code(), ErrorCode::InvalidQuery, "{backend}: {sort}");
        }
        for value in ["' OR '1'='1", "Alice' --", "%' OR 1=1 --"] {
            for op in [FilterOp::Eq, FilterOp::Contains, FilterOp::In] {
                let query = ListQuery {
                    filters: vec![Filter {
                        field: "name".into(),
                        op,
                        value: json!(value),
                    }],
                    with_total: true,
                    ..ListQuery::default()
                };
                assert_eq!(
                    store
                        .list(&system, "customers", &query)
                        .await
                        .unwrap()
                        .total,
                    Some(0),
                    "{backend}: {value} {op:?}"
                );
            }
        }
        let forged_cursor = ListQuery {
            cursor: Some("7b2273".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            store
                .list(&system, "customers", &forged_cursor)
                .await
                .unwrap_err()
                .code(),
            ErrorCode::InvalidQuery
        );
        assert_eq!(
            store
                .search(&system, "'); DROP TABLE customers;--", 10)
                .await
                .unwrap()
                .len(),
            1,
            "{backend}: found literally"
        );
        let everyone = store
            .list(
                &system,
                "customers",
                &ListQuery {
                    with_total: true,
                    ..ListQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(everyone.total, Some(2), "{backend}: the table is intact");
    })
    .await;
}
