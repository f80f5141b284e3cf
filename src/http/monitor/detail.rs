//! One message: every field of its log entry, its attempts and the entries linked to it
//! (`timeline.rs`), the events its request carried, the request and the answer (laid out, and
//! raw), and the Replay and Retry buttons (`actions.rs`).
//!
//! The events are read from the stored request exactly as the endpoint read it (`soap::parse`,
//! then [`Envelope::recognise`] with this service's event types). Bodies, and so the events,
//! need `MessagePayloadsRead`.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use time::OffsetDateTime;

use super::list::log_error;
use super::log::{self, Record};
use super::page::{self, or_dash};
use super::prefix::at;
use super::viewer::Viewer;
use super::xml::{self, DISPLAY_LIMIT};
use super::{actions, timeline};
use crate::app::App;
use crate::config::PAYLOADS_ROLE;
use crate::event::Envelope;
use crate::excerpt::Excerpt;
use crate::soap::Pair;

/// The kinds of stored body, as the store and the download links name them.
const BODIES: [(&str, &str); 2] = [("request", "Request"), ("response", "Answer")];

/// `GET /monitor/messages/<guid>`.
pub async fn page(
    State(app): State<App>,
    Extension(viewer): Extension<Viewer>,
    Path(guid): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let notice = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(key, _)| key == "notice")
        .and_then(|(_, value)| actions::notice(Some(&value)));
    let message = match log::message(&app, &guid).await {
        Ok(Some(message)) => message,
        Ok(None) => {
            let text = format!("There is no message with the id '{}'.", Excerpt(&guid));
            return page::error(&viewer, StatusCode::NOT_FOUND, "No such message", &text);
        }
        Err(error) => return log_error(&viewer, error),
    };
    let bodies = if viewer.reads_payloads() {
        let mut bodies = Vec::new();
        for (kind, name) in BODIES {
            if message.bodies.iter().any(|info| info.kind == kind) {
                match log::body(&app, &guid, kind).await {
                    Ok(Some(payload)) => bodies.push((kind, name, payload)),
                    Ok(None) => {}
                    Err(error) => return log_error(&viewer, error),
                }
            }
        }
        Some(bodies)
    } else {
        None
    };
    let request = bodies
        .as_ref()
        .and_then(|b| b.iter().find(|(kind, _, _)| *kind == "request"))
        .map(|(_, _, payload)| payload.body.clone());
    let record = &message.record;
    let content = html! {
        h1 { "Message " span.id { (record.guid) } " " (page::status(&record.status)) }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        (actions::buttons(&viewer, &message, &app))
        (fields(record))
        (timeline::links(&message))
        h2 { "Attempts" }
        (timeline::timeline(&message))
        h2 { "Events" }
        @match &bodies {
            None => p.hint { "The events and the bodies need the role " code { (PAYLOADS_ROLE) } "." },
            Some(_) => (events(&app, request.as_deref())),
        }
        @if let Some(bodies) = &bodies {
            @if bodies.is_empty() {
                h2 { "Bodies" }
                p.hint { "No bodies are stored for this message (" code { "[store] payloads = false" } ", or purged after " code { "payload_retention_days" } ")." }
            }
            @for (kind, name, payload) in bodies {
                (body(&record.guid, kind, name, &payload.content_type, &payload.body))
            }
        }
    };
    let title = format!("Message {}", record.guid);
    page::page(&viewer, &title, None, content).into_response()
}

fn fields(record: &Record) -> Markup {
    let time = |at: Option<OffsetDateTime>| at.map(page::time).map(|t| t + " UTC");
    let duration = record
        .end
        .map(|end| format!("{} ms", (end - record.start).whole_milliseconds()));
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let rows: Vec<(&str, Markup)> = vec![
        ("MessageGuid", html! { (record.guid) }),
        ("Status", page::status(&record.status)),
        ("CustomStatus", html! { (record.custom_status) }),
        (
            "Endpoint (IntegrationFlowName)",
            html! { (record.endpoint) },
        ),
        ("Sender", html! { (record.sender) }),
        (
            "externalEventId (ApplicationMessageId)",
            or_dash(record.external_id.as_deref()),
        ),
        (
            "Event type (ApplicationMessageType)",
            or_dash(record.event_type.as_deref()),
        ),
        (
            "Events",
            or_dash(record.event_count.map(|n| n.to_string()).as_deref()),
        ),
        ("Repost", or_dash(record.repost.map(yes_no))),
        ("LogStart", or_dash(time(Some(record.start)).as_deref())),
        ("LogEnd", or_dash(time(record.end).as_deref())),
        ("Duration", or_dash(duration.as_deref())),
        ("CorrelationId", html! { (record.correlation_id) }),
        ("TransactionId", html! { (record.transaction_id) }),
        (
            "OriginalMessageGuid",
            match &record.original {
                Some(guid) => html! { a href={ (at("/monitor/messages/")) (guid) } { (guid) } },
                None => or_dash(None),
            },
        ),
        ("Error", html! { (yes_no(record.has_error)) }),
    ];
    html! {
        dl.fields {
            @for (name, value) in rows { dt { (name) } dd { (value) } }
        }
    }
}

