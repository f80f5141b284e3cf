//! A small pull cursor over quick-xml's namespace-aware reader.
//!
//! The parser above it only ever asks three things: "what is the next element (or the end of the
//! current one)?", "what is the text of this leaf?" and "skip this element, but give me its raw
//! XML". The cursor answers them while enforcing the rules that keep a hostile body harmless:
//!
//! * a `<!DOCTYPE>` anywhere is refused, so there is no DTD, no entity declaration and therefore
//!   no entity expansion (quick-xml never expands anything itself; we only resolve the five
//!   predefined entities and character references);
//! * nesting deeper than [`MAX_DEPTH`] is refused, also inside subtrees that are skipped;
//! * the number of namespace bindings in scope is bounded.
//!
//! Empty elements are expanded (`<a/>` reads as a start and an end) so callers have one shape to
//! handle.

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};

use super::parse::ParseError;
use super::{EVENT_V1_NS, EVENT_V2_NS, SOAP11_NS, SOAP12_NS, XSI_NS};

/// Deepest element nesting accepted. A real envelope is about eight levels deep; the margin leaves
/// room for WS-Security headers and free-form `eventPayload` content.
pub(super) const MAX_DEPTH: usize = 64;
const MAX_NAMESPACE_BINDINGS: usize = 256;

/// The namespaces the parser cares about; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
    /// No namespace (unprefixed, no default namespace in scope).
    None,
    Soap11,
    Soap12,
    EventV2,
    EventV1,
    Other,
}

impl Ns {
    fn classify(uri: &str) -> Self {
        match uri {
            SOAP11_NS => Self::Soap11,
            SOAP12_NS => Self::Soap12,
            EVENT_V2_NS => Self::EventV2,
            EVENT_V1_NS => Self::EventV1,
            _ => Self::Other,
        }
    }
}

/// A start tag, copied out of the reader so the caller can keep it while reading on.
#[derive(Debug)]
pub(super) struct Element {
    pub ns: Ns,
    /// The namespace URI when it is none of the known ones, for error messages.
    pub other_uri: Option<String>,
    pub local: String,
    /// `xsi:nil="true"`: the element stands for an absent value.
    pub nil: bool,
}

impl Element {
    /// `{uri}local`, the unambiguous way to name an element in an error message.
    pub fn clark_name(&self) -> String {
        let uri = match self.ns {
            Ns::None => return self.local.clone(),
            Ns::Soap11 => SOAP11_NS,
            Ns::Soap12 => SOAP12_NS,
            Ns::EventV2 => EVENT_V2_NS,
            Ns::EventV1 => EVENT_V1_NS,
            Ns::Other => self.other_uri.as_deref().unwrap_or(""),
        };
        format!("{{{uri}}}{}", self.local)
    }
}

/// What [`Cursor::next`] found at the current level.
pub(super) enum Step {
    Start(Element),
    /// The end tag of the element whose children were being read.
    End,
    Eof,
}

