//! `forward`: POST each event's JSON (or the original SOAP envelope) to a downstream URL.
//!
//! One pooled HTTP client per handler, built at start-up. With `body = "json"` each event is one
//! request (events in order, the first that fails fails the message); with `body = "soap"` the
//! message is one request carrying the envelope exactly as received. Every attempt is bounded by
//! `timeout_ms`; a 2xx answer is success, anything else a failure. Connection errors, time-outs,
//! 408, 429 and 5xx are retried up to `retries` times with exponential backoff and jitter; other
//! answers (3xx, 4xx) are not, since repeating the same request would get the same answer.
//! A retried answer's `Retry-After` (seconds or a date) is a floor under the wait; one that asks
//! for longer than `max_backoff_ms` ends the retries at once, since retrying earlier would not be
//! welcome and waiting longer would hold the sender past what the configuration allows.
//! Redirects are not followed: a redirected POST would silently become a GET.
//!
//! Retries happen while the sender waits for its answer, so keep `retries * max_backoff_ms` and
//! `timeout_ms` well inside the sender's own time-out.

mod backoff;
mod retry_after;

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Url};

pub use backoff::Backoff;

use super::{Handler, HandlerError};
use crate::config::{ForwardAuth, ForwardBody, ForwardConfig};
use crate::message::json::EventJson;
use crate::message::{Ack, Message};

/// Header carrying the message id, so the downstream can correlate with iflowd's log.
const MESSAGE_ID_HEADER: &str = "x-iflowd-message-id";
/// Header carrying the event's `eventId` (JSON bodies), a natural idempotency key.
const EVENT_ID_HEADER: &str = "x-iflowd-event-id";
/// How much of a failed answer's body goes into the error.
const ERROR_BODY_BYTES: usize = 512;

pub struct ForwardHandler {
    client: Client,
    url: Url,
    /// The URL without credentials or query, for errors and logs.
    shown_url: String,
    body: ForwardBody,
    headers: HeaderMap,
    timeout: Duration,
    retries: u32,
    backoff: Backoff,
}

/// How one attempt ended, if not in success.
enum AttemptError {
    /// Worth another try: the downstream may recover; not before the wait it asked for, if any.
    Transient(String, Option<Duration>),
    /// Trying again would give the same answer.
    Final(String),
}

