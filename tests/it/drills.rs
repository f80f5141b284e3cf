//! `fault` drills as a real client sees them: each mode, the first-N and percent selections, and
//! the log line each drill leaves.

use std::time::Duration;

use crate::common::logs::Logs;
use crate::common::{PASSWORD, TestApp, USER, element_text, fixture, users_toml};
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The default endpoint running `["drill", "log"]` with the drill's `settings`.
fn config(settings: &str) -> String {
    format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["drill", "archive"]

[handlers.drill]
type = "fault"
{settings}

[handlers.archive]
type = "jsonl"
path = "{{dir}}/events.jsonl"
"#,
        users_toml()
    )
}

/// `hire.xml` with another `externalEventId`.
fn hire_with_id(external_event_id: &str) -> String {
    String::from_utf8(fixture("hire.xml"))
        .unwrap()
        .replace("c4a1f7e2-90b3-4d6c-8e5f-1a2b3c4d5e6f", external_event_id)
}

fn message_id(response: &reqwest::Response) -> String {
    response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_soap_fault_drill_fails_the_first_deliveries_of_each_external_event_id() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::spawn(&config("mode = \"soap-fault\"\nfirst = 2")).await;
    let mut statuses = Vec::new();
    for id in ["A", "A", "B", "A", "B", "B"] {
        statuses.push(
            app.post_fixture_text(&hire_with_id(id))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [500, 500, 500, 200, 500, 200]);

    let response = app.post_soap("/cxf/isc/events", hire_with_id("C")).await;
    let id = message_id(&response);
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "faultcode"), Some("soap:Server"));
    assert!(body.contains(&format!("The MPL ID for the failed message is : {id}")));

    let lines = logs.lines_with(&["handler failed", "handler=drill"]);
    assert_eq!(
        lines.len(),
        5,
        "one line per drilled delivery:\n{}",
        logs.text()
    );
    let last = logs.lines_with(&["handler failed", &id]);
    assert_eq!(last.len(), 1);
    assert!(
        last[0].contains(
            "drill 'drill' (soap-fault): delivery 1 of externalEventId 'C' fails on purpose"
        ),
        "{}",
        last[0]
    );
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    assert_eq!(
        archived.lines().count(),
        2,
        "handlers after a drill run only when it passes"
    );
}

#[tokio::test]
async fn an_http_503_drill_answers_503_naming_the_message_id() {
    let app = TestApp::spawn(&config("mode = \"http-503\"")).await;
    let response = app.post_fixture("hire.xml").await;
    assert_eq!(response.status(), 503);
    let id = message_id(&response);
    assert!(response.text().await.unwrap().contains(&id));
}

#[tokio::test]
async fn an_error_response_drill_answers_200_with_error_code_and_message() {
    let app = TestApp::spawn(&config(
        "mode = \"error-response\"\nerror_code = \"E42\"\nerror_message = \"employee locked\"",
    ))
    .await;
    let response = app.post_fixture("hire.xml").await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "errorCode"), Some("E42"));
    assert_eq!(element_text(&body, "errorMessage"), Some("employee locked"));
    assert_eq!(element_text(&body, "status"), Some("500"));
    assert!(body.contains("ExternalEventResponse"), "{body}");

    let defaults = TestApp::spawn(&config("mode = \"error-response\"")).await;
    let response = defaults.post_fixture("hire.xml").await;
    let id = message_id(&response);
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "errorCode"), Some("500"));
    assert!(
        element_text(&body, "errorMessage").unwrap().ends_with(&id),
        "{body}"
    );
}

#[tokio::test]
async fn a_close_drill_closes_the_connection_without_a_single_byte() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::spawn(&config("mode = \"close\"\nfirst = 1")).await;
    let body = fixture("hire.xml");
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let head = format!(
        "POST /cxf/isc/events HTTP/1.1\r\nHost: test\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closed the connection");
    // A clean close (FIN) reads as Ok(0 bytes); a reset is also "no answer".
    assert!(
        answer.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&answer)
    );
    if let Err(e) = read {
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    }
    assert_eq!(
        logs.lines_with(&["handler failed", "reply=\"close\"", "(close): delivery 1"])
            .len(),
        1,
        "{}",
        logs.text()
    );

    // reqwest sees the same, and the server keeps serving: the second delivery passes.
    let again = app.post_fixture("hire.xml").await;
    assert_eq!(again.status(), 200);
    let other = app
        .client
        .post(app.url("/cxf/isc/events"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "text/xml")
        .body(hire_with_id("fresh"))
        .send()
        .await
        .expect_err("no answer");
    assert!(!other.is_status() && !other.is_timeout(), "{other:?}");
}

#[tokio::test(start_paused = true)]
async fn a_delay_drill_answers_normally_after_the_delay() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::spawn(&config("mode = \"delay\"\ndelay_ms = 45000")).await;
    let started = Instant::now();
    let response = app.post_fixture("hire.xml").await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    assert!(elapsed >= Duration::from_millis(45_000), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(46_000), "{elapsed:?}");
    let id = message_id(&response);
    assert_eq!(
        logs.lines_with(&[
            &id,
            "handler=drill",
            "answered late on purpose",
            "delay_ms=45000"
        ])
        .len(),
        1,
        "{}",
        logs.text()
    );
    assert_eq!(
        std::fs::read_to_string(app.path("events.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1,
        "the chain goes on after the delay"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_drill_may_wait_before_it_fails() {
    let app = TestApp::spawn(&config("mode = \"http-503\"\ndelay_ms = 3000")).await;
    let started = Instant::now();
    let response = app.post_fixture("hire.xml").await;
    assert_eq!(response.status(), 503);
    assert!(started.elapsed() >= Duration::from_millis(3000));
}

#[tokio::test]
async fn a_percent_drill_with_a_seed_fails_the_same_deliveries_on_every_run() {
    let settings = "mode = \"soap-fault\"\npercent = 50.0\nseed = 42";
    let mut runs = Vec::new();
    for _ in 0..2 {
        let app = TestApp::spawn(&config(settings)).await;
        let mut failed = Vec::new();
        for i in 0..40 {
            let status = app
                .post_fixture_text(&hire_with_id(&format!("id-{i}")))
                .await
                .status();
            failed.push(status == 500);
        }
        runs.push(failed);
    }
    assert_eq!(runs[0], runs[1], "same seed, same deliveries");
    let share = runs[0].iter().filter(|f| **f).count();
    assert!((8..=32).contains(&share), "about half of 40 fail: {share}");

    let other_seed =
        TestApp::spawn(&config("mode = \"soap-fault\"\npercent = 50.0\nseed = 7")).await;
    let mut failed = Vec::new();
    for i in 0..40 {
        let status = other_seed
            .post_fixture_text(&hire_with_id(&format!("id-{i}")))
            .await
            .status();
        failed.push(status == 500);
    }
    assert_ne!(failed, runs[0], "another seed, another choice");
}

#[tokio::test]
async fn a_drill_behind_a_filter_only_fails_matching_messages() {
    let app = TestApp::spawn(&config(
        "mode = \"http-503\"\nwhen = { kind = \"termination\" }",
    ))
    .await;
    assert_eq!(app.post_fixture("hire.xml").await.status(), 200);
    assert_eq!(app.post_fixture("termination.xml").await.status(), 503);
}
