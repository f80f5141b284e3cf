//! A small pull cursor over quick-xml's reader and namespace resolver.
//!
//! The parser above it only ever asks three things: "what is the next element (or the end of the
//! current one)?", "what is the text of this leaf?" and "skip this element, but give me its raw
//! XML". The cursor answers them while enforcing the rules that keep a hostile body harmless:
//!
//! * a `<!DOCTYPE>` anywhere is refused, so there is no DTD, no entity declaration and therefore
//!   no entity expansion (quick-xml never expands anything itself; we only resolve the five
//!   predefined entities and character references);
//! * nesting deeper than [`MAX_DEPTH`] is refused, also inside subtrees that are skipped;
//! * the number of namespace bindings in scope is bounded;
//! * every start tag's name and attributes are well-formed (see [`super::checks`]), also in
//!   skipped subtrees.
//!
//! Empty elements are expanded (`<a/>` reads as a start and an end) so callers have one shape to
//! handle.
//!
//! It is on every request's path, so it does as little as it can beyond the reader's own work
//! (`bench/parse.rs` compares the two): whitespace between tags is passed over by the reader
//! without an event, element names and single-piece leaf text are borrowed from the input rather
//! than copied, and a prefix resolved once is remembered for as long as no tag changes the
//! namespace bindings (see [`Memo`]). quick-xml's `NamespaceResolver` still decides every
//! namespace; the cursor drives it as quick-xml's `NsReader` does, opening a scope for a start
//! tag and closing it at its end, except that a tag without `xmlns` in its attributes (which
//! cannot declare a namespace) costs the resolver nothing: no scope is opened for it, and the
//! resolver's bindings stay what they were. The attributes of a tag that has any are read once,
//! for the well-formedness checks and the namespace declarations together.
//!
//! Why not `NsReader` itself: measured with callgrind on the benchmark envelope (parse and
//! recognition, `bench/parse_instructions.rs`), a cursor on `NsReader` took 90.9 k instructions
//! against this one's 73.5 k (+24 %; criterion agreed, about +25 %), and 80.9 k (+10 %) with the
//! memo kept, which keeps most of this code: `NsReader` opens and closes a scope for every tag
//! and resolves names that a memo would have. That cost is on every request, and the parse is
//! at the edge of its target already (`bench/README.md`).

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::attributes::Attributes;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, NamespaceResolver, ResolveResult};

mod memo;

use memo::Memo;

use super::checks::{check_attribute, check_name, resolve_reference};
use super::error::ParseError;
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

/// A start tag, kept by the caller while it reads on. The local name is borrowed from the input
/// (no allocation per element); only the URI of an unknown namespace is copied, for error
/// messages.
#[derive(Debug)]
pub(super) struct Element<'a> {
    pub ns: Ns,
    /// The namespace URI when it is none of the known ones, for error messages.
    pub other_uri: Option<String>,
    pub local: Cow<'a, str>,
    /// `xsi:nil="true"`: the element stands for an absent value.
    pub nil: bool,
    /// The tag's attributes as written (most often empty), for [`Cursor::attribute`].
    attributes: Cow<'a, str>,
}

impl Element<'_> {
    /// The namespace URI, `None` for no namespace.
    pub fn namespace(&self) -> Option<&str> {
        match self.ns {
            Ns::None => None,
            Ns::Soap11 => Some(SOAP11_NS),
            Ns::Soap12 => Some(SOAP12_NS),
            Ns::EventV2 => Some(EVENT_V2_NS),
            Ns::EventV1 => Some(EVENT_V1_NS),
            Ns::Other => Some(self.other_uri.as_deref().unwrap_or("")),
        }
    }

    /// `{uri}local`, the unambiguous way to name an element in an error message.
    pub fn clark_name(&self) -> String {
        match self.namespace() {
            None => self.local.clone().into_owned(),
            Some(uri) => format!("{{{uri}}}{}", self.local),
        }
    }
}

