//! Replay and retry through the monitoring API: a replay is a new message linked to its
//! original, whatever the original's status; a retry queues an ESCALATED message again; both
//! need the role MessageReplay, and a message without a stored request cannot be run.

use std::time::Duration;

use serde_json::Value;

use crate::common::queue::{archive, attempts, ended, flaky, operation};
use crate::common::{
    Backend, MONITOR, MONITOR_PASSWORD, PASSWORD, TestApp, USER, envelope, fixture, message_id,
    on_both_backends, users_toml,
};

/// `ISC_Events` (sync, archiving), `Broken` (sync, a handler that always fails, one attempt when
/// queued) and `Queued` (async, failing its first two attempts of each externalEventId, two
/// attempts allowed).
fn config() -> String {
    format!(
        r#"{users}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["archive"]

[[endpoints]]
name = "Broken"
address = "/broken"
handlers = ["failing"]

[endpoints.retry]
max_attempts = 1

[[endpoints]]
name = "Queued"
address = "/queued"
delivery = "async"
handlers = ["flaky"]

[endpoints.retry]
interval_ms = 1000
max_attempts = 2

{archive}
{flaky}
[handlers.failing]
type = "fault"
mode = "soap-fault"
"#,
        users = users_toml(),
        archive = archive("{dir}/events.jsonl"),
        flaky = flaky(Some(2)),
    )
}

/// POSTs `.../<what>` for message `id` as the test user: status and JSON.
async fn call(app: &TestApp, id: &str, what: &str) -> (u16, Value) {
    let response = operation(
        app,
        USER,
        PASSWORD,
        &format!("MessageProcessingLogs('{id}')/{what}"),
    )
    .await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

/// Replays `id` and waits for the replay's one attempt: the new message's entry.
async fn replayed(app: &TestApp, id: &str, attempts_before: u64) -> Value {
    let (status, body) = call(app, id, "Replay").await;
    assert_eq!(status, 201, "{body}");
    let new = body["d"]["MessageGuid"].as_str().unwrap().to_owned();
    assert_ne!(new, id);
    ended(app, attempts_before + 1).await;
    app.log_entry(&new).await
}

async fn a_replay_runs_a_message_of_any_status_again_as_a_new_one(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &config()).await;
    let completed = message_id(&app.post_fixture("hire.xml").await);
    let discarded = message_id(&app.post_fixture("hire.xml").await);
    let failed = message_id(&app.post_soap("/cxf/broken", fixture("hire.xml")).await);
    assert_eq!(app.log_entry(&discarded).await["Status"], "DISCARDED");
    assert_eq!(app.log_entry(&failed).await["Status"], "FAILED");

    let original = app.log_entry(&completed).await;
    let again = replayed(&app, &completed, 0).await;
    assert_eq!(again["Status"], "COMPLETED", "{again}");
    assert_eq!(again["OriginalMessageGuid"], completed.as_str());
    assert_eq!(again["CorrelationId"], original["CorrelationId"]);
    assert_eq!(
        again["ApplicationMessageId"],
        original["ApplicationMessageId"]
    );
    assert_eq!(again["Sender"], USER);
    let new = again["MessageGuid"].as_str().unwrap();
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    assert!(archived.contains(new), "the chain ran for the replay");
    // Its request is the original's.
    let body = app.stored_body(new, "request").await;
    assert_eq!(body.bytes().await.unwrap(), fixture("hire.xml"));

    // A duplicate's stored request runs too, and a failed message's, which fails again: with
    // one attempt allowed, its replay is the dead letter at once.
    let again = replayed(&app, &discarded, 1).await;
    assert_eq!(again["Status"], "COMPLETED");
    assert_eq!(again["OriginalMessageGuid"], discarded.as_str());
    let again = replayed(&app, &failed, 2).await;
    assert_eq!(again["Status"], "ESCALATED");
    assert_eq!(again["CustomStatus"], "ESCALATED 1/1");
    assert_eq!(again["OriginalMessageGuid"], failed.as_str());

    // An escalated message can be replayed as well.
    let escalated = again["MessageGuid"].as_str().unwrap().to_owned();
    let again = replayed(&app, &escalated, 3).await;
    assert_eq!(again["Status"], "ESCALATED");
    assert_eq!(again["OriginalMessageGuid"], escalated.as_str());
    assert_eq!(
        app.log_entry(&escalated).await["Status"],
        "ESCALATED",
        "the original is left as it was"
    );

    // Who replayed what is in the audit log.
    let audit = app
        .api_results("AuditLogs?$filter=Action%20eq%20'REPLAY'&$orderby=Timestamp%20asc")
        .await;
    let objects: Vec<&str> = audit
        .iter()
        .map(|r| r["ObjectName"].as_str().unwrap())
        .collect();
    assert_eq!(objects, [&completed, &discarded, &failed, &escalated]);
    assert!(audit.iter().all(|r| r["UserName"] == USER));
    let details = audit[3]["Details"].as_str().unwrap();
    assert!(
        details.starts_with("replayed as the new message AG"),
        "{details}"
    );
}
on_both_backends!(a_replay_runs_a_message_of_any_status_again_as_a_new_one);

