//! Request bodies sent with `Content-Encoding` (PHP SoapClient's `compression` option): gzip and
//! deflate are decoded, the size limit counts decoded bytes (a zip bomb is a 413, refused once
//! the limit is inflated), and any other coding is a 415 naming it.

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::raw::{post_head_as_user, read_until};
use crate::common::{PASSWORD, TestApp, USER, element_text, fixture, message_id};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// HTTP's `deflate`: zlib-wrapped, as PHP (`gzcompress`) sends it.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// `bytes` zeros, gzipped: about a thousandth of their size.
fn gzipped_zeros(bytes: usize) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    let block = vec![0u8; 1024 * 1024];
    for _ in 0..bytes / block.len() {
        encoder.write_all(&block).unwrap();
    }
    encoder.finish().unwrap()
}

async fn post_encoded(app: &TestApp, coding: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/cxf/isc/events"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("Content-Encoding", coding)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_gzip_body_is_acknowledged_and_logged_as_the_decoded_envelope() {
    let app = TestApp::spawn_default().await;
    let envelope = fixture("change-in-manager.xml");
    let response = post_encoded(&app, "gzip", gzip(&envelope)).await;
    assert_eq!(response.status(), 200);
    let id = message_id(&response);
    let answer = response.text().await.unwrap();
    assert_eq!(element_text(&answer, "status"), Some("200"), "{answer}");
    let stored = app.stored_body(&id, "request").await;
    assert_eq!(stored.bytes().await.unwrap(), envelope);
}

#[tokio::test]
async fn a_deflate_body_is_acknowledged() {
    let app = TestApp::spawn_default().await;
    let response = post_encoded(&app, "deflate", deflate(&fixture("hire.xml"))).await;
    assert_eq!(response.status(), 200);
    let answer = response.text().await.unwrap();
    assert_eq!(element_text(&answer, "status"), Some("200"), "{answer}");
}

#[tokio::test]
async fn an_unknown_content_encoding_is_a_415_naming_it() {
    let app = TestApp::spawn_default().await;
    let response = post_encoded(&app, "br", fixture("hire.xml")).await;
    assert_eq!(response.status(), 415);
    let id = message_id(&response);
    let fault = response.text().await.unwrap();
    assert!(
        fault.contains("Content-Encoding br is not supported"),
        "{fault}"
    );
    assert_eq!(app.log_entry(&id).await["Status"], "FAILED");
}

#[tokio::test]
async fn a_body_that_is_not_the_gzip_it_claims_is_a_400_saying_so() {
    let app = TestApp::spawn_default().await;
    let response = post_encoded(&app, "gzip", fixture("hire.xml")).await;
    assert_eq!(response.status(), 400);
    let fault = response.text().await.unwrap();
    assert!(
        fault.contains("not the gzip or deflate data its Content-Encoding names"),
        "{fault}"
    );
}

#[tokio::test]
async fn a_gzip_body_over_the_limit_once_decoded_is_a_413() {
    let app = TestApp::spawn_default().await;
    let bomb = gzipped_zeros(8 * 1024 * 1024);
    assert!(bomb.len() < 1024 * 1024, "small on the wire");
    let response = post_encoded(&app, "gzip", bomb).await;
    assert_eq!(response.status(), 413);
    let fault = response.text().await.unwrap();
    assert!(
        fault.contains("larger than the limit of 1048576 bytes"),
        "{fault}"
    );
}

/// The first part of a bomb, and a body that never ends: the 413 can only come from inflating
/// up to the limit, not from reading (or inflating) the whole upload.
#[tokio::test(start_paused = true)]
async fn a_zip_bomb_is_refused_once_the_limit_is_inflated_without_the_rest() {
    let app = TestApp::spawn_default().await;
    let bomb = gzipped_zeros(4 * 1024 * 1024);
    let head = post_head_as_user(0, "Content-Encoding: gzip\r\n")
        .replace("Content-Length: 0\r\n", "Transfer-Encoding: chunked\r\n");
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = [
        format!("{:x}\r\n", bomb.len()).into_bytes(),
        bomb,
        b"\r\n".to_vec(),
    ]
    .concat();
    stream.write_all(&chunk).await.unwrap();
    let started = tokio::time::Instant::now();
    let answer = read_until(&mut stream, "\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(1), "at once");
}
