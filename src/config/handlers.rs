//! `[handlers.<name>]`: one table per handler, chosen by `type`, each with its own settings and
//! an optional `when` filter. Plain data; the handler objects are built from it once, by
//! [`crate::handler::build_handlers`].

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::PathBuf;

use serde::de::{self, IntoDeserializer};
use serde::{Deserialize, Deserializer};
use wildmatch::WildMatch;

use super::expand::EnvString;
use super::nats::NatsConfig;
use super::template::Template;
use crate::event::EventKind;

/// A named handler in `[handlers.<name>]`, chosen by its `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum HandlerConfig {
    /// One structured log line per event.
    Log(LogHandlerConfig),
    /// Appends one JSON object per event to a file.
    Jsonl(JsonlConfig),
    /// POSTs each event (or the original envelope) to an HTTP(S) URL.
    Forward(ForwardConfig),
    /// Publishes each event (or the envelope) to a NATS JetStream subject.
    Nats(NatsConfig),
    /// Runs a program per event with the event JSON on standard input.
    Exec(ExecConfig),
    /// Fails on purpose, for failure drills.
    Fault(FaultConfig),
    /// Shapes the acknowledgement.
    Respond(RespondConfig),
}

impl HandlerConfig {
    /// The handler's filter, if it has one.
    pub fn when(&self) -> Option<&When> {
        match self {
            Self::Log(c) => c.when.as_ref(),
            Self::Jsonl(c) => c.when.as_ref(),
            Self::Forward(c) => c.when.as_ref(),
            Self::Nats(c) => c.when.as_ref(),
            Self::Exec(c) => c.when.as_ref(),
            Self::Fault(c) => c.when.as_ref(),
            Self::Respond(c) => c.when.as_ref(),
        }
    }

    /// The `type` as written in the file.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Log(_) => "log",
            Self::Jsonl(_) => "jsonl",
            Self::Forward(_) => "forward",
            Self::Nats(_) => "nats",
            Self::Exec(_) => "exec",
            Self::Fault(_) => "fault",
            Self::Respond(_) => "respond",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogHandlerConfig {
    pub when: Option<When>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlConfig {
    /// The file, created if missing; relative paths are relative to the working directory.
    pub path: PathBuf,
    pub when: Option<When>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// `http` or `https` URL. Not expanded: secrets belong in `headers` or `auth`.
    pub url: url::Url,
    #[serde(default)]
    pub body: ForwardBody,
    /// Extra request headers; values may use `${VAR}`.
    #[serde(default)]
    pub headers: BTreeMap<String, EnvString>,
    pub auth: Option<ForwardAuth>,
    /// Time for one attempt: connecting, sending and reading the answer.
    #[serde(default = "default_forward_timeout_ms")]
    pub timeout_ms: u64,
    /// Further attempts after the first (at most 10).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Wait before the first retry; it doubles for each further retry, with jitter.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Upper bound of the wait between two attempts.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    pub when: Option<When>,
}

fn default_forward_timeout_ms() -> u64 {
    10_000
}
pub(super) fn default_retries() -> u32 {
    2
}
pub(super) fn default_backoff_ms() -> u64 {
    200
}
pub(super) fn default_max_backoff_ms() -> u64 {
    5_000
}

/// What `forward` POSTs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardBody {
    /// One request per event, its JSON as the body.
    #[default]
    Json,
    /// One request per message, the original SOAP envelope as the body.
    Soap,
}

/// Credentials for the downstream system.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ForwardAuth {
    Basic {
        user: EnvString,
        password: EnvString,
    },
    Bearer {
        token: EnvString,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    /// The program and its arguments; no shell is involved.
    pub command: Vec<String>,
    /// After this the program's whole process group is killed.
    #[serde(default = "default_exec_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra environment variables; values may use `${VAR}`.
    #[serde(default)]
    pub env: BTreeMap<String, EnvString>,
    /// Whether the program sees iflowd's own environment (default true).
    #[serde(default = "default_true")]
    pub inherit_env: bool,
    /// The working directory (default: iflowd's).
    pub working_dir: Option<PathBuf>,
    pub when: Option<When>,
}

fn default_exec_timeout_ms() -> u64 {
    30_000
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    pub mode: FaultMode,
    /// Drill the first N deliveries of each `externalEventId`.
    pub first: Option<u32>,
    /// Drill this share (0 to 100) of deliveries, chosen deterministically from `seed`.
    pub percent: Option<f64>,
    #[serde(default)]
    pub seed: u64,
    /// Wait this long before answering (for `delay`, the whole point).
    #[serde(default)]
    pub delay_ms: u64,
    /// `error-response` only: the `errorCode` (default "500").
    pub error_code: Option<String>,
    /// `error-response` only: the `errorMessage` (default names the drill and message id).
    pub error_message: Option<String>,
    pub when: Option<When>,
}

/// How a drilled delivery fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultMode {
    /// HTTP 500 with a SOAP fault, CPI's answer to a failed flow.
    SoapFault,
    /// HTTP 503, as from an unavailable tenant.
    #[serde(rename = "http-503")]
    Http503,
    /// HTTP 200 with `errorCode` and `errorMessage` in the acknowledgement.
    ErrorResponse,
    /// The connection is closed without an answer.
    Close,
    /// Not a failure: the answer is sent after `delay_ms`.
    Delay,
}

