//! The message processing log as a sender's calls fill it: statuses, duplicates, redeliveries,
//! payloads, retention and restarts. Everything is read back through the monitoring API.

use std::time::Duration;

use crate::common::{
    Backend, PASSWORD, TestApp, USER, element_text, envelope, failing_archive_config, fixture,
    make_fifo, message_id, on_both_backends, open_fifo_reader, users_toml, wait_for_writer,
};
use tokio::io::AsyncReadExt;

const CHANGE_IN_MANAGER_ID: &str = "5e6c2a7d-8f1b-4c39-9d0e-7a4b3c2d1e0f";

fn archive_config(path: &str) -> String {
    format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["log", "archive"]

[[endpoints]]
name = "ISC_Other"
address = "/isc/other"
handlers = ["log", "archive"]

[handlers.archive]
type = "jsonl"
path = "{path}"
"#,
        users_toml()
    )
}

fn millis(date: &serde_json::Value) -> i64 {
    let text = date.as_str().expect("a date");
    text.strip_prefix("/Date(")
        .and_then(|t| t.strip_suffix(")/"))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not an OData date: {text}"))
}

async fn raw(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.api_as(USER, PASSWORD, path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn a_completed_message_is_logged_with_what_cpi_shows_and_its_bodies(backend: Backend) {
    let app = TestApp::spawn_default_on(&backend).await;
    let before = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let response = app.post_fixture("change-in-manager.xml").await;
    assert_eq!(response.status(), 200);
    let id = message_id(&response);
    let answer = response.text().await.unwrap();

    let entry = app.log_entry(&id).await;
    assert_eq!(entry["MessageGuid"], id.as_str());
    assert_eq!(entry["Status"], "COMPLETED");
    assert_eq!(entry["CustomStatus"], "COMPLETED");
    assert_eq!(entry["ApplicationMessageId"], CHANGE_IN_MANAGER_ID);
    assert_eq!(
        entry["ApplicationMessageType"],
        "com.successfactors.Employment.JobInformation.ManagerChanged"
    );
    assert_eq!(entry["IntegrationFlowName"], "ISC_Events");
    assert_eq!(entry["IntegrationArtifact"]["Id"], "ISC_Events");
    assert_eq!(entry["IntegrationArtifact"]["Type"], "INTEGRATION_FLOW");
    assert_eq!(entry["Sender"], USER);
    assert_eq!(entry["EventCount"], 1);
    assert_eq!(entry["Repost"], false);
    assert_eq!(entry["OriginalMessageGuid"], serde_json::Value::Null);
    assert!(entry["CorrelationId"].as_str().unwrap().starts_with("AG"));
    let (start, end) = (millis(&entry["LogStart"]), millis(&entry["LogEnd"]));
    assert!(before - 1000 <= start && start <= end, "{start} {end}");

    let stored = app
        .api_as(
            USER,
            PASSWORD,
            &format!("MessageProcessingLogs('{id}')/MessageStoreEntries"),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let kinds: Vec<&str> = stored["d"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["MessageStoreId"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["request", "response"]);
    let request = app.stored_body(&id, "request").await;
    assert_eq!(request.headers()["content-type"], "text/xml; charset=utf-8");
    assert_eq!(
        request.bytes().await.unwrap(),
        fixture("change-in-manager.xml")
    );
    let (status, response_body) = raw(
        &app,
        &format!("MessageProcessingLogs('{id}')/MessageStoreEntries('{id}.response')/$value"),
    )
    .await;
    assert_eq!((status, response_body), (200, answer));
    let (status, error) = raw(
        &app,
        &format!("MessageProcessingLogs('AGother')/MessageStoreEntries('{id}.response')/$value"),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        error.contains(&format!(
            "'{id}.response' is not a stored body of message 'AGother'"
        )),
        "{error}"
    );

    let (status, _) = raw(
        &app,
        &format!("MessageProcessingLogs('{id}')/ErrorInformation"),
    )
    .await;
    assert_eq!(status, 404, "a completed message has no error");
}
on_both_backends!(a_completed_message_is_logged_with_what_cpi_shows_and_its_bodies);

async fn refused_and_malformed_calls_are_failed_entries_with_their_reason(backend: Backend) {
    let app = TestApp::spawn_default_on(&backend).await;
    let malformed = app.post_fixture("malformed.xml").await;
    assert_eq!(malformed.status(), 500);
    let malformed_id = message_id(&malformed);
    let wrong_type = app
        .client
        .post(app.url("/cxf/isc/events"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    let wrong_type_id = message_id(&wrong_type);

    for (id, reason) in [
        (&malformed_id, "the request is not well-formed XML"),
        (&wrong_type_id, "Content-Type application/json is not SOAP"),
    ] {
        let entry = app.log_entry(id).await;
        assert_eq!(entry["Status"], "FAILED", "{entry}");
        assert!(entry["LogEnd"].is_string());
        let text = app.error_text(id).await;
        assert!(text.starts_with(reason), "{text}");
    }
    let info = app
        .api(&format!(
            "MessageProcessingLogs('{malformed_id}')/ErrorInformation"
        ))
        .await;
    assert_eq!(info["d"]["MessageGuid"], malformed_id.as_str());
    assert_eq!(info["d"]["LastErrorModelStepId"], serde_json::Value::Null);

    // Strangers and callers without the role leave no entry.
    let anonymous = app
        .client
        .post(app.url("/cxf/isc/events"))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let count = app
        .api_as(USER, PASSWORD, "MessageProcessingLogs/$count")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(count, "2");
}
on_both_backends!(refused_and_malformed_calls_are_failed_entries_with_their_reason);

async fn a_failed_message_names_the_handler_and_is_processed_again_when_redelivered(
    backend: Backend,
) {
    let app = TestApp::spawn_on(&backend, &failing_archive_config("soap", "")).await;
    let first = app
        .post_soap("/cxf/broken", envelope("retry-1", 1, false))
        .await;
    assert_eq!(first.status(), 500);
    let first_id = message_id(&first);
    let again = app
        .post_soap("/cxf/broken", envelope("retry-1", 1, true))
        .await;
    assert_eq!(again.status(), 500, "processed again, and failing again");
    let again_id = message_id(&again);
    let body = again.text().await.unwrap();
    assert_eq!(element_text(&body, "faultcode"), Some("soap:Server"));

    for (id, repost) in [(&first_id, false), (&again_id, true)] {
        let entry = app.log_entry(id).await;
        assert_eq!(entry["Status"], "FAILED");
        assert_eq!(entry["Repost"], repost);
        assert_eq!(entry["OriginalMessageGuid"], serde_json::Value::Null);
        let info = app
            .api(&format!("MessageProcessingLogs('{id}')/ErrorInformation"))
            .await;
        assert_eq!(info["d"]["LastErrorModelStepId"], "archive");
        let text = app.error_text(id).await;
        assert!(
            text.starts_with("handler 'archive' failed: cannot append to /dev/full"),
            "{text}"
        );
    }
    // The handler really ran twice.
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"iflowd_handler_failures_total{endpoint="Broken",handler="archive"} 2"#),
        "{metrics}"
    );
}
on_both_backends!(a_failed_message_names_the_handler_and_is_processed_again_when_redelivered);

async fn a_duplicate_is_answered_like_the_first_time_and_not_processed_again(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &archive_config("{dir}/events.jsonl")).await;
    let first = app
        .post_soap("/cxf/isc/events", envelope("dup-1", 2, false))
        .await;
    assert_eq!(first.status(), 200);
    let first_id = message_id(&first);
    let first_body = first.text().await.unwrap();

    let second = app
        .post_soap("/cxf/isc/events", envelope("dup-1", 2, true))
        .await;
    assert_eq!(second.status(), 200);
    let second_id = message_id(&second);
    assert_ne!(second_id, first_id, "every call has its own entry");
    assert_eq!(
        second.text().await.unwrap(),
        first_body,
        "the same acknowledgement, date and details included"
    );

    // Same externalEventId on another endpoint: a different message.
    let other = app
        .post_soap("/cxf/isc/other", envelope("dup-1", 2, false))
        .await;
    assert_eq!(other.status(), 200);
    let other_id = message_id(&other);

    let lines = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    let ids: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["messageId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        [&first_id, &first_id, &other_id, &other_id].map(String::clone),
        "the duplicate never ran"
    );

    let original = app.log_entry(&first_id).await;
    let duplicate = app.log_entry(&second_id).await;
    assert_eq!(duplicate["Status"], "DISCARDED");
    assert_eq!(duplicate["OriginalMessageGuid"], first_id.as_str());
    assert_eq!(duplicate["CorrelationId"], original["CorrelationId"]);
    assert_eq!(duplicate["Repost"], true);
    assert_eq!(duplicate["ApplicationMessageId"], "dup-1");
    assert_eq!(app.log_entry(&other_id).await["Status"], "COMPLETED");
}
on_both_backends!(a_duplicate_is_answered_like_the_first_time_and_not_processed_again);

async fn a_copy_arriving_while_the_first_is_processing_waits_and_is_answered_as_its_duplicate(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    make_fifo(&fifo);
    let mut reader = open_fifo_reader(&fifo);
    let app = TestApp::spawn_in_on(&backend, dir, &archive_config("{dir}/pipe")).await;

    // 300 events are far more JSON than the pipe holds: the handler blocks until we read.
    let url = app.url("/cxf/isc/events");
    let client = app.client.clone();
    let mut first = tokio::spawn(
        client
            .post(url)
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml")
            .body(envelope("busy-1", 300, false))
            .send(),
    );
    wait_for_writer(&mut reader).await;
    let running = app
        .api_results("MessageProcessingLogs?$filter=ApplicationMessageId%20eq%20'busy-1'")
        .await;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0]["Status"], "PROCESSING");
    let first_id = running[0]["MessageGuid"].as_str().unwrap().to_owned();
    // While it runs, its request is stored and its answer not yet.
    let stored = app
        .api_results(&format!(
            "MessageProcessingLogs('{first_id}')/MessageStoreEntries"
        ))
        .await;
    assert_eq!(stored.len(), 1, "{stored:?}");

    // The copy waits for the first (no entry of its own yet) instead of failing.
    let mut copy = tokio::spawn(
        app.soap_request("/cxf/isc/events")
            .body(envelope("busy-1", 1, true))
            .send(),
    );
    let mut waiting = app.app.message_log().waiting_copies();
    tokio::time::timeout(Duration::from_secs(60), waiting.wait_for(|&n| n == 1))
        .await
        .expect("the copy waits")
        .unwrap();
    let entries = app
        .api_results("MessageProcessingLogs?$filter=ApplicationMessageId%20eq%20'busy-1'")
        .await;
    assert_eq!(entries.len(), 1, "{entries:?}");

    // Let the first one finish: drain the pipe until both answers are in.
    let mut buf = vec![0u8; 65536];
    let answer = loop {
        tokio::select! {
            answer = &mut first => break answer.unwrap().unwrap(),
            read = reader.read(&mut buf) => { read.unwrap(); }
        }
    };
    assert_eq!(answer.status(), 200);
    assert_eq!(message_id(&answer), first_id);
    let copy = (&mut copy).await.unwrap().unwrap();
    assert_eq!(copy.status(), 200);
    let copy_id = message_id(&copy);
    assert_eq!(copy.headers()["x-iflowd-duplicate-of"], first_id.as_str());

    let later = app
        .post_soap("/cxf/isc/events", envelope("busy-1", 1, true))
        .await;
    assert_eq!(later.status(), 200);
    let later_id = message_id(&later);

    assert_eq!(app.log_entry(&first_id).await["Status"], "COMPLETED");
    let stored = app
        .api_results(&format!(
            "MessageProcessingLogs('{first_id}')/MessageStoreEntries"
        ))
        .await;
    assert_eq!(stored.len(), 2, "request and answer, once completed");
    for id in [&copy_id, &later_id] {
        let entry = app.log_entry(id).await;
        assert_eq!(entry["Status"], "DISCARDED");
        assert_eq!(entry["OriginalMessageGuid"], first_id.as_str());
    }
}
on_both_backends!(
    a_copy_arriving_while_the_first_is_processing_waits_and_is_answered_as_its_duplicate
);

async fn without_payload_storage_entries_are_kept_but_bodies_are_not(backend: Backend) {
    let app = TestApp::spawn_on(
        &backend,
        &format!("{}\n[store]\npayloads = false\n", users_toml()),
    )
    .await;
    let id = message_id(&app.post_fixture("hire.xml").await);
    assert_eq!(app.log_entry(&id).await["Status"], "COMPLETED");
    let stored = app
        .api_results(&format!(
            "MessageProcessingLogs('{id}')/MessageStoreEntries"
        ))
        .await;
    assert!(stored.is_empty(), "{stored:?}");
    let (status, _) = raw(&app, &format!("MessageStoreEntries('{id}.request')/$value")).await;
    assert_eq!(status, 404);
}
on_both_backends!(without_payload_storage_entries_are_kept_but_bodies_are_not);

#[tokio::test]
async fn with_the_store_off_calls_are_answered_and_the_api_says_the_log_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "data_dir = \"{}/data\"\n{}\n[store]\nenabled = false\n",
        dir.path().display(),
        users_toml()
    );
    let app = TestApp::spawn_in(dir, &config).await;
    let response = app.post_fixture("hire.xml").await;
    assert_eq!(response.status(), 200);
    assert!(!app.path("data").exists(), "nothing written");
    let again = app.post_fixture("hire.xml").await;
    assert_eq!(again.status(), 200, "no duplicate detection without a log");
    let (status, text) = raw(&app, "MessageProcessingLogs").await;
    assert_eq!(status, 404);
    assert!(text.contains("the message log is turned off"), "{text}");
    let (status, _) = raw(&app, "IntegrationRuntimeArtifacts").await;
    assert_eq!(status, 200, "the configuration is still there to read");
}

