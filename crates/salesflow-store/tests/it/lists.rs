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

/// The kanban as `actor` sees it, counted from the deals themselves: stage -> (count, amount).
async fn kanban_by_scan(
    store: &salesflow_store::Store,
    actor: &Actor,
) -> std::collections::BTreeMap<String, (i64, f64)> {
    let mut by_stage = std::collections::BTreeMap::new();
    let mut query = ListQuery {
        limit: Some(1000),
        ..ListQuery::default()
    };
    loop {
        let page = store.list(actor, "deals", &query).await.unwrap();
        for deal in &page.records {
            let entry = by_stage
                .entry(deal["stage_id"].as_str().unwrap().to_string())
                .or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 += deal["amount"].as_f64().unwrap_or(0.0);
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return by_stage,
        }
    }
}

async fn assert_kanban_matches_the_deals(
    store: &salesflow_store::Store,
    actors: &[(&str, &Actor)],
    pipeline_id: &str,
    step: &str,
) {
    for (who, actor) in actors {
        let expected = kanban_by_scan(store, actor).await;
        let board = store.kanban(actor, pipeline_id).await.unwrap();
        for column in &board {
            let (count, amount) = expected.get(&column.stage_id).copied().unwrap_or((0, 0.0));
            assert_eq!(
                column.count, count,
                "{step}: {who}'s count in {}",
                column.name
            );
            assert!(
                (column.amount - amount).abs() <= 1e-6 * amount.abs().max(1.0),
                "{step}: {who}'s amount in {}: {} vs {amount}",
                column.name,
                column.amount
            );
        }
        let counted: i64 = board.iter().map(|c| c.count).sum();
        assert_eq!(
            counted,
            expected.values().map(|v| v.0).sum::<i64>(),
            "{step}: {who} sees no deal outside the board"
        );
    }
}