impl FaultMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SoapFault => "soap-fault",
            Self::Http503 => "http-503",
            Self::ErrorResponse => "error-response",
            Self::Close => "close",
            Self::Delay => "delay",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondConfig {
    /// The acknowledgement's `status`.
    pub status: Option<i32>,
    /// `statusDetails`, a template such as "created {{externalEventId}}".
    pub status_details: Option<Template>,
    /// `entityId`, a template such as "{{key.userId}}".
    pub entity_id: Option<Template>,
    pub when: Option<When>,
}

/// A handler's filter: it runs for the events that match every condition given. A list means
/// "any of these".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    #[serde(default, deserialize_with = "one_or_many")]
    pub kind: Vec<EventKind>,
    /// Type strings, `*` and `?` as wildcards.
    #[serde(default, rename = "type", deserialize_with = "one_or_many")]
    pub event_type: Vec<TypePattern>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub entity_type: Vec<String>,
    /// `key.<name> = "value"`: an entity key with this value.
    #[serde(default)]
    pub key: BTreeMap<String, String>,
    /// `param.<name> = "value"`: a param with this value.
    #[serde(default)]
    pub param: BTreeMap<String, String>,
}

/// A type string glob (`com.successfactors.Employment.*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "String")]
pub struct TypePattern(WildMatch);

impl From<String> for TypePattern {
    fn from(pattern: String) -> Self {
        Self(WildMatch::new(&pattern))
    }
}

impl TypePattern {
    pub fn matches(&self, type_string: &str) -> bool {
        self.0.matches(type_string)
    }
}

/// Accepts `"x"` or `["x", "y"]`, keeping the item's own error message for a bad value.
pub(super) fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Visitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Visitor<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or a list of strings")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<T>, E> {
            T::deserialize(value.into_deserializer()).map(|one| vec![one])
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut many = Vec::new();
            while let Some(one) = seq.next_element()? {
                many.push(one);
            }
            Ok(many)
        }
    }

    deserializer.deserialize_any(Visitor(PhantomData))
}

/// Reads `[handlers]` so that every error names the handler, `handlers.<name>: <what is wrong>`,
/// and points at that handler's table in the file.
pub(super) fn named_handlers<'de, D>(
    deserializer: D,
) -> Result<BTreeMap<String, HandlerConfig>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Handlers;

    impl<'de> de::Visitor<'de> for Handlers {
        type Value = BTreeMap<String, HandlerConfig>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a table of handlers")
        }

        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut handlers = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                let config = map.next_value_seed(Named(&name))?;
                handlers.insert(name, config);
            }
            Ok(handlers)
        }
    }

    /// One handler, read as a whole first so its errors can be prefixed with its name while
    /// the file position is still that of its table.
    struct Named<'a>(&'a str);

    impl<'de> de::DeserializeSeed<'de> for Named<'_> {
        type Value = HandlerConfig;

        fn deserialize<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<HandlerConfig, D::Error> {
            let value = toml::Value::deserialize(deserializer)?;
            HandlerConfig::deserialize(value)
                .map_err(|e| de::Error::custom(format!("handlers.{}: {}", self.0, e.message())))
        }
    }

    deserializer.deserialize_map(Handlers)
}
