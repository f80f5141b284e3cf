//! A handler with a stopwatch: the chain's steps as `/metrics` sees them.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{Handler, HandlerError};
use crate::message::{Ack, Message};
use crate::metrics::HandlerMetrics;

/// Wraps `handler` so each of its runs is timed and its failures counted in `metrics`.
pub fn timed(handler: Arc<dyn Handler>, metrics: HandlerMetrics) -> Arc<dyn Handler> {
    Arc::new(Timed {
        inner: handler,
        metrics,
    })
}

struct Timed {
    inner: Arc<dyn Handler>,
    metrics: HandlerMetrics,
}

#[async_trait]
impl Handler for Timed {
    async fn handle(&self, message: &Message, ack: &mut Ack) -> Result<(), HandlerError> {
        let started = Instant::now();
        let result = self.inner.handle(message, ack).await;
        self.metrics.ran(started.elapsed(), result.is_err());
        result
    }
}
