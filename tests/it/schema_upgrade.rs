//! A log written by the previous schema, where an entry's request and answer shared one row of
//! `bodies`, upgraded when iflowd starts on it (SQLite's migration 0006, PostgreSQL's 0003): the
//! bodies it holds stay readable through the monitoring API, each where it was, and new messages
//! are logged as before.

use crate::common::{Backend, TestApp, fixture, message_id, on_both_backends, users_toml};

/// Three entries as the previous schema kept them, an hour ago (within every retention, so the
/// purge at start-up leaves them): one answered (request and answer in its row), one refused
/// before parsing (the answer alone), one abandoned (the request alone).
fn rows(blob: impl Fn(&str) -> String) -> String {
    let hour_ago = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
        - 3_600_000;
    let entry = |name: &str, status: &str, start: i64| {
        format!(
            "INSERT INTO messages (message_guid, correlation_id, transaction_id,
                 integration_flow_name, sender, status, custom_status, log_start, log_end)
             VALUES ('{}', 'c', 't', 'ISC_Events', 'isc', '{status}', '{status}', {start}, {});",
            guid(name),
            start + 5,
        )
    };
    let bodies = |name: &str, stored_at: i64, request: Option<&str>, response: Option<&str>| {
        let pair = |body: Option<&str>, content_type: &str| match body {
            Some(body) => (format!("'{content_type}'"), blob(body)),
            None => ("NULL".to_owned(), "NULL".to_owned()),
        };
        let (request_type, request) = pair(request, "text/xml");
        let (response_type, response) = pair(response, "text/xml; charset=utf-8");
        format!(
            "INSERT INTO bodies (message_id, stored_at, request_type, request, response_type,
                 response)
             SELECT id, {stored_at}, {request_type}, {request}, {response_type}, {response}
             FROM messages WHERE message_guid = '{}';",
            guid(name)
        )
    };
    [
        entry("answered", "COMPLETED", hour_ago),
        bodies(
            "answered",
            hour_ago + 5,
            Some("<request/>"),
            Some("<answer/>"),
        ),
        entry("refused", "FAILED", hour_ago + 10),
        bodies("refused", hour_ago + 15, None, Some("<fault/>")),
        entry("abandoned", "ABANDONED", hour_ago + 20),
        bodies("abandoned", hour_ago + 20, Some("<unanswered/>"), None),
    ]
    .concat()
}

/// A message id made from `name`.
fn guid(name: &str) -> String {
    format!("AG{name:_>26}")
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Writes the previous schema (every migration but the last) and [`rows`] where `backend`'s
/// log lives, `data` for SQLite.
async fn previous_schema(backend: &Backend, data: &std::path::Path) {
    match backend {
        Backend::Sqlite => {
            std::fs::create_dir_all(data).unwrap();
            let db = rusqlite::Connection::open(data.join("messages.db")).unwrap();
            for step in [
                include_str!("../../src/store/sqlite/migrations/0001_message_log.sql"),
                include_str!("../../src/store/sqlite/migrations/0002_bodies.sql"),
                include_str!("../../src/store/sqlite/migrations/0003_message_events.sql"),
                include_str!("../../src/store/sqlite/migrations/0004_audit_log_event_ids.sql"),
                include_str!("../../src/store/sqlite/migrations/0005_queue.sql"),
            ] {
                db.execute_batch(step).unwrap();
            }
            db.execute_batch("PRAGMA user_version = 5;").unwrap();
            db.execute_batch(&rows(|text| format!("X'{}'", hex(text))))
                .unwrap();
        }
        Backend::Postgres(_) => {
            let client = backend.client().await;
            for step in [
                include_str!("../../src/store/postgres/migrations/0001_message_log.sql"),
                include_str!("../../src/store/postgres/migrations/0002_queue.sql"),
                "CREATE TABLE iflowd_migrations (
                     version    INTEGER PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 );
                 INSERT INTO iflowd_migrations (version) VALUES (1), (2);",
            ] {
                client.batch_execute(step).await.unwrap();
            }
            client
                .batch_execute(&rows(|text| format!("decode('{}', 'hex')", hex(text))))
                .await
                .unwrap();
        }
    }
}

/// The stored body `kind` of `name` through the API: its status, content type and text.
async fn body(app: &TestApp, name: &str, kind: &str) -> (u16, String, String) {
    let response = app.stored_body(&guid(name), kind).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

async fn a_log_of_the_previous_schema_keeps_its_bodies_readable(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    previous_schema(&backend, &dir.path().join("data")).await;
    let app = TestApp::spawn_in_on(&backend, dir, &users_toml()).await;

    let (status, content_type, text) = body(&app, "answered", "response").await;
    assert_eq!(
        (status, content_type.as_str(), text.as_str()),
        (200, "text/xml; charset=utf-8", "<answer/>")
    );
    let (status, content_type, text) = body(&app, "answered", "request").await;
    assert_eq!(
        (status, content_type.as_str(), text.as_str()),
        (200, "text/xml", "<request/>")
    );
    let (status, _, text) = body(&app, "refused", "response").await;
    assert_eq!((status, text.as_str()), (200, "<fault/>"));
    assert_eq!(body(&app, "refused", "request").await.0, 404);
    let (status, _, text) = body(&app, "abandoned", "request").await;
    assert_eq!((status, text.as_str()), (200, "<unanswered/>"));
    assert_eq!(body(&app, "abandoned", "response").await.0, 404);

    // The list names both bodies of the answered entry, with the time their row was written.
    let listed = app
        .api_results(&format!(
            "MessageProcessingLogs('{}')/MessageStoreEntries",
            guid("answered")
        ))
        .await;
    let ids: Vec<&str> = listed.iter().map(|e| e["Id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            format!("{}.request", guid("answered")),
            format!("{}.response", guid("answered"))
        ]
    );
    assert_eq!(listed[0]["TimeStamp"], listed[1]["TimeStamp"]);

    // A message after the upgrade is logged with both bodies as before.
    let answered = app
        .post_soap("/cxf/isc/events", fixture("change-in-manager.xml"))
        .await;
    assert_eq!(answered.status(), 200);
    let id = message_id(&answered);
    let answer = answered.text().await.unwrap();
    let stored = app.stored_body(&id, "response").await;
    assert_eq!(stored.status(), 200);
    assert_eq!(stored.text().await.unwrap(), answer);
    let stored = app.stored_body(&id, "request").await;
    assert_eq!(
        stored.bytes().await.unwrap(),
        fixture("change-in-manager.xml")
    );
}
on_both_backends!(a_log_of_the_previous_schema_keeps_its_bodies_readable);
