//! Reading the answer to an `ExternalEvent` call, for `iflowd send`: the client side of
//! [`super::response`], tolerant of whatever a real CPI (or iflowd) writes.
//!
//! Elements are matched by local name below a SOAP 1.1 or 1.2 `Envelope` (the response namespace
//! is the request's, v1 or v2, and faults use SOAP's own); the same cursor as the request parser
//! refuses DTDs and bounds the depth.

use serde::Serialize;

use super::cursor::{Cursor, Ns, Step};
use super::error::ParseError;

/// The `responsePayload` of an `ExternalEventResponse`: every field optional, as in the WSDL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AckPayload {
    pub entity_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub status: Option<String>,
    pub status_date: Option<String>,
    pub status_details: Option<String>,
}

/// What an answer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Answer {
    /// An `ExternalEventResponse`.
    Acknowledgement(AckPayload),
    /// A SOAP fault: its code and reason (SOAP 1.1 `faultcode`/`faultstring`, SOAP 1.2
    /// `Code/Value`/`Reason/Text`).
    Fault { code: String, reason: String },
}

impl Answer {
    /// An acknowledgement that reports no error (no `errorCode`, no `errorMessage`).
    pub fn is_success(&self) -> bool {
        match self {
            Self::Acknowledgement(payload) => {
                payload.error_code.is_none() && payload.error_message.is_none()
            }
            Self::Fault { .. } => false,
        }
    }
}

#[derive(Default)]
struct Found {
    payload: AckPayload,
    response: bool,
    fault: bool,
    code: Option<String>,
    reason: Option<String>,
}

/// Reads a SOAP answer body. `Ok(None)` when the envelope holds neither an
/// `ExternalEventResponse` nor a fault.
pub fn read_answer(xml: &str) -> Result<Option<Answer>, ParseError> {
    let mut cursor = Cursor::new(xml);
    let root = match cursor.next()? {
        Step::Start(element) => element,
        Step::End | Step::Eof => return Err(ParseError::Empty),
    };
    if root.local != "Envelope" || !matches!(root.ns, Ns::Soap11 | Ns::Soap12) {
        return Err(ParseError::NotAnEnvelope(root.clark_name()));
    }
    let mut found = Found::default();
    walk(&mut cursor, &mut found)?;
    Ok(if found.fault {
        Some(Answer::Fault {
            code: found.code.unwrap_or_default(),
            reason: found.reason.unwrap_or_default(),
        })
    } else if found.response {
        Some(Answer::Acknowledgement(found.payload))
    } else {
        None
    })
}

fn walk(cursor: &mut Cursor<'_>, found: &mut Found) -> Result<(), ParseError> {
    loop {
        let element = match cursor.next()? {
            Step::Start(element) => element,
            Step::End | Step::Eof => return Ok(()),
        };
        let soap = matches!(element.ns, Ns::Soap11 | Ns::Soap12);
        let slot = match &*element.local {
            "entityId" => Some(&mut found.payload.entity_id),
            "errorCode" => Some(&mut found.payload.error_code),
            "errorMessage" => Some(&mut found.payload.error_message),
            "status" => Some(&mut found.payload.status),
            "statusDate" => Some(&mut found.payload.status_date),
            "statusDetails" => Some(&mut found.payload.status_details),
            "faultcode" => Some(&mut found.code),
            "faultstring" => Some(&mut found.reason),
            "Value" if soap => Some(&mut found.code),
            "Text" if soap => Some(&mut found.reason),
            _ => None,
        };
        match slot {
            Some(slot) => {
                let text = cursor.text()?;
                let text = text.trim();
                if slot.is_none() && !element.nil && !text.is_empty() {
                    *slot = Some(text.to_owned());
                }
            }
            None => {
                match &*element.local {
                    "ExternalEventResponse" => found.response = true,
                    "Fault" if soap => found.fault = true,
                    _ => {}
                }
                walk(cursor, found)?;
            }
        }
    }
}
