//! `nats`: publish each event's JSON (or the original envelope) to a NATS JetStream subject.
//!
//! The stream's publish ack is the durability point: the handler succeeds only once JetStream
//! has stored the message (on disk, on as many replicas as the stream asks for), so an
//! acknowledgement to SuccessFactors means the event is in the stream. Every message carries
//! `Nats-Msg-Id` (see [`subject::event_msg_id`]), so a publish repeated by a retry or by a
//! redelivery of the same message is dropped by the stream's duplicate window rather than stored
//! twice.
//!
//! With `payload = "event"` each event is one message, in order, and the first that fails fails
//! the message; with `payload = "envelope"` the message is one NATS message carrying the envelope
//! exactly as received. Each attempt (publish and ack) is bounded by `timeout_ms`. No ack in time
//! and a lost connection are retried up to `retries` times with `forward`'s backoff; an answer of
//! the stream (no stream for the subject, a refusal such as a full stream with `discard = new`
//! or another stream than `stream`) is not, since repeating the publish gets the same answer.
//! A publish that timed out may still reach the stream later (async-nats sends it when it
//! reconnects); its `Nats-Msg-Id` then makes the retry or the redelivery a duplicate.

mod connect;
mod subject;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use async_nats::header::{NATS_EXPECTED_STREAM, NATS_MESSAGE_ID};
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, Context};
use async_nats::{HeaderMap, HeaderValue};
use async_trait::async_trait;
use bytes::Bytes;

use super::forward::{Backoff, chain};
use super::{Handler, HandlerError};
use crate::config::{NatsConfig, NatsPayload, SubjectTemplate};
use crate::message::json::EventJson;
use crate::message::{Ack, Message};

/// Header carrying iflowd's message id, so a consumer can correlate with iflowd's log.
const MESSAGE_ID_HEADER: &str = "Iflowd-Message-Id";

pub struct NatsHandler {
    jetstream: Context,
    subject: SubjectTemplate,
    payload: NatsPayload,
    stream: Option<HeaderValue>,
    timeout: Duration,
    retries: u32,
    backoff: Backoff,
}

/// One NATS message, ready to be published (again).
struct Outgoing {
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
}

/// How one attempt ended, if not in success.
enum AttemptError {
    /// Worth another try: no answer yet, the server may come back.
    Transient(String),
    /// The stream answered; trying again would get the same answer.
    Final(String),
}

impl NatsHandler {
    /// Connects (or starts connecting) as configured; see [`connect`]. The configuration was
    /// validated at load.
    pub async fn new(name: &Arc<str>, config: &NatsConfig) -> Result<Self, String> {
        let client = connect::connect(name, config).await?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let stream = match &config.stream {
            Some(stream) => Some(
                stream
                    .parse::<HeaderValue>()
                    .map_err(|_| format!("stream {stream:?} cannot be a header value"))?,
            ),
            None => None,
        };
        Ok(Self {
            jetstream: jetstream::ContextBuilder::new()
                .timeout(timeout)
                .build(client),
            subject: config.subject.clone(),
            payload: config.payload,
            stream,
            timeout,
            retries: config.retries,
            backoff: Backoff {
                base: Duration::from_millis(config.backoff_ms),
                max: Duration::from_millis(config.max_backoff_ms),
            },
        })
    }

    fn outgoing(
        &self,
        message: &Message,
        subject: String,
        msg_id: &str,
        content_type: &str,
        payload: Bytes,
    ) -> Outgoing {
        let mut headers = HeaderMap::new();
        // Ids with control characters were passed over, and message ids are plain ASCII.
        if let Ok(id) = msg_id.parse::<HeaderValue>() {
            headers.insert(NATS_MESSAGE_ID, id);
        }
        if let Ok(id) = message.context.id.as_str().parse::<HeaderValue>() {
            headers.insert(MESSAGE_ID_HEADER, id);
        }
        if let Ok(content_type) = content_type.parse::<HeaderValue>() {
            headers.insert("Content-Type", content_type);
        }
        if let Some(stream) = &self.stream {
            headers.insert(NATS_EXPECTED_STREAM, stream.clone());
        }
        Outgoing {
            subject,
            headers,
            payload,
        }
    }

