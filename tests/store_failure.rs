//! A message log that refuses a write: the sender is never told that a message was accepted
//! which the log does not hold. Triggers added to the real database while iflowd runs make SQLite
//! refuse chosen writes, as a full disk or a damaged file would.

mod common;

use common::{TestApp, envelope, message_id};

#[tokio::test]
async fn a_write_the_log_refuses_is_a_500_counted_as_a_store_error_and_never_acknowledged() {
    let app = TestApp::spawn_default().await;
    let before = app
        .post_soap("/cxf/isc/events", envelope("ok-1", 1, false))
        .await;
    assert_eq!(before.status(), 200);
    let db = rusqlite::Connection::open(app.path("data/messages.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse_begin BEFORE INSERT ON messages
             WHEN NEW.application_message_id = 'break-begin'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
         CREATE TRIGGER refuse_finish BEFORE UPDATE OF status ON messages
             WHEN NEW.application_message_id = 'break-finish' AND NEW.status = 'COMPLETED'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
    )
    .unwrap();
    drop(db);

    // The PROCESSING entry cannot be written: the chain does not run, the sender gets CPI's 500.
    let refused = app
        .post_soap("/cxf/isc/events", envelope("break-begin", 1, false))
        .await;
    assert_eq!(refused.status(), 500);
    let fault = refused.text().await.unwrap();
    assert!(
        fault.contains("An internal server error occured"),
        "{fault}"
    );

    // The chain ran, but its COMPLETED entry cannot be written: a 500, not the acknowledgement,
    // so the sender retries; the entry is left PROCESSING (ABANDONED at the next start).
    let refused = app
        .post_soap("/cxf/isc/events", envelope("break-finish", 1, false))
        .await;
    assert_eq!(refused.status(), 500);
    let guid = message_id(&refused);
    let fault = refused.text().await.unwrap();
    assert!(
        fault.contains("An internal server error occured") && !fault.contains("<ns:status>200"),
        "{fault}"
    );
    assert_eq!(app.log_entry(&guid).await["Status"], "PROCESSING");

    // The refusals stay with their own messages.
    let after = app
        .post_soap("/cxf/isc/events", envelope("ok-2", 1, false))
        .await;
    assert_eq!(after.status(), 200);
    assert_eq!(
        app.log_entry(&message_id(&after)).await["Status"],
        "COMPLETED"
    );

    let metrics = app.metrics().await;
    for series in [
        r#"iflowd_store_errors_total{operation="begin"} 1"#,
        r#"iflowd_store_errors_total{operation="finish"} 1"#,
        r#"iflowd_store_errors_total{operation="insert"} 0"#,
        r#"iflowd_messages_total{endpoint="ISC_Events",status="COMPLETED"} 2"#,
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
}
