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
//! GET /api/v1/IntegrationRuntimeArtifacts[('<id>')] one per endpoint, STARTED
//! GET /api/v1/ServiceEndpoints[('<id>')]            URL and protocol per endpoint
//! GET /api/v1/<one of the three above>('<key>')/<Property>   one property: {"d": {"Status": ...}}
//! ```
//!
//! Callers authenticate like senders (the same [`crate::auth::Authenticator`]) and need the role
//! `MonitoringDataRead`; bodies also need `MessagePayloadsRead`. Query strings are parsed by
//! [`crate::odata`]; errors are OData error bodies.

mod error;
mod json;
mod metadata;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use self::error::ODataError;
use self::json::{Cell, Row};
use super::soap::origin;
use super::{ConnectionInfo, access, unauthorized};
use crate::app::App;
use crate::config::{Adapter, MONITORING_ROLE, PAYLOADS_ROLE};
use crate::odata::path::{self, PropertyOf, Resource};
use crate::odata::schema::{
    INTEGRATION_RUNTIME_ARTIFACT, MESSAGE_PROCESSING_LOG, SERVICE_ENDPOINT, Schema,
};
use crate::odata::{QueryOptions, Scope};
use crate::store::{ListQuery, Store};

/// Server-side paging: at most this many entries per answer, with a `__next` link for more.
pub const PAGE_SIZE: u64 = 1000;