/// What [`Cursor::next`] found at the current level.
pub(super) enum Step<'a> {
    Start(Element<'a>),
    /// The end tag of the element whose children were being read.
    End,
    Eof,
}

pub(super) struct Cursor<'a> {
    reader: Reader<&'a [u8]>,
    /// The bindings in scope, each kept at the depth of the element that declared it. Its level
    /// is not the cursor's depth: it is set just before a declaring start tag is pushed and when
    /// a declaring element ends, and left alone in between.
    resolver: NamespaceResolver,
    input: &'a str,
    /// The input has a `\r` somewhere (one vectorised search, instead of one per leaf).
    has_cr: bool,
    depth: usize,
    /// Bit `d - 1` is set when the open element at depth `d` declares namespaces, so that
    /// closing it changes the bindings in scope.
    declares: u64,
    memo: Memo<'a>,
}

impl<'a> Cursor<'a> {
    pub fn new(input: &'a str) -> Self {
        let mut reader = Reader::from_str(input);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
        let mut resolver = NamespaceResolver::default();
        resolver.set_max_namespace_bindings(MAX_NAMESPACE_BINDINGS);
        Self {
            reader,
            resolver,
            input,
            has_cr: memchr::memchr(b'\r', input.as_bytes()).is_some(),
            depth: 0,
            declares: 0,
            memo: Memo::default(),
        }
    }

    /// Byte offset of the reader, for error messages.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// The next child element of the current element, or its end. Text between elements
    /// (indentation, or stray characters in mixed content), comments and processing instructions
    /// are passed over.
    pub fn next(&mut self) -> Result<Step<'a>, ParseError> {
        // Text between elements is not wanted: let the reader pass over whitespace without
        // making an event of it (half of an indented envelope's events). What is left of other
        // text is only ever checked for being empty.
        self.reader.config_mut().trim_text_start = true;
        loop {
            match self.read()? {
                Event::Start(start) => return Ok(Step::Start(self.element(&start)?)),
                Event::End(_) => return Ok(Step::End),
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
    /// are skipped. A leaf whose content is one piece of text without references (the usual
    /// case) is borrowed from the input, not copied.
    pub fn text(&mut self) -> Result<Cow<'a, str>, ParseError> {
        self.reader.config_mut().trim_text_start = false;
        let mut text = Cow::Borrowed("");
        loop {
            match self.read()? {
                // Line ends are normalised (XML 1.0: `\r\n` and `\r` read as `\n`) only in the
                // rare text that has a `\r`, looked for only when the input has one.
                Event::Text(t) if self.has_cr && t.as_bytes().contains(&b'\r') => {
                    append(&mut text, t.xml10_content());
                }
                Event::Text(t) => append(&mut text, t.into_inner()),
                Event::CData(c) => append(&mut text, c.into_inner()),
                Event::GeneralRef(reference) => text.to_mut().push(resolve_reference(&reference)?),
                Event::Start(_) => {
                    self.skip()?;
                    self.reader.config_mut().trim_text_start = false;
                }
                Event::End(_) => return Ok(text),
                Event::Eof => return self.eof().map(|()| text),
                _ => {}
            }
        }
    }

    /// Skips the element just entered and returns its content as raw XML text, exactly as it was
    /// sent (no namespace rewriting, no unescaping).
    pub fn skip(&mut self) -> Result<&'a str, ParseError> {
        // Whitespace before a tag may be passed over: the raw content is sliced from the input
        // by position, and every caller trims it.
        self.reader.config_mut().trim_text_start = true;
        let start = self.position();
        let target = self.depth - 1;
        loop {
            let before = self.position();
            match self.read()? {
                Event::End(_) if self.depth == target => return Ok(self.slice(start, before)),
                Event::Eof => return self.eof().map(|()| ""),
                Event::GeneralRef(reference) => {
                    resolve_reference(&reference)?;
                }
                _ => {}
            }
        }
    }

