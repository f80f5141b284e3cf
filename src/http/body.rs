//! Reading a request body within the size and time limits.
//!
//! A gzip or deflate body arrives here already being decoded by the router's decompression layer
//! (see [`super::router`]), so the limit counts decoded bytes: a small upload that inflates to
//! gigabytes is refused once `max_body_bytes` of it has been inflated, without inflating the rest.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};

pub enum BodyError {
    /// Over `max_body_bytes`: 413.
    TooLarge,
    /// Not complete within `body_read_timeout_ms`: 408.
    TimedOut,
    /// Not the gzip or deflate data its `Content-Encoding` names: 400.
    Undecodable,
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
        Ok(Err(err)) if is_bad_coding(&*err) => Err(BodyError::Undecodable),
        Ok(Err(_)) => Err(BodyError::Broken),
    }
}

/// The decoder reports bad data as an I/O error; a failure of the connection itself is hyper's
/// (which may have an I/O error inside).
fn is_bad_coding(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut io = false;
    for error in std::iter::successors(Some(error), |e| e.source()) {
        if error.is::<hyper::Error>() {
            return false;
        }
        io |= error.is::<std::io::Error>();
    }
    io
}

/// The `Content-Encoding` a body still has once the decompression layer has had it: one iflowd
/// cannot decode (`identity` is none). Shortened to what a fault may repeat.
pub fn unknown_encoding(headers: &HeaderMap) -> Option<String> {
    const SHOWN: usize = 40;
    let value = headers.get(header::CONTENT_ENCODING)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    if text.trim().eq_ignore_ascii_case("identity") {
        return None;
    }
    Some(match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.into_owned(),
    })
}