#[tokio::test(start_paused = true)]
async fn a_retry_queues_an_escalated_message_again_with_new_attempts() {
    let mut app = TestApp::spawn(&config()).await;
    app.client = iflowd::tls::client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let id = message_id(
        &app.post_soap("/cxf/queued", envelope("dead-letter", 1, false))
            .await,
    );
    ended(&app, 2).await;
    assert_eq!(app.log_entry(&id).await["Status"], "ESCALATED");

    let (status, body) = call(&app, &id, "Retry").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["d"]["MessageGuid"], id.as_str());
    ended(&app, 3).await;
    let entry = app.log_entry(&id).await;
    assert_eq!(
        entry["Status"], "COMPLETED",
        "the third delivery passes the drill"
    );
    let list = attempts(&app, &id).await;
    let numbers: Vec<(u64, &str)> = list
        .iter()
        .map(|a| (a["Number"].as_u64().unwrap(), a["Status"].as_str().unwrap()))
        .collect();
    assert_eq!(numbers, [(1, "FAILED"), (2, "FAILED"), (3, "COMPLETED")]);
    let audit = app
        .api_results("AuditLogs?$filter=Action%20eq%20'RETRY'")
        .await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["ObjectName"], id.as_str());
    assert_eq!(audit[0]["UserName"], USER);

    // Only the dead letters.
    let (status, body) = call(&app, &id, "Retry").await;
    assert_eq!(status, 409);
    let text = body["error"]["message"]["value"].as_str().unwrap();
    assert!(
        text.contains("is COMPLETED; only ESCALATED messages can be retried"),
        "{text}"
    );
}

async fn replay_and_retry_need_their_role_post_and_a_message(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &config()).await;
    let id = message_id(&app.post_fixture("hire.xml").await);
    let path = format!("MessageProcessingLogs('{id}')/Replay");
    let refused = operation(&app, MONITOR, MONITOR_PASSWORD, &path).await;
    assert_eq!(refused.status(), 403);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("does not have the role 'MessageReplay'"),
        "{text}"
    );
    let refused = operation(
        &app,
        MONITOR,
        MONITOR_PASSWORD,
        &path.replace("Replay", "Retry"),
    )
    .await;
    assert_eq!(refused.status(), 403);

    let get = app.api_as(USER, PASSWORD, &path).await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    let unknown = "AGAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for what in ["Replay", "Retry"] {
        let (status, body) = call(&app, unknown, what).await;
        assert_eq!(status, 404, "{body}");
    }
    let nothing = app
        .api_results(&format!("MessageProcessingLogs('{id}')/Attempts"))
        .await;
    assert!(nothing.is_empty(), "a sync message has no attempts");
}
on_both_backends!(replay_and_retry_need_their_role_post_and_a_message);

async fn a_message_without_a_stored_request_cannot_be_replayed(backend: Backend) {
    let config = format!("{}\n[store]\npayloads = false\n", users_toml());
    let app = TestApp::spawn_on(&backend, &config).await;
    let id = message_id(&app.post_fixture("hire.xml").await);
    let (status, body) = call(&app, &id, "Replay").await;
    assert_eq!(status, 409, "{body}");
    let text = body["error"]["message"]["value"].as_str().unwrap();
    assert!(
        text.contains("has no stored request body: none was kept ([store] payloads = false"),
        "{text}"
    );
    // A refusal before the body was read has none either.
    let refused = app
        .client
        .post(app.url("/cxf/isc/events"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 415);
    let (status, _) = call(&app, &message_id(&refused), "Replay").await;
    assert_eq!(status, 409);
}
on_both_backends!(a_message_without_a_stored_request_cannot_be_replayed);

#[tokio::test(start_paused = true)]
async fn a_purged_request_cannot_be_replayed_or_retried() {
    let config = format!(
        "{}\n[store]\npayload_retention_days = 7\n[[endpoints]]\nname = \"ISC_Events\"\naddress = \"/isc/events\"\n[[endpoints]]\nname = \"Broken\"\naddress = \"/broken\"\nhandlers = [\"failing\"]\n[endpoints.retry]\nmax_attempts = 1\n[handlers.failing]\ntype = \"fault\"\nmode = \"soap-fault\"\n",
        users_toml()
    );
    let mut app = TestApp::spawn(&config).await;
    app.client = iflowd::tls::client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut purges = app.app.purges().unwrap();
    purges.wait_for(|&n| n >= 1).await.unwrap();
    let id = message_id(&app.post_fixture("hire.xml").await);
    let failed = message_id(&app.post_soap("/cxf/broken", fixture("hire.xml")).await);
    let (status, body) = call(&app, &failed, "Replay").await;
    assert_eq!(status, 201, "{body}");
    let escalated = body["d"]["MessageGuid"].as_str().unwrap().to_owned();
    ended(&app, 1).await;
    assert_eq!(app.log_entry(&escalated).await["Status"], "ESCALATED");

    tokio::time::advance(Duration::from_secs(8 * 86_400)).await;
    purges.wait_for(|&n| n >= 2).await.unwrap();
    let (status, body) = call(&app, &id, "Replay").await;
    assert_eq!(status, 409, "{body}");
    let text = body["error"]["message"]["value"].as_str().unwrap();
    assert!(
        text.contains("has no stored request body any more: bodies are purged after [store] payload_retention_days (7 days)"),
        "{text}"
    );
    let (status, body) = call(&app, &escalated, "Retry").await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]["value"]
            .as_str()
            .unwrap()
            .contains("purged"),
        "{body}"
    );
}
