//! The monitoring API under `/api/v1/`: CPI's OData v2 (JSON) view of the message log, the
//! deployed endpoints and their addresses.
//!
//! ```text
//! GET /api/v1/                                      service document
//! GET /api/v1/$metadata                             EDMX (metadata.rs)
//! GET /api/v1/MessageProcessingLogs                 $filter $orderby $top $skip $inlinecount $select
//! GET /api/v1/MessageProcessingLogs/$count          number of entries ($filter)
//! GET /api/v1/MessageProcessingLogs('<guid>')       one entry ($select)
//!     .../ErrorInformation[/$value]                 the error, or its text
//!     .../MessageStoreEntries                       stored bodies: <guid>.request, <guid>.response
//! GET /api/v1/MessageStoreEntries('<id>')[/$value]  a stored body (MessagePayloadsRead)
//!     .../CustomHeaderProperties                    each event's type, userId and eventId
//! GET /api/v1/IntegrationRuntimeArtifacts[('<id>')] one per endpoint, STARTED
//! GET /api/v1/ServiceEndpoints[('<id>')]            URL and protocol per endpoint
//! GET /api/v1/IntegrationPackages[('<id>')]         the packages the endpoints are in
//! GET /api/v1/KeystoreEntries[('<hexalias>')]       certificates and keys held
//! GET /api/v1/AuditLogs[('<ChangeId>')]             the audit log
//! GET /api/v1/JmsBrokers('Broker1')[/Queues]        the delivery queue as CPI's JMS broker (broker.rs)
//! GET /api/v1/JmsQueues[('<endpoint>')]             its queues, one per endpoint
//! GET /api/v1/<a collection above>('<key>')/<Property>   one property: {"d": {"Status": ...}}
//! GET  /api/v1/MessageProcessingLogs('<guid>')/Attempts     a queued message's attempts (iflowd's)
//! POST /api/v1/MessageProcessingLogs('<guid>')/Replay       run again as a new message (MessageReplay)
//! POST /api/v1/MessageProcessingLogs('<guid>')/Retry        queue an ESCALATED one again (MessageReplay)
//! ```
//!
//! Callers authenticate like senders (the same [`crate::auth::Authenticator`]) and need the role
//! `MonitoringDataRead`; bodies also need `MessagePayloadsRead`; `KeystoreEntries` (certificate
//! expiry, what health collectors watch) takes `HealthCheckMonitoringDataRead` instead, as do the
//! service document and `$metadata`; the JMS broker and its queues need it; the queue's two operations (`queue.rs`) need
//! `MessageReplay` too, and everything else is read-only. Query strings are parsed by
//! [`crate::odata`] (which bounds them); the message log's resources are read in `logs.rs`,
//! through the store's own query (`query.rs` translates), the audit log's in `audit.rs`, the
//! configuration's in `in_memory.rs`. Errors are OData error bodies (`error.rs`).

mod audit;
mod broker;
mod error;
mod in_memory;
mod json;
mod logs;
mod metadata;
mod query;
mod queue;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use self::error::ODataError;
use self::in_memory::Collection;
use super::origin::origin;
use super::{ConnectionInfo, access, unauthorized};
use crate::app::App;
use crate::auth::{AuthError, Principal};
use crate::config::{HEALTH_CHECK_ROLE, MONITORING_ROLE};
use crate::excerpt::Excerpt;
use crate::odata::path::{self, PropertyOf, Resource};
use crate::odata::schema::{MESSAGE_PROCESSING_LOG, Schema};
use crate::odata::{QueryOptions, Scope};

pub use self::logs::PAGE_SIZE;