/// Every request under `/api/v1`.
pub async fn handle(State(app): State<App>, request: Request) -> Response {
    let (request, _body) = request.into_parts();
    match serve(&app, &request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn serve(app: &App, request: &Parts) -> Result<Response, ODataError> {
    let connection = request
        .extensions
        .get::<ConnectionInfo>()
        .cloned()
        .unwrap_or_default();
    let principal = match access::caller(app, &request.headers, &connection).await {
        Ok(principal) => principal,
        Err(error) => {
            // An OData error body, with the challenges an endpoint would send.
            let mut response =
                ODataError::new(StatusCode::UNAUTHORIZED, "Unauthorized", error.to_string())
                    .into_response();
            let challenges = unauthorized(&error, app.auth().tokens().is_some());
            let headers = response.headers_mut();
            headers.remove(header::WWW_AUTHENTICATE);
            for value in challenges.headers().get_all(header::WWW_AUTHENTICATE) {
                headers.append(header::WWW_AUTHENTICATE, value.clone());
            }
            return Ok(response);
        }
    };
    if !principal.has_role(MONITORING_ROLE) {
        return Err(ODataError::forbidden(&principal.name, MONITORING_ROLE));
    }
    if request.method != Method::GET && request.method != Method::HEAD {
        return Err(ODataError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!(
                "{} is not supported: the monitoring API is read-only (GET)",
                request.method
            ),
        ));
    }
    let uri = &request.uri;
    let raw = uri
        .path()
        .strip_prefix("/api/v1")
        .unwrap_or("")
        .trim_start_matches('/');
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ODataError::bad_request("the path is not valid UTF-8 once decoded"))?;
    let resource = path::parse(&decoded)
        .map_err(|e| ODataError::bad_request(e.0))?
        .ok_or_else(|| {
            ODataError::not_found(format!(
                "/api/v1/{decoded} names no resource; see /api/v1/$metadata"
            ))
        })?;
    let origin = origin(&request.headers, uri, connection.secure);
    let service = format!("{origin}/api/v1");
    let query = uri.query();
    let options = |schema: &'static Schema, scope: Scope| {
        QueryOptions::parse(query, schema, scope).map_err(|e| ODataError::bad_request(e.0))
    };

    match resource {
        Resource::Service => {
            options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
            Ok(json_response(json!({ "d": { "EntitySets": [
                "MessageProcessingLogs", "MessageProcessingLogErrorInformations",
                "MessageStoreEntries", "IntegrationRuntimeArtifacts", "ServiceEndpoints"
            ] } })))
        }
        Resource::Metadata => Ok(with_version(
            (
                [(header::CONTENT_TYPE, "application/xml;charset=utf-8")],
                metadata::document(),
            )
                .into_response(),
        )),
        Resource::Logs => {
            let options = options(&MESSAGE_PROCESSING_LOG, Scope::Collection)?;
            logs(app, store(app)?, &service, uri.path(), query, options).await
        }
        Resource::LogCount => {
            let options = options(&MESSAGE_PROCESSING_LOG, Scope::Collection)?;
            let page = read(
                app,
                store(app)?.list(ListQuery {
                    filter: options.filter,
                    count: true,
                    ..ListQuery::default()
                }),
            )
            .await?;
            Ok(with_version(
                (
                    [(header::CONTENT_TYPE, "text/plain;charset=utf-8")],
                    page.total.unwrap_or(0).to_string(),
                )
                    .into_response(),
            ))
        }
        Resource::Log(guid) => {
            let options = options(&MESSAGE_PROCESSING_LOG, Scope::Entry)?;
            let entry = read(app, store(app)?.get(&guid))
                .await?
                .ok_or_else(|| no_message(&guid))?;
            Ok(json_response(json!({
                "d": json::log_entry(&entry, &service, options.select.as_deref())
            })))
        }
        Resource::ErrorInformation { guid, value } => {
            options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
            let error = read(app, store(app)?.error(&guid))
                .await?
                .ok_or_else(|| no_message(&guid))?
                .ok_or_else(|| {
                    ODataError::not_found(format!("message {guid} has no error information"))
                })?;
            if value {
                return Ok(text_response("text/plain;charset=utf-8", error.text.into()));
            }
            Ok(json_response(json!({
                "d": json::error_information(&guid, &error, &service)
            })))
        }
        Resource::StoreEntries(guid) => {
            options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
            let list = read(app, store(app)?.payloads(&guid))
                .await?
                .ok_or_else(|| no_message(&guid))?;
            let results: Vec<Value> = list
                .iter()
                .map(|info| json::store_entry(&guid, info, &service))
                .collect();
            Ok(json_response(json!({ "d": { "results": results } })))
        }
        Resource::StoreEntry { id, of, value } => {
            options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
            let not_found =
                || ODataError::not_found(format!("there is no stored message body '{id}'"));
            let (guid, kind) = json::parse_store_entry_id(&id).ok_or_else(not_found)?;
            if let Some(of) = of.filter(|of| of != guid) {
                return Err(ODataError::not_found(format!(
                    "'{id}' is not a stored body of message '{of}' (its bodies are '{}' and '{}')",
                    json::store_entry_id(&of, "request"),
                    json::store_entry_id(&of, "response")
                )));
            }
            let store = store(app)?;
            if value {
                if !principal.has_role(PAYLOADS_ROLE) {
                    return Err(ODataError::forbidden(&principal.name, PAYLOADS_ROLE));
                }
                let payload = read(app, store.payload(guid, kind))
                    .await?
                    .ok_or_else(not_found)?;
                return Ok(text_response(&payload.content_type, payload.body));
            }
            let list = read(app, store.payloads(guid)).await?.unwrap_or_default();
            let info = list.iter().find(|i| i.kind == kind).ok_or_else(not_found)?;
            Ok(json_response(json!({
                "d": json::store_entry(guid, info, &service)
            })))
        }
        Resource::Artifacts(id) => {
            let rows = artifact_rows(app);
            in_memory(&INTEGRATION_RUNTIME_ARTIFACT, rows, id, query, &service)
        }
        Resource::ServiceEndpoints(id) => {
            let rows = service_endpoint_rows(app, &origin);
            in_memory(&SERVICE_ENDPOINT, rows, id, query, &service)
        }
        Resource::Property { set, key, name } => {
            options(set.schema(), Scope::Value)?;
            let select = Some(&[name][..]);
            let mut entry = match set {
                PropertyOf::Logs => {
                    let entry = read(app, store(app)?.get(&key))
                        .await?
                        .ok_or_else(|| no_message(&key))?;
                    json::log_entry(&entry, &service, select)
                }
                PropertyOf::Artifacts | PropertyOf::ServiceEndpoints => {
                    let rows = if set == PropertyOf::Artifacts {
                        artifact_rows(app)
                    } else {
                        service_endpoint_rows(app, &origin)
                    };
                    json::row(
                        set.schema(),
                        find(set.schema(), &rows, &key)?,
                        &service,
                        select,
                    )
                }
            };
            // `{"d": {"Status": "COMPLETED"}}`, OData v2's JSON of a property.
            let mut property = serde_json::Map::new();
            property.insert(name.into(), entry[name].take());
            Ok(json_response(json!({ "d": property })))
        }
    }
}

fn store(app: &App) -> Result<&Store, ODataError> {
    app.store().ok_or_else(|| {
        ODataError::not_found(
            "the message log is turned off ([store] enabled = false), so there are no messages to show",
        )
    })
}

fn no_message(guid: &str) -> ODataError {
    ODataError::not_found(format!("there is no message with MessageGuid '{guid}'"))
}

/// Awaits a store read; a failure is logged once, here, and counted.
async fn read<T>(
    app: &App,
    future: impl Future<Output = Result<T, crate::store::StoreError>>,
) -> Result<T, ODataError> {
    future.await.map_err(|error| {
        tracing::error!(%error, "message log read failed");
        app.metrics().store_error("read");
        ODataError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "the message log could not be read".to_owned(),
        )
    })
}

