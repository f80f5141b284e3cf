//! The baseline for `bench/e2e.sh`: the cheapest SOAP endpoint axum can be, to compare iflowd's
//! end-to-end throughput with.
//!
//! One `POST /cxf/isc/events` route that ignores the request and answers a fixed SOAP
//! acknowledgement of about the size iflowd sends (~470 bytes, `text/xml`), plus `GET /health`
//! for the readiness probe. No authentication, no parsing, no logging: whatever iflowd spends
//! beyond this is its own work.
//!
//! Served the simplest standard way, `axum::serve` on tokio's multi-thread runtime.
//!
//! ```text
//! cargo run --release --example bare_server -- 127.0.0.1:8081
//! BARE_LISTEN=127.0.0.1:8081 cargo run --release --example bare_server
//! ```

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};

/// Shaped like iflowd's acknowledgement of the Change in Manager fixture (472 bytes there).
const ACK: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>"#,
    r#"<ns:ExternalEventResponse xmlns:ns="http://notification.event.successfactors.com">"#,
    r#"<ns:responsePayload><ns:status>200</ns:status>"#,
    r#"<ns:statusDate>2026-11-21T07:39:54.249Z</ns:statusDate>"#,
    r#"<ns:statusDetails>accepted 1 event; message id AGAaH9DCYJzVqFLhUC1x86t-pMSw</ns:statusDetails>"#,
    r#"</ns:responsePayload></ns:ExternalEventResponse></soap:Body></soap:Envelope>"#,
);

const DEFAULT_LISTEN: &str = "127.0.0.1:8081";

async fn acknowledge() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], ACK)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BARE_LISTEN").ok())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let app = Router::new()
        .route("/cxf/isc/events", post(acknowledge))
        .route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "bare_server listening on http://{} ({} byte ack)",
        listener.local_addr()?,
        ACK.len()
    );
    // SIGTERM or Ctrl-C end the process (the default action): there is nothing to drain.
    axum::serve(listener, app).await
}
