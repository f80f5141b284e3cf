//! Timeouts and graceful shutdown, over raw TCP so every byte is under the test's control.
//! Time-based tests run on tokio's paused clock: no test waits in real time.

use crate::common;

use std::time::Duration;

use crate::common::raw::{post_head_as_user, read_to_close, read_until};
use crate::common::{TestApp, fixture};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Request head for the default endpoint, announcing `length` body bytes and waiting for
/// `100 Continue`, which hyper sends once the handler starts reading the body: the sign that the
/// request is in flight.
fn head(length: usize) -> String {
    post_head_as_user(length, "Expect: 100-continue\r\n")
}

#[tokio::test]
async fn a_request_in_flight_at_shutdown_still_gets_its_answer() {
    let mut app = TestApp::spawn_default().await;
    let body = fixture("hire.xml");
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream.write_all(head(body.len()).as_bytes()).await.unwrap();
    read_until(&mut stream, "100 Continue\r\n\r\n").await;

    app.begin_shutdown();
    stream.write_all(&body).await.unwrap();
    let answer = read_until(&mut stream, "</soap:Envelope>").await;
    assert!(answer.contains("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("<ns:status>200</ns:status>"), "{answer}");

    app.stopped().await.unwrap();
    assert!(
        TcpStream::connect(app.address).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_that_never_finishes_gets_408_after_the_body_timeout() {
    let app = TestApp::spawn(&format!(
        "{}\n[limits]\nbody_read_timeout_ms = 7000\n",
        common::users_toml()
    ))
    .await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream.write_all(head(500).as_bytes()).await.unwrap();
    read_until(&mut stream, "100 Continue\r\n\r\n").await;
    let started = Instant::now();
    stream.write_all(b"<S:Envelope").await.unwrap();
    let answer = read_until(&mut stream, "</soap:Envelope>").await;
    assert!(answer.contains("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("the request body did not arrive within 7000 ms"),
        "{answer}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(7000) && waited < Duration::from_millis(8000),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::spawn(&format!(
        "{}\n[limits]\nheader_read_timeout_ms = 3000\n",
        common::users_toml()
    ))
    .await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"POST /cxf/isc/events HTTP/1.1\r\nHost: slow\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    let waited = started.elapsed();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        waited >= Duration::from_millis(3000) && waited < Duration::from_millis(4000),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_requests_in_flight_only_up_to_its_bound() {
    let mut app = TestApp::spawn(&format!(
        "{}\n[limits]\nshutdown_timeout_ms = 2000\n",
        common::users_toml()
    ))
    .await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream.write_all(head(500).as_bytes()).await.unwrap();
    read_until(&mut stream, "100 Continue\r\n\r\n").await;

    let started = Instant::now();
    app.begin_shutdown();
    // The body never comes; the server must not wait the 30 s body timeout.
    app.stopped().await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(2000) && waited < Duration::from_millis(3000),
        "{waited:?}"
    );
}