impl ForwardHandler {
    /// Builds the client and the fixed headers; the configuration was validated at load.
    pub fn new(config: &ForwardConfig) -> Result<Self, String> {
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("'{name}' is not a valid header name"))?;
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| format!("the value of header '{name}' is not valid"))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if let Some(auth) = &config.auth {
            let text = match auth {
                ForwardAuth::Basic { user, password } => format!(
                    "Basic {}",
                    STANDARD.encode(format!("{}:{}", user.expose(), password.expose()))
                ),
                ForwardAuth::Bearer { token } => format!("Bearer {}", token.expose()),
            };
            let mut value = HeaderValue::from_str(&text)
                .map_err(|_| "the credentials in auth are not valid in a header".to_owned())?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let client = crate::tls::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("iflowd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", chain(&e)))?;
        let url = config.url.clone();
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.set_query(None);
        Ok(Self {
            client,
            shown_url: shown.to_string(),
            url,
            body: config.body,
            headers,
            timeout: Duration::from_millis(config.timeout_ms),
            retries: config.retries,
            backoff: Backoff {
                base: Duration::from_millis(config.backoff_ms),
                max: Duration::from_millis(config.max_backoff_ms),
            },
        })
    }

    /// Sends one body, retrying transient failures.
    async fn deliver(
        &self,
        message: &Message,
        body: Bytes,
        content_type: &str,
        event_id: Option<&str>,
    ) -> Result<(), HandlerError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self
                .attempt(message, body.clone(), content_type, event_id)
                .await
            {
                Ok(()) => return Ok(()),
                Err(AttemptError::Final(error)) => error,
                Err(AttemptError::Transient(error, Some(asked)))
                    if asked > self.backoff.max && attempt <= self.retries =>
                {
                    // Whole seconds, rounded up: a date-form wait has a fraction, and "5 s" must not
                    // read as within a 5000 ms cap.
                    format!(
                        "{error}; it asks to be retried in {} s, later than max_backoff_ms ({} ms) allows",
                        asked.as_millis().div_ceil(1000),
                        self.backoff.max.as_millis()
                    )
                }
                Err(AttemptError::Transient(error, asked)) if attempt <= self.retries => {
                    let wait = self.backoff.delay(attempt).max(asked.unwrap_or_default());
                    tracing::info!(
                        message_id = %message.context.id,
                        url = %self.shown_url,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        retry_after_ms = asked.map(|a| a.as_millis() as u64),
                        "forward will retry: {error}"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(AttemptError::Transient(error, _)) => error,
            };
            let attempts = if attempt == 1 {
                "1 attempt".to_owned()
            } else {
                format!("{attempt} attempts")
            };
            return Err(HandlerError::new(format!(
                "POST {}: {error} (gave up after {attempts})",
                self.shown_url
            )));
        }
    }

    async fn attempt(
        &self,
        message: &Message,
        body: Bytes,
        content_type: &str,
        event_id: Option<&str>,
    ) -> Result<(), AttemptError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, content_type)
            .header(MESSAGE_ID_HEADER, message.context.id.as_str())
            .body(body);
        if let Some(id) = event_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            request = request.header(EVENT_ID_HEADER, id);
        }
        let mut response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        // Read (a bounded part of) the answer so the connection can be reused, and so a failure
        // can say what the downstream said.
        let mut head = Vec::new();
        while head.len() < 64 * 1024 {
            match response.chunk().await {
                Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) if status.is_success() => {
                    return Err(AttemptError::Transient(
                        format!("answered {status} but the body broke off: {}", chain(&e)),
                        None,
                    ));
                }
                Err(_) => break,
            }
        }
        if status.is_success() {
            return Ok(());
        }
        let mut said = String::from_utf8_lossy(&head[..head.len().min(ERROR_BODY_BYTES)])
            .trim()
            .to_owned();
        if head.len() > ERROR_BODY_BYTES {
            said.push('…');
        }
        let error = if said.is_empty() {
            format!("answered {status}")
        } else {
            format!("answered {status}: {said:?}")
        };
        let code = status.as_u16();
        if status.is_server_error() || code == 408 || code == 429 {
            let asked = response.headers().get(RETRY_AFTER).and_then(|value| {
                retry_after::parse(value, std::time::SystemTime::from(crate::clock::now()))
            });
            Err(AttemptError::Transient(error, asked))
        } else {
            Err(AttemptError::Final(error))
        }
    }

    /// The URL is left out: it may carry a query with secrets, and the error names it anyway.
    fn transport_error(&self, error: reqwest::Error) -> AttemptError {
        let error = error.without_url();
        if error.is_timeout() {
            AttemptError::Transient(
                format!("no answer within {} ms", self.timeout.as_millis()),
                None,
            )
        } else if error.is_builder() {
            AttemptError::Final(chain(&error))
        } else {
            AttemptError::Transient(chain(&error), None)
        }
    }
}

/// An error and its causes, one after the other.
pub(super) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[async_trait]
impl Handler for ForwardHandler {
    async fn handle(&self, message: &Message, _ack: &mut Ack) -> Result<(), HandlerError> {
        let envelope = &message.envelope;
        match self.body {
            ForwardBody::Soap => {
                // The envelope as received, with the Content-Type it came with: its charset
                // says how to read bytes that need not be UTF-8.
                let content_type = match message.context.content_type.as_str() {
                    "" => envelope.soap_version.content_type(),
                    received => received,
                };
                self.deliver(
                    message,
                    message.context.raw_body.clone(),
                    content_type,
                    None,
                )
                .await
            }
            ForwardBody::Json => {
                for event in &envelope.events {
                    let json = EventJson::new(Some(&message.context), envelope, event);
                    let body = serde_json::to_vec(&json).map_err(|e| {
                        HandlerError::new(format!("cannot write the event JSON: {e}"))
                    })?;
                    let event_id = event.record().event_id.as_deref();
                    self.deliver(message, Bytes::from(body), "application/json", event_id)
                        .await?;
                }
                Ok(())
            }
        }
    }
}
