//! The HTTP layer: routes, and the one place where domain results become status codes, SOAP
//! faults and JSON errors.
//!
//! ```text
//! GET  /health            200 {"status":"UP"}; 503 {"status":"DOWN",...} while the message
//!                         log cannot be written
//! GET  /metrics           Prometheus (OpenMetrics) text
//! GET  /, /monitor/...    the monitor: the message log in a browser          (monitor/)
//! GET  /api/v1/...        the OData monitoring API                        (odata/)
//! POST /oauth/token       OAuth client-credentials token (oauth.rs; path from [oauth], only
//!                         with [[oauth_clients]])
//! POST <endpoint path>    SOAP ExternalEvent → acknowledgement or fault   (soap.rs, pipeline.rs)
//! GET  <endpoint path>?wsdl  the WSDL                                     (soap.rs)
//! anything else           404 JSON error
//! ```
//!
//! Endpoint paths are not axum routes: CPI matches sub-paths and picks the longest configured
//! prefix, which [`crate::endpoint::EndpointTable`] does, so endpoints sit behind the fallback.

mod access;
mod body;
mod error;
mod monitor;
mod oauth;
mod odata;
mod origin;
mod pipeline;
mod reply;
mod soap;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, unauthorized};
pub use odata::PAGE_SIZE;
pub use reply::{ClientFault, CloseConnection, DUPLICATE_OF_HEADER, MESSAGE_ID_HEADER};

use crate::app::App;
use crate::auth::ClientCertificate;
use crate::store::Health;

/// The whole route table. Tests call it in process; [`crate::server::serve`] puts it on a socket.
///
/// Every request gets a `debug` span (method and path, never headers, so no credentials) and one
/// line when it is answered, at the level of whose fault it is (see [`log_response`]), and a
/// panic anywhere below becomes a plain 500 instead of a dropped connection. A body sent with
/// `Content-Encoding: gzip` or `deflate` (PHP SoapClient's `compression` option) is decoded as it
/// is read, so every limit counts decoded bytes and the log keeps the decoded envelope; any other
/// coding passes through with its header, for the endpoint to refuse by name (415) after
/// authentication, as it does every body rule.
pub fn router(app: App) -> Router {
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/v1", any(odata::handle))
        .route("/api/v1/", any(odata::handle))
        .route("/api/v1/{*rest}", any(odata::handle))
        .merge(monitor::routes(&app));
    if let Some(path) = app.token_path() {
        router = router.route(path, post(oauth::token));
    }
    router
        .fallback(soap::dispatch)
        .with_state(app)
        .layer(RequestDecompressionLayer::new().pass_through_unaccepted(true))
        .layer(
            TraceLayer::new_for_http()
                .on_response(log_response)
                // `log_response` has logged every 5xx already.
                .on_failure(()),
        )
        .layer(CatchPanicLayer::new())
}

/// The answered request's line: ERROR for a server error (5xx), INFO for a refusal that is the
/// client's doing (4xx, and `Client` faults, which SOAP 1.1 sends as HTTP 500), DEBUG otherwise.
/// The message id, when the call has a log entry, leads to the details.
fn log_response<B>(response: &Response<B>, latency: Duration, _span: &tracing::Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_millis();
    let message_id = response
        .headers()
        .get(MESSAGE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let client_fault = response.extensions().get::<ClientFault>().is_some();
    if response.status().is_server_error() && !client_fault {
        tracing::error!(status, latency_ms, message_id, "request failed");
    } else if response.status().is_client_error() || client_fault {
        tracing::info!(status, latency_ms, message_id, "request refused");
    } else {
        tracing::debug!(status, latency_ms, message_id, "request answered");
    }
}

/// How the request's connection was made, put into every request's extensions by
/// [`crate::server`]. A request without it (a test calling the router in process) counts as
/// plain HTTP without a certificate.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// The connection is TLS.
    pub secure: bool,
    /// The client certificate the TLS handshake verified against `[tls] client_ca`.
    pub client_certificate: Option<Arc<ClientCertificate>>,
    /// The address the connection came from: forwarded headers are believed only from
    /// `[proxy] trusted` peers.
    pub peer: Option<SocketAddr>,
    /// The address the connection reached, the server's own name when a request gives none.
    pub local: Option<SocketAddr>,
}

/// `{"status":"UP"}`, unless the message log cannot be written now (its disk is full or
/// failing): then 503 and `{"status":"DOWN","store":{"status":"DOWN","error":...,"since":...}}`,
/// since no call can be acknowledged. It turns back by itself once the log can be written.
async fn health(State(app): State<App>) -> Response {
    match app.store().map(|store| store.health()) {
        None | Some(Health::Writable) => {
            axum::Json(serde_json::json!({ "status": "UP" })).into_response()
        }
        Some(Health::Unwritable { reason, since }) => {
            let since = since
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let body = serde_json::json!({
                "status": "DOWN",
                "store": { "status": "DOWN", "error": reason, "since": since },
            });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

/// Unauthenticated, like `/health`: what a Prometheus scraper reads. The queue's depth is read
/// from the store first.
async fn metrics(State(app): State<App>) -> impl IntoResponse {
    if let Some(queue) = app.queue() {
        queue.refresh_depth().await;
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        app.metrics().render(),
    )
}
