//! The message log's resources: `MessageProcessingLogs` (pages, `$count`, one entry), an
//! entry's `ErrorInformation`, its stored bodies (`MessageStoreEntries`) and its
//! `CustomHeaderProperties`.

use crate::excerpt::Excerpt;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::ODataError;
use super::json as shape;
use super::{Call, json_response, query, text_response, with_version};
use crate::config::PAYLOADS_ROLE;
use crate::odata::Scope;
use crate::odata::schema::MESSAGE_PROCESSING_LOG;
use crate::store::{ListQuery, Store, StoreError};

/// Server-side paging: at most this many entries per answer, with a `__next` link for more.
pub const PAGE_SIZE: u64 = 1000;

pub(super) fn store<'a>(call: &Call<'a>) -> Result<&'a Store, ODataError> {
    call.app.store().ok_or_else(|| {
        ODataError::not_found(
            "the message log is turned off ([store] enabled = false), so there are no messages to show",
        )
    })
}

pub(super) fn no_message(guid: &str) -> ODataError {
    ODataError::not_found(format!(
        "there is no message with MessageGuid '{}'",
        Excerpt(guid)
    ))
}

/// Awaits a store read. A query the store cannot run is the caller's 400; a log whose disk
/// fails (or that is not set up yet, on a full disk) a 503; any other failure is logged once,
/// here, counted, and a 500 that tells no internals.
pub(super) async fn read<T>(
    call: &Call<'_>,
    future: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, ODataError> {
    future.await.map_err(|error| match error {
        StoreError::TooComplex(reason) => {
            tracing::info!(%reason, "a monitoring query was too complex for the message log");
            ODataError::bad_request(
                "the query is too complex for the message log to run; use fewer comparisons, less nesting or fewer $orderby properties",
            )
        }
        StoreError::Unwritable(reason) => {
            tracing::warn!(%reason, "the message log cannot be read now");
            call.app.metrics().store_error("read");
            ODataError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the message log cannot be read now: its disk is full or failing".to_owned(),
            )
        }
        error => {
            tracing::error!(%error, "message log read failed");
            call.app.metrics().store_error("read");
            ODataError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "the message log could not be read".to_owned(),
            )
        }
    })
}

/// `MessageProcessingLogs`, one page at a time.
pub async fn page(call: &Call<'_>) -> Result<Response, ODataError> {
    let options = call.options(&MESSAGE_PROCESSING_LOG, Scope::Collection)?;
    let store = store(call)?;
    let wanted = options.top.unwrap_or(u64::MAX);
    let limit = wanted.min(PAGE_SIZE + 1);
    let page = read(call, store.list(query::list_query(&options, limit))).await?;
    let mut entries = page.entries;
    let more = u64::try_from(entries.len()).unwrap_or(u64::MAX) > PAGE_SIZE;
    entries.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let results: Vec<Value> = entries
        .iter()
        .map(|e| shape::log_entry(e, &call.service, options.select.as_deref()))
        .collect();
    let mut d = json!({ "results": results });
    if let Some(total) = page.total {
        d["__count"] = json!(total.to_string());
    }
    if more {
        d["__next"] = json!(format!(
            "{}{}?{}",
            call.origin,
            call.path,
            next_query(
                call.query,
                options.skip + PAGE_SIZE,
                options.top.map(|t| t - PAGE_SIZE)
            )
        ));
    }
    Ok(json_response(json!({ "d": d })))
}

