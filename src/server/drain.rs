//! Reading and throwing away the rest of a request body that the router did not read.
//!
//! An answer sent before the body was read (401, 404, 413, 408...) is lost to a client that
//! writes its whole body before it reads (PHP's SoapClient does): if the server closes the
//! connection while the client is still writing, the client's write fails ("Broken pipe") and the
//! kernel's reset throws the answer away; on HTTP/2 the stream is reset (curl: `(92) Stream
//! error`). So a body dropped unfinished is read to its end on a task of its own, up to
//! `drain_max_bytes` and `drain_timeout_ms`, while the answer goes out; then an HTTP/1.1
//! connection can even carry the next request. Past either bound the body is dropped, and hyper
//! closes the connection (or resets the stream) as before.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::connection::Busy;

/// The bounds of draining (`[limits] drain_max_bytes`, `drain_timeout_ms`).
#[derive(Debug, Clone, Copy)]
pub(super) struct DrainLimits {
    pub(super) max_bytes: u64,
    pub(super) timeout: Duration,
}

/// A request body that is drained when dropped before its end. It keeps its connection busy
/// until then, so the idle timeout does not cut the drain short.
pub(super) struct Drained {
    body: Option<Incoming>,
    limits: DrainLimits,
    busy: Option<Busy>,
    /// An HTTP/1.1 `Expect: 100-continue` whose body nobody asked for: the client has not sent
    /// it and will not, so there is nothing to drain (and the next bytes are not this body's).
    awaits_continue: bool,
}

impl Drained {
    pub(super) fn new(body: Incoming, limits: DrainLimits, busy: Busy, expects: bool) -> Self {
        Self {
            body: Some(body),
            limits,
            busy: Some(busy),
            awaits_continue: expects,
        }
    }
}

impl Body for Drained {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        // Polling is what makes hyper send `100 Continue`.
        this.awaits_continue = false;
        let frame = ready!(Pin::new(body).poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) {
            // The end, or a broken connection: nothing left to drain.
            this.body = None;
            this.busy = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Incoming::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Incoming::size_hint)
    }
}

impl Drop for Drained {
    fn drop(&mut self) {
        let Some(body) = self.body.take() else {
            return;
        };
        if body.is_end_stream() || self.awaits_continue {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(body, self.limits, self.busy.take()));
        }
    }
}

async fn drain(mut body: Incoming, limits: DrainLimits, busy: Option<Busy>) {
    let read = async {
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Ok(bytes);
            };
            bytes += frame.data_ref().map_or(0, |data| data.len() as u64);
            if bytes > limits.max_bytes {
                return Err(bytes);
            }
        }
        Ok(bytes)
    };
    match tokio::time::timeout(limits.timeout, read).await {
        Ok(Ok(bytes)) => tracing::debug!(bytes, "drained the unread rest of a request body"),
        Ok(Err(bytes)) => tracing::debug!(
            bytes,
            "stopped draining a request body over drain_max_bytes; closing its connection"
        ),
        Err(_) => tracing::debug!(
            timeout_ms = limits.timeout.as_millis(),
            "stopped draining a request body after drain_timeout_ms; closing its connection"
        ),
    }
    drop(busy);
}
