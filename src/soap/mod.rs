//! The SOAP boundary: raw XML stops here.
//!
//! Everything that knows what an envelope looks like lives in this module:
//!
//! * [`parse_with`] turns request bytes into an [`ExternalEventRequest`] (the request tree:
//!   [`Meta`], [`EventRecord`], [`Pair`]) using quick-xml's namespace-aware reader, after
//!   decoding them from their encoding ([`charset`] reads the Content-Type's; [`parse`] is the
//!   same without a transport). Elements are matched on namespace URI and local name, never on a
//!   prefix, because every sender numbers its prefixes differently (`ns3:`, `ns0:`, a default
//!   namespace...). A [`ParseError`] names what is wrong and which SOAP fault code reports it.
//! * [`response`] writes the acknowledgement (`ExternalEventResponse`, its content an [`Ack`])
//!   and SOAP faults (with `Upgrade` or `NotUnderstood` where SOAP 1.2 defines them), in the
//!   SOAP version and event namespace of the request.
//! * [`wsdl`] serves the service description with the address the client used.
//! * [`answer`] reads an acknowledgement or fault, for `iflowd send`.
//!
//! The rest of the crate sees typed values only. `soap` depends on nothing of the crate above it:
//! [`crate::event`] types the request tree, and [`crate::message`] sits on both.

mod ack;
pub mod answer;
#[cfg(test)]
mod answer_tests;
mod checks;
mod cursor;
mod error;
#[cfg(test)]
mod fault_tests;
mod header;
#[cfg(test)]
mod namespace_tests;
mod parse;
pub mod pretty;
mod request;
pub mod response;
pub mod rewrite;
#[cfg(test)]
mod tests;
mod text;
#[cfg(test)]
mod wire_tests;
pub mod wsdl;

pub use ack::{Ack, iso_millis};
pub use error::{EncodingSource, ParseError, ParseFailure};
pub use parse::{MustUnderstand, ReadOptions, parse, parse_with};
pub use request::{EventRecord, ExternalEventRequest, Meta, Pair};
pub use text::charset;

/// SOAP envelope namespace of SOAP 1.1.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP envelope namespace of SOAP 1.2.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The current ("v2") SuccessFactors event namespace.
pub const EVENT_V2_NS: &str = "http://notification.event.successfactors.com";
/// The legacy ("v1") SuccessFactors event namespace: no `http://`, different field names.
pub const EVENT_V1_NS: &str = "com.successfactors.event.notification";
/// XML Schema instance namespace, for `xsi:nil`.
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The SOAP version of a request; the answer always uses the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SoapVersion {
    #[serde(rename = "1.1")]
    V11,
    #[serde(rename = "1.2")]
    V12,
}

impl SoapVersion {
    /// The version a `Content-Type` announces: `text/xml` and `application/xml` are SOAP 1.1,
    /// `application/soap+xml` is SOAP 1.2. Anything else is not SOAP (the caller answers 415).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case("text/xml") || mime.eq_ignore_ascii_case("application/xml") {
            Some(Self::V11)
        } else if mime.eq_ignore_ascii_case("application/soap+xml") {
            Some(Self::V12)
        } else {
            None
        }
    }

    /// The `Content-Type` of an answer in this version.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::V11 => "text/xml; charset=utf-8",
            Self::V12 => "application/soap+xml; charset=utf-8",
        }
    }

    pub fn envelope_ns(self) -> &'static str {
        match self {
            Self::V11 => SOAP11_NS,
            Self::V12 => SOAP12_NS,
        }
    }
}

/// Which SuccessFactors event namespace a request used; the acknowledgement is written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventNamespace {
    V2,
    V1,
}

impl EventNamespace {
    pub fn uri(self) -> &'static str {
        match self {
            Self::V2 => EVENT_V2_NS,
            Self::V1 => EVENT_V1_NS,
        }
    }
}
