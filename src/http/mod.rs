//! The HTTP layer: routes, and the one place where domain results become status codes, SOAP
//! faults and JSON errors.
//!
//! ```text
//! GET  /health            200 {"status":"UP"}
//! POST /oauth/token       OAuth client-credentials token (oauth.rs; path from [oauth], only
//!                         with [[oauth_clients]])
//! POST <endpoint path>    SOAP ExternalEvent → acknowledgement or fault   (soap.rs)
//! GET  <endpoint path>?wsdl  the WSDL                                     (soap.rs)
//! anything else           404 JSON error
//! ```
//!
//! Endpoint paths are not axum routes: CPI matches sub-paths and picks the longest configured
//! prefix, which [`crate::endpoint::EndpointTable`] does, so endpoints sit behind the fallback.

mod access;
mod body;
mod error;
mod oauth;
mod soap;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, unauthorized};

use crate::app::App;
use crate::auth::ClientCertificate;

/// The whole route table. Tests call it in process; [`crate::server::serve`] puts it on a socket.
///
/// Every request gets a `debug` span (method and path, never headers, so no credentials), and a
/// panic anywhere below becomes a plain 500 instead of a dropped connection.
pub fn router(app: App) -> Router {
    let mut router = Router::new().route("/health", get(health));
    if let Some(path) = app.token_path() {
        router = router.route(path, post(oauth::token));
    }
    router
        .fallback(soap::dispatch)
        .with_state(app)
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
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
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "UP" }))
}