/// Waits until a purge that started after this call has finished: two more than have finished
/// now. The one running now, if any, may have started before the clock was moved: while a store
/// that talks to a server over the network waits for it, tokio's paused clock jumps ahead to the
/// next hourly purge, so purges also run between the test's own steps of the clock.
async fn purge_after(purges: &mut tokio::sync::watch::Receiver<u64>) {
    let now = *purges.borrow();
    purges.wait_for(|&n| n >= now + 2).await.unwrap();
}

async fn bodies_and_entries_are_purged_after_their_retention(backend: Backend) {
    let config = format!(
        "{}\n[store]\npayload_retention_days = 7\nretention_days = 30\nduplicate_window_days = 30\n",
        users_toml()
    );
    let mut app = TestApp::spawn_on(&backend, &config).await;
    // No connection reuse across jumps of the clock (idle connections time out meanwhile).
    app.client = iflowd::tls::client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut purges = app.app.purges().expect("a store");
    purges.wait_for(|&n| n >= 1).await.unwrap();

    let id = message_id(&app.post_fixture("hire.xml").await);
    let body = format!("MessageStoreEntries('{id}.request')/$value");
    let answer = format!("MessageStoreEntries('{id}.response')/$value");
    assert_eq!(raw(&app, &body).await.0, 200);
    assert_eq!(raw(&app, &answer).await.0, 200);

    tokio::time::advance(Duration::from_secs(6 * 86_400)).await;
    purge_after(&mut purges).await;
    assert_eq!(raw(&app, &body).await.0, 200, "6 days: still kept");
    assert_eq!(raw(&app, &answer).await.0, 200, "6 days: still kept");

    tokio::time::advance(Duration::from_secs(2 * 86_400)).await;
    purge_after(&mut purges).await;
    assert_eq!(raw(&app, &body).await.0, 404, "8 days: the body is gone");
    assert_eq!(
        raw(&app, &answer).await.0,
        404,
        "8 days: the answer is gone"
    );
    assert_eq!(
        app.log_entry(&id).await["Status"],
        "COMPLETED",
        "the entry stays"
    );

    tokio::time::advance(Duration::from_secs(23 * 86_400)).await;
    purge_after(&mut purges).await;
    let (status, _) = raw(&app, &format!("MessageProcessingLogs('{id}')")).await;
    assert_eq!(status, 404, "31 days: the entry is gone too");
}
on_both_backends!(
    #[tokio::test(start_paused = true)]
    bodies_and_entries_are_purged_after_their_retention
);

async fn a_redelivery_after_the_duplicate_window_is_processed_again(backend: Backend) {
    let config = format!(
        "{}\n[store]\nduplicate_window_days = 2\nretention_days = 30\n",
        users_toml()
    );
    let mut app = TestApp::spawn_on(&backend, &config).await;
    app.client = iflowd::tls::client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let first = message_id(&app.post_fixture("hire.xml").await);
    let within = message_id(&app.post_fixture("hire.xml").await);
    tokio::time::advance(Duration::from_secs(3 * 86_400)).await;
    let after = message_id(&app.post_fixture("hire.xml").await);
    assert_eq!(app.log_entry(&first).await["Status"], "COMPLETED");
    assert_eq!(app.log_entry(&within).await["Status"], "DISCARDED");
    assert_eq!(app.log_entry(&after).await["Status"], "COMPLETED");
}
on_both_backends!(
    #[tokio::test(start_paused = true)]
    a_redelivery_after_the_duplicate_window_is_processed_again
);