/// The events of the stored request, read as the endpoint read them.
fn events(app: &App, request: Option<&[u8]>) -> Markup {
    let Some(request) = request else {
        return html! { p.hint { "The request is not stored, so its events cannot be shown." } };
    };
    let envelope = match crate::soap::parse(request) {
        Ok(parsed) => Envelope::recognise(parsed, app.event_types()),
        Err(failure) => {
            return html! { p.problem { "The request is not an ExternalEvent call: " (failure.error.to_string()) } };
        }
    };
    let meta = &envelope.meta;
    let meta_rows = [
        ("externalEventId", meta.external_event_id.as_deref()),
        ("type", meta.event_type.as_deref()),
        ("publishedAt", meta.published_at.as_deref()),
        ("publishedBy", meta.published_by.as_deref()),
        ("effective", meta.effective.as_deref()),
        (
            "repost",
            meta.repost.map(|r| if r { "true" } else { "false" }),
        ),
    ];
    html! {
        dl.fields.meta { @for (name, value) in meta_rows { dt { (name) } dd { (or_dash(value)) } } }
        @if envelope.events.is_empty() {
            p.hint { "The envelope carries no events." }
        } @else {
            table.events {
                thead { tr { th { "#" } th { "Kind" } th { "Type" } th { "userId" } th { "Entity keys" } th { "Params" } } }
                tbody {
                    @for (i, event) in envelope.events.iter().enumerate() {
                        @let record = event.record();
                        tr {
                            td.num { (i + 1) }
                            td { (event.kind().as_str()) }
                            td.type { (or_dash(envelope.type_of(event))) }
                            td.user { (or_dash(record.key("userId").or_else(|| record.param("userId")).map(cut).as_deref())) }
                            td { (pairs(&record.entity_keys)) }
                            td { (pairs(&record.params)) }
                        }
                    }
                }
            }
        }
    }
}

fn pairs(pairs: &[Pair]) -> Markup {
    html! {
        @if pairs.is_empty() { span.none { "–" } }
        dl.pairs {
            @for pair in pairs {
                dt { (cut(&pair.name)) }
                dd { (or_dash(pair.value.as_deref().map(cut).as_deref())) }
            }
        }
    }
}

/// Names and values longer than this are cut in the events table (the bodies show them whole).
const VALUE_LIMIT: usize = 1024;

fn cut(text: &str) -> String {
    match text.char_indices().nth(VALUE_LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A stored body: laid out, raw (in a `<details>`), and the download link.
fn body(guid: &str, kind: &str, name: &str, content_type: &str, bytes: &[u8]) -> Markup {
    let shown = xml::show(bytes);
    let download = at(&format!("/monitor/messages/{guid}/{kind}"));
    html! {
        section.body #(kind) {
            h2 { (name) }
            p.meta {
                code { (content_type) } " · " (bytes.len()) " bytes · "
                a href=(download) download { "Download" }
            }
            @match &shown.pretty {
                Ok(markup) => (markup),
                Err(reason) => p.hint { (reason) },
            }
            details open[shown.pretty.is_err()] {
                summary { "Raw" }
                @if shown.truncated {
                    p.problem { "Shown cut at " (DISPLAY_LIMIT / 1024) " KiB of " (bytes.len()) " bytes: "
                        a href=(download) download { "download the whole body" } "." }
                }
                @if shown.lossy { p.hint { "Not UTF-8: invalid bytes are shown as �; the download has the exact bytes." } }
                pre.raw { (shown.raw) }
            }
        }
    }
}

/// `GET /monitor/messages/<guid>/<request|response>`: the exact bytes, as a download that the
/// browser never renders (its own content type is not used, and the CSP sandboxes it anyway).
pub async fn download(
    State(app): State<App>,
    Extension(viewer): Extension<Viewer>,
    Path((guid, kind)): Path<(String, String)>,
) -> Response {
    if !viewer.reads_payloads() {
        let message = format!("Stored bodies need the role {PAYLOADS_ROLE}.");
        return page::error(&viewer, StatusCode::FORBIDDEN, "Forbidden", &message);
    }
    let payload = match BODIES.iter().find(|(k, _)| *k == kind) {
        Some(_) => log::body(&app, &guid, &kind).await,
        None => Ok(None),
    };
    let payload = match payload {
        Ok(Some(payload)) => payload,
        Ok(None) => {
            let message = format!(
                "Message '{}' has no stored body '{}'.",
                Excerpt(&guid),
                Excerpt(&kind)
            );
            return page::error(&viewer, StatusCode::NOT_FOUND, "No such body", &message);
        }
        Err(error) => return log_error(&viewer, error),
    };
    let safe: String = guid
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let disposition = format!("attachment; filename=\"{safe}.{kind}.xml\"");
    let mut response = payload.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    response
}
