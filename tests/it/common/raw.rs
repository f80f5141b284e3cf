//! HTTP/1.1 over a bare TCP socket, for tests where every byte (or its absence) matters.

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{PASSWORD, USER};

/// `GET /health` on a connection that stays open.
pub const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n";

/// The head of a SOAP 1.1 POST to the default endpoint, announcing `length` body bytes, as
/// `user` with `password`, with extra header lines (each ending in `\r\n`).
pub fn post_head(length: usize, user: &str, password: &str, extra: &str) -> String {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!(
        "POST /cxf/isc/events HTTP/1.1\r\nHost: test\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: text/xml\r\nContent-Length: {length}\r\n{extra}\r\n"
    )
}

/// [`post_head`] as the test user.
pub fn post_head_as_user(length: usize, extra: &str) -> String {
    post_head(length, USER, PASSWORD, extra)
}

/// Reads until `marker` has been seen, panicking if the connection closes first.
pub async fn read_until(stream: &mut TcpStream, marker: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(marker) {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(
            n > 0,
            "connection closed before {marker:?}; got {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Reads until the server closes the connection (a reset counts as closed too).
pub async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let _ = stream.read_to_end(&mut seen).await;
    String::from_utf8_lossy(&seen).into_owned()
}

/// Sends `GET /health` on `stream` and reads the answer's head.
pub async fn health(stream: &mut TcpStream) -> String {
    stream.write_all(HEALTH).await.expect("write");
    read_until(stream, "{\"status\":\"UP\"}").await
}
