//! Answers sent before the request body was read (401, 404, 413) reach a client that writes its
//! whole body before it reads, as PHP's SoapClient does, over HTTP/1.1 (a raw socket) and over
//! HTTP/2 with TLS (curl, whose `(92) Stream error` was the symptom).

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::pki::Pki;
use crate::common::process::{BOUND, run};
use crate::common::raw::{post_head, post_head_as_user, read_until};
use crate::common::{PASSWORD, TestApp, USER, users_toml};

/// Larger than the default `max_body_bytes` (1 MiB), as in the PHP report ("4 MB and more").
const LARGE: usize = 4 * 1024 * 1024;

/// Writes `head` and a body of `length` bytes, all of it, and only then reads the answer's
/// head.
async fn write_all_then_read(app: &TestApp, head: &str, length: usize) -> String {
    tokio::time::timeout(BOUND, async {
        let mut stream = TcpStream::connect(app.address).await.unwrap();
        stream.write_all(head.as_bytes()).await.expect("head sent");
        let body = vec![b'x'; length];
        stream
            .write_all(&body)
            .await
            .expect("the whole body could be sent");
        read_until(&mut stream, "\r\n\r\n").await
    })
    .await
    .expect("answered in time")
}

#[tokio::test]
async fn a_413_for_a_large_upload_is_read_after_the_whole_body_was_sent() {
    let app = TestApp::spawn_default().await;
    let answer = write_all_then_read(&app, &post_head_as_user(LARGE, ""), LARGE).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn a_413_for_a_large_chunked_upload_is_read_after_the_whole_body_was_sent() {
    let app = TestApp::spawn_default().await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let head =
        post_head_as_user(0, "").replace("Content-Length: 0\r\n", "Transfer-Encoding: chunked\r\n");
    let answer = tokio::time::timeout(BOUND, async {
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        for _ in 0..LARGE / 0x10000 {
            stream
                .write_all(chunk.as_bytes())
                .await
                .expect("the whole body could be sent");
        }
        stream.write_all(b"0\r\n\r\n").await.unwrap();
        read_until(&mut stream, "\r\n\r\n").await
    })
    .await
    .expect("answered in time");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn a_401_for_a_large_upload_is_read_after_the_whole_body_was_sent() {
    let app = TestApp::spawn_default().await;
    let head = post_head(LARGE, USER, "wrong password", "");
    let answer = write_all_then_read(&app, &head, LARGE).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

#[tokio::test]
async fn after_an_early_answer_the_connection_serves_the_next_request() {
    let app = TestApp::spawn_default().await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let head = post_head(100_000, USER, "wrong password", "");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; 100_000]).await.unwrap();
    let first = read_until(&mut stream, "\r\n\r\n").await;
    assert!(first.starts_with("HTTP/1.1 401"), "{first}");
    let second = crate::common::raw::health(&mut stream).await;
    assert!(second.contains("HTTP/1.1 200"), "{second}");
}

/// curl over HTTPS with HTTP/2, sending `size` bytes: its exit status and the status code it
/// read.
async fn curl_h2(pki: &Pki, url: &str, user: &str, size: usize) -> (bool, String, String) {
    let body = pki.dir.path().join(format!("body-{size}"));
    std::fs::write(&body, vec![b'x'; size]).unwrap();
    run(tokio::process::Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--http2",
            "--output",
            "/dev/null",
        ])
        .args(["--write-out", "%{http_version} %{http_code}"])
        .arg("--cacert")
        .arg(&pki.server_cert)
        .args(["--user", user, "--header", "Content-Type: text/xml"])
        .arg("--data-binary")
        .arg(format!("@{}", body.display()))
        .arg(url))
    .await
}

#[tokio::test]
async fn over_http2_early_answers_are_read_by_curl() {
    let pki = Pki::new();
    let app = TestApp::spawn(&format!("{}{}", users_toml(), pki.tls_toml(None))).await;
    let good = format!("{USER}:{PASSWORD}");
    for (path, user, size, expected) in [
        ("/cxf/isc/events", "isc:wrong", LARGE, "2 401"),
        ("/cxf/nowhere", good.as_str(), LARGE, "2 404"),
        ("/cxf/isc/events", good.as_str(), LARGE, "2 413"),
        ("/cxf/isc/events", "isc:wrong", 200_000, "2 401"),
    ] {
        let (ok, stdout, stderr) = curl_h2(&pki, &app.url(path), user, size).await;
        assert!(
            ok && stdout == expected,
            "{path} as {user} with {size} bytes: {stdout:?} {stderr}"
        );
    }
}

/// `[limits]` with these drain bounds, and the test users.
fn drain_config(limits: &str) -> String {
    format!("{}\n[limits]\n{limits}\n", users_toml())
}

#[tokio::test]
async fn past_drain_max_bytes_the_connection_is_closed_instead_of_read_on() {
    let app = TestApp::spawn(&drain_config("drain_max_bytes = 65536")).await;
    let length = 64 * 1024 * 1024;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let head = post_head(length, USER, "wrong password", "");
    stream.write_all(head.as_bytes()).await.unwrap();
    // The 401 goes out at once; 64 KiB later iflowd stops reading and closes, so a write fails
    // long before the 64 MiB are sent (the default bound, 16 MiB, would read a quarter of them).
    let chunk = vec![b'x'; 64 * 1024];
    let written = tokio::time::timeout(BOUND, async {
        let mut written = 0;
        while written < length {
            if stream.write_all(&chunk).await.is_err() {
                return written;
            }
            written += chunk.len();
        }
        written
    })
    .await
    .expect("a write fails or all is written in time");
    assert!(written < 8 * 1024 * 1024, "{written} bytes were taken");
}

#[tokio::test]
async fn a_body_that_stops_coming_is_drained_no_longer_than_drain_timeout_ms() {
    use tokio::io::AsyncReadExt;
    let app = TestApp::spawn(&drain_config("drain_timeout_ms = 300")).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let head = post_head(1_000_000, USER, "wrong password", "");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b'x'; 1000]).await.unwrap();
    // Then nothing more: the 401 arrives, and the connection ends after the drain's 300 ms, far
    // sooner than the body's own read timeout (30 s) would end it.
    let started = std::time::Instant::now();
    let answer = read_until(&mut stream, "\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let mut rest = Vec::new();
    // An end of stream or a reset: either way the connection is over.
    let _ended = tokio::time::timeout(BOUND, stream.read_to_end(&mut rest))
        .await
        .expect("the connection ends in time");
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(10),
        "closed after {took:?}"
    );
}
