//! Imports: all or nothing, dry runs, duplicates, references by natural key, undo.

use std::collections::HashMap;

use salesflow_core::progress::NoProgress;
use salesflow_store::{Actor, ErrorCode, ImportMode, ImportOptions, ListQuery};
use serde_json::json;

use crate::harness::{cast, dump, on_each_backend};

fn customers_csv(rows: usize, bad_line: Option<usize>) -> String {
    let mut csv = String::from("Customer ID,Full Name,E-mail,Segment\n");
    for i in 0..rows {
        // Line numbers count the header as line 1, so row i is on line i + 2.
        let email = if bad_line == Some(i + 2) {
            "not an address".to_string()
        } else {
            format!("c{i}@example.com")
        };
        csv.push_str(&format!(
            "C{i},Customer {i},{email},{}\n",
            ["new", "loyal", "at risk"][i % 3]
        ));
    }
    csv
}

#[tokio::test]
async fn a_failing_row_leaves_the_database_unchanged() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        store
            .create(
                &cast.manager,
                "customers",
                &json!({"name": "Existing", "email": "old@example.com"}),
            )
            .await
            .unwrap();
        let before = dump(&store).await;
        let options = ImportOptions::new("customers", "customers.csv");
        let report = store
            .import(
                &cast.manager,
                &options,
                customers_csv(10_000, Some(9_001)).as_bytes(),
                &NoProgress,
            )
            .await
            .unwrap();
        assert!(!report.committed, "{backend}");
        assert_eq!(report.rows, 10_000);
        assert_eq!(report.error_count, 1);
        let error = &report.errors[0];
        assert_eq!(
            (error.line, error.column.as_deref()),
            (9_001, Some("E-mail")),
            "{backend}: {error:?}"
        );
        assert!(
            error.message.contains("e-mail address"),
            "{}",
            error.message
        );
        assert_eq!(dump(&store).await, before, "{backend}: nothing written");

        // The mapping was suggested from the header.
        let fields: HashMap<&str, Option<&str>> = report
            .columns
            .iter()
            .map(|c| (c.column.as_str(), c.field.as_deref()))
            .collect();
        assert_eq!(fields["Full Name"], Some("name"));
        assert_eq!(fields["E-mail"], Some("email"));
        assert_eq!(fields["Customer ID"], Some("external_id"));
        assert_eq!(fields["Segment"], Some("segment"));

        // Dry run of the good file: counts, nothing written.
        let mut dry = ImportOptions::new("customers", "customers.csv");
        dry.dry_run = true;
        let report = store
            .import(
                &cast.manager,
                &dry,
                customers_csv(10_000, None).as_bytes(),
                &NoProgress,
            )
            .await
            .unwrap();
        assert_eq!(
            (report.created, report.error_count, report.committed),
            (10_000, 0, false),
            "{backend}"
        );
        assert_eq!(dump(&store).await, before);

        let report = store
            .import(
                &cast.manager,
                &options,
                customers_csv(10_000, None).as_bytes(),
                &NoProgress,
            )
            .await
            .unwrap();
        assert!(report.committed, "{backend}");
        let total = store
            .list(
                &cast.manager,
                "customers",
                &ListQuery {
                    with_total: true,
                    ..ListQuery::default()
                },
            )
            .await
            .unwrap()
            .total;
        assert_eq!(total, Some(10_001));
        // The import is in the audit log once, with what it created; the created records
        // carry its id.
        let log = store
            .audit_log(
                &cast.admin,
                &salesflow_store::AuditQuery {
                    entity: Some("customers".into()),
                    limit: Some(1000),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["create", "import"],
            "{backend}: the existing customer's create, then the import"
        );
        assert_eq!(log[1].import_id, report.import_id);
        assert_eq!(log[1].changes["created"], json!([null, 10_000]));
        let imported = ListQuery {
            filters: vec![salesflow_store::Filter {
                field: "email".into(),
                op: salesflow_store::FilterOp::Eq,
                value: json!("c9999@example.com"),
            }],
            ..ListQuery::default()
        };
        let found = store
            .list(&cast.manager, "customers", &imported)
            .await
            .unwrap();
        assert_eq!(
            found.records[0]["external_id"], "C9999",
            "{backend}: indexes rebuilt after the load still answer"
        );
    })
    .await;
}

