//! The delivery queue through the real HTTP surface: `delivery = "async"` answers once queued,
//! retries at the configured intervals (on tokio's paused clock), escalation, the queue's
//! entries and attempts in the monitoring API, duplicates of a queued message, and its metrics.

use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::common::queue::{archive, async_config, attempts, ended, flaky, millis};
use crate::common::{
    Backend, TestApp, element_text, envelope, make_fifo, message_id, on_both_backends,
    open_fifo_reader, wait_for_writer,
};

const PATH: &str = "/cxf/queued";

/// A client that keeps no idle connection: the paused clock jumps past the server's idle
/// timeout while a test waits for the queue.
fn fresh_client() -> reqwest::Client {
    iflowd::tls::client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn an_async_call_is_answered_before_its_slow_handler_finishes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    make_fifo(&dir.path().join("pipe"));
    let mut reader = open_fifo_reader(&dir.path().join("pipe"));
    let config = async_config("\"archive\"", "", &archive("{dir}/pipe"));
    let app = TestApp::spawn_in_on(&backend, dir, &config).await;

    // 300 events are more than the pipe holds: the handler blocks until the test reads. The
    // answer comes all the same (on a synchronous endpoint it would not: hence the bound).
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        app.post_soap(PATH, envelope("slow-1", 300, false)),
    )
    .await
    .expect("answered while the handler is blocked");
    assert_eq!(response.status(), 200);
    let id = message_id(&response);
    let answer = response.text().await.unwrap();
    assert_eq!(
        element_text(&answer, "statusDetails"),
        Some(format!("queued 300 events for delivery; message id {id}").as_str())
    );
    wait_for_writer(&mut reader).await;

    // Answered while the handler is still writing.
    let entry = app.log_entry(&id).await;
    assert_eq!(entry["Status"], "PROCESSING");
    assert_eq!(entry["CustomStatus"], "QUEUED");
    assert!(entry["LogEnd"].is_null());
    let running = attempts(&app, &id).await;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0]["Status"], "RUNNING");
    assert_eq!(running[0]["Number"], 1);
    assert!(running[0]["End"].is_null());

    let drain = tokio::spawn(async move {
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
    });
    ended(&app, 1).await;
    let entry = app.log_entry(&id).await;
    assert_eq!(entry["Status"], "COMPLETED");
    assert_eq!(entry["CustomStatus"], "COMPLETED");
    assert!(entry["LogEnd"].is_string());
    let done = attempts(&app, &id).await;
    assert_eq!(done[0]["Status"], "COMPLETED");
    assert!(done[0]["End"].is_string());

    // The attempt is addressable by its key, and carries what $metadata declares.
    let one = app
        .api(&format!("MessageProcessingLogAttempts('{id}.1')"))
        .await;
    assert_eq!(one["d"], done[0]);
    let metadata = app
        .api_as(crate::common::USER, crate::common::PASSWORD, "$metadata")
        .await
        .text()
        .await
        .unwrap();
    let start = metadata
        .find(r#"<EntityType Name="MessageProcessingLogAttempt""#)
        .expect("declared");
    let declared = &metadata[start..start + metadata[start..].find("</EntityType>").unwrap()];
    let keys: Vec<&String> = done[0]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "__metadata")
        .collect();
    assert_eq!(keys.len(), declared.matches("<Property ").count());
    for key in keys {
        assert!(
            declared.contains(&format!(r#"<Property Name="{key}""#)),
            "{key}"
        );
    }
    assert!(metadata.contains(r#"<NavigationProperty Name="Attempts""#));
    drop(app);
    drain.abort();
}
on_both_backends!(an_async_call_is_answered_before_its_slow_handler_finishes);

#[tokio::test(start_paused = true)]
async fn failed_attempts_are_retried_at_doubling_intervals_up_to_the_cap() {
    let config = async_config(
        "\"flaky\"",
        "interval_ms = 1000\nexponential = true\nmax_interval_ms = 3000\nmax_attempts = 5",
        &flaky(Some(3)),
    );
    let mut app = TestApp::spawn(&config).await;
    app.client = fresh_client();
    let response = app.post_soap(PATH, envelope("retry-1", 1, false)).await;
    assert_eq!(
        response.status(),
        200,
        "acknowledged although the chain fails"
    );
    let id = message_id(&response);
    ended(&app, 4).await;

    let list = attempts(&app, &id).await;
    let statuses: Vec<&str> = list.iter().map(|a| a["Status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["FAILED", "FAILED", "FAILED", "COMPLETED"]);
    // Each attempt starts when the one before scheduled it: 1 s, 2 s, then 3 s (the cap, not 4).
    let waits: Vec<i64> = list
        .windows(2)
        .map(|pair| millis(&pair[1]["Start"]) - millis(&pair[0]["End"]))
        .collect();
    for (wait, expected) in waits.iter().zip([1000, 2000, 3000]) {
        assert!(
            (expected..expected + 50).contains(wait),
            "waits {waits:?}, expected about 1000, 2000, 3000"
        );
    }
    for (failed, next) in list[..3].iter().zip(&list[1..]) {
        assert_eq!(millis(&failed["NextAttempt"]), millis(&next["Start"]));
        assert_eq!(failed["Handler"], "flaky");
        assert!(
            failed["Error"]
                .as_str()
                .unwrap()
                .starts_with("handler 'flaky' failed")
        );
    }
    assert!(list[3]["NextAttempt"].is_null() && list[3]["Error"].is_null());
    let entry = app.log_entry(&id).await;
    assert_eq!(entry["Status"], "COMPLETED");
    let error = app
        .api_as(
            crate::common::USER,
            crate::common::PASSWORD,
            &format!("MessageProcessingLogs('{id}')/ErrorInformation"),
        )
        .await;
    assert_eq!(error.status(), 404, "a completed message has no error");
    app.assert_metrics(&[
        r#"iflowd_queue_attempts_total{endpoint="Queued",outcome="failed"} 3"#,
        r#"iflowd_queue_attempts_total{endpoint="Queued",outcome="completed"} 1"#,
        r#"iflowd_messages_total{endpoint="Queued",status="COMPLETED"} 1"#,
    ])
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_last_failed_attempt_escalates_and_nothing_retries_it_by_itself() {
    let config = async_config(
        "\"flaky\"",
        "interval_ms = 1000\nmax_attempts = 3",
        &flaky(None),
    );
    let mut app = TestApp::spawn(&config).await;
    app.client = fresh_client();
    let id = message_id(&app.post_soap(PATH, envelope("dead-1", 1, false)).await);
    ended(&app, 3).await;

    let entry = app.log_entry(&id).await;
    assert_eq!(entry["Status"], "ESCALATED");
    assert_eq!(entry["CustomStatus"], "ESCALATED 3/3");
    assert!(entry["LogEnd"].is_string());
    let error = app.error_text(&id).await;
    assert!(error.starts_with("handler 'flaky' failed"), "{error}");

    // A day later it is still the dead letter it was.
    tokio::time::advance(Duration::from_secs(86_400)).await;
    let list = attempts(&app, &id).await;
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|a| a["Status"] == "FAILED"));
    assert!(list[2]["NextAttempt"].is_null());
    assert_eq!(app.log_entry(&id).await["Status"], "ESCALATED");
    app.assert_metrics(&[
        r#"iflowd_queue_escalations_total{endpoint="Queued"} 1"#,
        r#"iflowd_queue_attempts_total{endpoint="Queued",outcome="failed"} 3"#,
        r#"iflowd_messages_total{endpoint="Queued",status="ESCALATED"} 1"#,
        r#"iflowd_queue_depth{endpoint="Queued",state="retry"} 0"#,
    ])
    .await;
}

async fn between_attempts_the_message_is_retry_with_its_count_and_next_attempt(backend: Backend) {
    // The real clock, and a wait of an hour: the second attempt does not come during the test.
    let config = async_config(
        "\"flaky\"",
        "interval_ms = 3600000\nmax_attempts = 4",
        &flaky(None),
    );
    let app = TestApp::spawn_on(&backend, &config).await;
    let id = message_id(&app.post_soap(PATH, envelope("later-1", 1, false)).await);
    ended(&app, 1).await;
    let entry = app.log_entry(&id).await;
    assert_eq!(entry["Status"], "RETRY");
    assert_eq!(entry["CustomStatus"], "RETRY 1/4");
    assert!(entry["LogEnd"].is_null());
    assert!(
        app.error_text(&id)
            .await
            .starts_with("handler 'flaky' failed")
    );
    let list = attempts(&app, &id).await;
    let wait = millis(&list[0]["NextAttempt"]) - millis(&list[0]["End"]);
    // One instant for both: the wait is the interval, to the millisecond the API shows.
    assert_eq!(wait, 3_600_000);
    let retrying = app
        .api_results("MessageProcessingLogs?$filter=Status%20eq%20'RETRY'")
        .await;
    assert_eq!(retrying.len(), 1);
    app.assert_metrics(&[
        r#"iflowd_queue_depth{endpoint="Queued",state="retry"} 1"#,
        r#"iflowd_queue_depth{endpoint="Queued",state="queued"} 0"#,
    ])
    .await;
}
on_both_backends!(between_attempts_the_message_is_retry_with_its_count_and_next_attempt);

async fn a_copy_of_a_queued_message_is_a_duplicate_answered_like_it(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    make_fifo(&dir.path().join("pipe"));
    let mut reader = open_fifo_reader(&dir.path().join("pipe"));
    let config = async_config("\"archive\"", "", &archive("{dir}/pipe"));
    let app = TestApp::spawn_in_on(&backend, dir, &config).await;
    let first = app.post_soap(PATH, envelope("twice-1", 300, false)).await;
    let first_id = message_id(&first);
    let first_answer = first.text().await.unwrap();
    wait_for_writer(&mut reader).await;

    // Still running: a redelivery is not queued a second time.
    let copy = app.post_soap(PATH, envelope("twice-1", 300, true)).await;
    assert_eq!(copy.status(), 200);
    let copy_id = message_id(&copy);
    let copy_answer = copy.text().await.unwrap();
    assert_eq!(
        element_text(&copy_answer, "statusDetails"),
        element_text(&first_answer, "statusDetails")
    );
    let entry = app.log_entry(&copy_id).await;
    assert_eq!(entry["Status"], "DISCARDED");
    assert_eq!(entry["OriginalMessageGuid"], first_id.as_str());
    assert!(attempts(&app, &copy_id).await.is_empty());
    let drain = tokio::spawn(async move {
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
    });
    ended(&app, 1).await;
    assert_eq!(app.log_entry(&first_id).await["Status"], "COMPLETED");
    drop(app);
    drain.abort();
}
on_both_backends!(a_copy_of_a_queued_message_is_a_duplicate_answered_like_it);

/// A user with the role health collectors use (`JmsBrokers`).
const HEALTH_USER: &str = "[[users]]\nname = \"calm\"\npassword = \"calm-pw\"\nroles = [\"HealthCheckMonitoringDataRead\"]\n";

/// `JmsBrokers('Broker1')`'s `IsConsumersHigh`: 1 while every worker runs an attempt.
async fn consumers_high(app: &TestApp) -> i64 {
    let response = app.api_as("calm", "calm-pw", "JmsBrokers('Broker1')").await;
    assert_eq!(response.status(), 200);
    let broker: serde_json::Value = response.json().await.unwrap();
    broker["d"]["IsConsumersHigh"].as_i64().unwrap()
}

async fn with_every_worker_busy_messages_wait_their_turn_and_the_depth_shows_them(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    make_fifo(&dir.path().join("pipe"));
    let mut reader = open_fifo_reader(&dir.path().join("pipe"));
    let config = async_config(
        "\"archive\"",
        "",
        &format!(
            "{}\n[queue]\nworkers = 1\n\n{HEALTH_USER}",
            archive("{dir}/pipe")
        ),
    );
    let app = TestApp::spawn_in_on(&backend, dir, &config).await;
    assert_eq!(consumers_high(&app).await, 0, "no attempt runs yet");
    let mut ids = Vec::new();
    for i in 0..3 {
        let response = app
            .post_soap(PATH, envelope(&format!("busy-{i}"), 300, false))
            .await;
        assert_eq!(response.status(), 200);
        ids.push(message_id(&response));
        if i == 0 {
            wait_for_writer(&mut reader).await;
        }
    }
    // One runs; the other two are taken (leased) and wait in memory for the only worker.
    app.assert_metrics(&[
        r#"iflowd_queue_depth{endpoint="Queued",state="running"} 3"#,
        r#"iflowd_queue_depth{endpoint="Queued",state="queued"} 0"#,
        r#"iflowd_queue_attempts_total{endpoint="Queued",outcome="completed"} 0"#,
    ])
    .await;
    assert_eq!(
        consumers_high(&app).await,
        1,
        "the only worker runs an attempt"
    );
    let drain = tokio::spawn(async move {
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
    });
    ended(&app, 3).await;
    for id in &ids {
        assert_eq!(app.log_entry(id).await["Status"], "COMPLETED");
        let list = attempts(&app, id).await;
        assert_eq!(list.len(), 1, "one attempt each");
    }
    // They ran one after the other: each attempt's chain started after the previous one ended.
    let mut spans = Vec::new();
    for id in &ids {
        let list = attempts(&app, id).await;
        spans.push((millis(&list[0]["Start"]), millis(&list[0]["End"])));
    }
    spans.sort();
    assert!(spans.windows(2).all(|w| w[1].0 >= w[0].1), "{spans:?}");
    app.assert_metrics(&[
        r#"iflowd_queue_depth{endpoint="Queued",state="running"} 0"#,
        r#"iflowd_queue_attempts_total{endpoint="Queued",outcome="completed"} 3"#,
    ])
    .await;
    assert_eq!(consumers_high(&app).await, 0, "the worker is free again");
    drop(app);
    drain.abort();
}
on_both_backends!(with_every_worker_busy_messages_wait_their_turn_and_the_depth_shows_them);

async fn without_payloads_the_request_is_kept_only_while_the_message_is_queued(backend: Backend) {
    let config = async_config(
        "\"flaky\"",
        "interval_ms = 3600000\nmax_attempts = 2",
        &format!("{}\n[store]\npayloads = false\n", flaky(Some(1))),
    );
    let app = TestApp::spawn_on(&backend, &config).await;
    let id = message_id(&app.post_soap(PATH, envelope("private-1", 1, false)).await);
    ended(&app, 1).await;
    // Waiting for its retry: the queue needs the request.
    let kept = app.stored_body(&id, "request").await;
    assert_eq!(kept.status(), 200);
    assert!(kept.text().await.unwrap().contains("private-1"));
    let (status, body) = {
        let response = crate::common::queue::operation(
            &app,
            crate::common::USER,
            crate::common::PASSWORD,
            &format!("MessageProcessingLogs('{id}')/Retry"),
        )
        .await;
        (response.status(), response.text().await.unwrap())
    };
    assert_eq!(status, 409, "only escalated messages: {body}");
    // The retry is an hour away; a replay runs the same request now, as a new message, and
    // its request goes once it is done.
    let replay = crate::common::queue::operation(
        &app,
        crate::common::USER,
        crate::common::PASSWORD,
        &format!("MessageProcessingLogs('{id}')/Replay"),
    )
    .await;
    assert_eq!(replay.status(), 201);
    let new: serde_json::Value = replay.json().await.unwrap();
    let new = new["d"]["MessageGuid"].as_str().unwrap().to_owned();
    ended(&app, 2).await;
    assert_eq!(app.log_entry(&new).await["Status"], "COMPLETED");
    let stored = app
        .api_results(&format!(
            "MessageProcessingLogs('{new}')/MessageStoreEntries"
        ))
        .await;
    assert!(stored.is_empty(), "{stored:?}");
}
on_both_backends!(without_payloads_the_request_is_kept_only_while_the_message_is_queued);
