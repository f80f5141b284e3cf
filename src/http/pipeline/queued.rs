//! The asynchronous path of a call (`delivery = "async"`): queued, acknowledged, run later.
//!
//! ```text
//! enqueue ─ completed or queued before ─► DISCARDED entry ─► the original's acknowledgement
//!   │     ─ same id being admitted     ─► FAILED entry    ─► Server fault: retry later
//!   │
//!   └ PROCESSING entry, queued (synced) ─► acknowledgement "queued" ─► the queue runs the chain
//! ```
//!
//! The acknowledgement leaves once the queued entry and the request are durable, so an
//! acknowledged message is processed, after a crash too (see [`crate::queue`]). While the queue
//! has room in memory, the first attempt waits there for a worker with the message already
//! parsed; otherwise the message waits in the store for the scheduler.

use std::sync::Arc;

use super::Recording;
use crate::app::App;
use crate::endpoint::Endpoint;
use crate::http::reply::Reply;
use crate::message::{Ack, Message};
use crate::message_log::{Enqueued, MessageFacts, ToQueue};

impl Recording<'_> {
    /// Queues `message` and answers with the acknowledgement that says so.
    pub(super) async fn enqueue(
        &self,
        app: &App,
        endpoint: &Arc<Endpoint>,
        message: Message,
        facts: &MessageFacts,
    ) -> Reply {
        let Some(queue) = app.queue() else {
            // Validation refuses async endpoints without a store.
            let version = message.envelope.soap_version;
            return Reply::internal_error(self.endpoint.adapter, version, self.who.id);
        };
        let ack = queued(&message);
        let reply = Reply::acknowledged(&message.envelope, &ack, self.who.id);
        let place = queue.place();
        let start = queue.start_for(place.as_ref());
        let queued = self
            .log
            .enqueue(ToQueue {
                who: &self.who,
                facts,
                request: &self.request,
                answer: Some((&ack, reply.as_stored())),
                replay_of: None,
                start,
            })
            .await;
        match queued {
            Enqueued::Queued(key) => {
                match place {
                    Some(place) => queue.run_first(place, key, message, Arc::clone(endpoint)),
                    None => queue.wake(),
                }
                reply
            }
            Enqueued::Duplicate(original) => self.duplicate(&message, facts, original).await,
            Enqueued::AlreadyRunning { running, waited } => {
                self.already_running(&message, facts, &running, waited)
                    .await
            }
            Enqueued::Unrecorded(error) => self.store_failure(&message, &error, false),
        }
    }
}

/// The acknowledgement of a queued message: 200, and `statusDetails` saying it was queued, with
/// its message id.
fn queued(message: &Message) -> Ack {
    let events = message.envelope.events.len();
    let plural = if events == 1 { "" } else { "s" };
    Ack {
        status_details: Some(format!(
            "queued {events} event{plural} for delivery; message id {}",
            message.context.id
        )),
        ..Ack::accepted(&message.context, events)
    }
}
