//! The delivery queue in the monitoring API (iflowd's own, not CPI's): a message's attempts,
//! and the two operations, `Replay` and `Retry`, which need the role `MessageReplay`.
//!
//! ```text
//! GET  MessageProcessingLogs('<guid>')/Attempts     the attempts of a queued message
//! GET  MessageProcessingLogAttempts('<guid>.<n>')   one attempt
//! POST MessageProcessingLogs('<guid>')/Replay       201: the new message, queued
//! POST MessageProcessingLogs('<guid>')/Retry        200: the ESCALATED message, queued again
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::error::ODataError;
use super::json as shape;
use super::logs::{entry, no_message, read, store};
use super::{Call, json_response};
use crate::config::REPLAY_ROLE;
use crate::excerpt::Excerpt;
use crate::odata::Scope;
use crate::odata::schema::{MESSAGE_PROCESSING_LOG, MESSAGE_PROCESSING_LOG_ATTEMPT};
use crate::queue::{Queue, ReplayError, RetryError};

/// `MessageProcessingLogs('<guid>')/Attempts`: empty for a message that was never queued.
pub async fn attempts(call: &Call<'_>, guid: &str) -> Result<Response, ODataError> {
    call.options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
    let list = read(call, store(call)?.attempts(guid))
        .await?
        .ok_or_else(|| no_message(guid))?;
    let results: Vec<Value> = list
        .iter()
        .map(|a| shape::attempt(guid, a, &call.service))
        .collect();
    Ok(json_response(json!({ "d": { "results": results } })))
}

/// `MessageProcessingLogAttempts('<guid>.<n>')`.
pub async fn attempt(call: &Call<'_>, id: &str) -> Result<Response, ODataError> {
    call.options(&MESSAGE_PROCESSING_LOG_ATTEMPT, Scope::Value)?;
    let not_found = || ODataError::not_found(format!("there is no attempt '{}'", Excerpt(id)));
    let (guid, number) = shape::parse_attempt_id(id).ok_or_else(not_found)?;
    let list = read(call, store(call)?.attempts(guid))
        .await?
        .unwrap_or_default();
    let found = list
        .iter()
        .find(|a| a.number == number)
        .ok_or_else(not_found)?;
    Ok(json_response(json!({
        "d": shape::attempt(guid, found, &call.service)
    })))
}

/// `POST MessageProcessingLogs('<guid>')/Replay`: the stored request runs again as a new
/// message; 201 with it (and its address in `Location`).
pub async fn replay(call: &Call<'_>, guid: &str) -> Result<Response, ODataError> {
    let queue = operation(call)?;
    let app = call.app;
    let new = queue
        .replay_by(app.message_log(), app.audit(), &call.principal.name, guid)
        .await
        .map_err(|error| match error {
            ReplayError::NoMessage(_) => no_message(guid),
            ReplayError::Store(error) => store_failed(call, &error),
            conflict => ODataError::new(StatusCode::CONFLICT, "Conflict", conflict.to_string()),
        })?;
    let value = entry(call, new.as_str(), None).await?;
    let mut response = json_response(json!({ "d": value }));
    *response.status_mut() = StatusCode::CREATED;
    let location = format!(
        "{}/MessageProcessingLogs({})",
        call.service,
        shape::key(new.as_str())
    );
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `POST MessageProcessingLogs('<guid>')/Retry`: the `ESCALATED` message queued again; 200
/// with it.
pub async fn retry(call: &Call<'_>, guid: &str) -> Result<Response, ODataError> {
    let queue = operation(call)?;
    let audit = call.app.audit();
    let user = &call.principal.name;
    let retried = queue.retry_by(audit, user, guid).await;
    retried.map_err(|error| match error {
        RetryError::NoMessage(_) => no_message(guid),
        RetryError::Store(error) => store_failed(call, &error),
        conflict => ODataError::new(StatusCode::CONFLICT, "Conflict", conflict.to_string()),
    })?;
    let value = entry(call, guid, None).await?;
    Ok(json_response(json!({ "d": value })))
}

/// The checks of both operations: no query options, the role, a queue (a store).
fn operation<'a>(call: &Call<'a>) -> Result<&'a Queue, ODataError> {
    call.options(&MESSAGE_PROCESSING_LOG, Scope::Value)?;
    call.require(REPLAY_ROLE)?;
    store(call)?;
    call.app.queue().ok_or_else(|| {
        ODataError::not_found("the message log is turned off, so there is no delivery queue")
    })
}

/// A store failure, logged once and counted, as a 500 that tells no internals.
fn store_failed(call: &Call<'_>, error: &crate::store::StoreError) -> ODataError {
    tracing::error!(%error, "message log write or read failed");
    call.app.metrics().store_error("enqueue");
    ODataError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "the message log could not be written or read".to_owned(),
    )
}
