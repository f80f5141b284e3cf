//! Why a body is not an `ExternalEvent` call, in words a sender can act on.

use std::fmt;

use super::response::FaultCode;
use super::{EVENT_V2_NS, SOAP11_NS, SOAP12_NS, SoapVersion};
use crate::excerpt::Excerpt;

/// Why a body is not an `ExternalEvent` call. Each variant reads as one sentence a sender can act
/// on; none of them repeats parser internals beyond a byte offset, nor more of the input than an
/// [`Excerpt`] (the fault and the log entry's error text would otherwise repeat it whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the request body is empty; expected a SOAP envelope")]
    Empty,
    /// The bytes are not text in the encoding they were read in.
    #[error("the request body is not valid {encoding} text ({origin})")]
    NotDecodable {
        encoding: &'static str,
        origin: EncodingSource,
    },
    /// An encoding that is not in the WHATWG Encoding Standard (UTF-32, EBCDIC...) or that
    /// cannot be read as XML.
    #[error(
        "the request's {place} names the encoding '{}', which iflowd does not read (it reads UTF-8, UTF-16 and the encodings of the WHATWG Encoding Standard, ISO-8859-1 and windows-1252 among them)",
        Excerpt(.name)
    )]
    UnsupportedEncoding { name: String, place: &'static str },
    #[error("the request is not well-formed XML (near byte {position}: {})", Excerpt(.detail))]
    Malformed { position: u64, detail: String },
    /// A character XML 1.0 does not allow, written as itself (a reference to one is a
    /// [`ParseError::BadCharacterReference`]).
    #[error(
        "the request contains the character U+{code:04X} near byte {position}, which XML 1.0 does not allow"
    )]
    ForbiddenCharacter { code: u32, position: u64 },
    #[error("the document ends before all of its elements are closed")]
    Truncated,
    #[error(
        "the request contains a document type declaration (<!DOCTYPE>); DTDs and entity declarations are not accepted"
    )]
    Dtd,
    #[error(
        "the request refers to the entity &{};, which is not defined (only the five XML entities and character references are accepted)",
        Excerpt(.0)
    )]
    UndefinedEntity(String),
    #[error("the request contains an invalid character reference &{};", Excerpt(.0))]
    BadCharacterReference(String),
    #[error("the request uses the namespace prefix '{}' without declaring it", Excerpt(.0))]
    UndeclaredPrefix(String),
    #[error("elements are nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// The root is an `Envelope` outside both SOAP namespaces: SOAP's `VersionMismatch`.
    #[error(
        "the Envelope is {}; expected SOAP 1.1 ({SOAP11_NS}) or SOAP 1.2 ({SOAP12_NS})",
        in_namespace(.0.as_deref())
    )]
    VersionMismatch(Option<String>),
    #[error("the root element is {}, expected a SOAP 1.1 or SOAP 1.2 Envelope", Excerpt(.0))]
    NotAnEnvelope(String),
    /// A header block for this node marked `mustUnderstand`: iflowd processes no header block.
    #[error(
        "the SOAP header {} is marked mustUnderstand, and iflowd does not process it (an endpoint with must_understand = \"ignore\" accepts it)",
        clark(.namespace.as_deref(), .local)
    )]
    MustUnderstand {
        namespace: Option<String>,
        local: String,
    },
    #[error("the SOAP Envelope has no Body")]
    NoBody,
    #[error("the SOAP Body is empty; expected an ExternalEvent element")]
    EmptyBody,
    #[error(
        "the SOAP Body holds {}, expected ExternalEvent in namespace {EVENT_V2_NS} (or the legacy com.successfactors.event.notification)",
        Excerpt(.0)
    )]
    NotExternalEvent(String),
    #[error("the request has content after the end of the SOAP Envelope")]
    TrailingContent,
}

impl ParseError {
    /// The SOAP fault that reports this error: `VersionMismatch` and `MustUnderstand` have codes
    /// of their own, which SOAP stacks act on; everything else is the sender's fault.
    pub fn fault_code(&self) -> FaultCode {
        match self {
            Self::VersionMismatch(_) => FaultCode::VersionMismatch,
            Self::MustUnderstand { .. } => FaultCode::MustUnderstand,
            _ => FaultCode::Client,
        }
    }
}

/// Where the encoding a body was read in came from (XML 1.0 Appendix F with RFC 7303's order:
/// byte order mark, then the Content-Type's `charset`, then the XML declaration, else UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodingSource {
    ByteOrderMark,
    /// The `charset` parameter; `declared` is a different encoding the XML declaration names.
    ContentType {
        declared: Option<String>,
    },
    Declaration,
    /// A body that starts with `<` as a UTF-16 code unit, without a byte order mark.
    Sniffed,
    Default,
}

impl fmt::Display for EncodingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ByteOrderMark => f.write_str("as its byte order mark says"),
            Self::ContentType { declared: None } => {
                f.write_str("as the charset of its Content-Type says")
            }
            Self::ContentType {
                declared: Some(declared),
            } => write!(
                f,
                "as the charset of its Content-Type says; its XML declaration says {declared}, but the charset comes first"
            ),
            Self::Declaration => f.write_str("as its XML declaration says"),
            Self::Sniffed => f.write_str("as its first bytes say"),
            Self::Default => f.write_str(
                "UTF-8 is assumed without a byte order mark, a Content-Type charset or an encoding declaration",
            ),
        }
    }
}

fn in_namespace(uri: Option<&str>) -> String {
    match uri {
        Some(uri) => format!("in namespace {}", Excerpt(uri)),
        None => "in no namespace".to_owned(),
    }
}

fn clark(namespace: Option<&str>, local: &str) -> String {
    match namespace {
        Some(uri) => format!("{{{}}}{}", Excerpt(uri), Excerpt(local)),
        None => Excerpt(local).to_string(),
    }
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
