//! The message list: filters, the counts by status and the chart for the period, the entries
//! newest first, a page at a time.
//!
//! The part below the filters is a fragment of its own (`GET /monitor/live`), which
//! `monitor.js` fetches every two seconds on the newest page and swaps in when it changed: new
//! messages appear without a reload. Each fragment carries an `ETag` (a digest of its HTML), so
//! an unchanged list costs the browser a `304` and no DOM work.

use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use sha2::{Digest, Sha256};

use super::chart::chart;
use super::filter::{Criteria, KINDS, PAGE_SIZE, PERIODS, input_value};
use super::log::{self, LogError, Record, Tally};
use super::page::{self, Section};
use super::prefix::at;
use super::viewer::Viewer;
use crate::app::App;
use crate::store::Status;

/// `GET /monitor/`.
pub async fn page(
    State(app): State<App>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(query): RawQuery,
) -> Response {
    let (criteria, problem) = match Criteria::parse(query.as_deref()) {
        Ok(criteria) => (criteria, None),
        Err(problem) => (Criteria::parse(None).unwrap_or_default(), Some(problem)),
    };
    let form = filters(&app, &criteria);
    if let Some(problem) = problem {
        let content = html! { h1 { "Messages" } (form) p.problem role="alert" { (problem) } };
        let body = page::page(&viewer, "Messages", Some(Section::Messages), content);
        return (StatusCode::BAD_REQUEST, body).into_response();
    }
    let live = match fragment(&app, &criteria).await {
        Ok(live) => live,
        Err(error) => return log_error(&viewer, error),
    };
    let etag = etag(&live);
    let content = html! {
        h1 { "Messages" }
        (form)
        @if criteria.page == 0 {
            div #live data-src={ (at("/monitor/live?")) (criteria.query(0)) } data-etag=(etag) aria-live="polite" { (live) }
        } @else {
            div #live { (live) }
            p.hint { "The newest page updates by itself; this one does not." }
        }
    };
    page::page(&viewer, "Messages", Some(Section::Messages), content).into_response()
}

