//! Reading a request body within the size and time limits.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};

pub enum BodyError {
    /// Over `max_body_bytes`: 413.
    TooLarge,
    /// Not complete within `body_read_timeout_ms`: 408.
    TimedOut,
    /// The connection broke while reading.
    Broken,
}

/// Reads at most `limit` bytes; a longer body is refused as soon as it crosses the limit, without
/// buffering the rest.
pub async fn read(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(timeout, collect).await {
        Err(_) => Err(BodyError::TimedOut),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(BodyError::TooLarge)
        }
        Ok(Err(_)) => Err(BodyError::Broken),
    }
}
