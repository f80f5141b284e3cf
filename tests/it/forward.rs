//! `forward` against a real HTTP server spawned by each test: what it sends, and how it treats
//! errors, slow answers and retries. Time-based tests run on tokio's paused clock.

use std::time::Duration;

use crate::common::downstream::{Downstream, Reply};
use crate::common::logs::Logs;
use crate::common::{TestApp, element_text, fixture, users_toml};
use iflowd::config::Env;
use tokio::time::Instant;

const ENDPOINT: &str = "/cxf/isc/events";

/// The default endpoint running `["log", "to-hr"]`, with `settings` added to the forward.
fn config(downstream: &Downstream, settings: &str) -> String {
    format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["log", "to-hr"]

[handlers.to-hr]
type = "forward"
url = "{}"
{settings}
"#,
        users_toml(),
        downstream.url("/hooks/manager?code=secret-in-query")
    )
}

fn message_id(response: &reqwest::Response) -> String {
    response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn forward_posts_each_event_as_json_with_headers_from_the_env_and_bearer_auth() {
    let mut downstream = Downstream::spawn(&[]).await;
    let env = Env {
        vars: [("HR_API_KEY", "key-from-env")].into_iter().collect(),
        ..Env::default()
    };
    let app = TestApp::spawn_with_env(
        &config(
            &downstream,
            r#"headers = { "X-Api-Key" = "${HR_API_KEY}", "X-Static" = "plain" }
auth = { type = "bearer", token = "t0k3n" }"#,
        ),
        env,
    )
    .await;
    let response = app
        .post_soap(ENDPOINT, fixture("multiple-events.xml"))
        .await;
    assert_eq!(response.status(), 200);
    let id = message_id(&response);

    let seen = downstream.received();
    assert_eq!(seen.len(), 3, "one request per event");
    for (i, request) in seen.iter().enumerate() {
        assert_eq!(request.path, "/hooks/manager");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-api-key"), Some("key-from-env"));
        assert_eq!(request.header("x-static"), Some("plain"));
        assert_eq!(request.header("authorization"), Some("Bearer t0k3n"));
        assert_eq!(request.header("x-iflowd-message-id"), Some(id.as_str()));
        let event = request.json();
        let event_id = format!("evt-000{}", i + 1);
        assert_eq!(event["eventId"], event_id.as_str(), "in order");
        assert_eq!(request.header("x-iflowd-event-id"), Some(event_id.as_str()));
        assert_eq!(event["messageId"], id.as_str());
        assert_eq!(event["kind"], "change_in_manager");
    }
}

#[tokio::test]
async fn forward_with_body_soap_posts_the_original_envelope_once_with_basic_auth() {
    let mut downstream = Downstream::spawn(&[]).await;
    let app = TestApp::spawn(&config(
        &downstream,
        "body = \"soap\"\nauth = { type = \"basic\", user = \"hr\", password = \"pw:1\" }",
    ))
    .await;
    let body = fixture("multiple-events.xml");
    let response = app.post_soap(ENDPOINT, body.clone()).await;
    assert_eq!(response.status(), 200);

    let seen = downstream.received();
    assert_eq!(seen.len(), 1, "one request per message");
    assert_eq!(seen[0].body, body, "byte for byte");
    assert_eq!(
        seen[0].header("content-type"),
        Some("text/xml; charset=utf-8")
    );
    // base64("hr:pw:1")
    assert_eq!(seen[0].header("authorization"), Some("Basic aHI6cHc6MQ=="));
}

#[tokio::test]
async fn a_4xx_from_downstream_fails_the_message_at_once_and_the_log_says_why() {
    let (logs, _guard) = Logs::capture();
    let mut downstream = Downstream::spawn(&[Reply::Status(400)]).await;
    let app = TestApp::spawn(&config(&downstream, "retries = 3")).await;
    let response = app.post_soap(ENDPOINT, fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
    let id = message_id(&response);
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "faultcode"), Some("soap:Server"));
    assert!(body.contains(&id), "{body}");
    assert!(
        !body.contains("downstream"),
        "no internals to the sender: {body}"
    );

    assert_eq!(downstream.received().len(), 1, "a 400 is not retried");
    let failures = logs.lines_with(&["handler failed", &id]);
    assert_eq!(failures.len(), 1, "logged once: {}", logs.text());
    let line = &failures[0];
    assert!(line.contains("handler=to-hr"), "{line}");
    assert!(line.contains("answered 400 Bad Request"), "{line}");
    assert!(line.contains("downstream says 400"), "{line}");
    assert!(line.contains("gave up after 1 attempt"), "{line}");
    assert!(
        !line.contains("secret-in-query"),
        "the URL's query stays out of the log: {line}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_503_is_retried_with_growing_backoff_until_the_downstream_recovers() {
    let mut downstream =
        Downstream::spawn(&[Reply::Status(503), Reply::Status(429), Reply::Status(200)]).await;
    let app = TestApp::spawn(&config(
        &downstream,
        "retries = 2\nbackoff_ms = 1000\nmax_backoff_ms = 8000",
    ))
    .await;
    let started = Instant::now();
    let response = app.post_soap(ENDPOINT, fixture("hire.xml")).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    assert_eq!(downstream.received().len(), 3);
    // Waits of 1000 ms then 2000 ms nominal, each at least half of it with jitter.
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
    assert!(elapsed <= Duration::from_millis(3100), "{elapsed:?}");
}

/// One post of the fixture against a downstream answering `script`: the answer's status and
/// message id, how long it took, and how many requests the downstream saw.
struct Timed {
    status: u16,
    id: String,
    elapsed: Duration,
    seen: usize,
    app: TestApp,
}

async fn timed(script: &[Reply], settings: &str) -> Timed {
    let mut downstream = Downstream::spawn(script).await;
    let app = TestApp::spawn(&config(&downstream, settings)).await;
    let started = Instant::now();
    let response = app.post_soap(ENDPOINT, fixture("hire.xml")).await;
    let elapsed = started.elapsed();
    Timed {
        status: response.status().as_u16(),
        id: message_id(&response),
        elapsed,
        seen: downstream.received().len(),
        app,
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_waited_for_and_one_past_max_backoff_ends_the_retries() {
    let settings = "retries = 2\nbackoff_ms = 200\nmax_backoff_ms = 8000";
    // Retry-After longer than the backoff: waited for (5 s, not the 100-200 ms of the backoff).
    let run = timed(&[Reply::RetryAfter(503, "5")], settings).await;
    assert_eq!((run.status, run.seen), (200, 2));
    assert!(run.elapsed >= Duration::from_secs(5), "{:?}", run.elapsed);
    assert!(
        run.elapsed < Duration::from_millis(5100),
        "{:?}",
        run.elapsed
    );

    // Longer than max_backoff_ms: no retry, no wait, and the message's error says why.
    let run = timed(&[Reply::RetryAfter(429, "120")], settings).await;
    assert_eq!((run.status, run.seen), (500, 1));
    assert!(run.elapsed < Duration::from_millis(100));
    let error = run.app.error_text(&run.id).await;
    assert!(
        error.contains("answered 429 Too Many Requests")
            && error.contains(
                "it asks to be retried in 120 s, later than max_backoff_ms (8000 ms) allows"
            )
            && error.contains("gave up after 1 attempt"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_a_floor_a_date_counts_from_the_answer_and_the_cap_is_inclusive() {
    // A shorter Retry-After leaves the backoff (4000 ms nominal, at least 2000) as it is.
    let run = timed(
        &[Reply::RetryAfter(503, "0")],
        "retries = 1\nbackoff_ms = 4000\nmax_backoff_ms = 8000",
    )
    .await;
    assert_eq!((run.status, run.seen), (200, 2));
    assert!(run.elapsed >= Duration::from_secs(2), "{:?}", run.elapsed);

    let settings = "retries = 1\nbackoff_ms = 100\nmax_backoff_ms = 8000";
    // Exactly max_backoff_ms: still waited for.
    let run = timed(&[Reply::RetryAfter(503, "8")], settings).await;
    assert_eq!((run.status, run.seen), (200, 2));
    assert!(run.elapsed >= Duration::from_secs(8), "{:?}", run.elapsed);
    assert!(
        run.elapsed < Duration::from_millis(8100),
        "{:?}",
        run.elapsed
    );

    // A date 6 s ahead (whole seconds, so 5 to 6 s from the answer).
    let run = timed(&[Reply::RetryAfterDate(503, 6)], settings).await;
    assert_eq!((run.status, run.seen), (200, 2));
    assert!(run.elapsed >= Duration::from_secs(5), "{:?}", run.elapsed);
    assert!(
        run.elapsed < Duration::from_millis(6100),
        "{:?}",
        run.elapsed
    );

    // On the last attempt there is nothing to wait for: the plain error.
    let run = timed(
        &[Reply::RetryAfter(429, "120")],
        "retries = 0\nbackoff_ms = 100\nmax_backoff_ms = 8000",
    )
    .await;
    assert_eq!((run.status, run.seen), (500, 1));
    let error = run.app.error_text(&run.id).await;
    assert!(
        error.contains("answered 429") && !error.contains("asks to be retried"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_downstream_that_keeps_failing_fails_the_message_after_the_last_retry() {
    let mut downstream = Downstream::spawn(&[Reply::Status(502); 5]).await;
    let app = TestApp::spawn(&config(&downstream, "retries = 2\nbackoff_ms = 100")).await;
    let response = app.post_soap(ENDPOINT, fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        downstream.received().len(),
        3,
        "the first attempt and 2 retries"
    );
}

#[tokio::test(start_paused = true)]
async fn a_downstream_that_does_not_answer_times_out_on_every_attempt() {
    let (logs, _guard) = Logs::capture();
    let mut downstream = Downstream::spawn(&[Reply::Hang, Reply::Hang]).await;
    let app = TestApp::spawn(&config(
        &downstream,
        "timeout_ms = 2000\nretries = 1\nbackoff_ms = 400",
    ))
    .await;
    let started = Instant::now();
    let response = app.post_soap(ENDPOINT, fixture("hire.xml")).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 500);
    assert_eq!(downstream.received().len(), 2);
    assert!(
        elapsed >= Duration::from_millis(4200),
        "two time-outs and a wait: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_millis(5000), "{elapsed:?}");
    let failures = logs.lines_with(&["handler failed", "to-hr"]);
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].contains("no answer within 2000 ms (gave up after 2 attempts)"),
        "{}",
        failures[0]
    );
}

#[tokio::test]
async fn a_downstream_that_refuses_connections_fails_the_message() {
    // Bind and drop: the port is closed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let app = TestApp::spawn(&format!(
        "{}\n[[endpoints]]\nname = \"E\"\naddress = \"/e\"\nhandlers = [\"down\"]\n\n[handlers.down]\ntype = \"forward\"\nurl = \"http://{address}/x\"\nretries = 0\n",
        users_toml()
    ))
    .await;
    let response = app.post_soap("/cxf/e", fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
}
