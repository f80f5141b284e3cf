//! From request bytes to an [`ExternalEventRequest`].
//!
//! The walk follows the element tree of the contract (see
//! `../shared/reference/successfactors-events.md`):
//!
//! ```text
//! Envelope (SOAP 1.1 or 1.2)
//!   Header?                      skipped: WS-Security, WS-Addressing... never fail on them
//!   Body
//!     ExternalEvent              v2 or legacy v1 namespace; decides the answer's namespace
//!       externalEventMeta?       leaves: externalEventId, type, publishedAt, ...
//!       events?
//!         event*                 leaves, entityKeys/entityKey*, params/param*, eventPayload
//! ```
//!
//! Rules, in the order a reader of a payload would want them:
//!
//! * The envelope, `Body` and `ExternalEvent` are recognised by namespace URI. Below
//!   `ExternalEvent`, an element counts as ours when it is in the request's event namespace
//!   *or* in no namespace at all: captured payloads leave `name`/`value` unqualified, and generic
//!   clients sometimes leave more unqualified.
//! * Unknown elements never fail a request. Unknown leaves of the meta block or of an event are
//!   kept (local name and raw content) in `extra`; unknown elements elsewhere are skipped.
//! * Leaf values are trimmed; `xsi:nil="true"` reads as absent.
//! * `eventPayload` is kept as its raw inner XML, exactly as sent.

use std::fmt;

use super::cursor::{Cursor, Element, Ns, Step};
use super::request::{EventRecord, ExternalEventRequest, Meta, Pair};
use super::{EVENT_V2_NS, EventNamespace, SoapVersion};

/// Why a body is not an `ExternalEvent` call. Each variant reads as one sentence a sender can act
/// on; none of them repeats parser internals beyond a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the request body is empty; expected a SOAP envelope")]
    Empty,
    #[error("the request body is not valid UTF-8 text")]
    NotUtf8,
    #[error("the request is not well-formed XML (near byte {position}: {detail})")]
    Malformed { position: u64, detail: String },
    #[error("the document ends before all of its elements are closed")]
    Truncated,
    #[error(
        "the request contains a document type declaration (<!DOCTYPE>); DTDs and entity declarations are not accepted"
    )]
    Dtd,
    #[error(
        "the request refers to the entity &{0};, which is not defined (only the five XML entities and character references are accepted)"
    )]
    UndefinedEntity(String),
    #[error("the request contains an invalid character reference &{0};")]
    BadCharacterReference(String),
    #[error("the request uses the namespace prefix '{0}' without declaring it")]
    UndeclaredPrefix(String),
    #[error("elements are nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("the root element is {0}, expected a SOAP 1.1 or SOAP 1.2 Envelope")]
    NotAnEnvelope(String),
    #[error("the SOAP Envelope has no Body")]
    NoBody,
    #[error("the SOAP Body is empty; expected an ExternalEvent element")]
    EmptyBody,
    #[error(
        "the SOAP Body holds {0}, expected ExternalEvent in namespace {EVENT_V2_NS} (or the legacy com.successfactors.event.notification)"
    )]
    NotExternalEvent(String),
    #[error("the request has content after the end of the SOAP Envelope")]
    TrailingContent,
}

/// A parse error together with the SOAP version to answer it in, when the envelope got far
/// enough to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    pub version: Option<SoapVersion>,
    pub error: ParseError,
}

impl fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

