//! Endpoint requests: authenticate, authorise, read, hand to the endpoint, render the outcome.
//!
//! The order of the checks is CPI's: an unknown path is a 404 before anything else; then
//! credentials (401) and role (403), so an anonymous caller learns nothing about the body rules;
//! then the media type (415), the size (413) and the time to send the body (408); only then is the
//! body parsed.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::body::{self, BodyError};
use super::{ApiError, ConnectionInfo, access};
use crate::app::App;
use crate::auth::Principal;
use crate::config::Adapter;
use crate::endpoint::{Endpoint, Outcome};
use crate::message::{MessageContext, MessageId};
use crate::soap::response::{FaultCode, acknowledgement, fault};
use crate::soap::{SoapVersion, wsdl};

/// The response header CPI uses to tell a sender which log entry its call produced.
pub const MESSAGE_ID_HEADER: &str = "SAP_MessageProcessingLogID";

pub async fn dispatch(State(app): State<App>, request: Request) -> Response {
    let path = request.uri().path();
    let Some(endpoint) = app.endpoints().find(path).cloned() else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint answers {path}; SOAP endpoints live under /cxf/, HTTPS endpoints under /http/"),
        )
        .into_response();
    };
    let wants_wsdl = request.uri().query().is_some_and(is_wsdl_query);
    let method = request.method();
    if method != Method::POST && !(method == Method::GET && wants_wsdl) {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not supported here: POST a SOAP request, or GET {path}?wsdl for the WSDL"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST, GET"));
        return response;
    }

    let connection = request
        .extensions()
        .get::<ConnectionInfo>()
        .cloned()
        .unwrap_or_default();
    let principal = match access::authorize(&app, &endpoint, request.headers(), &connection).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };

    if wants_wsdl {
        let url = endpoint_url(request.headers(), request.uri(), connection.secure);
        return (
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            wsdl::document(&url),
        )
            .into_response();
    }
    post(&app, endpoint, principal, request).await
}

async fn post(
    app: &App,
    endpoint: Arc<Endpoint>,
    principal: Principal,
    request: Request,
) -> Response {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(version) = SoapVersion::from_content_type(content_type) else {
        let shown = if content_type.is_empty() {
            "(none)"
        } else {
            content_type
        };
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Type {shown} is not SOAP; send text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)"),
        )
        .into_response();
    };

    let limits = app.limits();
    let limit = limits.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(version, limit);
    }
    let timeout = Duration::from_millis(limits.body_read_timeout_ms);
    let body = match body::read(request.into_body(), limit, timeout).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return too_large(version, limit),
        Err(BodyError::TimedOut) => {
            let reason = format!(
                "the request body did not arrive within {} ms",
                limits.body_read_timeout_ms
            );
            return soap_answer(
                StatusCode::REQUEST_TIMEOUT,
                version,
                fault(version, FaultCode::Client, &reason),
                None,
            );
        }
        Err(BodyError::Broken) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request body could not be read",
            )
            .into_response();
        }
    };

    let context = MessageContext::new(Arc::clone(&endpoint.name), principal.name, body);
    let outcome = endpoint.receive(context, version, app.event_types()).await;
    render(&endpoint, outcome)
}

/// Turns an endpoint's outcome into the answer the sender expects.
fn render(endpoint: &Endpoint, outcome: Outcome) -> Response {
    match outcome {
        Outcome::Accepted { message, ack } => {
            let envelope = &message.envelope;
            tracing::debug!(
                message_id = %message.context.id,
                endpoint = %endpoint.name,
                events = envelope.events.len(),
                "message accepted"
            );
            let xml = acknowledgement(envelope.soap_version, envelope.request_namespace, &ack);
            soap_answer(
                StatusCode::OK,
                envelope.soap_version,
                xml,
                Some(&message.context.id),
            )
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
            let code = FaultCode::Client;
            let status =
                StatusCode::from_u16(code.http_status(version)).unwrap_or(StatusCode::BAD_REQUEST);
            soap_answer(
                status,
                version,
                fault(version, code, &error.to_string()),
                Some(&context.id),
            )
        }
        Outcome::Failed { message, .. } => {
            // The chain has logged the cause; the sender only learns where to look.
            let id = &message.context.id;
            let text = format!(
                "An internal server error occured: The MPL ID for the failed message is : {id}"
            );
            let version = message.envelope.soap_version;
            match endpoint.adapter {
                Adapter::Https => {
                    let mut response = (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                        text,
                    )
                        .into_response();
                    set_message_id(response.headers_mut(), id);
                    response
                }
                Adapter::Soap => soap_answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    version,
                    fault(version, FaultCode::Server, &text),
                    Some(id),
                ),
            }
        }
    }
}

fn too_large(version: SoapVersion, limit: usize) -> Response {
    let reason = format!("the request body is larger than the limit of {limit} bytes");
    soap_answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        version,
        fault(version, FaultCode::Client, &reason),
        None,
    )
}

fn soap_answer(
    status: StatusCode,
    version: SoapVersion,
    xml: String,
    id: Option<&MessageId>,
) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, version.content_type())],
        xml,
    )
        .into_response();
    if let Some(id) = id {
        set_message_id(response.headers_mut(), id);
    }
    response
}

fn set_message_id(headers: &mut HeaderMap, id: &MessageId) {
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        headers.insert(MESSAGE_ID_HEADER, value);
    }
}

/// `?wsdl`, `?WSDL`, `?wsdl=` and the like.
fn is_wsdl_query(query: &str) -> bool {
    query.split('&').any(|part| {
        part.split('=')
            .next()
            .is_some_and(|key| key.eq_ignore_ascii_case("wsdl"))
    })
}

/// The URL the client used to reach the endpoint, for the WSDL's `soap:address` (`https` when
/// the connection is TLS). Behind a proxy,
/// `X-Forwarded-Proto` and `X-Forwarded-Host` tell the outside view.
fn endpoint_url(headers: &HeaderMap, uri: &axum::http::Uri, secure: bool) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or(v).trim())
    };
    let own = if secure { "https" } else { "http" };
    let scheme = header("x-forwarded-proto").unwrap_or(own);
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    format!("{scheme}://{host}{}", uri.path())
}