/// `GET /monitor/live?<filters>`: the changing part of the list, or `304` when it is what the
/// browser has (`If-None-Match`).
pub async fn live(
    State(app): State<App>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let criteria = match Criteria::parse(query.as_deref()) {
        Ok(criteria) => criteria,
        Err(problem) => return (StatusCode::BAD_REQUEST, problem).into_response(),
    };
    let live = match fragment(&app, &criteria).await {
        Ok(live) => live,
        Err(error) => return log_error(&viewer, error),
    };
    let etag = etag(&live);
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| sent == etag);
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Html(live.into_string()).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn etag(markup: &Markup) -> String {
    let digest = Sha256::digest(markup.0.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The page of a failed read.
pub fn log_error(viewer: &Viewer, error: LogError) -> Response {
    match error {
        LogError::Off => page::error(
            viewer,
            StatusCode::NOT_FOUND,
            "No message log",
            "The message log is turned off ([store] enabled = false), so there are no messages to show.",
        ),
        LogError::Failed => page::error(
            viewer,
            StatusCode::INTERNAL_SERVER_ERROR,
            "The message log could not be read",
            "The message log could not be read; iflowd's log says why.",
        ),
    }
}

/// The counts, the chart, the entries and the pager.
async fn fragment(app: &App, criteria: &Criteria) -> Result<Markup, LogError> {
    let now = crate::clock::now();
    let tally = log::tally(app, criteria, now).await?;
    let (records, total) = log::list(app, criteria, now).await?;
    Ok(html! {
        (counts(criteria, &tally))
        (chart(&tally))
        @if records.is_empty() {
            p.empty { "No messages match. " (wider(criteria)) }
        } @else {
            (table(&records))
            (pager(criteria, total))
        }
    })
}

fn wider(criteria: &Criteria) -> Markup {
    let all = Criteria {
        period: "all",
        from: None,
        to: None,
        page: 0,
        ..criteria.clone()
    };
    html! {
        @if criteria.period != "all" {
            a href={ (at("/monitor/?")) (all.query(0)) } { "Look at all times" } "."
        }
    }
}

/// The counts by status for the period, each a link that filters by it.
fn counts(criteria: &Criteria, tally: &Tally) -> Markup {
    let totals = tally.totals();
    let all: u64 = totals.iter().sum();
    html! {
        ul.counts {
            li { a href={ (at("/monitor/?")) (criteria.with_status(None).query(0)) }
                 aria-current=[criteria.status.is_none().then_some("true")] {
                 span.count { (all) } " all" } }
            @for (status, count) in Status::ALL.into_iter().zip(totals) {
                li { a href={ (at("/monitor/?")) (criteria.with_status(Some(status)).query(0)) }
                     aria-current=[(criteria.status == Some(status)).then_some("true")] {
                     span.count { (count) } " " (page::status(status.as_str())) } }
            }
        }
    }
}

fn table(records: &[Record]) -> Markup {
    html! {
        table.messages {
            thead { tr {
                th { "Time (UTC)" } th { "Status" } th { "Endpoint" } th { "Event type" }
                th { "externalEventId" } th.num { "Events" } th { "Sender" } th { "Message ID" }
            } }
            tbody {
                @for record in records {
                    tr {
                        td.time { a href={ (at("/monitor/messages/")) (record.guid) } { (page::time(record.start)) } }
                        td { (page::status(&record.status)) }
                        td { (record.endpoint) }
                        td title=[record.event_type.as_deref()] { (page::or_dash(record.event_type.as_deref().map(short_type))) }
                        td.ext { (page::or_dash(record.external_id.as_deref())) }
                        td.num { (page::or_dash(record.event_count.map(|n| n.to_string()).as_deref())) }
                        td { (record.sender) }
                        td.id { a href={ (at("/monitor/messages/")) (record.guid) } { (record.guid) } }
                    }
                }
            }
        }
    }
}

/// The last part of a type string (`...AssignmentInformation.Hire` → `AssignmentInformation.Hire`).
fn short_type(full: &str) -> &str {
    let mut dots = full.rmatch_indices('.');
    match (dots.next(), dots.next()) {
        (Some(_), Some((second, _))) => &full[second + 1..],
        _ => full,
    }
}

fn pager(criteria: &Criteria, total: u64) -> Markup {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    html! {
        nav.pager {
            @if criteria.page > 0 {
                a href={ (at("/monitor/?")) (criteria.query(criteria.page - 1)) } { "← Newer" }
            }
            span { "Page " (criteria.page + 1) " of " (pages) " · " (total) " messages" }
            @if criteria.page + 1 < pages {
                a href={ (at("/monitor/?")) (criteria.query(criteria.page + 1)) } { "Older →" }
            }
        }
    }
}

/// The filter form: every field a GET parameter, so a filtered list is a link.
fn filters(app: &App, criteria: &Criteria) -> Markup {
    let mut endpoints: Vec<&str> = app.endpoints().iter().map(|e| &*e.name).collect();
    endpoints.sort_unstable();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    html! {
        form.filters method="get" action=(at("/monitor/")) {
            label { "Status" select name="status" {
                option value="" { "any" }
                @for status in Status::ALL {
                    option value=(status.as_str()) selected[criteria.status == Some(status)] { (status.as_str()) }
                }
            } }
            label { "Endpoint" select name="endpoint" {
                option value="" { "any" }
                @for name in endpoints {
                    option value=(name) selected[criteria.endpoint.as_deref() == Some(name)] { (name) }
                }
            } }
            label { "Event kind" select name="kind" {
                option value="" { "any" }
                @for kind in KINDS {
                    option value=(kind.as_str()) selected[criteria.kind == Some(kind)] { (kind.as_str()) }
                }
            } }
            label { "Event type" input type="text" name="type" value=(text(&criteria.event_type)) placeholder="com.successfactors…"; }
            label { "externalEventId" input type="text" name="ext" value=(text(&criteria.external_id)); }
            label { "userId" input type="text" name="user" value=(text(&criteria.user_id)); }
            label { "Period" select name="period" {
                @for (key, name, _) in PERIODS {
                    option value=(key) selected[criteria.period == key] { (name) }
                }
            } }
            label.custom { "From (UTC)" input type="datetime-local" step="1" name="from" value=[criteria.from.map(input_value)]; }
            label.custom { "To (UTC)" input type="datetime-local" step="1" name="to" value=[criteria.to.map(input_value)]; }
            div.actions {
                button type="submit" { "Apply" }
                a href=(at("/monitor/")) { "Clear" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_shortened_to_their_last_two_parts() {
        assert_eq!(
            short_type("com.successfactors.Employment.AssignmentInformation.Hire"),
            "AssignmentInformation.Hire"
        );
        assert_eq!(short_type("Hire"), "Hire");
        assert_eq!(short_type("a.b"), "a.b");
    }
}
