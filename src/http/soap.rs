//! Endpoint requests: authenticate, authorise, read the body, and hand the call to
//! [`super::pipeline`], which records it in the message log around the handler chain.
//!
//! The order of the checks is CPI's: an unknown path is a 404 before anything else; then
//! credentials (401) and role (403), so an anonymous caller learns nothing about the body rules;
//! then the media type (415), the size (413) and the time to send the body (408); only then is the
//! body parsed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use time::OffsetDateTime;

use super::body::{self, BodyError};
use super::pipeline::{self, Call};
use super::reply::Reply;
use super::{ApiError, ConnectionInfo, access, origin};
use crate::app::App;
use crate::auth::Principal;
use crate::clock;
use crate::config::Limits;
use crate::endpoint::Endpoint;
use crate::excerpt::Excerpt;
use crate::message::MessageId;
use crate::message_log::{Identity, MessageFacts, Summary};
use crate::soap::response::{FaultCode, fault};
use crate::soap::{SoapVersion, wsdl};

pub async fn dispatch(State(app): State<App>, request: Request) -> Response {
    let path = request.uri().path();
    let Some(endpoint) = app.endpoints().find(path).cloned() else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint answers {}; SOAP endpoints live under /cxf/, HTTPS endpoints under /http/", Excerpt(path)),
        )
        .into_response();
    };
    let wants_wsdl = request.uri().query().is_some_and(is_wsdl_query);
    let method = request.method();
    if method != Method::POST && !(method == Method::GET && wants_wsdl) {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{} is not supported here: POST a SOAP request, or GET {}?wsdl for the WSDL",
                Excerpt(method.as_str()),
                Excerpt(path)
            ),
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
        let url = origin::endpoint_url(app.proxy(), request.headers(), request.uri(), &connection);
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
    let timer = Instant::now();
    let name = Arc::clone(&endpoint.name);
    let reply = receive(app, endpoint, principal.name, request).await;
    app.metrics().request_duration(&name, timer.elapsed());
    reply.into_response()
}

/// Checks the media type, coding and size, reads the body, and hands the call to
/// [`pipeline::run`] on a task of its own. Refusals get a `FAILED` log entry too: every call that
/// passed authentication has one.
async fn receive(app: &App, endpoint: Arc<Endpoint>, sender: String, request: Request) -> Reply {
    let started = clock::now();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let unread = UnreadCall {
        app,
        endpoint: &endpoint,
        sender: &sender,
        started,
    };
    let Some(version) = SoapVersion::from_content_type(&content_type) else {
        return unread.refuse(not_soap(&content_type)).await;
    };
    let body = match read_body(app.limits(), version, request).await {
        Ok(body) => body,
        Err(refusal) => return unread.refuse(refusal).await,
    };

    let call = Call {
        endpoint,
        sender,
        version,
        content_type,
        started,
    };
    // Its own task: if the sender hangs up, the chain still finishes and the entry is completed.
    // Boxed first: the pipeline's future is several kilobytes, which spawning would otherwise
    // copy a few times over.
    match tokio::spawn(Box::pin(pipeline::run(app.clone(), call, body))).await {
        Ok(reply) => reply,
        Err(_) => Reply::json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be processed",
        ),
    }
}

/// Why a call was refused before its body was parsed, and what the sender is told.
struct Refusal {
    reply: Reply,
    reason: String,
}

/// The 415 for a `Content-Type` that is not SOAP's.
fn not_soap(content_type: &str) -> Refusal {
    let shown = if content_type.is_empty() {
        "(none)"
    } else {
        content_type
    };
    let shown = Excerpt(shown);
    let reason = format!(
        "Content-Type {shown} is not SOAP; send text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)"
    );
    let reply = Reply::json_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        &reason,
    );
    Refusal { reply, reason }
}

/// The body (decoded), unless it comes in a coding other than gzip or deflate (415), its
/// announced length is over the limit, or it is (413), it does not arrive in time (408), or it
/// is not the coding it names or breaks off (400).
async fn read_body(
    limits: &Limits,
    version: SoapVersion,
    request: Request,
) -> Result<Bytes, Refusal> {
    if let Some(coding) = body::unknown_encoding(request.headers()) {
        let reason = format!(
            "Content-Encoding {coding} is not supported; send the body as it is, or with gzip or deflate"
        );
        let reply = client_fault(StatusCode::UNSUPPORTED_MEDIA_TYPE, version, &reason);
        return Err(Refusal { reply, reason });
    }
    let limit = limits.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large(version, limit));
    }
    let timeout = Duration::from_millis(limits.body_read_timeout_ms);
    body::read(request.into_body(), limit, timeout)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge => too_large(version, limit),
            BodyError::TimedOut => {
                let reason = format!(
                    "the request body did not arrive within {} ms",
                    limits.body_read_timeout_ms
                );
                let reply = client_fault(StatusCode::REQUEST_TIMEOUT, version, &reason);
                Refusal { reply, reason }
            }
            BodyError::Undecodable => {
                let reason =
                    "the request body is not the gzip or deflate data its Content-Encoding names"
                        .to_owned();
                let reply = client_fault(StatusCode::BAD_REQUEST, version, &reason);
                Refusal { reply, reason }
            }
            BodyError::Broken => {
                let reason = "the request body could not be read".to_owned();
                let reply = Reply::json_error(StatusCode::BAD_REQUEST, "bad_request", &reason);
                Refusal { reply, reason }
            }
        })
}

/// A call whose body is not read yet: what its entry names, should it be refused.
struct UnreadCall<'a> {
    app: &'a App,
    endpoint: &'a Endpoint,
    sender: &'a str,
    started: OffsetDateTime,
}

impl UnreadCall<'_> {
    /// Writes the call's `FAILED` entry for `refusal` and names it in the reply.
    async fn refuse(self, refusal: Refusal) -> Reply {
        let Refusal { mut reply, reason } = refusal;
        let id = MessageId::new();
        let who = Identity {
            id: &id,
            endpoint: &self.endpoint.name,
            sender: self.sender,
            started: self.started,
        };
        let summary = Summary::refused(reason, reply.as_stored());
        // Boxed: the store's future is a couple of kilobytes, and keeping it inline would make
        // every request's future (copied as it is handed from axum to hyper) that much larger
        // for a path a well-behaved sender never takes.
        let recorded = Box::pin(self.app.message_log().record(
            &who,
            &MessageFacts::default(),
            None,
            summary,
        ))
        .await;
        if recorded.is_ok() {
            reply.id = Some(id);
        }
        reply
    }
}

/// A `Client` fault in the request's SOAP version.
fn client_fault(status: StatusCode, version: SoapVersion, reason: &str) -> Reply {
    Reply::soap(
        status,
        version,
        fault(version, FaultCode::Client, reason),
        None,
    )
}

fn too_large(version: SoapVersion, limit: usize) -> Refusal {
    let reason = format!("the request body is larger than the limit of {limit} bytes");
    let reply = client_fault(StatusCode::PAYLOAD_TOO_LARGE, version, &reason);
    Refusal { reply, reason }
}

/// `?wsdl`, `?WSDL`, `?wsdl=` and the like.
fn is_wsdl_query(query: &str) -> bool {
    query.split('&').any(|part| {
        part.split('=')
            .next()
            .is_some_and(|key| key.eq_ignore_ascii_case("wsdl"))
    })
}
