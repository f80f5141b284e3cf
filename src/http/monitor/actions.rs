//! The message page's two buttons: **Replay** (the stored request again, as a new message) and,
//! for an `ESCALATED` message, **Retry** (the message itself queued again).
//!
//! Both are POST forms carrying the session's CSRF token, need the role `MessageReplay` (the
//! page hides them without it; a POST without it is refused all the same), and run exactly what
//! the monitoring API's `Replay` and `Retry` run ([`crate::queue::Queue::replay_by`],
//! [`crate::queue::Queue::retry_by`]), audit record included. A replay leads to the new message,
//! a retry back to the message, each with a notice saying what happened.

use axum::extract::{Extension, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::log::Message;
use super::login::{csrf_refusal, read_form};
use super::page;
use super::prefix::at;
use super::viewer::Viewer;
use crate::app::App;
use crate::config::REPLAY_ROLE;
use crate::queue::{ReplayError, RetryError};

/// What the page says after a button did its work (`?notice=` on the address it leads to).
/// Fixed texts: nothing from the query string reaches the page.
pub fn notice(key: Option<&str>) -> Option<&'static str> {
    match key? {
        "replayed" => Some(
            "Replayed: this is the new message, queued to run through its endpoint's chain. The original is linked below.",
        ),
        "retried" => Some(
            "Queued again: the next attempt is due now, with the endpoint's attempts allowed anew.",
        ),
        _ => None,
    }
}

/// The buttons a viewer may press on `message`, or why Replay cannot be offered. Nothing for a
/// viewer without `MessageReplay`, or without a session (a script: it has no CSRF token; it
/// uses the monitoring API's operations instead).
pub fn buttons(viewer: &Viewer, message: &Message, app: &App) -> Markup {
    let Some(token) = viewer.csrf() else {
        return html! {};
    };
    if !viewer.principal.has_role(REPLAY_ROLE) || app.queue().is_none() {
        return html! {};
    }
    let record = &message.record;
    let stored = message.bodies.iter().any(|info| info.kind == "request");
    let base = at(&format!("/monitor/messages/{}", record.guid));
    html! {
        div.actions {
            @if stored {
                form method="post" action={ (base) "/replay" } {
                    input type="hidden" name="csrf" value=(token);
                    button #replay type="submit" title="Run the stored request again, as a new message" { "Replay" }
                }
                @if record.status == "ESCALATED" {
                    form method="post" action={ (base) "/retry" } {
                        input type="hidden" name="csrf" value=(token);
                        button #retry type="submit" title="Queue this message again, due now" { "Retry" }
                    }
                }
            } @else {
                @let why = app.queue().map(|q| q.no_body(&record.guid, record.start)).unwrap_or_default();
                p.hint #no-replay { "Replay is not available: " (why) "." }
            }
        }
    }
}

/// Which button was pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Replay,
    Retry,
}

/// `POST /monitor/messages/<guid>/replay`.
pub async fn replay(
    state: State<App>,
    viewer: Extension<Viewer>,
    guid: Path<String>,
    request: Request,
) -> Response {
    run(state, viewer, guid, request, Action::Replay).await
}

/// `POST /monitor/messages/<guid>/retry`.
pub async fn retry(
    state: State<App>,
    viewer: Extension<Viewer>,
    guid: Path<String>,
    request: Request,
) -> Response {
    run(state, viewer, guid, request, Action::Retry).await
}

async fn run(
    State(app): State<App>,
    Extension(viewer): Extension<Viewer>,
    Path(guid): Path<String>,
    request: Request,
    action: Action,
) -> Response {
    let (parts, body) = request.into_parts();
    let fields = match read_form(body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let token = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if let Some(refusal) = csrf_refusal(&viewer, &parts.headers, token) {
        return refusal;
    }
    let user = viewer.principal.name.clone();
    if !viewer.principal.has_role(REPLAY_ROLE) {
        let text = format!(
            "User '{user}' may not replay or retry messages: that needs the role {REPLAY_ROLE}."
        );
        return page::error(&viewer, StatusCode::FORBIDDEN, "Forbidden", &text);
    }
    let Some(queue) = app.queue() else {
        let text = "The message log is turned off, so there is no delivery queue to run messages.";
        return page::error(&viewer, StatusCode::NOT_FOUND, "No message log", text);
    };
    let (log, audit) = (app.message_log(), app.audit());
    let outcome = match action {
        Action::Replay => queue
            .replay_by(log, audit, &user, &guid)
            .await
            .map(|new| at(&format!("/monitor/messages/{new}?notice=replayed")))
            .map_err(|error| {
                refusal(
                    &error,
                    matches!(error, ReplayError::NoMessage(_)),
                    is_store(&error),
                )
            }),
        Action::Retry => queue
            .retry_by(audit, &user, &guid)
            .await
            .map(|()| at(&format!("/monitor/messages/{guid}?notice=retried")))
            .map_err(|error| {
                let store = matches!(error, RetryError::Store(_));
                refusal(&error, matches!(error, RetryError::NoMessage(_)), store)
            }),
    };
    match outcome {
        Ok(to) => Redirect::to(&to).into_response(),
        Err((status, title, text)) => {
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                app.metrics().store_error("enqueue");
            }
            page::error(&viewer, status, title, &text)
        }
    }
}

fn is_store(error: &ReplayError) -> bool {
    matches!(error, ReplayError::Store(_))
}

/// The status, title and text of a refused run: 404 for no such message, 500 (telling no
/// internals) when the log failed, 409 for the rest, with the queue's own reason.
fn refusal(
    error: &dyn std::error::Error,
    missing: bool,
    store: bool,
) -> (StatusCode, &'static str, String) {
    if store {
        tracing::error!(%error, "message log write or read failed (monitor replay or retry)");
    }
    if missing {
        (StatusCode::NOT_FOUND, "No such message", error.to_string())
    } else if store {
        let text = "The message log could not be written or read; iflowd's log says why.";
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not done",
            text.to_owned(),
        )
    } else {
        (StatusCode::CONFLICT, "Cannot be run", format!("{error}."))
    }
}
