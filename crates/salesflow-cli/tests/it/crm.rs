//! The CRM from the command line: import (mapping, line-numbered errors, all or nothing,
//! undo), and `analyze --db` reading the CRM and writing the scores back.

use crate::util::salesflow;

/// The import id `salesflow import` prints in its undo hint.
fn import_id(stdout: &str) -> String {
    let after = stdout
        .split_whitespace()
        .skip_while(|w| *w != "--undo")
        .nth(1);
    after
        .expect("an undo hint")
        .trim_end_matches('`')
        .to_string()
}

#[test]
fn import_then_analyze_the_crm_and_write_scores_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crm.db").display());
    salesflow(
        dir.path(),
        &[
            "demo",
            "--customers",
            "300",
            "--seed",
            "5",
            "--out",
            "co",
            "--format",
            "csv",
        ],
    )
    .success();
    // The demo's customers name their company in words; this CRM keys companies by id.
    std::fs::write(dir.path().join("map.toml"), "[columns]\ncompany = \"\"\n").unwrap();

    let run = salesflow(
        dir.path(),
        &[
            "import",
            "co/csv/customers.csv",
            "--kind",
            "customers",
            "--db",
            &db,
            "--map",
            "map.toml",
        ],
    );
    run.success();
    assert!(
        run.stdout.contains("created 300 customers"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("customer_id → external_id"),
        "the suggested mapping is shown: {}",
        run.stdout
    );

    // A broken orders file: exit 2, the line and column, nothing written.
    let orders = std::fs::read_to_string(dir.path().join("co/csv/orders.csv")).unwrap();
    let mut lines: Vec<String> = orders.lines().map(str::to_string).collect();
    let first_comma = lines[5].find(',').unwrap();
    lines[5] = format!("NOBODY{}", &lines[5][first_comma..]);
    std::fs::write(dir.path().join("bad_orders.csv"), lines.join("\n") + "\n").unwrap();
    let run = salesflow(
        dir.path(),
        &["import", "bad_orders.csv", "--kind", "orders", "--db", &db],
    );
    run.bad_input();
    assert!(
        run.stdout
            .contains("bad_orders.csv:6, column \"customer_id\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("nothing was written"), "{}", run.stdout);

    let run = salesflow(
        dir.path(),
        &[
            "import",
            "co/csv/orders.csv",
            "--kind",
            "orders",
            "--db",
            &db,
        ],
    );
    run.success();
    let undo_id = import_id(&run.stdout);

    let run = salesflow(
        dir.path(),
        &[
            "analyze",
            "--db",
            &db,
            "--out",
            "report",
            "--forecast-months",
            "0",
        ],
    );
    run.success()
        .stderr_has("wrote the scores of 300 customers back to the CRM");
    assert!(dir.path().join("report/report.html").is_file());
    assert!(dir.path().join("report/crm_tables/orders.csv").is_file());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = salesflow_store::Store::open(&db).await.unwrap();
        let system = salesflow_store::Actor::system();
        let query = salesflow_store::ListQuery {
            filters: vec![salesflow_store::Filter {
                field: "scored_at".into(),
                op: salesflow_store::FilterOp::IsNull,
                value: serde_json::json!(false),
            }],
            with_total: true,
            ..Default::default()
        };
        let page = store.list(&system, "customers", &query).await.unwrap();
        assert_eq!(page.total, Some(300));
        assert!(
            page.records
                .iter()
                .all(|c| c["segment"].is_string() && c["next_action"].is_string())
        );
        assert!(
            page.records
                .iter()
                .any(|c| c["clv"].as_f64().is_some_and(|v| v > 0.0))
        );
        store.close().await;
    });

    // The orders import is undone (the scores stay), once only.
    salesflow(dir.path(), &["import", "--undo", &undo_id, "--db", &db]).success();
    salesflow(dir.path(), &["import", "--undo", &undo_id, "--db", &db])
        .bad_input()
        .stderr_has("not completed");

    // Orders again, then two customers merged from the command line: the duplicate's orders
    // move over, and that import can no longer be undone without losing the move.
    let run = salesflow(
        dir.path(),
        &[
            "import",
            "co/csv/orders.csv",
            "--kind",
            "orders",
            "--db",
            &db,
        ],
    );
    run.success();
    let undo_id = import_id(&run.stdout);
    salesflow(
        dir.path(),
        &["merge", "--kind", "customers", "--list", "--db", &db],
    )
    .success();
    let ids = runtime.block_on(async {
        let store = salesflow_store::Store::open(&db).await.unwrap();
        let page = store
            .list(
                &salesflow_store::Actor::system(),
                "customers",
                &salesflow_store::ListQuery {
                    limit: Some(2),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        store.close().await;
        page.records
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    });
    let run = salesflow(
        dir.path(),
        &[
            "merge",
            "--kind",
            "customers",
            &ids[0],
            &ids[1],
            "--db",
            &db,
        ],
    );
    run.success();
    assert!(run.stdout.contains("orders.customer_id"), "{}", run.stdout);
    salesflow(dir.path(), &["import", "--undo", &undo_id, "--db", &db])
        .bad_input()
        .stderr_has("changed after the import");
}
