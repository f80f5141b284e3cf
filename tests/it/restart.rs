//! A real crash: `iflowd serve` killed with SIGKILL while a handler runs, then a new server on
//! the same data directory and log (SQLite, or the same PostgreSQL database).

use std::process::Stdio;

use crate::common::process::{BOUND, banner, iflowd, url_starting};
use crate::common::{
    Backend, PASSWORD, TestApp, USER, envelope, fixture, http_client, make_fifo, message_id,
    on_both_backends, open_fifo_reader, users_toml, wait_for_writer,
};

fn config(archive: &str) -> String {
    format!(
        r#"data_dir = "{{dir}}/data"
{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"

[[endpoints]]
name = "Slow"
address = "/slow"
handlers = ["archive"]

[handlers.archive]
type = "jsonl"
path = "{archive}"
"#,
        users_toml()
    )
}

async fn after_a_crash_the_log_is_intact_and_what_was_processing_is_abandoned(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    make_fifo(&fifo);
    let mut reader = open_fifo_reader(&fifo);
    let file = dir.path().join("iflowd.toml");
    std::fs::write(
        &file,
        config("{dir}/pipe").replace("{dir}", &dir.path().display().to_string())
            + &backend.store_toml(),
    )
    .unwrap();

    let mut child = iflowd()
        .args(["serve", "--config"])
        .arg(&file)
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = url_starting(&banner(&mut child).await, "http://127.0.0.1:");

    let client = http_client();
    let post = |path: &str, body: Vec<u8>| {
        client
            .post(format!("{base}{path}"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml")
            .body(body)
            .send()
    };
    let acknowledged = post("/cxf/isc/events", fixture("hire.xml")).await.unwrap();
    assert_eq!(acknowledged.status(), 200);
    let acknowledged_id = message_id(&acknowledged);

    let stuck = tokio::spawn(post(
        "/cxf/slow",
        envelope("stuck-1", 300, false).into_bytes(),
    ));
    wait_for_writer(&mut reader).await;
    child.start_kill().unwrap();
    tokio::time::timeout(BOUND, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        stuck.await.unwrap().is_err(),
        "the sender never got an answer"
    );

    // A new server on the same data directory and log (writing its archive to a plain file now),
    // once PostgreSQL has seen the killed one's connection close.
    backend.wait_for_instances(0).await;
    let app = TestApp::spawn_in_on(&backend, dir, &config("{dir}/events.jsonl")).await;
    let entry = app.log_entry(&acknowledged_id).await;
    assert_eq!(
        entry["Status"], "COMPLETED",
        "the acknowledged message survived the crash"
    );
    let request = app.stored_body(&acknowledged_id, "request").await;
    assert_eq!(request.bytes().await.unwrap(), fixture("hire.xml"));

    let abandoned = app
        .api_results("MessageProcessingLogs?$filter=ApplicationMessageId%20eq%20'stuck-1'")
        .await;
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0]["Status"], "ABANDONED");
    assert_eq!(abandoned[0]["IntegrationFlowName"], "Slow");
    assert!(abandoned[0]["LogEnd"].is_string());
    app.assert_metrics(&[
        r#"iflowd_messages_total{endpoint="Slow",status="ABANDONED"} 1"#,
        r#"iflowd_messages_total{endpoint="ISC_Events",status="ABANDONED"} 0"#,
    ])
    .await;
    let guid = abandoned[0]["MessageGuid"].as_str().unwrap();
    let reason = app.error_text(guid).await;
    assert!(
        reason.starts_with("iflowd stopped while the message was being processed"),
        "{reason}"
    );
    // The request it was processing is kept (written with the PROCESSING entry); it was never
    // answered, so there is no answer body.
    let stored = app
        .api_results(&format!(
            "MessageProcessingLogs('{guid}')/MessageStoreEntries"
        ))
        .await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let body = app.stored_body(guid, "request").await;
    assert_eq!(body.status(), 200);
    assert!(body.text().await.unwrap().contains("stuck-1"));
    let answer = app.stored_body(guid, "response").await;
    assert_eq!(answer.status(), 404);

    // Its redelivery is processed (an abandoned message never completed).
    let again = app
        .post_soap("/cxf/slow", envelope("stuck-1", 1, true))
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        app.log_entry(&message_id(&again)).await["Status"],
        "COMPLETED"
    );
}
on_both_backends!(after_a_crash_the_log_is_intact_and_what_was_processing_is_abandoned);

async fn a_graceful_restart_keeps_every_entry(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &users_toml()).await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for name in ["hire.xml", "termination.xml", "malformed.xml"] {
            ids.push(message_id(&app.post_fixture(name).await));
        }
        ids
    };
    let dir = app.stop_keeping_dir().await;
    let app = TestApp::spawn_in_on(&backend, dir, &users_toml()).await;
    let statuses: Vec<String> = {
        let mut statuses = Vec::new();
        for id in &ids {
            statuses.push(
                app.log_entry(id).await["Status"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        statuses
    };
    assert_eq!(statuses, ["COMPLETED", "COMPLETED", "FAILED"]);
    let again = app.post_fixture("hire.xml").await;
    assert_eq!(
        app.log_entry(&message_id(&again)).await["Status"],
        "DISCARDED",
        "duplicates are found across restarts"
    );
}
on_both_backends!(a_graceful_restart_keeps_every_entry);