/// Every request under `/api/v1`.
pub async fn handle(State(app): State<App>, request: Request) -> Response {
    let (request, _body) = request.into_parts();
    match serve(&app, &request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// One request of the API, read: who asks, from where, with which query string.
struct Call<'a> {
    app: &'a App,
    principal: Principal,
    /// `scheme://host[:port]` as the client sees this server.
    origin: String,
    /// The API's base URL, `<origin>/api/v1`.
    service: String,
    /// The request's path, as sent (for `__next` links).
    path: &'a str,
    query: Option<&'a str>,
}

impl Call<'_> {
    /// The query options, for what `schema` and `scope` allow; a 400 naming the problem.
    fn options(&self, schema: &'static Schema, scope: Scope) -> Result<QueryOptions, ODataError> {
        QueryOptions::parse(self.query, schema, scope).map_err(|e| ODataError::bad_request(e.0))
    }

    /// Asserts the caller has `role` too.
    fn require(&self, role: &str) -> Result<(), ODataError> {
        if self.principal.has_role(role) {
            Ok(())
        } else {
            Err(ODataError::forbidden(&self.principal.name, role))
        }
    }
}

async fn serve(app: &App, request: &Parts) -> Result<Response, ODataError> {
    let connection = request
        .extensions
        .get::<ConnectionInfo>()
        .cloned()
        .unwrap_or_default();
    let principal =
        match access::caller(app, &request.headers, &connection, request.uri.path()).await {
            Ok(principal) => principal,
            Err(error) => return Ok(unauthorized_answer(app, &error)),
        };
    if !principal.has_role(MONITORING_ROLE) && !principal.has_role(HEALTH_CHECK_ROLE) {
        return Err(ODataError::forbidden(&principal.name, MONITORING_ROLE));
    }
    let resource = resource(request.uri.path())?;
    if !readable(&resource, &principal) {
        return Err(ODataError::forbidden(&principal.name, MONITORING_ROLE));
    }
    allowed(&request.method, &resource)?;
    let origin = origin(app.proxy(), &request.headers, &request.uri, &connection);
    let call = Call {
        app,
        principal,
        service: format!("{origin}/api/v1"),
        origin,
        path: request.uri.path(),
        query: request.uri.query(),
    };
    dispatch(&call, resource).await
}

/// Whether `principal` (who holds one of the monitoring roles) may read `resource`: everything
/// with `MonitoringDataRead`; with only `HealthCheckMonitoringDataRead`, the keystore and the JMS
/// broker (which need that role: `broker.rs`), and the documents that describe the service.
fn readable(resource: &Resource, principal: &Principal) -> bool {
    principal.has_role(MONITORING_ROLE)
        || matches!(
            resource,
            Resource::Service
                | Resource::Metadata
                | Resource::KeystoreEntries(_)
                | Resource::JmsBroker(_)
                | Resource::JmsQueues { .. }
                | Resource::Property {
                    set: PropertyOf::KeystoreEntries,
                    ..
                }
        )
}

/// Whether `method` may be used on `resource`: `POST` for the queue's operations, `GET` (and
/// `HEAD`) for everything else; a 405 naming what is allowed otherwise.
fn allowed(method: &Method, resource: &Resource) -> Result<(), ODataError> {
    let operation = matches!(resource, Resource::Replay(_) | Resource::Retry(_));
    let ok = if operation {
        method == Method::POST
    } else {
        method == Method::GET || method == Method::HEAD
    };
    if ok {
        return Ok(());
    }
    let (allow, text) = if operation {
        ("POST", "this operation is called with POST")
    } else {
        (
            "GET, HEAD",
            "the monitoring API is read-only (GET), but for POST .../Replay and .../Retry",
        )
    };
    Err(ODataError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{} is not supported: {text}", Excerpt(method.as_str())),
    )
    .with_allow(allow))
}

/// A 401 as an OData error body, with the challenges an endpoint would send.
fn unauthorized_answer(app: &App, error: &AuthError) -> Response {
    let mut response = ODataError::new(StatusCode::UNAUTHORIZED, "Unauthorized", error.to_string())
        .into_response();
    let challenges = unauthorized(error, app.auth().tokens().is_some());
    let headers = response.headers_mut();
    headers.remove(header::WWW_AUTHENTICATE);
    for value in challenges.headers().get_all(header::WWW_AUTHENTICATE) {
        headers.append(header::WWW_AUTHENTICATE, value.clone());
    }
    response
}

