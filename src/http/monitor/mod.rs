//! The monitor: the page a person opens in a browser to see the message log, served by iflowd
//! itself.
//!
//! ```text
//! GET  /                                     303 to /monitor/
//! GET  /monitor/login, POST /monitor/login   the login form (login.rs)
//! POST /monitor/logout                       ends the session (CSRF token needed)
//! GET  /monitor/                             the message list: filters, counts, chart (list.rs)
//! GET  /monitor/live?<filters>               the list's changing part, polled by monitor.js
//! GET  /monitor/messages/<guid>              one message: fields, attempts, events, bodies (detail.rs)
//! GET  /monitor/messages/<guid>/<kind>       a stored body's exact bytes, as a download
//! POST /monitor/messages/<guid>/replay       Replay: a new message (MessageReplay, CSRF token)
//! POST /monitor/messages/<guid>/retry        Retry an ESCALATED message (MessageReplay, CSRF token)
//! GET  /monitor/endpoints                    endpoints and what to paste into SuccessFactors
//! GET  /monitor/assets/<file>                monitor.css, monitor.js (compiled in)
//! ```
//!
//! Pages are rendered on the server (maud, which escapes every value it splices in) and need no
//! JavaScript except to poll the list and to copy text; the script and the stylesheet are files
//! of their own, so the Content-Security-Policy allows no inline script or style at all
//! (`headers.rs`). A browser logs in with a form and gets a session (`session.rs`); a script may
//! send an `Authorization` header instead, as to the monitoring API. Either way the caller needs
//! `MonitoringDataRead`, and stored bodies (and the events read from them) `MessagePayloadsRead`.
//! Requests that change something need the session's CSRF token.
//!
//! Everything the monitor reads from the message log goes through `log.rs`.

mod actions;
mod assets;
mod chart;
mod detail;
mod endpoints;
mod filter;
mod headers;
mod list;
mod log;
mod login;
mod page;
mod prefix;
mod session;
mod timeline;
mod viewer;
mod xml;

use std::sync::Arc;

use axum::Router;
use axum::extract::Extension;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};

use crate::app::App;
use session::Sessions;

/// The monitor's own state: its sessions. (Everything else it reads from the [`App`].)
#[derive(Clone, Default)]
pub struct Monitor {
    sessions: Arc<Sessions>,
}

/// The monitor's routes, to merge into the route table. Each call has its own sessions, so the
/// router built from it is the one to serve (and, in tests, to clone).
pub fn routes(app: &App) -> Router<App> {
    let signed_in = Router::new()
        .route("/monitor", get(list::page))
        .route("/monitor/", get(list::page))
        .route("/monitor/live", get(list::live))
        .route("/monitor/messages/{guid}", get(detail::page))
        .route("/monitor/messages/{guid}/{kind}", get(detail::download))
        .route("/monitor/messages/{guid}/replay", post(actions::replay))
        .route("/monitor/messages/{guid}/retry", post(actions::retry))
        .route("/monitor/endpoints", get(endpoints::page))
        .route("/monitor/logout", post(login::logout))
        .route("/monitor/{*rest}", any(not_found))
        .route_layer(from_fn_with_state(app.clone(), viewer::require));
    Router::new()
        .route(
            "/",
            get(|| async { Redirect::to(&prefix::at("/monitor/")) }),
        )
        .route("/monitor/login", get(login::form).post(login::submit))
        .route("/monitor/assets/{file}", get(assets::serve))
        .merge(signed_in)
        .layer(from_fn_with_state(prefix::of(app), prefix::scope))
        .layer(from_fn(headers::secure))
        .layer(Extension(Monitor::default()))
}

async fn not_found(viewer: Extension<viewer::Viewer>) -> Response {
    page::error(
        &viewer,
        StatusCode::NOT_FOUND,
        "Not found",
        "The monitor has no such page.",
    )
    .into_response()
}