#[tokio::test]
async fn kanban_totals_follow_every_write() {
    on_each_backend(|store, backend| async move {
        let cast = crate::harness::cast(&store).await;
        let system = Actor::system();
        let actors = [
            ("system", &system),
            ("north", &cast.north),
            ("north_mate", &cast.north_mate),
            ("south", &cast.south),
        ];
        let (contact, demo, won) = (
            stage(&store, "Contact").await,
            stage(&store, "Demo").await,
            stage(&store, "Won").await,
        );
        let pipeline_id = store
            .list(&system, "pipelines", &ListQuery::default())
            .await
            .unwrap()
            .records[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let check = |step: String| {
            let (store, actors, pipeline_id) = (&store, &actors, &pipeline_id);
            async move {
                assert_kanban_matches_the_deals(
                    store,
                    actors,
                    pipeline_id,
                    &format!("{backend}: {step}"),
                )
                .await
            }
        };

        let mut ids = Vec::new();
        for (i, (actor, amount)) in [
            (&cast.north, Some(100.25)),
            (&cast.north, None),
            (&cast.north_mate, Some(40.0)),
            (&cast.south, Some(7.5)),
            (&cast.manager, Some(1e9)),
        ]
        .into_iter()
        .enumerate()
        {
            let deal = store
                .create(
                    actor,
                    "deals",
                    &json!({"name": format!("deal {i}"), "stage_id": contact, "amount": amount}),
                )
                .await
                .unwrap();
            ids.push(deal["id"].as_str().unwrap().to_string());
        }
        store
            .create(
                &system,
                "deals",
                &json!({"name": "nobody's", "stage_id": demo, "amount": 3}),
            )
            .await
            .unwrap();
        check("created".into()).await;

        store
            .update(&cast.north, "deals", &ids[1], &json!({"amount": 60}))
            .await
            .unwrap();
        store
            .update(&cast.north, "deals", &ids[0], &json!({"name": "renamed"}))
            .await
            .unwrap();
        store
            .move_deal(&cast.north_mate, &ids[0], &demo, None)
            .await
            .unwrap();
        store
            .move_deal(&cast.south, &ids[3], &won, None)
            .await
            .unwrap();
        check("updated and moved".into()).await;

        // Reassigned to the other team, then moved back and emptied out of a stage.
        store
            .update(
                &cast.manager,
                "deals",
                &ids[2],
                &json!({"owner_id": cast.south.user_id}),
            )
            .await
            .unwrap();
        store
            .move_deal(&cast.manager, &ids[0], &contact, None)
            .await
            .unwrap();
        store.delete(&cast.manager, "deals", &ids[4]).await.unwrap();
        check("reassigned and deleted".into()).await;

        // An import large enough to take the bulk path, and its undo.
        let mut csv = String::from("name,stage,amount,owner\n");
        for i in 0..10_000 {
            let (stage, owner) = [
                ("Contact", "north@x.io"),
                ("Demo", "south@x.io"),
                ("Won", "north2@x.io"),
                ("Demo", ""),
            ][i % 4];
            let amount = if i % 7 == 0 {
                String::new()
            } else {
                format!("{}.{:02}", i % 500, i % 100)
            };
            csv.push_str(&format!("bulk {i},{stage},{amount},{owner}\n"));
        }
        let report = store
            .import(
                &cast.manager,
                &salesflow_store::ImportOptions::new("deals", "deals.csv"),
                csv.as_bytes(),
                &salesflow_core::progress::NoProgress,
            )
            .await
            .unwrap();
        assert!(report.committed, "{backend}: {:?}", report.errors);
        check("imported".into()).await;
        store
            .undo_import(&cast.manager, report.import_id.as_deref().unwrap())
            .await
            .unwrap();
        check("import undone".into()).await;

        // The deal of 1e9 came and went without leaving a residue in Contact's amount, and a
        // stage emptied by moves shows zero.
        let board = store.kanban(&system, &pipeline_id).await.unwrap();
        let contact_column = board.iter().find(|c| c.stage_id == contact).unwrap();
        assert_eq!(
            (contact_column.count, contact_column.amount),
            (3, 200.25),
            "{backend}"
        );
        for id in &ids[..3] {
            store
                .move_deal(&cast.manager, id, &won, None)
                .await
                .unwrap();
        }
        let board = store.kanban(&system, &pipeline_id).await.unwrap();
        let contact_column = board.iter().find(|c| c.stage_id == contact).unwrap();
        assert_eq!(
            (contact_column.count, contact_column.amount),
            (0, 0.0),
            "{backend}"
        );
        check("emptied".into()).await;
    })
    .await;
}

#[tokio::test]
async fn odd_list_inputs_are_answered_not_crashed_on() {
    on_each_backend(|store, backend| async move {
        let system = Actor::system();
        let definition = salesflow_store::CustomFieldDef {
            entity: "customers".into(),
            name: "vip".into(),
            kind: "boolean".into(),
            required: false,
            options: vec![],
        };
        store
            .define_custom_field(&system, &definition)
            .await
            .unwrap();
        // Phones that are empty or padded are values a cursor must carry as they are.
        for (name, phone, vip) in [
            ("a", "", true),
            ("b", " 5 ", false),
            ("c", "", false),
            ("d", "7", true),
            ("e", " 5 ", true),
        ] {
            store
                .create(
                    &system,
                    "customers",
                    &json!({"name": name, "phone": phone, "custom_fields": {"vip": vip}}),
                )
                .await
                .unwrap();
        }
        for sort in ["phone", "-phone", "vip", "-vip"] {
            let mut query = ListQuery {
                sort: Some(sort.into()),
                limit: Some(1),
                ..ListQuery::default()
            };
            let mut names = Vec::new();
            loop {
                let page = store.list(&system, "customers", &query).await.unwrap();
                names.extend(
                    page.records
                        .iter()
                        .map(|r| r["name"].as_str().unwrap().to_string()),
                );
                assert!(
                    names.len() <= 5,
                    "{backend}: sorted by {sort}, pages repeat: {names:?}"
                );
                match page.next_cursor {
                    Some(cursor) => query.cursor = Some(cursor),
                    None => break,
                }
            }
            names.sort();
            assert_eq!(
                names,
                ["a", "b", "c", "d", "e"],
                "{backend}: every customer once, by {sort}"
            );
        }
        let vips = ListQuery {
            filters: vec![Filter {
                field: "vip".into(),
                op: FilterOp::Eq,
                value: json!("true"),
            }],
            with_total: true,
            ..ListQuery::default()
        };
        assert_eq!(
            store.list(&system, "customers", &vips).await.unwrap().total,
            Some(3),
            "{backend}: a boolean custom field filters"
        );

        store
            .create(
                &system,
                "customers",
                &json!({"name": "f", "email": "Ann@Example.com"}),
            )
            .await
            .unwrap();
        let by_email = ListQuery {
            filters: vec![Filter {
                field: "email".into(),
                op: FilterOp::Eq,
                value: json!("ANN@example.COM"),
            }],
            ..ListQuery::default()
        };
        assert_eq!(
            store
                .list(&system, "customers", &by_email)
                .await
                .unwrap()
                .records
                .len(),
            1,
            "{backend}: e-mails match whatever their case"
        );

        let split_character = ListQuery {
            cursor: Some("0\u{e9}0".into()),
            ..ListQuery::default()
        };
        let error = store
            .list(&system, "customers", &split_character)
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidQuery, "{backend}");
        let on_a_number = ListQuery {
            filters: vec![Filter {
                field: "amount".into(),
                op: FilterOp::Contains,
                value: json!("1"),
            }],
            ..ListQuery::default()
        };
        let error = store
            .list(&system, "deals", &on_a_number)
            .await
            .unwrap_err();
        assert_eq!(
            (error.code(), error.field()),
            (ErrorCode::InvalidQuery, Some("amount")),
            "{backend}"
        );
    })
    .await;
}
