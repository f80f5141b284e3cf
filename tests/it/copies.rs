//! Copies of one delivery (the same `externalEventId`) arriving while the first is still being
//! processed: they wait for it, and are answered as its duplicates when it completes, or run
//! themselves when it fails; a wait longer than `[store] duplicate_wait_ms` gets the retriable
//! fault. The first delivery is held in its chain by a `forward` handler whose downstream answers
//! only when the test opens its gate; the `jsonl` handler before it counts the chain's runs.

use std::time::Duration;

use crate::common::downstream::{Downstream, Reply};
use crate::common::{
    Backend, TestApp, element_text, fixture, message_id, on_both_backends, users_toml,
};

const HIRE_ID: &str = "c4a1f7e2-90b3-4d6c-8e5f-1a2b3c4d5e6f";
const DUPLICATE_OF: &str = "x-iflowd-duplicate-of";
const BOUND: Duration = Duration::from_secs(60);

/// The default endpoint with a chain that archives, then forwards to `downstream` (no retries,
/// and a time-out far beyond any wait here).
fn held_chain(downstream: &Downstream, store: &str) -> String {
    format!(
        r#"{}
[store]
{store}

[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["archive", "hold"]

[handlers.archive]
type = "jsonl"
path = "{{dir}}/events.jsonl"

[handlers.hold]
type = "forward"
url = "{}"
retries = 0
timeout_ms = 36000000
"#,
        users_toml(),
        downstream.url("/hold")
    )
}

/// POSTs the hire fixture, as a task of its own.
fn post_hire(app: &TestApp) -> tokio::task::JoinHandle<reqwest::Response> {
    let request = app
        .soap_request("/cxf/isc/events")
        .body(fixture("hire.xml"));
    tokio::spawn(async move { request.send().await.expect("answered") })
}

async fn answer(post: tokio::task::JoinHandle<reqwest::Response>) -> reqwest::Response {
    tokio::time::timeout(BOUND, post)
        .await
        .expect("answered in time")
        .unwrap()
}

/// The `X-Iflowd-Duplicate-Of` header of an answer.
fn duplicate_of(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(DUPLICATE_OF)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// Waits (bounded) until `count` copies are waiting for a running delivery.
async fn copies_waiting(app: &TestApp, count: usize) {
    let mut waiting = app.app.message_log().waiting_copies();
    tokio::time::timeout(BOUND, waiting.wait_for(|&n| n == count))
        .await
        .unwrap_or_else(|_| panic!("{count} copies waiting"))
        .unwrap();
}

fn archived_runs(app: &TestApp) -> usize {
    std::fs::read_to_string(app.path("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
}

async fn entries_of_hire(app: &TestApp) -> Vec<serde_json::Value> {
    app.api_results(&format!(
        "MessageProcessingLogs?$filter=ApplicationMessageId%20eq%20'{HIRE_ID}'&$top=1000"
    ))
    .await
}

async fn two_hundred_copies_at_once_are_all_acknowledged_and_the_chain_runs_once(backend: Backend) {
    let mut downstream = Downstream::spawn(&[Reply::Gated(200)]).await;
    let app = TestApp::spawn_on(&backend, &held_chain(&downstream, "")).await;

    let first = post_hire(&app);
    downstream.next().await;
    let copies: Vec<_> = (0..199).map(|_| post_hire(&app)).collect();
    copies_waiting(&app, 199).await;
    app.assert_metrics(&["iflowd_copies_waiting{endpoint=\"ISC_Events\"} 199"])
        .await;
    downstream.open_gate(1);

    let first = answer(first).await;
    assert_eq!(first.status(), 200);
    let first_id = message_id(&first);
    assert_eq!(duplicate_of(&first), None, "the first is no duplicate");
    let acknowledgement = first.text().await.unwrap();
    for copy in copies {
        let copy = answer(copy).await;
        assert_eq!(copy.status(), 200);
        assert_ne!(message_id(&copy), first_id, "an entry of its own");
        assert_eq!(duplicate_of(&copy).as_deref(), Some(first_id.as_str()));
        assert_eq!(copy.text().await.unwrap(), acknowledgement);
    }

    assert_eq!(archived_runs(&app), 1, "the chain ran once");
    assert!(downstream.received().is_empty(), "forwarded once");
    let entries = entries_of_hire(&app).await;
    assert_eq!(entries.len(), 200);
    let completed: Vec<_> = entries
        .iter()
        .filter(|e| e["Status"] == "COMPLETED")
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["MessageGuid"], first_id.as_str());
    for entry in entries
        .iter()
        .filter(|e| e["MessageGuid"] != first_id.as_str())
    {
        assert_eq!(entry["Status"], "DISCARDED", "{entry}");
        assert_eq!(entry["OriginalMessageGuid"], first_id.as_str());
        assert_eq!(entry["CorrelationId"], completed[0]["CorrelationId"]);
    }
    app.assert_metrics(&[
        "iflowd_copies_waiting{endpoint=\"ISC_Events\"} 0",
        "iflowd_duplicates_total{endpoint=\"ISC_Events\"} 199",
    ])
    .await;
}
on_both_backends!(two_hundred_copies_at_once_are_all_acknowledged_and_the_chain_runs_once);

async fn when_the_first_fails_one_waiting_copy_runs_the_chain_and_the_others_repeat_it(
    backend: Backend,
) {
    // The first is held, then fails (500, no retries); every later call gets 200.
    let mut downstream = Downstream::spawn(&[Reply::Gated(500)]).await;
    let app = TestApp::spawn_on(&backend, &held_chain(&downstream, "")).await;

    let first = post_hire(&app);
    downstream.next().await;
    let copies: Vec<_> = (0..3).map(|_| post_hire(&app)).collect();
    copies_waiting(&app, 3).await;
    downstream.open_gate(1);

    let first = answer(first).await;
    assert_eq!(first.status(), 500);
    let first_id = message_id(&first);
    let mut ran = Vec::new();
    let mut repeated = Vec::new();
    for copy in copies {
        let copy = answer(copy).await;
        assert_eq!(copy.status(), 200);
        match duplicate_of(&copy) {
            None => ran.push(message_id(&copy)),
            Some(original) => repeated.push(original),
        }
    }
    assert_eq!(ran.len(), 1, "one copy ran the chain");
    assert_eq!(
        repeated,
        [ran[0].clone(), ran[0].clone()],
        "the others repeat it"
    );

    assert_eq!(archived_runs(&app), 2, "the first, then the copy");
    assert_eq!(downstream.received().len(), 1, "the copy's forward");
    assert_eq!(app.log_entry(&first_id).await["Status"], "FAILED");
    assert_eq!(app.log_entry(&ran[0]).await["Status"], "COMPLETED");
}
on_both_backends!(when_the_first_fails_one_waiting_copy_runs_the_chain_and_the_others_repeat_it);

/// SQLite only: on tokio's paused clock, time jumps to the next timer whenever every task waits
/// on the network, which PostgreSQL's reads and writes are; the held `forward` would time out
/// during the copy's 30 virtual seconds. (SQLite's calls hold the clock while they run.)
#[tokio::test(start_paused = true)]
async fn a_copy_still_waiting_after_duplicate_wait_ms_gets_the_retriable_fault() {
    let mut downstream = Downstream::spawn(&[Reply::Gated(200)]).await;
    let mut app = TestApp::spawn(&held_chain(&downstream, "")).await;
    // No connection reuse across jumps of the clock (idle connections time out meanwhile).
    app.client = iflowd::tls::client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();

    let first = post_hire(&app);
    downstream
        .seen
        .recv()
        .await
        .expect("the first is forwarded");
    let first_id = app.api_results("MessageProcessingLogs").await[0]["MessageGuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked = tokio::time::Instant::now();
    let copy = post_hire(&app).await.unwrap();
    let waited = asked.elapsed();
    assert!(
        (Duration::from_secs(30)..Duration::from_secs(31)).contains(&waited),
        "the default wait is 30 s: {waited:?}"
    );
    assert_eq!(copy.status(), 500);
    let copy_id = message_id(&copy);
    assert_eq!(duplicate_of(&copy), None);
    let fault = copy.text().await.unwrap();
    assert_eq!(element_text(&fault, "faultcode"), Some("soap:Server"));
    let expected = format!(
        "The message with externalEventId {HIRE_ID} is still being processed (MPL ID {first_id}); this delivery waited 30000 ms for it and was not processed. Retry later. The MPL ID for this call is : {copy_id}"
    );
    assert_eq!(element_text(&fault, "faultstring"), Some(expected.as_str()));
    let entry = app.log_entry(&copy_id).await;
    assert_eq!(entry["Status"], "FAILED");
    assert_eq!(entry["OriginalMessageGuid"], first_id.as_str());
    assert_eq!(app.error_text(&copy_id).await, expected);

    downstream.open_gate(1);
    let first = first.await.unwrap();
    assert_eq!(first.status(), 200);
    // The sender's retry, after the first completed: its duplicate.
    let retry = post_hire(&app).await.unwrap();
    assert_eq!(retry.status(), 200);
    assert_eq!(duplicate_of(&retry).as_deref(), Some(first_id.as_str()));
    assert_eq!(archived_runs(&app), 1);
}

async fn with_duplicate_wait_ms_0_a_copy_is_answered_at_once(backend: Backend) {
    let mut downstream = Downstream::spawn(&[Reply::Gated(200)]).await;
    let app = TestApp::spawn_on(&backend, &held_chain(&downstream, "duplicate_wait_ms = 0")).await;
    let first = post_hire(&app);
    downstream.next().await;
    let copy = answer(post_hire(&app)).await;
    assert_eq!(copy.status(), 500);
    let fault = copy.text().await.unwrap();
    assert!(
        element_text(&fault, "faultstring")
            .unwrap()
            .contains("this delivery waited 0 ms for it and was not processed"),
        "{fault}"
    );
    downstream.open_gate(1);
    assert_eq!(answer(first).await.status(), 200);
}
on_both_backends!(with_duplicate_wait_ms_0_a_copy_is_answered_at_once);

async fn a_duplicate_after_completion_names_its_original_in_a_header(backend: Backend) {
    let downstream = Downstream::spawn(&[]).await;
    let app = TestApp::spawn_on(&backend, &held_chain(&downstream, "")).await;
    let first = answer(post_hire(&app)).await;
    assert_eq!(first.status(), 200);
    assert_eq!(duplicate_of(&first), None);
    let again = answer(post_hire(&app)).await;
    assert_eq!(again.status(), 200);
    let first_id = message_id(&first);
    assert_eq!(duplicate_of(&again).as_deref(), Some(first_id.as_str()));
    let entry = app.log_entry(&message_id(&again)).await;
    assert_eq!(entry["Status"], "DISCARDED");
    assert_eq!(entry["OriginalMessageGuid"], first_id.as_str());
}
on_both_backends!(a_duplicate_after_completion_names_its_original_in_a_header);