#[tokio::test]
async fn duplicates_within_the_file_and_against_the_database() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        store
            .create(
                &cast.manager,
                "customers",
                &json!({"name": "Existing", "email": "taken@example.com"}),
            )
            .await
            .unwrap();
        let csv = "name,email\nA,a@example.com\nB,TAKEN@example.com\nC,A@Example.com\nD,\n";
        let report = store
            .import(
                &cast.manager,
                &ImportOptions::new("customers", "dupes.csv"),
                csv.as_bytes(),
                &NoProgress,
            )
            .await
            .unwrap();
        assert!(!report.committed);
        let lines: Vec<(u64, bool)> = report
            .errors
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.message.contains("upsert") || e.message.contains("line 2"),
                )
            })
            .collect();
        assert_eq!(
            lines,
            [(3, true), (4, true)],
            "{backend}: {:?}",
            report.errors
        );

        // A unique value already in the database is the row's error, whatever its case (not
        // a constraint failure of the whole write).
        store
            .create(
                &cast.manager,
                "customers",
                &json!({"name": "Ext", "external_id": "ext-9"}),
            )
            .await
            .unwrap();
        let csv = "name,email,external_id\nE,e@example.com,EXT-9\n";
        let report = store
            .import(
                &cast.manager,
                &ImportOptions::new("customers", "ext.csv"),
                csv.as_bytes(),
                &NoProgress,
            )
            .await
            .unwrap();
        assert_eq!(report.error_count, 1, "{backend}");
        assert_eq!(report.errors[0].column.as_deref(), Some("external_id"));
        assert!(
            report.errors[0].message.contains("already used by"),
            "{}",
            report.errors[0].message
        );

        // Upsert: the existing one is updated, the rest created.
        let mut upsert = ImportOptions::new("customers", "dupes.csv");
        upsert.mode = ImportMode::Upsert;
        let csv = "name,email\nA,a@example.com\nRenamed,TAKEN@example.com\n";
        let report = store
            .import(&cast.manager, &upsert, csv.as_bytes(), &NoProgress)
            .await
            .unwrap();
        assert_eq!(
            (report.created, report.updated, report.committed),
            (1, 1, true),
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn undo_restores_exactly_the_prior_state() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let system = Actor::system();
        let company = store.create(&system, "companies", &json!({"name": "Acme", "external_id": "ACME"})).await.unwrap();
        for i in 0..5 {
            store.create(&cast.manager, "customers", &json!({"name": format!("Old {i}"), "email": format!("c{i}@example.com"), "segment": "new", "clv": 10.5})).await.unwrap();
        }
        let before = dump(&store).await;
        // Updates three customers (one to link the company by its external id), creates two.
        let mut options = ImportOptions::new("customers", "update.csv");
        options.mode = ImportMode::Upsert;
        let csv = "email,name,segment,company\nc0@example.com,New 0,loyal,ACME\nc1@example.com,Old 1,at risk,\nc2@example.com,Old 2,new,\nc9@example.com,Nine,new,\nc8@example.com,Eight,,ACME\n";
        let report = store.import(&cast.manager, &options, csv.as_bytes(), &NoProgress).await.unwrap();
        assert_eq!((report.created, report.updated, report.unchanged), (2, 2, 1), "{backend}: {:?}", report.errors);
        let after_import = dump(&store).await;
        assert_ne!(after_import, before);
        let linked = after_import[1].1.iter().filter(|c| c["company_id"] == company["id"]).count();
        assert_eq!(linked, 2, "{backend}: the company found by external id");

        // Deals imported with stage names get their first stage in the history.
        let deals = "name,stage,amount,customer\nOne,Demo,100,c0@example.com\nTwo,won,250,c9@example.com\n";
        let report = store.import(&cast.manager, &ImportOptions::new("deals", "deals.csv"), deals.as_bytes(), &NoProgress).await.unwrap();
        assert!(report.committed, "{backend}: {:?}", report.errors);
        let won = store.list(&system, "deals", &ListQuery { filters: vec![salesflow_store::Filter { field: "name".into(), op: salesflow_store::FilterOp::Eq, value: json!("Two") }], ..Default::default() }).await.unwrap();
        assert!(won.records[0]["closed_at"].is_string(), "{backend}");
        assert_eq!(store.deal_history(&system, won.records[0]["id"].as_str().unwrap()).await.unwrap().len(), 1);

        // The customer import cannot be undone while the new deals reference its customers.
        let customer_import = store
            .audit_log(&cast.admin, &salesflow_store::AuditQuery { action: Some("import".into()), entity: Some("customers".into()), ..Default::default() })
            .await
            .unwrap()[0]
            .import_id
            .clone()
            .unwrap();
        let error = store.undo_import(&cast.manager, &customer_import).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Conflict, "{backend}");
        store.undo_import(&cast.manager, report.import_id.as_deref().unwrap()).await.unwrap();
        let (deleted, restored) = store.undo_import(&cast.manager, &customer_import).await.unwrap();
        assert_eq!((deleted, restored), (2, 2), "{backend}");
        assert_eq!(dump(&store).await, before, "{backend}: exactly as before, timestamps included");
        let error = store.undo_import(&cast.manager, &customer_import).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Conflict, "{backend}: undone once only");

        // Analysts and sales users do not import.
        let error = store.import(&cast.analyst, &options, csv.as_bytes(), &NoProgress).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Forbidden);
    })
    .await;
}

