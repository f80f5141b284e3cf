//! Replies to endpoint calls, as values: rendered first, stored in the message log, then sent.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::config::Adapter;
use crate::endpoint::{Endpoint, Outcome};
use crate::event::Envelope;
use crate::handler::FailureReply;
use crate::message::{Ack, MessageId};
use crate::message_log::Payload;
use crate::soap::SoapVersion;
use crate::soap::response::{FaultCode, acknowledgement, fault, rejection};

/// The response header CPI uses to tell a sender which log entry its call produced.
pub const MESSAGE_ID_HEADER: &str = "SAP_MessageProcessingLogID";

/// The response header iflowd adds to a duplicate's answer: the `MessageGuid` of the original it
/// repeats (CPI says nothing; a sender or an operator sees here that nothing was processed).
pub const DUPLICATE_OF_HEADER: &str = "X-Iflowd-Duplicate-Of";

/// A rendered reply: what the sender gets, and what the log keeps as the response body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Bytes,
    /// The `SAP_MessageProcessingLogID` header, when the call has a log entry.
    pub id: Option<MessageId>,
    /// The `X-Iflowd-Duplicate-Of` header: the original a duplicate's answer repeats.
    pub duplicate_of: Option<MessageId>,
    /// Send nothing and close the connection (the `close` failure drill).
    pub close: bool,
    /// A `Client` fault: the sender's mistake, even where SOAP 1.1 makes it an HTTP 500.
    pub client_fault: bool,
}

/// Marks the response of a `Client` fault (see [`Reply::client_fault`]), so that the trace layer
/// logs it as the sender's mistake, not as a server error, whatever its status.
#[derive(Debug, Clone, Copy)]
pub struct ClientFault;

/// Marks a response that must not be sent: the server closes the connection instead (see
/// [`crate::server`]). Only failure drills ask for it.
#[derive(Debug, Clone, Copy)]
pub struct CloseConnection;

impl Reply {
    pub fn soap(
        status: StatusCode,
        version: SoapVersion,
        xml: String,
        id: Option<&MessageId>,
    ) -> Self {
        Self {
            status,
            content_type: version.content_type(),
            body: Bytes::from(xml),
            id: id.cloned(),
            duplicate_of: None,
            close: false,
            client_fault: false,
        }
    }

    /// The reply as the message log keeps it, the answer of its entry.
    pub fn as_stored(&self) -> Payload {
        Payload {
            content_type: self.content_type.to_owned(),
            body: self.body.clone(),
        }
    }