    /// Reads the rest of the document, checking it on the way, and ignores what it holds. Used
    /// after a structural error, so that a body that is not well-formed XML is reported as
    /// that rather than as the wrong element.
    pub fn finish(&mut self) -> Result<(), ParseError> {
        loop {
            match self.next()? {
                Step::Start(_) => {
                    self.skip()?;
                }
                Step::End => {}
                Step::Eof => return Ok(()),
            }
        }
    }

    /// The value of `element`'s attribute `{namespace}local`. Only for the element [`Cursor::next`]
    /// returned last: its prefixes are resolved with the bindings in scope now.
    pub fn attribute(&self, element: &Element<'_>, namespace: &str, local: &str) -> Option<String> {
        Attributes::new(&element.attributes, 0)
            .flatten()
            .find(|attribute| {
                let (ns, name) = self.resolver.resolve_attribute(attribute.key);
                name.into_inner() == local
                    && matches!(ns, ResolveResult::Bound(Namespace(uri)) if uri == namespace)
            })
            .map(|attribute| attribute.value.trim().to_owned())
    }

    /// Reads one event and keeps the depth (bounded), the bindings in scope and the namespace
    /// memo up to date. Namespaces are resolved by [`Cursor::element`], for the start tags the
    /// parser looks at only: resolving every end tag and every skipped tag too was about a fifth
    /// of the time of a parse (`bench/parse.rs`).
    // Inlined into its three callers: it runs for every event, and as a call its prologue,
    // epilogue and the move of its result were about 3 % of a parse (callgrind, bench/parse.rs).
    #[inline(always)]
    fn read(&mut self) -> Result<Event<'a>, ParseError> {
        let position = self.position();
        match self.reader.read_event() {
            Ok(Event::Start(start)) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(ParseError::TooDeep { limit: MAX_DEPTH });
                }
                self.start_tag(&start, position)?;
                Ok(Event::Start(start))
            }
            Ok(Event::End(end)) => {
                // quick-xml refuses an end tag without a start (`check_end_names`), so the depth
                // is at least 1 here. Closing an element that declared namespaces drops its
                // bindings.
                if let Some(depth) = self.depth.checked_sub(1) {
                    if self.declares & (1u64 << depth) != 0 {
                        self.memo.clear();
                        self.resolver.set_level(level(depth));
                    }
                    self.depth = depth;
                }
                Ok(Event::End(end))
            }
            Ok(Event::DocType(_)) => Err(ParseError::Dtd),
            Ok(event) => Ok(event),
            Err(err) => Err(ParseError::Malformed {
                position: self.reader.error_position().max(position),
                detail: err.to_string(),
            }),
        }
    }

    /// Checks a start tag's name and attributes (see [`super::checks`]) and opens the scope of
    /// the namespaces it declares, in one pass over its attributes.
    #[inline(always)]
    fn start_tag(&mut self, start: &BytesStart<'_>, position: u64) -> Result<(), ParseError> {
        check_name(start.name().into_inner(), position)?;
        let attributes = start.attributes_raw();
        let bit = 1u64 << (self.depth - 1);
        // `xmlns` anywhere in the attributes (a declaration, or by chance a value): the bindings
        // in scope may change. The resolver drops what is deeper than the parent and takes this
        // element's depth as its level, so the bindings added below end with this element.
        let declares = mentions(attributes, "xmlns");
        if declares {
            self.declares |= bit;
            self.memo.clear();
            self.resolver.set_level(level(self.depth - 1));
            self.resolver.set_level(level(self.depth));
        } else {
            self.declares &= !bit;
        }
        // Most tags have no attributes at all.
        if attributes.bytes().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        for attribute in start.attributes() {
            let attribute = check_attribute(attribute, position)?;
            if declares && let Some(prefix) = attribute.key.as_namespace_binding() {
                self.resolver
                    .add(prefix, Namespace(&attribute.value))
                    .map_err(|err| ParseError::Malformed {
                        position,
                        detail: quick_xml::Error::from(err).to_string(),
                    })?;
            }
        }
        Ok(())
    }

    /// The start tag just read, with its namespace resolved (by the cursor's resolver, or from
    /// the memo when the same prefix was resolved under the same bindings) and its local name
    /// borrowed from the input.
    fn element(&mut self, start: &BytesStart<'a>) -> Result<Element<'a>, ParseError> {
        let name = start.name().into_inner();
        // `prefix:local`, split at the first colon as quick-xml's `QName::decompose` does, but
        // without its `memchr` call for names a dozen bytes long.
        let (prefix, local) = match name.bytes().position(|b| b == b':') {
            Some(colon) => (Some(&name[..colon]), &name[colon + 1..]),
            None => (None, name),
        };
        // The memo's key: the prefix as a slice of the input (`None`: no prefix).
        let key = match prefix {
            None => Some(None),
            Some(prefix) => self.borrowed(prefix).map(Some),
        };
        let (ns, other_uri) = match key.and_then(|key| self.memo.get(key)) {
            Some(ns) => (ns, None),
            None => {
                let prefix = start.name().prefix();
                let (ns, other_uri) = match self.resolver.resolve_prefix(prefix, true) {
                    ResolveResult::Unbound => (Ns::None, None),
                    ResolveResult::Bound(Namespace(uri)) => match Ns::classify(uri) {
                        Ns::Other => (Ns::Other, Some(uri.to_owned())),
                        known => (known, None),
                    },
                    ResolveResult::Unknown(prefix) => {
                        return Err(ParseError::UndeclaredPrefix(prefix));
                    }
                };
                if let (Some(key), None) = (key, &other_uri) {
                    self.memo.insert(key, ns);
                }
                (ns, other_uri)
            }
        };
        Ok(Element {
            ns,
            other_uri,
            local: self.borrow(local),
            nil: self.is_nil(start),
            attributes: self.borrow(start.attributes_raw()),
        })
    }

    fn is_nil(&self, start: &BytesStart<'_>) -> bool {
        // Most tags have no attributes, and the few that do are namespace declarations: look at
        // them one by one only when `nil` appears at all.
        if !mentions(start.attributes_raw(), "nil") {
            return false;
        }
        start.attributes().flatten().any(|attr| {
            let (ns, local) = self.resolver.resolve_attribute(attr.key);
            local.as_ref() == "nil"
                && matches!(ns, ResolveResult::Bound(Namespace(uri)) if uri == XSI_NS)
                && matches!(attr.value.as_ref(), "true" | "1")
        })
    }

    fn eof(&self) -> Result<(), ParseError> {
        if self.depth == 0 {
            Ok(())
        } else {
            Err(ParseError::Truncated)
        }
    }

    /// `part` (a name the reader handed out) as a slice of the input, so it can outlive the
    /// event. The slice reader's events always borrow from the input; should one ever not, the
    /// name is copied.
    fn borrow(&self, part: &str) -> Cow<'a, str> {
        match self.borrowed(part) {
            Some(within) => Cow::Borrowed(within),
            None => Cow::Owned(part.to_owned()),
        }
    }

    /// `part` as a slice of the input, when it is one.
    fn borrowed(&self, part: &str) -> Option<&'a str> {
        let offset = (part.as_ptr() as usize).wrapping_sub(self.input.as_ptr() as usize);
        self.input
            .get(offset..offset.wrapping_add(part.len()))
            .filter(|within| std::ptr::eq(within.as_ptr(), part.as_ptr()))
    }

    fn slice(&self, start: u64, end: u64) -> &'a str {
        let range = usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0);
        self.input.get(range).unwrap_or("")
    }
}

/// A depth as the resolver's level; depths are bounded by [`MAX_DEPTH`].
fn level(depth: usize) -> u16 {
    u16::try_from(depth).unwrap_or(u16::MAX)
}

/// Whether `attributes` (a start tag's raw attributes) contain `word`: most tags have none.
fn mentions(attributes: &str, word: &str) -> bool {
    attributes.len() >= word.len() && attributes.contains(word)
}

/// Appends `more` to `text`, borrowing when `text` is still empty.
fn append<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if text.is_empty() {
        *text = more;
    } else {
        text.to_mut().push_str(&more);
    }
}