/// Parses a SOAP request carrying an `ExternalEvent`.
pub fn parse(body: &[u8]) -> Result<ExternalEventRequest, ParseFailure> {
    let fail = |error| ParseFailure {
        version: None,
        error,
    };
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|_| fail(ParseError::NotUtf8))?;
    if text.trim().is_empty() {
        return Err(fail(ParseError::Empty));
    }
    let mut cursor = Cursor::new(text);
    let root = match cursor.next().map_err(fail)? {
        Step::Start(element) => element,
        Step::End | Step::Eof => return Err(fail(ParseError::Empty)),
    };
    let version = match (root.ns, &*root.local) {
        (Ns::Soap11, "Envelope") => SoapVersion::V11,
        (Ns::Soap12, "Envelope") => SoapVersion::V12,
        _ => return Err(fail(ParseError::NotAnEnvelope(root.clark_name()))),
    };
    parse_envelope(&mut cursor, version).map_err(|error| ParseFailure {
        version: Some(version),
        error,
    })
}

fn parse_envelope(
    c: &mut Cursor<'_>,
    version: SoapVersion,
) -> Result<ExternalEventRequest, ParseError> {
    let soap_ns = match version {
        SoapVersion::V11 => Ns::Soap11,
        SoapVersion::V12 => Ns::Soap12,
    };
    let mut request = None;
    while let Step::Start(element) = c.next()? {
        if element.ns == soap_ns && element.local == "Body" && request.is_none() {
            request = Some(parse_body(c, version)?);
        } else {
            c.skip()?;
        }
    }
    // The Envelope is closed; only comments and whitespace may follow.
    match c.next()? {
        Step::Eof => request.ok_or(ParseError::NoBody),
        Step::Start(_) | Step::End => Err(ParseError::TrailingContent),
    }
}

fn parse_body(
    c: &mut Cursor<'_>,
    version: SoapVersion,
) -> Result<ExternalEventRequest, ParseError> {
    let first = match c.next()? {
        Step::Start(element) => element,
        Step::End | Step::Eof => return Err(ParseError::EmptyBody),
    };
    let namespace = match (first.ns, &*first.local) {
        (Ns::EventV2, "ExternalEvent") => EventNamespace::V2,
        (Ns::EventV1, "ExternalEvent") => EventNamespace::V1,
        _ => return Err(ParseError::NotExternalEvent(first.clark_name())),
    };
    let mut request = ExternalEventRequest {
        version,
        namespace,
        meta: Meta::default(),
        events: Vec::new(),
    };
    let ours = Scope::of(namespace);
    while let Step::Start(element) = c.next()? {
        match ours.local(&element) {
            Some("externalEventMeta") => request.meta = parse_meta(c, ours)?,
            Some("events") => parse_events(c, ours, &mut request.events)?,
            _ => {
                c.skip()?;
            }
        }
    }
    // Anything after ExternalEvent inside the Body is ignored, like unknown SOAP headers.
    while let Step::Start(_) = c.next()? {
        c.skip()?;
    }
    Ok(request)
}

fn parse_meta(c: &mut Cursor<'_>, ours: Scope) -> Result<Meta, ParseError> {
    let mut meta = Meta::default();
    while let Step::Start(element) = c.next()? {
        let slot = match ours.local(&element) {
            Some("externalEventId") => &mut meta.external_event_id,
            Some("type") => &mut meta.event_type,
            Some("publishedAt") => &mut meta.published_at,
            Some("publishedBy") => &mut meta.published_by,
            Some("effective") => &mut meta.effective,
            Some("repost") => {
                let value = leaf(c, &element)?;
                meta.repost = keep_boolean(value, "repost", &mut meta.extra);
                continue;
            }
            _ => {
                meta.extra.push(extra(c, element)?);
                continue;
            }
        };
        *slot = leaf(c, &element)?;
    }
    Ok(meta)
}

fn parse_events(
    c: &mut Cursor<'_>,
    ours: Scope,
    events: &mut Vec<EventRecord>,
) -> Result<(), ParseError> {
    while let Step::Start(element) = c.next()? {
        if ours.local(&element) == Some("event") {
            events.push(parse_event(c, ours)?);
        } else {
            c.skip()?;
        }
    }
    Ok(())
}