    /// `{"error": {"code": ..., "message": ...}}`, as [`super::ApiError`] writes it.
    pub fn json_error(status: StatusCode, code: &'static str, message: &str) -> Self {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        Self {
            status,
            content_type: "application/json",
            body: Bytes::from(body.to_string()),
            id: None,
            duplicate_of: None,
            close: false,
            client_fault: false,
        }
    }

    /// The success answer: `ExternalEventResponse` with `ack`, in the request's SOAP version and
    /// event namespace.
    pub fn acknowledged(envelope: &Envelope, ack: &Ack, id: &MessageId) -> Self {
        let xml = acknowledgement(envelope.soap_version, envelope.request_namespace, ack);
        Self::soap(StatusCode::OK, envelope.soap_version, xml, Some(id))
    }

    /// This reply, as the answer of a duplicate of `original`.
    pub fn duplicate_of(self, original: &MessageId) -> Self {
        Self {
            duplicate_of: Some(original.clone()),
            ..self
        }
    }

    /// A failure on our side, in CPI's shape: a `Server`/`Receiver` fault on a SOAP endpoint, plain
    /// text on an HTTPS one, HTTP 500 either way.
    pub fn failure(adapter: Adapter, version: SoapVersion, text: &str, id: &MessageId) -> Self {
        match adapter {
            Adapter::Https => Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                content_type: "text/plain; charset=utf-8",
                body: Bytes::from(text.to_owned()),
                id: Some(id.clone()),
                duplicate_of: None,
                close: false,
                client_fault: false,
            },
            Adapter::Soap => Self::soap(
                StatusCode::INTERNAL_SERVER_ERROR,
                version,
                fault(version, FaultCode::Server, text),
                Some(id),
            ),
        }
    }

    /// CPI's words for a failed message: the sender only learns where to look.
    pub fn internal_error(adapter: Adapter, version: SoapVersion, id: &MessageId) -> Self {
        let text = format!(
            "An internal server error occured: The MPL ID for the failed message is : {id}"
        );
        Self::failure(adapter, version, &text, id)
    }

    /// The message log's disk refuses writes, so the call cannot be acknowledged: a failure in
    /// CPI's shape (a `Server` fault, HTTP 500) saying so, which the sender retries. It names the
    /// entry only when the call has one (`entry`: its `PROCESSING` entry was written, its
    /// completion could not be).
    pub fn log_unwritable(
        adapter: Adapter,
        version: SoapVersion,
        id: &MessageId,
        entry: bool,
    ) -> Self {
        let mut text = "The message log cannot be written now (its disk is full or failing), so this message was not accepted. Send it again later.".to_owned();
        if entry {
            text.push_str(&format!(" The MPL ID for the failed message is : {id}"));
        }
        let mut reply = Self::failure(adapter, version, &text, id);
        if !entry {
            reply.id = None;
        }
        reply
    }

    /// Turns an endpoint's outcome into the answer the sender expects.
    pub fn of_outcome(endpoint: &Endpoint, outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Accepted { message, ack } => {
                tracing::debug!(
                    message_id = %message.context.id,
                    endpoint = %endpoint.name,
                    events = message.envelope.events.len(),
                    "message accepted"
                );
                Self::acknowledged(&message.envelope, ack, &message.context.id)
            }
            Outcome::Rejected {
                context,
                version,
                error,
            } => {
                tracing::info!(
                    message_id = %context.id,
                    endpoint = %endpoint.name,
                    reason = %error,
                    "request rejected"
                );
                let code = error.fault_code();
                let status = StatusCode::from_u16(code.http_status(*version))
                    .unwrap_or(StatusCode::BAD_REQUEST);
                Self {
                    client_fault: true,
                    ..Self::soap(
                        status,
                        *version,
                        rejection(*version, error),
                        Some(&context.id),
                    )
                }
            }
            // The chain has logged the cause; the failure chooses how the sender hears of it.
            Outcome::Failed { message, failure } => {
                let id = &message.context.id;
                let version = message.envelope.soap_version;
                match &failure.error.reply {
                    FailureReply::Fault => Self::internal_error(endpoint.adapter, version, id),
                    FailureReply::Unavailable => Self {
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        content_type: "text/plain; charset=utf-8",
                        body: Bytes::from(format!(
                            "Service Unavailable. The MPL ID for the failed message is : {id}"
                        )),
                        id: Some(id.clone()),
                        duplicate_of: None,
                        close: false,
                        client_fault: false,
                    },
                    FailureReply::ErrorResponse {
                        code,
                        message: text,
                    } => {
                        let ack = Ack {
                            entity_id: None,
                            error_code: Some(code.clone()),
                            error_message: Some(text.clone()),
                            status: 500,
                            status_date: crate::clock::now(),
                            status_details: None,
                        };
                        Self::acknowledged(&message.envelope, &ack, id)
                    }
                    FailureReply::Close => Self {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        content_type: "text/plain; charset=utf-8",
                        body: Bytes::new(),
                        id: Some(id.clone()),
                        duplicate_of: None,
                        close: true,
                        client_fault: false,
                    },
                }
            }
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response();
        if let Some(id) = &self.id {
            set_id(response.headers_mut(), MESSAGE_ID_HEADER, id);
        }
        if let Some(original) = &self.duplicate_of {
            set_id(response.headers_mut(), DUPLICATE_OF_HEADER, original);
        }
        if self.close {
            response.extensions_mut().insert(CloseConnection);
        }
        if self.client_fault {
            response.extensions_mut().insert(ClientFault);
        }
        response
    }
}

fn set_id(headers: &mut HeaderMap, name: &'static str, id: &MessageId) {
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        headers.insert(name, value);
    }
}
