//! A full disk under the message log, on a small tmpfs of the test's own (mounting it needs
//! root; these tests fail, saying so, without it): calls are refused with a clear fault while
//! the log cannot be written, nothing is acknowledged that the log does not hold, `/health` says
//! so, and the log recovers by itself once there is room, also when iflowd started on the full
//! disk (issue 18, item 3).

use std::collections::HashSet;
use std::time::Duration;

use iflowd::config::Env;

use crate::common::process::{serve_in, stop_with_sigterm};
use crate::common::tmpfs::Tmpfs;
use crate::common::{
    PASSWORD, TestApp, USER, envelope, load_in, make_fifo, message_id, open_fifo_reader,
    users_toml, wait_for_writer,
};

const ENDPOINT: &str = "/cxf/isc/events";
/// How long the log may take to notice room by itself (it tries every second).
const BOUND: Duration = Duration::from_secs(20);
const REFUSAL: &str = "The message log cannot be written now (its disk is full or failing), so this message was not accepted. Send it again later.";

/// `/health`: its status and JSON.
async fn health(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Waits until `/health` says UP: after each of the log's write attempts (a call's, or its own
/// retry every second), within [`BOUND`].
async fn wait_until_up(app: &TestApp) {
    let store = app.app.store().expect("a store");
    let mut attempts = store.writes();
    tokio::time::timeout(BOUND, async {
        while health(app).await.0 != 200 {
            attempts.changed().await.expect("the store is there");
        }
    })
    .await
    .expect("the log can be written again, and /health says so");
}

/// The `MessageGuid`s of every COMPLETED entry.
async fn completed(app: &TestApp) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut skip = 0;
    loop {
        let page = app
            .api_results(&format!(
                "MessageProcessingLogs?$filter=Status%20eq%20'COMPLETED'&$select=MessageGuid&$top=500&$skip={skip}"
            ))
            .await;
        if page.is_empty() {
            return ids;
        }
        skip += page.len();
        ids.extend(
            page.iter()
                .map(|e| e["MessageGuid"].as_str().unwrap().to_owned()),
        );
    }
}

#[tokio::test]
async fn a_full_disk_refuses_calls_clearly_and_the_log_recovers_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("data"), "2m");
    let app = TestApp::spawn_in(dir, &users_toml()).await;

    // Fill the disk with the log itself: calls until one is refused.
    let mut acknowledged = Vec::new();
    let refused = loop {
        let i = acknowledged.len();
        assert!(i < 5000, "2 MiB never filled up");
        let response = app
            .post_soap(ENDPOINT, envelope(&format!("fill-{i:04}"), 1, false))
            .await;
        if response.status() != 200 {
            break response;
        }
        acknowledged.push(message_id(&response));
    };
    assert_eq!(refused.status(), 500);
    // A refused call names an entry only when its PROCESSING entry was written.
    let mut refused_entries: Vec<String> = refused
        .headers()
        .get("sap_messageprocessinglogid")
        .map(|id| id.to_str().unwrap().to_owned())
        .into_iter()
        .collect();
    let fault = refused.text().await.unwrap();
    assert!(
        fault.contains("soap:Server") && fault.contains(REFUSAL),
        "{fault}"
    );
    // The WAL does not keep the space the database needs: close to the 2 MiB hold entries
    // (about 4.7 KB each; 44 fitted when the WAL was checkpointed only at 40 MB).
    assert!(
        acknowledged.len() >= 300,
        "only {} messages fit in 2 MiB",
        acknowledged.len()
    );
    let wal = std::fs::metadata(app.path("data/messages.db-wal")).map_or(0, |m| m.len());
    assert!(wal < 256 * 1024, "the WAL holds {wal} bytes");

    let (status, body) = health(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "DOWN");
    assert_eq!(body["store"]["status"], "DOWN");
    assert!(
        body["store"]["error"].as_str().unwrap().contains("full"),
        "{body}"
    );
    assert!(body["store"]["since"].is_string(), "{body}");

    // Still full: the next call is refused too, and the log can be read.
    let again = app
        .post_soap(ENDPOINT, envelope("while-full", 1, false))
        .await;
    assert_eq!(again.status(), 500);
    if let Some(id) = again.headers().get("sap_messageprocessinglogid") {
        refused_entries.push(id.to_str().unwrap().to_owned());
    }
    assert!(again.text().await.unwrap().contains(REFUSAL));
    // Every acknowledged message is in the log.
    let logged = completed(&app).await;
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !logged.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged, not COMPLETED: {missing:?}"
    );
    assert_eq!(logged.len(), acknowledged.len());

    // Space returns: the log notices by itself, without a call and without a restart.
    disk.resize("8m");
    wait_until_up(&app).await;
    // A call whose handlers ran but whose completion the disk refused was answered with a
    // failure: its entry ends FAILED, saying so, instead of staying PROCESSING.
    let store = app.app.store().expect("a store");
    let mut writes = store.writes();
    let processing = "MessageProcessingLogs?$filter=Status%20eq%20'PROCESSING'";
    tokio::time::timeout(BOUND, async {
        while !app.api_results(processing).await.is_empty() {
            writes.changed().await.unwrap();
        }
    })
    .await
    .expect("no entry is left PROCESSING");
    for id in refused_entries {
        let entry = app.log_entry(&id).await;
        assert_eq!(entry["Status"], "FAILED");
        let error = app.error_text(&id).await;
        assert!(
            error.contains("the message log could not be written then"),
            "{error}"
        );
    }
    let after = app
        .post_soap(ENDPOINT, envelope("after-full", 1, false))
        .await;
    assert_eq!(after.status(), 200);
    assert_eq!(
        app.log_entry(&message_id(&after)).await["Status"],
        "COMPLETED"
    );
    app.stop().await;
}

