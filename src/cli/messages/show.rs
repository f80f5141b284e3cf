//! `iflowd messages show <MessageGuid>`: one entry in full, for a person (every field, its error,
//! the attempts of a queued message, its stored request and answer under headings, XML laid out
//! one element a line), or one stored body's exact bytes (`--raw`).

use std::io::Write;

use anyhow::{Context, bail};
use clap::ValueEnum;
use time::OffsetDateTime;
use time::macros::format_description;

use super::table::printable;
use crate::soap::pretty::pretty;
use crate::store::{Attempt, Entry, ErrorInfo, Payload, PayloadInfo, Store};

/// A stored body, as `--raw` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Body {
    /// The request as received.
    Request,
    /// The answer as sent.
    #[value(alias = "answer")]
    Response,
}

impl Body {
    fn kind(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Response => "response",
        }
    }
}

/// Everything the log keeps about one entry.
struct Shown {
    entry: Entry,
    error: Option<ErrorInfo>,
    /// A queued message's attempts (none for a synchronous one).
    attempts: Vec<Attempt>,
    stored: Vec<PayloadInfo>,
    request: Option<Payload>,
    response: Option<Payload>,
}

/// Writes the entry `id` readably to `out`, or with `raw`, that body's bytes exactly as kept.
pub async fn show(
    store: &Store,
    id: &str,
    raw: Option<Body>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if let Some(body) = raw {
        let Some(payload) = store.payload(id, body.kind()).await? else {
            if store.get(id).await?.is_none() {
                bail!("there is no message {id} in the log");
            }
            bail!(
                "message {id} has no stored {} (bodies are not kept with [store] payloads = false, and are purged after payload_retention_days)",
                body.kind()
            );
        };
        out.write_all(&payload.body)?;
        return Ok(());
    }
    let entry = store
        .get(id)
        .await?
        .with_context(|| format!("there is no message {id} in the log"))?;
    let shown = Shown {
        error: store.error(id).await?.flatten(),
        attempts: store.attempts(id).await?.unwrap_or_default(),
        stored: store.payloads(id).await?.unwrap_or_default(),
        request: store.payload(id, "request").await?,
        response: store.payload(id, "response").await?,
        entry,
    };
    out.write_all(render(&shown).as_bytes())?;
    Ok(())
}

/// The entry as text: its fields, its error, and its bodies, each under a heading.
fn render(shown: &Shown) -> String {
    let e = &shown.entry;
    let mut out = format!("Message {}\n", e.guid);
    let text = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_owned(), printable);
    let took = e
        .log_end
        .map(|end| format!("{} ms", (end - e.log_start).whole_milliseconds()));
    let fields = [
        ("Status", e.status.to_string()),
        ("Custom status", printable(&e.custom_status)),
        ("Endpoint", printable(&e.integration_flow_name)),
        ("Sender", printable(&e.sender)),
        ("Event type", text(&e.application_message_type)),
        ("External event ID", text(&e.application_message_id)),
        (
            "Events",
            e.event_count.map_or("-".to_owned(), |n| n.to_string()),
        ),
        ("Repost", e.repost.map_or("-".to_owned(), |r| r.to_string())),
        (
            "Original message",
            e.original_guid
                .as_ref()
                .map_or("-".to_owned(), ToString::to_string),
        ),
        ("Correlation ID", printable(&e.correlation_id)),
        ("Transaction ID", printable(&e.transaction_id)),
        ("Started (UTC)", precise(e.log_start)),
        ("Ended (UTC)", e.log_end.map_or("-".to_owned(), precise)),
        ("Took", took.unwrap_or_else(|| "-".to_owned())),
    ];
    for (name, value) in fields {
        out.push_str(&format!("  {name:<19}{value}\n"));
    }
    out.push_str("\nError\n");
    match &shown.error {
        None => out.push_str("  (none)\n"),
        Some(error) => {
            out.push_str(&indented(&printable(&error.text)));
            if let Some(step) = &error.step {
                out.push_str(&format!("  (in handler '{}')\n", printable(step)));
            }
        }
    }
    out.push_str(&attempts(&shown.attempts));
    for (heading, kind, payload) in [
        ("Request", "request", &shown.request),
        ("Answer", "response", &shown.response),
    ] {
        out.push('\n');
        out.push_str(&body(heading, kind, payload.as_ref(), &shown.stored));
    }
    out
}