pub(super) struct Cursor<'a> {
    reader: NsReader<&'a [u8]>,
    input: &'a str,
    depth: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(input: &'a str) -> Self {
        let mut reader = NsReader::from_str(input);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
        reader
            .resolver_mut()
            .set_max_namespace_bindings(MAX_NAMESPACE_BINDINGS);
        Self {
            reader,
            input,
            depth: 0,
        }
    }

    /// Byte offset of the reader, for error messages.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// The next child element of the current element, or its end. Text between elements
    /// (indentation, or stray characters in mixed content), comments and processing instructions
    /// are passed over.
    pub fn next(&mut self) -> Result<Step, ParseError> {
        loop {
            match self.read()? {
                Event::Start(start) => {
                    let element = self.element(&start)?;
                    self.enter()?;
                    return Ok(Step::Start(element));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Step::End);
                }
                Event::Eof => return self.eof().map(|()| Step::Eof),
                Event::GeneralRef(reference) => {
                    resolve_reference(&reference)?;
                }
                Event::Text(text) if self.depth == 0 && !text.trim().is_empty() => {
                    return Err(ParseError::Malformed {
                        position: self.position(),
                        detail: "text outside the root element".into(),
                    });
                }
                _ => {}
            }
        }
    }

    /// The text content of the element just entered, up to and including its end tag. Text,
    /// CDATA sections and references are concatenated; child elements (not expected in a leaf)
    /// are skipped.
    pub fn text(&mut self) -> Result<String, ParseError> {
        let mut text = String::new();
        loop {
            match self.read()? {
                Event::Text(t) => text.push_str(&t.xml10_content()),
                Event::CData(c) => text.push_str(&c.into_inner()),
                Event::GeneralRef(reference) => text.push(resolve_reference(&reference)?),
                Event::Start(_) => {
                    self.enter()?;
                    self.skip()?;
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(text);
                }
                Event::Eof => return self.eof().map(|()| text),
                _ => {}
            }
        }
    }

    /// Skips the element just entered and returns its content as raw XML text, exactly as it was
    /// sent (no namespace rewriting, no unescaping).
    pub fn skip(&mut self) -> Result<&'a str, ParseError> {
        let start = self.position();
        let target = self.depth - 1;
        loop {
            let before = self.position();
            match self.read()? {
                Event::Start(_) => self.enter()?,
                Event::End(_) => {
                    self.depth -= 1;
                    if self.depth == target {
                        return Ok(self.slice(start, before));
                    }
                }
                Event::Eof => return self.eof().map(|()| ""),
                Event::GeneralRef(reference) => {
                    resolve_reference(&reference)?;
                }
                _ => {}
            }
        }
    }

    /// Reads one event. Namespaces are resolved by [`Cursor::element`], for the start tags the
    /// parser looks at only: resolving every end tag and every skipped tag too was about a fifth
    /// of the time of a parse (`bench/parse.rs`).
    fn read(&mut self) -> Result<Event<'a>, ParseError> {
        let position = self.position();
        match self.reader.read_event() {
            Ok(Event::DocType(_)) => Err(ParseError::Dtd),
            Ok(event) => Ok(event),
            Err(err) => Err(ParseError::Malformed {
                position: self.reader.error_position().max(position),
                detail: err.to_string(),
            }),
        }
    }

    /// The start tag just read, with its namespace resolved and its name copied out.
    fn element(&self, start: &BytesStart<'_>) -> Result<Element, ParseError> {
        let (resolved, local) = self.reader.resolver().resolve_element(start.name());
        let (ns, other_uri) = match resolved {
            ResolveResult::Unbound => (Ns::None, None),
            ResolveResult::Bound(Namespace(uri)) => match Ns::classify(uri) {
                Ns::Other => (Ns::Other, Some(uri.to_owned())),
                known => (known, None),
            },
            ResolveResult::Unknown(prefix) => return Err(ParseError::UndeclaredPrefix(prefix)),
        };
        Ok(Element {
            ns,
            other_uri,
            local: local.as_ref().to_owned(),
            nil: self.is_nil(start),
        })
    }

    fn is_nil(&self, start: &BytesStart<'_>) -> bool {
        // Most tags have no attributes, and the few that do are namespace declarations: look at
        // them one by one only when `nil` appears at all.
        if !start.attributes_raw().contains("nil") {
            return false;
        }
        start.attributes().flatten().any(|attr| {
            let (ns, local) = self.reader.resolver().resolve_attribute(attr.key);
            local.as_ref() == "nil"
                && matches!(ns, ResolveResult::Bound(Namespace(uri)) if uri == XSI_NS)
                && matches!(attr.value.as_ref(), "true" | "1")
        })
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::TooDeep { limit: MAX_DEPTH });
        }
        Ok(())
    }

    fn eof(&self) -> Result<(), ParseError> {
        if self.depth == 0 {
            Ok(())
        } else {
            Err(ParseError::Truncated)
        }
    }

    fn slice(&self, start: u64, end: u64) -> &'a str {
        let range = usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0);
        self.input.get(range).unwrap_or("")
    }
}

/// The five predefined entities and character references. Anything else could only have been
/// declared in a DTD, which is refused, so it is an error rather than something to expand.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, ParseError> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err(ParseError::BadCharacterReference(reference.to_string())),
        };
    }
    match &**reference {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(ParseError::UndefinedEntity(
            Cow::<str>::Borrowed(other).into_owned(),
        )),
    }
}