fn parse_event(c: &mut Cursor<'_>, ours: Scope) -> Result<EventRecord, ParseError> {
    let mut event = EventRecord::default();
    while let Step::Start(element) = c.next()? {
        let slot = match ours.local(&element) {
            Some("eventId") => &mut event.event_id,
            // v2 says entityType, v1 says entity.
            Some("entityType" | "entity") => &mut event.entity_type,
            // Only v1 carries a type per event; v2 has it in the meta block.
            Some("type") => &mut event.event_type,
            Some("effectiveStartDate") => &mut event.effective_start_date,
            Some("publishedAt") => &mut event.published_at,
            Some("publishedBy") => &mut event.published_by,
            Some("repost") => {
                let value = leaf(c, &element)?;
                event.repost = keep_boolean(value, "repost", &mut event.extra);
                continue;
            }
            Some("entityKeys") => {
                parse_pairs(c, ours, "entityKey", &mut event.entity_keys)?;
                continue;
            }
            Some("params") => {
                parse_pairs(c, ours, "param", &mut event.params)?;
                continue;
            }
            Some("eventPayload") => {
                let raw = c.skip()?.trim();
                event.payload = (!element.nil && !raw.is_empty()).then(|| raw.to_owned());
                continue;
            }
            _ => {
                event.extra.push(extra(c, element)?);
                continue;
            }
        };
        *slot = leaf(c, &element)?;
    }
    Ok(event)
}

/// `entityKeys/entityKey*` and `params/param*`, each item a `name`/`value` pair.
fn parse_pairs(
    c: &mut Cursor<'_>,
    ours: Scope,
    item: &str,
    pairs: &mut Vec<Pair>,
) -> Result<(), ParseError> {
    while let Step::Start(element) = c.next()? {
        if ours.local(&element) != Some(item) {
            c.skip()?;
            continue;
        }
        let mut pair = Pair::default();
        while let Step::Start(part) = c.next()? {
            match ours.local(&part) {
                Some("name") => pair.name = leaf(c, &part)?.unwrap_or_default(),
                Some("value") => pair.value = leaf(c, &part)?,
                _ => {
                    c.skip()?;
                }
            }
        }
        pairs.push(pair);
    }
    Ok(())
}

/// The trimmed text of a leaf; `None` when it is empty or `xsi:nil`. The one copy a kept value
/// needs is made here.
fn leaf(c: &mut Cursor<'_>, element: &Element<'_>) -> Result<Option<String>, ParseError> {
    let text = c.text()?;
    if element.nil {
        return Ok(None);
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        Ok(None)
    } else if trimmed.len() == text.len() {
        Ok(Some(text.into_owned()))
    } else {
        Ok(Some(trimmed.to_owned()))
    }
}

/// An element the contract does not name, kept as its local name and raw content.
fn extra(c: &mut Cursor<'_>, element: Element<'_>) -> Result<Pair, ParseError> {
    let raw = c.skip()?.trim();
    Ok(Pair {
        name: element.local.into_owned(),
        value: (!element.nil).then(|| raw.to_owned()),
    })
}

/// `xs:boolean`. A value that is not one is kept in `extra` rather than failing the request.
fn keep_boolean(value: Option<String>, name: &str, extra: &mut Vec<Pair>) -> Option<bool> {
    match value.as_deref() {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(_) => {
            extra.push(Pair {
                name: name.to_owned(),
                value,
            });
            None
        }
    }
}

/// Which elements below `ExternalEvent` count as ours: the request's event namespace, or none.
#[derive(Clone, Copy)]
struct Scope(Ns);

impl Scope {
    fn of(namespace: EventNamespace) -> Self {
        Self(match namespace {
            EventNamespace::V2 => Ns::EventV2,
            EventNamespace::V1 => Ns::EventV1,
        })
    }

    fn local<'e>(&self, element: &'e Element<'_>) -> Option<&'e str> {
        (element.ns == self.0 || element.ns == Ns::None).then_some(&*element.local)
    }
}