/// What the path below `/api/v1` names: a 400 when it cannot be read, a 404 when it names
/// nothing.
fn resource(path: &str) -> Result<Resource, ODataError> {
    let raw = path
        .strip_prefix("/api/v1")
        .unwrap_or("")
        .trim_start_matches('/');
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ODataError::bad_request("the path is not valid UTF-8 once decoded"))?;
    path::parse(&decoded)
        .map_err(|e| ODataError::bad_request(e.0))?
        .ok_or_else(|| {
            ODataError::not_found(format!(
                "/api/v1/{} names no resource; see /api/v1/$metadata",
                Excerpt(&decoded)
            ))
        })
}

async fn dispatch(call: &Call<'_>, resource: Resource) -> Result<Response, ODataError> {
    match resource {
        Resource::Service => {
            call.options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
            Ok(json_response(
                json!({ "d": { "EntitySets": metadata::ENTITY_SETS } }),
            ))
        }
        Resource::Metadata => Ok(with_version(
            (
                [(header::CONTENT_TYPE, "application/xml;charset=utf-8")],
                metadata::document(),
            )
                .into_response(),
        )),
        Resource::Logs => logs::page(call).await,
        Resource::LogCount => logs::count(call).await,
        Resource::Log(guid) => logs::one(call, &guid).await,
        Resource::ErrorInformation { guid, value } => {
            logs::error_information(call, &guid, value).await
        }
        Resource::StoreEntries(guid) => logs::store_entries(call, &guid).await,
        Resource::Attempts(guid) => queue::attempts(call, &guid).await,
        Resource::Attempt(id) => queue::attempt(call, &id).await,
        Resource::Replay(guid) => queue::replay(call, &guid).await,
        Resource::Retry(guid) => queue::retry(call, &guid).await,
        Resource::StoreEntry { id, of, value } => {
            logs::store_entry(call, &id, of.as_deref(), value).await
        }
        Resource::CustomHeaders(guid) => logs::custom_headers(call, &guid).await,
        Resource::CustomHeader(id) => logs::custom_header(call, &id).await,
        Resource::Artifacts(id) => Collection::Artifacts.serve(call, id),
        Resource::ServiceEndpoints(id) => Collection::ServiceEndpoints.serve(call, id),
        Resource::Packages(id) => Collection::Packages.serve(call, id),
        Resource::KeystoreEntries(id) => Collection::KeystoreEntries.serve(call, id),
        Resource::AuditLogs(id) => audit::serve(call, id).await,
        Resource::JmsBroker(key) => broker::broker(call, &key).await,
        Resource::JmsQueues { broker, name } => {
            broker::queues(call, broker.as_deref(), name.as_deref()).await
        }
        Resource::Property { set, key, name } => property(call, set, &key, name).await,
    }
}

/// One property of an entry: `{"d": {"Status": "COMPLETED"}}`, OData v2's JSON of a property.
async fn property(
    call: &Call<'_>,
    set: PropertyOf,
    key: &str,
    name: &'static str,
) -> Result<Response, ODataError> {
    call.options(set.schema(), Scope::Value)?;
    let select = Some(&[name][..]);
    let mut entry = match set {
        PropertyOf::Logs => logs::entry(call, key, select).await?,
        PropertyOf::Artifacts => Collection::Artifacts.entry(call, key, select)?,
        PropertyOf::ServiceEndpoints => Collection::ServiceEndpoints.entry(call, key, select)?,
        PropertyOf::Packages => Collection::Packages.entry(call, key, select)?,
        PropertyOf::KeystoreEntries => Collection::KeystoreEntries.entry(call, key, select)?,
        PropertyOf::AuditLogs => audit::entry(call, key, select).await?,
    };
    let mut property = serde_json::Map::new();
    property.insert(name.into(), entry[name].take());
    Ok(json_response(json!({ "d": property })))
}

/// OData v2 says which protocol version an answer follows.
fn with_version(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("DataServiceVersion", HeaderValue::from_static("2.0"));
    response
}

fn json_response(value: Value) -> Response {
    with_version(
        (
            [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
            value.to_string(),
        )
            .into_response(),
    )
}

fn text_response(content_type: &str, body: bytes::Bytes) -> Response {
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    with_version(response)
}