#[tokio::test]
async fn undo_is_refused_while_notes_hang_on_created_records() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let csv = "email,name\nann@example.com,Ann\nbob@example.com,Bob\n";
        let report = store.import(&cast.manager, &ImportOptions::new("customers", "people.csv"), csv.as_bytes(), &NoProgress).await.unwrap();
        let import_id = report.import_id.clone().unwrap();
        let customers = store.list(&cast.manager, "customers", &ListQuery::default()).await.unwrap();
        let ann = customers.records.iter().find(|c| c["email"] == "ann@example.com").unwrap()["id"].clone();
        let note = store.create(&cast.manager, "activities", &json!({"kind": "note", "subject": "called Ann", "record_type": "customers", "record_id": ann})).await.unwrap();

        let error = store.undo_import(&cast.manager, &import_id).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Conflict, "{backend}: the note would be lost");
        assert!(error.to_string().contains("activities"), "{backend}: {error}");
        assert_eq!(store.list(&cast.manager, "customers", &ListQuery::default()).await.unwrap().records.len(), 2, "{backend}: nothing undone");

        store.delete(&cast.manager, "activities", note["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(store.undo_import(&cast.manager, &import_id).await.unwrap(), (2, 0), "{backend}");
        assert!(store.list(&cast.manager, "customers", &ListQuery::default()).await.unwrap().records.is_empty());
    })
    .await;
}

#[tokio::test]
async fn activities_imported_by_natural_key_point_at_the_record() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let ann = store.create(&cast.manager, "customers", &json!({"name": "Ann", "email": "ann@example.com"})).await.unwrap();
        let csv = "kind,subject,record_type,record_id\nnote,called,customers,ann@example.com\nnote,lost,customers,nobody@example.com\n";
        let report = store.import(&cast.manager, &ImportOptions::new("activities", "notes.csv"), csv.as_bytes(), &NoProgress).await.unwrap();
        assert!(!report.committed && report.errors.len() == 1 && report.errors[0].line == 3, "{backend}: {:?}", report.errors);
        let csv = "kind,subject,record_type,record_id\nnote,called,customers,ann@example.com\n";
        let report = store.import(&cast.manager, &ImportOptions::new("activities", "notes.csv"), csv.as_bytes(), &NoProgress).await.unwrap();
        assert!(report.committed, "{backend}: {:?}", report.errors);
        let notes = store.list(&cast.manager, "activities", &ListQuery::default()).await.unwrap();
        assert_eq!(notes.records[0]["record_id"], ann["id"], "{backend}: stored as the id, not the e-mail");
    })
    .await;
}

#[tokio::test]
async fn imported_stage_changes_follow_the_api_rules() {
    on_each_backend(|store, backend| async move {
        let cast = cast(&store).await;
        let system = Actor::system();
        let renewals = store.create(&system, "pipelines", &json!({"name": "Renewals"})).await.unwrap();
        for (position, name, kind) in [(1, "Due", "open"), (2, "Renewed", "won")] {
            store.create(&system, "stages", &json!({"pipeline_id": renewals["id"], "name": name, "position": position, "kind": kind})).await.unwrap();
        }
        let csv = "external_id,name,stage,amount\nD1,One,Won,100\nD2,Two,Contact,50\n";
        let report = store.import(&cast.manager, &ImportOptions::new("deals", "deals.csv"), csv.as_bytes(), &NoProgress).await.unwrap();
        assert!(report.committed, "{backend}: {:?}", report.errors);
        let deal = |external: &'static str| {
            let store = store.clone();
            async move {
                let query = ListQuery { filters: vec![salesflow_store::Filter { field: "external_id".into(), op: salesflow_store::FilterOp::Eq, value: json!(external) }], ..ListQuery::default() };
                store.list(&Actor::system(), "deals", &query).await.unwrap().records.remove(0)
            }
        };
        assert!(deal("D1").await["closed_at"].is_string(), "{backend}: won on import, closed");

        // Back to an open stage: no longer closed (the stored closed_at is not "given").
        // Only a pipeline: the deal starts at that pipeline's first open stage.
        let mut update = ImportOptions::new("deals", "moves.csv");
        update.mode = ImportMode::Update;
        let csv = format!("external_id,stage,pipeline\nD1,Demo,\nD2,,{}\n", renewals["id"].as_str().unwrap());
        let report = store.import(&cast.manager, &update, csv.as_bytes(), &NoProgress).await.unwrap();
        assert!(report.committed, "{backend}: {:?}", report.errors);
        let reopened = deal("D1").await;
        assert!(reopened["closed_at"].is_null(), "{backend}: {reopened:?}");
        let moved = deal("D2").await;
        assert_eq!(moved["pipeline_id"], renewals["id"], "{backend}");
        let due = store.list(&system, "stages", &ListQuery { filters: vec![salesflow_store::Filter { field: "name".into(), op: salesflow_store::FilterOp::Eq, value: json!("Due") }], ..ListQuery::default() }).await.unwrap();
        assert_eq!(moved["stage_id"], due.records[0]["id"], "{backend}");
        assert_eq!(store.deal_history(&system, moved["id"].as_str().unwrap()).await.unwrap().len(), 2, "{backend}: the move is in the history");
    })
    .await;
}
