//! The delivery queue shared by two iflowd instances on one PostgreSQL log: an instance killed
//! with SIGKILL (a real `iflowd serve`) while it holds leased messages leaves them to the other,
//! which finishes every acknowledged one once the leases run out; a message whose attempt failed
//! on one instance is retried, and escalated, on the other.

use std::process::Stdio;

use crate::common::process::{BOUND, banner, iflowd, url_starting};
use crate::common::queue::{archive, async_config, attempts, ended, flaky};
use crate::common::{
    Backend, PASSWORD, TestApp, USER, envelope, http_client, make_fifo, message_id,
    open_fifo_reader, wait_for_writer,
};

const PATH: &str = "/cxf/queued";

/// The shortest lease iflowd takes: a killed instance's messages are free a second later.
const SHORT_LEASE: &str = "[queue]\nworkers = 1\nlease_ms = 1000\n";

/// The statuses of message `id`'s attempts, in order, as `app`'s API shows them.
async fn statuses(app: &TestApp, id: &str) -> Vec<String> {
    attempts(app, id)
        .await
        .iter()
        .map(|a| a["Status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_killed_instances_leased_messages_are_finished_by_the_other_once_the_leases_run_out() {
    let backend = Backend::postgres().await;
    let b = TestApp::spawn_on(
        &backend,
        &async_config(
            "\"archive\"",
            "",
            &format!("{}\n{SHORT_LEASE}", archive("{dir}/events.jsonl")),
        ),
    )
    .await;

    // Instance A, a real process: its only worker stuck writing to a pipe nobody reads.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    make_fifo(&fifo);
    let mut reader = open_fifo_reader(&fifo);
    let file = dir.path().join("iflowd.toml");
    let text = format!(
        "data_dir = \"{}/data\"\n{}{}",
        dir.path().display(),
        async_config(
            "\"archive\"",
            "",
            &format!("{}\n{SHORT_LEASE}", archive(&fifo.display().to_string())),
        ),
        backend.store_toml()
    );
    std::fs::write(&file, text).unwrap();
    let mut a = iflowd()
        .args(["serve", "--config"])
        .arg(&file)
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = url_starting(&banner(&mut a).await, "http://127.0.0.1:");
    let client = http_client();
    let mut acknowledged = Vec::new();
    for i in 0..4 {
        let response = client
            .post(format!("{base}{PATH}"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml")
            .body(envelope(&format!("handover-{i}"), 300, false))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "acknowledged by A");
        acknowledged.push(message_id(&response));
        if i == 0 {
            wait_for_writer(&mut reader).await;
        }
    }
    // A holds all four (one running, three waiting in its memory for its worker), renewing their
    // leases: B, sharing the queue, takes none of them meanwhile.
    for id in &acknowledged {
        let entry = b.log_entry(id).await;
        assert_eq!(entry["Status"], "PROCESSING", "{id}");
        assert_eq!(statuses(&b, id).await, ["RUNNING"], "{id}");
    }
    let archived_by_b = std::fs::read_to_string(b.path("events.jsonl")).unwrap_or_default();
    assert!(archived_by_b.is_empty(), "B ran nothing of A's");
    backend.wait_for_instances(2).await;

    a.start_kill().unwrap();
    tokio::time::timeout(BOUND, a.wait())
        .await
        .unwrap()
        .unwrap();

    // The leases run out a second later; B's scheduler claims them.
    ended(&b, 4).await;
    let archived = std::fs::read_to_string(b.path("events.jsonl")).unwrap();
    for id in &acknowledged {
        assert_eq!(b.log_entry(id).await["Status"], "COMPLETED", "{id}");
        assert!(archived.contains(id.as_str()), "{id} processed by B");
        assert_eq!(statuses(&b, id).await, ["INTERRUPTED", "COMPLETED"], "{id}");
        let list = attempts(&b, id).await;
        assert!(
            list[0]["Error"]
                .as_str()
                .unwrap()
                .starts_with("the attempt's lease ran out"),
            "{list:?}"
        );
    }
    drop(reader);
}

/// Two async endpoints: `Recover` runs `recover` and `Doomed` runs `doomed`, each retried after
/// a second, `Doomed` at most twice; then `handlers`.
fn retry_config(recover: &str, doomed: &str, handlers: &str) -> String {
    format!(
        r#"{users}
[[endpoints]]
name = "Recover"
address = "/recover"
delivery = "async"
handlers = ["{recover}"]

[endpoints.retry]
interval_ms = 1000
max_attempts = 3

[[endpoints]]
name = "Doomed"
address = "/doomed"
delivery = "async"
handlers = ["{doomed}"]

[endpoints.retry]
interval_ms = 1000
max_attempts = 2

{handlers}
{SHORT_LEASE}"#,
        users = crate::common::users_toml()
    )
}

#[tokio::test]
async fn a_message_that_failed_on_one_instance_is_retried_and_escalated_on_the_other() {
    let backend = Backend::postgres().await;
    // A: both endpoints fail.
    let mut a = TestApp::spawn_on(&backend, &retry_config("flaky", "flaky", &flaky(None))).await;
    let recover = message_id(
        &a.post_soap("/cxf/recover", envelope("again-1", 1, false))
            .await,
    );
    let doomed = message_id(
        &a.post_soap("/cxf/doomed", envelope("again-2", 1, false))
            .await,
    );
    ended(&a, 2).await;
    assert_eq!(a.log_entry(&recover).await["CustomStatus"], "RETRY 1/3");
    assert_eq!(a.log_entry(&doomed).await["CustomStatus"], "RETRY 1/2");
    a.begin_shutdown();
    a.stopped().await.unwrap();

    // B: `Recover`'s handler works there. The retries A scheduled run on B at their time.
    let handlers = format!("{}\n{}", flaky(None), archive("{dir}/events.jsonl"));
    let b = TestApp::spawn_on(&backend, &retry_config("archive", "flaky", &handlers)).await;
    ended(&b, 2).await;
    let recovered = b.log_entry(&recover).await;
    assert_eq!(recovered["Status"], "COMPLETED");
    assert_eq!(statuses(&b, &recover).await, ["FAILED", "COMPLETED"]);
    let archived = std::fs::read_to_string(b.path("events.jsonl")).unwrap();
    assert!(archived.contains(recover.as_str()), "processed by B");

    // The failure counted on A counts on B: the second failure is the last allowed.
    let escalated = b.log_entry(&doomed).await;
    assert_eq!(escalated["Status"], "ESCALATED");
    assert_eq!(escalated["CustomStatus"], "ESCALATED 2/2");
    assert_eq!(statuses(&b, &doomed).await, ["FAILED", "FAILED"]);
    let list = attempts(&b, &doomed).await;
    assert!(list[1]["NextAttempt"].is_null(), "{list:?}");
}