/// `MessageProcessingLogs`, one page at a time.
async fn logs(
    app: &App,
    store: &Store,
    service: &str,
    path: &str,
    query: Option<&str>,
    options: QueryOptions,
) -> Result<Response, ODataError> {
    let wanted = options.top.unwrap_or(u64::MAX);
    let limit = wanted.min(PAGE_SIZE + 1);
    let page = read(
        app,
        store.list(ListQuery {
            filter: options.filter.clone(),
            orderby: options.orderby.clone(),
            skip: options.skip,
            limit,
            count: options.inline_count,
        }),
    )
    .await?;
    let mut entries = page.entries;
    let more = u64::try_from(entries.len()).unwrap_or(u64::MAX) > PAGE_SIZE;
    entries.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let results: Vec<Value> = entries
        .iter()
        .map(|e| json::log_entry(e, service, options.select.as_deref()))
        .collect();
    let mut d = json!({ "results": results });
    if let Some(total) = page.total {
        d["__count"] = json!(total.to_string());
    }
    if more {
        let origin = service.strip_suffix("/api/v1").unwrap_or(service);
        d["__next"] = json!(format!(
            "{origin}{path}?{}",
            next_query(
                query,
                options.skip + PAGE_SIZE,
                options.top.map(|t| t - PAGE_SIZE)
            )
        ));
    }
    Ok(json_response(json!({ "d": d })))
}

/// The query of the next page: every option as given, with `$skip` and `$top` moved on.
fn next_query(query: Option<&str>, skip: u64, top: Option<u64>) -> String {
    let mut next = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "$skip" && key != "$top" {
            next.append_pair(&key, &value);
        }
    }
    next.append_pair("$skip", &skip.to_string());
    if let Some(top) = top {
        next.append_pair("$top", &top.to_string());
    }
    next.finish()
}

fn artifact_rows(app: &App) -> Vec<Row> {
    let mut endpoints: Vec<_> = app.endpoints().iter().collect();
    endpoints.sort_by(|a, b| a.name.cmp(&b.name));
    let text = |s: &str| Cell::Text(s.to_owned());
    endpoints
        .into_iter()
        .map(|e| {
            vec![
                ("Id", text(&e.name)),
                ("Version", text("1.0.0")),
                ("Name", text(&e.name)),
                ("Type", text("INTEGRATION_FLOW")),
                ("DeployedBy", text("iflowd")),
                ("DeployedOn", Cell::date(app.started_at())),
                ("Status", text("STARTED")),
            ]
        })
        .collect()
}

fn service_endpoint_rows(app: &App, origin: &str) -> Vec<Row> {
    let mut endpoints: Vec<_> = app.endpoints().iter().collect();
    endpoints.sort_by(|a, b| a.name.cmp(&b.name));
    let text = |s: &str| Cell::Text(s.to_owned());
    endpoints
        .into_iter()
        .map(|e| {
            let protocol = match e.adapter {
                Adapter::Soap => "SOAP",
                Adapter::Https => "REST",
            };
            vec![
                ("Id", text(&e.name)),
                ("Name", text(&e.name)),
                ("Title", text(&e.name)),
                ("Version", text("1.0.0")),
                ("Protocol", text(protocol)),
                ("Url", Cell::Text(format!("{origin}{}", e.path))),
                ("LastUpdated", Cell::date(app.started_at())),
            ]
        })
        .collect()
}

/// A collection kept in memory, or one of its entries by `Id`.
fn in_memory(
    schema: &'static Schema,
    rows: Vec<Row>,
    id: Option<String>,
    query: Option<&str>,
    service: &str,
) -> Result<Response, ODataError> {
    if let Some(id) = id {
        let options = QueryOptions::parse(query, schema, Scope::Entry)
            .map_err(|e| ODataError::bad_request(e.0))?;
        let row = find(schema, &rows, &id)?;
        return Ok(json_response(json!({
            "d": json::row(schema, row, service, options.select.as_deref())
        })));
    }
    let options = QueryOptions::parse(query, schema, Scope::Collection)
        .map_err(|e| ODataError::bad_request(e.0))?;
    let (page, total) = json::query_rows(rows, &options);
    let results: Vec<Value> = page
        .iter()
        .map(|row| json::row(schema, row, service, options.select.as_deref()))
        .collect();
    let mut d = json!({ "results": results });
    if options.inline_count {
        d["__count"] = json!(total.to_string());
    }
    Ok(json_response(json!({ "d": d })))
}

/// The row whose key (its first property) is `id`.
fn find<'a>(schema: &Schema, rows: &'a [Row], id: &str) -> Result<&'a Row, ODataError> {
    rows.iter()
        .find(|row| matches!(row.first(), Some((_, Cell::Text(key))) if key == id))
        .ok_or_else(|| ODataError::not_found(format!("{} has no entry '{id}'", schema.set)))
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
