//! The HTTP layer: routes, and the one place where domain results become status codes, SOAP
//! faults and JSON errors.
//!
//! ```text
//! GET  /health            200 {"status":"UP"}
//! POST <endpoint path>    SOAP ExternalEvent → acknowledgement or fault   (soap.rs)
//! GET  <endpoint path>?wsdl  the WSDL                                     (soap.rs)
//! anything else           404 JSON error
//! ```
//!
//! Endpoint paths are not axum routes: CPI matches sub-paths and picks the longest configured
//! prefix, which [`crate::endpoint::EndpointTable`] does, so endpoints sit behind the fallback.

mod body;
mod error;
mod soap;

use axum::Router;
use axum::routing::get;

pub use error::ApiError;

use crate::app::App;

/// The whole route table. Tests call it in process; [`crate::server::serve`] puts it on a socket.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/health", get(health))
        .fallback(soap::dispatch)
        .with_state(app)
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "UP" }))
}