/// The query of the next page: every option as given, with `$skip` and `$top` moved on.
pub(super) fn next_query(query: Option<&str>, skip: u64, top: Option<u64>) -> String {
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

/// `MessageProcessingLogs/$count`: the number of matches, as plain text.
pub async fn count(call: &Call<'_>) -> Result<Response, ODataError> {
    let options = call.options(&MESSAGE_PROCESSING_LOG, Scope::Collection)?;
    let query = ListQuery {
        count: true,
        ..query::list_query(&options, 0)
    };
    let page = read(call, store(call)?.list(query)).await?;
    Ok(with_version(
        (
            [(header::CONTENT_TYPE, "text/plain;charset=utf-8")],
            page.total.unwrap_or(0).to_string(),
        )
            .into_response(),
    ))
}

/// `MessageProcessingLogs('<guid>')`.
pub async fn one(call: &Call<'_>, guid: &str) -> Result<Response, ODataError> {
    let options = call.options(&MESSAGE_PROCESSING_LOG, Scope::Entry)?;
    let entry = entry(call, guid, options.select.as_deref()).await?;
    Ok(json_response(json!({ "d": entry })))
}

/// The JSON of the entry `guid`, with `select` applied.
pub async fn entry(
    call: &Call<'_>,
    guid: &str,
    select: Option<&[&'static str]>,
) -> Result<Value, ODataError> {
    let entry = read(call, store(call)?.get(guid))
        .await?
        .ok_or_else(|| no_message(guid))?;
    Ok(shape::log_entry(&entry, &call.service, select))
}

/// `MessageProcessingLogs('<guid>')/ErrorInformation[/$value]`.
pub async fn error_information(
    call: &Call<'_>,
    guid: &str,
    value: bool,
) -> Result<Response, ODataError> {
    call.options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
    let error = read(call, store(call)?.error(guid))
        .await?
        .ok_or_else(|| no_message(guid))?
        .ok_or_else(|| ODataError::not_found(format!("message {guid} has no error information")))?;
    if value {
        return Ok(text_response("text/plain;charset=utf-8", error.text.into()));
    }
    Ok(json_response(json!({
        "d": shape::error_information(guid, &error, &call.service)
    })))
}

/// `MessageProcessingLogs('<guid>')/MessageStoreEntries`.
pub async fn store_entries(call: &Call<'_>, guid: &str) -> Result<Response, ODataError> {
    call.options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
    let list = read(call, store(call)?.payloads(guid))
        .await?
        .ok_or_else(|| no_message(guid))?;
    let results: Vec<Value> = list
        .iter()
        .map(|info| shape::store_entry(guid, info, &call.service))
        .collect();
    Ok(json_response(json!({ "d": { "results": results } })))
}

/// `MessageStoreEntries('<id>')[/$value]`, directly or below the message `of`.
pub async fn store_entry(
    call: &Call<'_>,
    id: &str,
    of: Option<&str>,
    value: bool,
) -> Result<Response, ODataError> {
    call.options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
    let not_found =
        || ODataError::not_found(format!("there is no stored message body '{}'", Excerpt(id)));
    let (guid, kind) = shape::parse_store_entry_id(id).ok_or_else(not_found)?;
    if let Some(of) = of.filter(|of| *of != guid) {
        return Err(ODataError::not_found(format!(
            "'{id}' is not a stored body of message '{of}' (its bodies are '{}' and '{}')",
            shape::store_entry_id(of, "request"),
            shape::store_entry_id(of, "response")
        )));
    }
    let store = store(call)?;
    if value {
        call.require(PAYLOADS_ROLE)?;
        let payload = read(call, store.payload(guid, kind))
            .await?
            .ok_or_else(not_found)?;
        return Ok(text_response(&payload.content_type, payload.body));
    }
    let list = read(call, store.payloads(guid)).await?.unwrap_or_default();
    let info = list.iter().find(|i| i.kind == kind).ok_or_else(not_found)?;
    Ok(json_response(json!({
        "d": shape::store_entry(guid, info, &call.service)
    })))
}

/// `MessageProcessingLogs('<guid>')/CustomHeaderProperties`: the message's name/value pairs.
pub async fn custom_headers(call: &Call<'_>, guid: &str) -> Result<Response, ODataError> {
    call.options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
    let properties = read(call, store(call)?.custom_headers(guid))
        .await?
        .ok_or_else(|| no_message(guid))?;
    let results: Vec<Value> = (1..)
        .zip(&properties)
        .map(|(position, property)| shape::custom_header(guid, position, property, &call.service))
        .collect();
    Ok(json_response(json!({ "d": { "results": results } })))
}

/// `MessageProcessingLogCustomHeaderProperties('<guid>.<n>')`.
pub async fn custom_header(call: &Call<'_>, id: &str) -> Result<Response, ODataError> {
    call.options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
    let missing = || ODataError::not_found(format!("there is no custom header property '{id}'"));
    let (guid, position) = shape::parse_custom_header_id(id).ok_or_else(missing)?;
    let properties = read(call, store(call)?.custom_headers(guid))
        .await?
        .ok_or_else(missing)?;
    let property = properties.get(position - 1).ok_or_else(missing)?;
    Ok(json_response(json!({
        "d": shape::custom_header(guid, position, property, &call.service)
    })))
}
