//! The message page's history: its attempts (the delivery queue's, or the one run of a
//! synchronous message) and the entries linked to it both ways (duplicates, refused copies,
//! replays).

use maud::{Markup, html};
use time::OffsetDateTime;

use super::log::{Message, Record};
use super::page;
use super::prefix::at;
use crate::store::{Attempt, ErrorInfo};

/// One try at processing the message, as the timeline shows it.
struct Step<'a> {
    number: u32,
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
    status: &'a str,
    error: Option<&'a ErrorInfo>,
    /// After a failed attempt that was not the last: when the next one is due.
    next: Option<OffsetDateTime>,
}

/// The attempts of a message, first first: each of the queue's, or, for a message that was never
/// queued, its one run (its entry's times, status and error).
fn steps(message: &Message) -> Vec<Step<'_>> {
    if message.attempts.is_empty() {
        return vec![Step {
            number: 1,
            start: message.record.start,
            end: message.record.end,
            status: &message.record.status,
            error: message.error.as_ref(),
            next: None,
        }];
    }
    message.attempts.iter().map(step).collect()
}

fn step(attempt: &Attempt) -> Step<'_> {
    Step {
        number: attempt.number,
        start: attempt.started,
        end: attempt.ended,
        status: attempt.status.as_str(),
        error: attempt.error.as_ref(),
        next: attempt.retry_at,
    }
}

/// The attempts as a timeline: number, status, start and end, error, the next attempt's time.
pub fn timeline(message: &Message) -> Markup {
    let record = &message.record;
    html! {
        @if !message.attempts.is_empty() {
            p.hint { "Queued: " (message.attempts.len()) " attempt(s); the message is " (page::status(&record.status)) " (" (record.custom_status) ")." }
        }
        ol.timeline {
            @for step in steps(message) {
                li {
                    div.attempt {
                        span.n { "#" (step.number) }
                        (page::status(step.status))
                        span { (page::time(step.start)) " UTC" }
                        @if let Some(end) = step.end {
                            span { "→ " (page::time(end)) " UTC (" ((end - step.start).whole_milliseconds()) " ms)" }
                        } @else {
                            span.none { "not finished" }
                        }
                        @if let Some(next) = step.next {
                            span.next { "next attempt due " (page::time(next)) " UTC" }
                        }
                    }
                    @if let Some(error) = step.error {
                        div.error {
                            @if let Some(handler) = &error.step { p { "Handler " code { (handler) } } }
                            pre.error-text { (error.text) }
                        }
                    }
                }
            }
        }
    }
}

/// How an entry that names an original came about, told by its status: a duplicate answered
/// like its original is `DISCARDED`; a copy refused while its original ran is `FAILED` (or was
/// left `ABANDONED`); anything else went through the queue, which only a replay does with an
/// original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Duplicate,
    RefusedCopy,
    Replay,
}

fn link(record: &Record) -> Link {
    match record.status.as_str() {
        "DISCARDED" => Link::Duplicate,
        "FAILED" | "ABANDONED" => Link::RefusedCopy,
        _ => Link::Replay,
    }
}

/// The entries this one refers to and that refer to it, both ways.
pub fn links(message: &Message) -> Markup {
    let record = &message.record;
    let of = |kind| -> Vec<&Record> {
        message
            .referred_by
            .iter()
            .filter(|r| link(r) == kind)
            .collect()
    };
    let (copies, replays): (Vec<&Record>, Vec<&Record>) = (
        of(Link::Duplicate)
            .into_iter()
            .chain(of(Link::RefusedCopy))
            .collect(),
        of(Link::Replay),
    );
    html! {
        @if let Some(original) = &record.original {
            p.link #original {
                @match link(record) {
                    Link::Duplicate => { "A duplicate of " (to(original)) ", whose answer it was given." }
                    Link::RefusedCopy => { "A copy of " (to(original)) ", which was running at the time." }
                    Link::Replay => { "A replay of " (to(original)) "." }
                }
            }
        }
        @if !copies.is_empty() {
            h2 { "Duplicates and refused copies of this message" }
            (list(&copies, "copies"))
        }
        @if !replays.is_empty() {
            h2 { "Replays of this message" }
            (list(&replays, "replays"))
        }
    }
}

fn to(guid: &str) -> Markup {
    html! { a href={ (at("/monitor/messages/")) (guid) } { (guid) } }
}

fn list(records: &[&Record], id: &str) -> Markup {
    html! {
        ul.links id=(id) {
            @for other in records {
                li { (to(&other.guid)) " " (page::status(&other.status)) " " (page::time(other.start)) " UTC" }
            }
        }
    }
}
