//! From request bytes to an [`ExternalEventRequest`].
//!
//! The walk follows the element tree of the contract (see
//! `../shared/reference/successfactors-events.md`):
//!
//! ```text
//! Envelope (SOAP 1.1 or 1.2)
//!   Header?                      skipped (WS-Security, WS-Addressing...), but a block marked
//!                                mustUnderstand is a MustUnderstand fault unless the endpoint ignores it
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

use serde::Deserialize;

use super::checks::check_characters;
use super::cursor::{Cursor, Element, Ns, Step};
use super::error::{ParseError, ParseFailure};
use super::header::check_header;
use super::request::{EventRecord, ExternalEventRequest, Meta, Pair};
use super::text::decode;
use super::{EventNamespace, SoapVersion};

/// What to do with a header block for iflowd marked `mustUnderstand`. iflowd processes no header
/// block, so SOAP says to refuse the call with a `MustUnderstand` fault; some senders set the
/// flag on headers they do not need understood (WS-Addressing's `Action`, a WS-Security token
/// the transport already checked), and an endpoint may choose to ignore it instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MustUnderstand {
    /// SOAP's rule: a `MustUnderstand` fault.
    #[default]
    Fault,
    /// Treat the header block like any other: skipped.
    Ignore,
}

/// How to read one request: what its transport says and what its endpoint accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// The `charset` parameter of the request's Content-Type ([`super::charset`] finds it).
    pub charset: Option<&'a str>,
    pub must_understand: MustUnderstand,
}

/// Parses a SOAP request carrying an `ExternalEvent`, with no word from a transport (a file,
/// `iflowd parse`): the encoding comes from the body, and `mustUnderstand` is SOAP's rule.
pub fn parse(body: &[u8]) -> Result<ExternalEventRequest, ParseFailure> {
    parse_with(body, ReadOptions::default())
}

/// Parses a SOAP request carrying an `ExternalEvent`.
///
/// The body is decoded to UTF-8 first (see `soap/text.rs`) and refused if it has a character
/// XML 1.0 does not allow. A structural error (the wrong root or Body content, a missing Body, a
/// header that must be understood) is reported only once the rest of the document has been read
/// and found well-formed: a body that is not XML is reported as such.
pub fn parse_with(
    body: &[u8],
    options: ReadOptions<'_>,
) -> Result<ExternalEventRequest, ParseFailure> {
    let fail = |error| ParseFailure {
        version: None,
        error,
    };
    let text = decode(body, options.charset).map_err(fail)?;
    if text.trim().is_empty() {
        return Err(fail(ParseError::Empty));
    }
    check_characters(&text).map_err(fail)?;
    let mut cursor = Cursor::new(&text);
    let root = match cursor.next().map_err(fail)? {
        Step::Start(element) => element,
        Step::End | Step::Eof => return Err(fail(ParseError::Empty)),
    };
    let version = match (root.ns, &*root.local) {
        (Ns::Soap11, "Envelope") => SoapVersion::V11,
        (Ns::Soap12, "Envelope") => SoapVersion::V12,
        (_, "Envelope") => {
            let error = ParseError::VersionMismatch(root.namespace().map(str::to_owned));
            return Err(fail(structural(&mut cursor, error)));
        }
        _ => {
            let error = ParseError::NotAnEnvelope(root.clark_name());
            return Err(fail(structural(&mut cursor, error)));
        }
    };
    parse_envelope(&mut cursor, version, options.must_understand).map_err(|error| ParseFailure {
        version: Some(version),
        error: structural(&mut cursor, error),
    })
}

/// `error` when it is about the document's structure and the rest of the document is
/// well-formed; the first well-formedness error otherwise.
fn structural(c: &mut Cursor<'_>, error: ParseError) -> ParseError {
    let is_structural = matches!(
        error,
        ParseError::VersionMismatch(_)
            | ParseError::NotAnEnvelope(_)
            | ParseError::MustUnderstand { .. }
            | ParseError::NoBody
            | ParseError::EmptyBody
            | ParseError::NotExternalEvent(_)
            | ParseError::TrailingContent
    );
    match is_structural.then(|| c.finish()) {
        Some(Err(malformed)) => malformed,
        _ => error,
    }
}

fn parse_envelope(
    c: &mut Cursor<'_>,
    version: SoapVersion,
    must_understand: MustUnderstand,
) -> Result<ExternalEventRequest, ParseError> {
    let soap_ns = match version {
        SoapVersion::V11 => Ns::Soap11,
        SoapVersion::V12 => Ns::Soap12,
    };
    let mut request = None;
    while let Step::Start(element) = c.next()? {
        let soap = element.ns == soap_ns && request.is_none();
        if soap && element.local == "Body" {
            request = Some(parse_body(c, version)?);
        } else if soap && element.local == "Header" && must_understand == MustUnderstand::Fault {
            check_header(c, version)?;
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