    /// Publishes one message, retrying what may pass on another try.
    async fn deliver(&self, message: &Message, outgoing: Outgoing) -> Result<(), HandlerError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.attempt(&outgoing).await {
                Ok(()) => return Ok(()),
                Err(AttemptError::Final(error)) => error,
                Err(AttemptError::Transient(error)) if attempt <= self.retries => {
                    let wait = self.backoff.delay(attempt);
                    tracing::info!(
                        message_id = %message.context.id,
                        subject = %outgoing.subject,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "nats will retry: {error}"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(AttemptError::Transient(error)) => error,
            };
            let attempts = if attempt == 1 {
                "1 attempt".to_owned()
            } else {
                format!("{attempt} attempts")
            };
            return Err(HandlerError::new(format!(
                "publish to '{}': {error} (gave up after {attempts})",
                outgoing.subject
            )));
        }
    }

    /// Publishes and waits for the stream's ack, within `timeout`.
    async fn attempt(&self, outgoing: &Outgoing) -> Result<(), AttemptError> {
        let publish = PublishMessage::build()
            .payload(outgoing.payload.clone())
            .headers(outgoing.headers.clone());
        let published = tokio::time::timeout(self.timeout, async {
            self.jetstream
                .send_publish(outgoing.subject.clone(), publish)
                .await?
                .await
        })
        .await;
        match published {
            Err(_) => Err(self.no_ack()),
            Ok(Err(error)) => Err(self.classify(&error)),
            Ok(Ok(ack)) => {
                if ack.duplicate {
                    tracing::debug!(
                        subject = %outgoing.subject,
                        stream = %ack.stream,
                        sequence = ack.sequence,
                        "nats: the stream already had this message (Nats-Msg-Id), a duplicate"
                    );
                }
                Ok(())
            }
        }
    }

    fn no_ack(&self) -> AttemptError {
        AttemptError::Transient(format!(
            "no ack from the stream within {} ms",
            self.timeout.as_millis()
        ))
    }

    fn classify(&self, error: &PublishError) -> AttemptError {
        match error.kind() {
            PublishErrorKind::TimedOut => self.no_ack(),
            PublishErrorKind::BrokenPipe => {
                AttemptError::Transient("the connection broke before the ack".to_owned())
            }
            PublishErrorKind::MaxAckPending => AttemptError::Transient(chain(error)),
            PublishErrorKind::StreamNotFound => AttemptError::Final(
                "no stream takes this subject (\"no responders\"); create one whose subjects include it"
                    .to_owned(),
            ),
            // An answer of the stream (JetStream's own error), or the message never left.
            PublishErrorKind::Other => match std::error::Error::source(error)
                .and_then(|source| source.downcast_ref::<jetstream::Error>())
            {
                Some(refusal) => AttemptError::Final(format!("the stream refused it: {refusal}")),
                None => AttemptError::Transient(chain(error)),
            },
            _ => AttemptError::Final(chain(error)),
        }
    }
}

#[async_trait]
impl Handler for NatsHandler {
    async fn handle(&self, message: &Message, _ack: &mut Ack) -> Result<(), HandlerError> {
        let envelope = &message.envelope;
        match self.payload {
            NatsPayload::Envelope => {
                let outgoing = self.outgoing(
                    message,
                    subject::render(&self.subject, message, None),
                    &subject::envelope_msg_id(message),
                    // The Content-Type the envelope came with: its charset says how to read
                    // bytes that need not be UTF-8.
                    match message.context.content_type.as_str() {
                        "" => envelope.soap_version.content_type(),
                        received => received,
                    },
                    message.context.raw_body.clone(),
                );
                self.deliver(message, outgoing).await
            }
            NatsPayload::Event => {
                for (index, event) in envelope.events.iter().enumerate() {
                    let json = EventJson::new(Some(&message.context), envelope, event);
                    let body = serde_json::to_vec(&json).map_err(|e| {
                        HandlerError::new(format!("cannot write the event JSON: {e}"))
                    })?;
                    let outgoing = self.outgoing(
                        message,
                        subject::render(&self.subject, message, Some(event)),
                        &subject::event_msg_id(message, event, index + 1),
                        "application/json",
                        Bytes::from(body),
                    );
                    self.deliver(message, outgoing).await?;
                }
                Ok(())
            }
        }
    }
}