/// A queued message's attempts, one a line (and its error below it), under their heading;
/// nothing for a synchronous message, which has none.
fn attempts(list: &[Attempt]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = "\nAttempts\n".to_owned();
    for attempt in list {
        let ended = attempt.ended.map_or_else(
            || "-".to_owned(),
            |end| {
                let took = (end - attempt.started).whole_milliseconds();
                format!("{} ({took} ms)", precise(end))
            },
        );
        out.push_str(&format!(
            "  {:>3}  {:<11}  {} -> {ended}\n",
            attempt.number,
            attempt.status.as_str(),
            precise(attempt.started),
        ));
        if let Some(error) = &attempt.error {
            let handler = error.step.as_deref().map_or(String::new(), |step| {
                format!(" (in handler '{}')", printable(step))
            });
            out.push_str(&format!("       {}{handler}\n", printable(&error.text)));
        }
        if let Some(next) = attempt.retry_at {
            out.push_str(&format!("       next attempt {}\n", precise(next)));
        }
    }
    out
}

/// A body under its heading (content type, size, when it was stored), as text.
fn body(heading: &str, kind: &str, payload: Option<&Payload>, stored: &[PayloadInfo]) -> String {
    let Some(payload) = payload else {
        return format!("{heading}\n  (not stored)\n");
    };
    let at = stored
        .iter()
        .find(|info| info.kind == kind)
        .map_or(String::new(), |info| {
            format!(", stored {}", precise(info.stored_at))
        });
    let shown = match std::str::from_utf8(&payload.body) {
        Ok(text) => laid_out(text).unwrap_or_else(|| indented(&printable(text))),
        Err(_) => format!(
            "  (not UTF-8: shown with replacement characters; --raw gives the bytes)\n{}",
            indented(&printable(&String::from_utf8_lossy(&payload.body)))
        ),
    };
    format!(
        "{heading} ({}, {} bytes{at})\n{shown}",
        printable(&payload.content_type),
        payload.body.len(),
    )
}

/// `text` laid out as XML, one element a line indented by depth (`soap::pretty`, which reads no
/// DTD and expands nothing), or `None` when it does not read as XML (it is then shown as it is).
fn laid_out(text: &str) -> Option<String> {
    let lines = pretty(text).ok()?;
    let mut out = String::new();
    for line in lines {
        out.push_str(&"  ".repeat(line.depth + 1));
        for (_, piece) in &line.pieces {
            out.push_str(&printable(piece));
        }
        out.push('\n');
    }
    Some(out)
}

/// Each line of `text` indented by two spaces, ending with a line end.
fn indented(text: &str) -> String {
    let mut out = String::new();
    for line in text.trim_end().lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `2026-05-04 10:11:12.345`.
fn precise(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]");
    at.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AttemptStatus;

    #[test]
    fn attempts_are_listed_with_their_errors_and_next_times() {
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(1_780_000_000 + s).unwrap();
        let list = [
            Attempt {
                number: 1,
                started: at(0),
                ended: Some(at(1)),
                status: AttemptStatus::Failed,
                error: Some(ErrorInfo {
                    text: "handler 'to-hr' failed: 503".to_owned(),
                    step: Some("to-hr".to_owned()),
                }),
                retry_at: Some(at(61)),
            },
            Attempt {
                number: 2,
                started: at(61),
                ended: None,
                status: AttemptStatus::Running,
                error: None,
                retry_at: None,
            },
        ];
        assert_eq!(
            attempts(&list),
            "\nAttempts\n    1  FAILED       2026-05-28 20:26:40.000 -> 2026-05-28 20:26:41.000 (1000 ms)\n       handler 'to-hr' failed: 503 (in handler 'to-hr')\n       next attempt 2026-05-28 20:27:41.000\n    2  RUNNING      2026-05-28 20:27:41.000 -> -\n"
        );
        assert_eq!(attempts(&[]), "");
    }

    #[test]
    fn bodies_are_laid_out_under_their_heading_and_escaped() {
        let xml = Payload {
            content_type: "text/xml".to_owned(),
            body: bytes::Bytes::from_static(b"<a x=\"1\"><b>\x1b[2J</b><c/></a>"),
        };
        assert_eq!(
            body("Request", "request", Some(&xml), &[]),
            "Request (text/xml, 28 bytes)\n  <a x=\"1\">\n    <b>\\u{1b}[2J</b>\n    <c/>\n  </a>\n"
        );
        let text = Payload {
            content_type: "text/plain".to_owned(),
            body: bytes::Bytes::from_static(b"not <xml\r\nat all\x07\r\n"),
        };
        assert_eq!(
            body("Answer", "response", Some(&text), &[]),
            "Answer (text/plain, 19 bytes)\n  not <xml\n  at all\\u{7}\n"
        );
        assert_eq!(
            body("Answer", "response", None, &[]),
            "Answer\n  (not stored)\n"
        );
    }
}
