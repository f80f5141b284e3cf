//! Writing answers: the acknowledgement and SOAP faults.
//!
//! Answers are small and fixed in shape, so they are written straight into a `String` with every
//! value escaped, rather than through a generic XML writer.

use quick_xml::escape::escape;

use super::ack::{Ack, iso_millis};
use super::error::ParseError;
use super::{EventNamespace, SOAP11_NS, SOAP12_NS, SoapVersion};
use crate::excerpt::SHOWN;

/// Who is to blame, in the words of each SOAP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// The request is wrong: SOAP 1.1 `Client`, SOAP 1.2 `Sender`.
    Client,
    /// Processing failed: SOAP 1.1 `Server`, SOAP 1.2 `Receiver`.
    Server,
    /// The root is an `Envelope` of no SOAP version iflowd speaks.
    VersionMismatch,
    /// A header block marked `mustUnderstand` that iflowd does not process.
    MustUnderstand,
}

impl FaultCode {
    fn local_name(self, version: SoapVersion) -> &'static str {
        match (self, version) {
            (Self::Client, SoapVersion::V11) => "Client",
            (Self::Server, SoapVersion::V11) => "Server",
            (Self::Client, SoapVersion::V12) => "Sender",
            (Self::Server, SoapVersion::V12) => "Receiver",
            (Self::VersionMismatch, _) => "VersionMismatch",
            (Self::MustUnderstand, _) => "MustUnderstand",
        }
    }

    /// The HTTP status that carries the fault: SOAP 1.1 sends every fault with 500; SOAP 1.2
    /// sends `Sender` faults with 400 and the others (`VersionMismatch` and `MustUnderstand`
    /// among them) with 500 (SOAP 1.2 Part 2, table 20).
    pub fn http_status(self, version: SoapVersion) -> u16 {
        match (self, version) {
            (Self::Client, SoapVersion::V12) => 400,
            _ => 500,
        }
    }
}

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// `ExternalEventResponse/responsePayload`, in the request's SOAP version and event namespace.
/// Elements follow the schema's order: entityId, errorCode, errorMessage, status, statusDate,
/// statusDetails; absent ones are left out.
pub fn acknowledgement(version: SoapVersion, namespace: EventNamespace, ack: &Ack) -> String {
    let mut out = String::with_capacity(512);
    open_envelope(&mut out, version);
    out.push_str("<ns:ExternalEventResponse xmlns:ns=\"");
    out.push_str(namespace.uri());
    out.push_str("\"><ns:responsePayload>");
    leaf(&mut out, "entityId", ack.entity_id.as_deref());
    leaf(&mut out, "errorCode", ack.error_code.as_deref());
    leaf(&mut out, "errorMessage", ack.error_message.as_deref());
    leaf(&mut out, "status", Some(&ack.status.to_string()));
    leaf(&mut out, "statusDate", Some(&iso_millis(ack.status_date)));
    leaf(&mut out, "statusDetails", ack.status_details.as_deref());
    out.push_str("</ns:responsePayload></ns:ExternalEventResponse>");
    close_envelope(&mut out);
    out
}

/// A SOAP fault with one human sentence as its reason.
pub fn fault(version: SoapVersion, code: FaultCode, reason: &str) -> String {
    fault_with_header(version, code, reason, "")
}

/// The fault that answers a request refused by the parser, with the header blocks SOAP 1.2
/// defines for two of them: `Upgrade` (the envelope versions iflowd reads) with a
/// `VersionMismatch`, `NotUnderstood` (the header block) with a `MustUnderstand`.
pub fn rejection(version: SoapVersion, error: &ParseError) -> String {
    let mut header = String::new();
    if version == SoapVersion::V12 {
        match error {
            ParseError::VersionMismatch(_) => {
                header.push_str("<soap:Upgrade>");
                for (prefix, uri) in [("v12", SOAP12_NS), ("v11", SOAP11_NS)] {
                    header.push_str(&format!(
                        "<soap:SupportedEnvelope qname=\"{prefix}:Envelope\" xmlns:{prefix}=\"{uri}\"/>"
                    ));
                }
                header.push_str("</soap:Upgrade>");
            }
            // A name longer than an excerpt is named in the fault string only: the header
            // would repeat it whole.
            ParseError::MustUnderstand { namespace, local }
                if local.len() <= SHOWN
                    && namespace.as_ref().is_none_or(|uri| uri.len() <= SHOWN) =>
            {
                header.push_str("<soap:NotUnderstood qname=\"");
                match namespace {
                    Some(uri) => {
                        header.push_str("h:");
                        header.push_str(&escape(local));
                        header.push_str("\" xmlns:h=\"");
                        header.push_str(&escape(uri.as_str()));
                    }
                    None => header.push_str(&escape(local)),
                }
                header.push_str("\"/>");
            }
            _ => {}
        }
    }
    fault_with_header(version, error.fault_code(), &error.to_string(), &header)
}

fn fault_with_header(version: SoapVersion, code: FaultCode, reason: &str, header: &str) -> String {
    let mut out = String::with_capacity(256 + reason.len() + header.len());
    out.push_str(DECLARATION);
    out.push_str("<soap:Envelope xmlns:soap=\"");
    out.push_str(version.envelope_ns());
    out.push_str("\">");
    if !header.is_empty() {
        out.push_str("<soap:Header>");
        out.push_str(header);
        out.push_str("</soap:Header>");
    }
    out.push_str("<soap:Body>");
    let code = code.local_name(version);
    match version {
        SoapVersion::V11 => {
            out.push_str("<soap:Fault><faultcode>soap:");
            out.push_str(code);
            out.push_str("</faultcode><faultstring>");
            out.push_str(&escape(reason));
            out.push_str("</faultstring></soap:Fault>");
        }
        SoapVersion::V12 => {
            out.push_str("<soap:Fault><soap:Code><soap:Value>soap:");
            out.push_str(code);
            out.push_str("</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang=\"en\">");
            out.push_str(&escape(reason));
            out.push_str("</soap:Text></soap:Reason></soap:Fault>");
        }
    }
    close_envelope(&mut out);
    out
}

fn open_envelope(out: &mut String, version: SoapVersion) {
    out.push_str(DECLARATION);
    out.push_str("<soap:Envelope xmlns:soap=\"");
    out.push_str(version.envelope_ns());
    out.push_str("\"><soap:Body>");
}

fn close_envelope(out: &mut String) {
    out.push_str("</soap:Body></soap:Envelope>");
}

fn leaf(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.push_str("<ns:");
        out.push_str(name);
        out.push('>');
        out.push_str(&escape(value));
        out.push_str("</ns:");
        out.push_str(name);
        out.push('>');
    }
}
