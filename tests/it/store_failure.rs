//! A message log that refuses a write: the sender is never told that a message was accepted
//! which the log does not hold. Triggers added to the real database while iflowd runs make SQLite
//! refuse chosen writes, as a full disk or a damaged file would.

use crate::common::{ARCHIVED_ENDPOINT, TestApp, envelope, message_id, users_toml};

#[tokio::test]
async fn a_write_the_log_refuses_is_a_500_counted_as_a_store_error_and_never_acknowledged() {
    let app = TestApp::spawn(&format!("{}{ARCHIVED_ENDPOINT}", users_toml())).await;
    let post = |id: &'static str| {
        let app = &app;
        async move {
            app.post_soap("/cxf/isc/events", envelope(id, 1, false))
                .await
        }
    };
    assert_eq!(post("ok-1").await.status(), 200);
    let db = rusqlite::Connection::open(app.path("data/messages.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse_begin BEFORE INSERT ON messages
             WHEN NEW.application_message_id = 'break-begin'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
         CREATE TRIGGER refuse_finish BEFORE UPDATE OF status ON messages
             WHEN NEW.application_message_id = 'break-finish' AND NEW.status = 'COMPLETED'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
         CREATE TRIGGER refuse_duplicate BEFORE INSERT ON messages
             WHEN NEW.status = 'DISCARDED'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
    )
    .unwrap();
    drop(db);
    let internal_error = "An internal server error occured";

    // The PROCESSING entry cannot be written: the chain does not run, the sender gets CPI's 500,
    // and the log holds nothing of it.
    let refused = post("break-begin").await;
    assert_eq!(refused.status(), 500);
    let fault = refused.text().await.unwrap();
    assert!(fault.contains(internal_error), "{fault}");
    let logged = app
        .api_results("MessageProcessingLogs?$filter=ApplicationMessageId%20eq%20'break-begin'")
        .await;
    assert!(logged.is_empty(), "{logged:?}");

    // The chain ran, but its COMPLETED entry cannot be written: a 500, not the acknowledgement,
    // so the sender retries; the entry is left PROCESSING (ABANDONED at the next start).
    let refused = post("break-finish").await;
    assert_eq!(refused.status(), 500);
    let guid = message_id(&refused);
    let fault = refused.text().await.unwrap();
    assert!(
        fault.contains(internal_error) && !fault.contains("<ns:status>200"),
        "{fault}"
    );
    assert_eq!(app.log_entry(&guid).await["Status"], "PROCESSING");

    // A duplicate whose DISCARDED entry cannot be written: a 500, and it is not counted as a
    // duplicate.
    let refused = post("ok-1").await;
    assert_eq!(refused.status(), 500);
    assert!(refused.text().await.unwrap().contains(internal_error));

    // The refusals stay with their own messages.
    let after = post("ok-2").await;
    assert_eq!(after.status(), 200);
    assert_eq!(
        app.log_entry(&message_id(&after)).await["Status"],
        "COMPLETED"
    );

    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    for (id, ran) in [
        ("ok-1", true),
        ("break-begin", false),
        ("break-finish", true),
        ("ok-2", true),
    ] {
        let times = archived.matches(&format!("\"{id}\"")).count();
        assert_eq!(times, usize::from(ran), "{id} in\n{archived}");
    }
    app.assert_metrics(&[
        r#"iflowd_store_errors_total{operation="begin"} 1"#,
        r#"iflowd_store_errors_total{operation="finish"} 1"#,
        r#"iflowd_store_errors_total{operation="insert"} 1"#,
        r#"iflowd_messages_total{endpoint="ISC_Events",status="COMPLETED"} 2"#,
        r#"iflowd_messages_total{endpoint="ISC_Events",status="DISCARDED"} 0"#,
        r#"iflowd_duplicates_total{endpoint="ISC_Events"} 0"#,
    ])
    .await;
}