#[tokio::test]
async fn iflowd_starts_on_a_full_disk_refuses_calls_and_sets_its_log_up_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("data"), "2m");
    // A first run, as a process of its own: once it has exited, nothing holds the log open.
    load_in(dir.path(), &users_toml(), &Env::default());
    let (mut child, base) = serve_in(dir.path(), &["--config", "iflowd.toml"]).await;
    let first = crate::common::http_client()
        .post(format!("{base}{ENDPOINT}"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "text/xml")
        .body(envelope("first", 1, false))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let first = message_id(&first);
    stop_with_sigterm(&mut child).await;
    // As a crash would leave it: the entry PROCESSING. And all of it in the database file, with
    // no WAL and no -shm file, as a clean stop leaves it: opening the log on a full disk cannot
    // create the -shm file.
    let data = dir.path().join("data");
    let db = rusqlite::Connection::open(data.join("messages.db")).unwrap();
    db.execute(
        "UPDATE messages SET status = 'PROCESSING' WHERE message_guid = ?1",
        [&first],
    )
    .unwrap();
    db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(db);
    for file in ["messages.db-wal", "messages.db-shm"] {
        let _ = std::fs::remove_file(data.join(file));
    }
    let filler = disk.fill();

    let app = TestApp::spawn_in(dir, &users_toml()).await;
    let (status, body) = health(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["store"]["status"], "DOWN", "{body}");
    let refused = app
        .post_soap(ENDPOINT, envelope("while-full", 1, false))
        .await;
    assert_eq!(refused.status(), 500);
    assert!(
        refused
            .headers()
            .get("sap_messageprocessinglogid")
            .is_none(),
        "no entry is named: none was written"
    );
    assert!(refused.text().await.unwrap().contains(REFUSAL));
    let read = app.api_as(USER, PASSWORD, "MessageProcessingLogs").await;
    assert_eq!(read.status(), 503, "the log cannot even be read yet");

    std::fs::remove_file(filler).unwrap();
    wait_until_up(&app).await;
    let entry = app.log_entry(&first).await;
    assert_eq!(
        entry["Status"], "ABANDONED",
        "the start-up work was done then"
    );
    let after = app
        .post_soap(ENDPOINT, envelope("after-full", 1, false))
        .await;
    assert_eq!(after.status(), 200);
    assert_eq!(
        app.log_entry(&message_id(&after)).await["Status"],
        "COMPLETED"
    );
    let refused = app
        .api_results("MessageProcessingLogs?$filter=ApplicationMessageId%20eq%20'while-full'")
        .await;
    assert!(refused.is_empty(), "{refused:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_message_whose_completion_the_disk_refused_ends_failed_once_there_is_room() {
    use tokio::io::AsyncReadExt;

    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("data"), "2m");
    // The handler writes to a FIFO: it runs until the test reads what it wrote.
    make_fifo(&dir.path().join("pipe"));
    let mut reader = open_fifo_reader(&dir.path().join("pipe"));
    let config = format!(
        "{}\n[[endpoints]]\nname = \"Slow\"\naddress = \"/slow\"\nhandlers = [\"archive\"]\n\n[handlers.archive]\ntype = \"jsonl\"\npath = \"{{dir}}/pipe\"\n",
        users_toml()
    );
    let app = TestApp::spawn_in(dir, &config).await;
    let call = {
        let request = app
            .client
            .post(app.url("/cxf/slow"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml")
            .body(envelope("held", 300, false));
        tokio::spawn(async move { request.send().await.unwrap() })
    };
    // Its PROCESSING entry is written and its handler runs; meanwhile the disk fills up.
    wait_for_writer(&mut reader).await;
    let filler = disk.fill();
    // Reading lets the handler finish (the FIFO stays open, so the reading goes on).
    let draining = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        while reader.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    let answer = call.await.unwrap();
    draining.abort();
    assert_eq!(answer.status(), 500);
    let id = message_id(&answer);
    let fault = answer.text().await.unwrap();
    assert!(fault.contains(REFUSAL) && fault.contains(&id), "{fault}");
    assert_eq!(app.log_entry(&id).await["Status"], "PROCESSING");

    std::fs::remove_file(filler).unwrap();
    let mut writes = app.app.store().expect("a store").writes();
    tokio::time::timeout(BOUND, async {
        while app.log_entry(&id).await["Status"] == "PROCESSING" {
            writes.changed().await.unwrap();
        }
    })
    .await
    .expect("the entry is completed once the log can be written");
    assert_eq!(app.log_entry(&id).await["Status"], "FAILED");
    let error = app.error_text(&id).await;
    assert!(
        error.starts_with(
            "the chain ended COMPLETED; but the message log could not be written then"
        ),
        "{error}"
    );
    app.stop().await;
}
