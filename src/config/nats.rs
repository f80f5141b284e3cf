//! `type = "nats"`: publish each event (or the envelope) to a NATS JetStream subject. The settings,
//! their `${VAR}` expansion and the checks that stop start-up; the handler is
//! `crate::handler`'s `nats`.

use std::path::PathBuf;

use serde::Deserialize;

use super::expand::EnvString;
use super::handlers::{When, default_backoff_ms, default_max_backoff_ms, default_retries};
use super::subject::SubjectTemplate;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    /// `nats://` or `tls://` URLs: one server, or a list (a cluster). Not expanded: credentials
    /// belong in `auth`.
    #[serde(deserialize_with = "super::handlers::one_or_many")]
    pub url: Vec<url::Url>,
    /// The subject to publish to, with `{field}` placeholders.
    pub subject: SubjectTemplate,
    #[serde(default)]
    pub payload: NatsPayload,
    /// The stream that must take the messages (`Nats-Expected-Stream`): a subject that another
    /// stream captures is then an error instead of a message in the wrong place.
    pub stream: Option<String>,
    pub auth: Option<NatsAuth>,
    pub tls: Option<NatsTls>,
    #[serde(default)]
    pub connect: NatsConnect,
    /// Time for one attempt: publishing and receiving the stream's ack (and for connecting).
    #[serde(default = "default_nats_timeout_ms")]
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

fn default_nats_timeout_ms() -> u64 {
    5_000
}

/// What one NATS message carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NatsPayload {
    /// One message per event, its event JSON.
    #[default]
    Event,
    /// One message per SOAP message, the envelope exactly as received.
    Envelope,
}

/// When the connection is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatsConnect {
    /// Before iflowd listens: no server, refused credentials or a broken TLS set-up stop
    /// start-up.
    #[default]
    AtStart,
    /// In the background: iflowd starts whatever the servers do, and publishes fail (after their
    /// retries) until a server answers.
    Background,
}

/// Credentials, as NATS servers take them.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum NatsAuth {
    User {
        user: EnvString,
        password: EnvString,
    },
    Token {
        token: EnvString,
    },
    /// An NKey seed (`SU...`); the server knows the public key.
    Nkey {
        seed: EnvString,
    },
    /// A `.creds` file (user JWT and NKey seed), as `nsc` writes it; relative paths are relative
    /// to the working directory.
    Creds {
        path: PathBuf,
    },
}

/// TLS towards the servers: given, TLS is required; `ca` replaces the system's trust anchors;
/// `cert` and `key` (PEM) are the client certificate for servers that verify clients.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsTls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl NatsConfig {
    /// Expands `${VAR}` in the credentials, calling `expand` with each key and value.
    pub(super) fn expand(&mut self, name: &str, mut expand: impl FnMut(String, &mut EnvString)) {
        match &mut self.auth {
            Some(NatsAuth::User { user, password }) => {
                expand(format!("handlers.{name}.auth.user"), user);
                expand(format!("handlers.{name}.auth.password"), password);
            }
            Some(NatsAuth::Token { token }) => expand(format!("handlers.{name}.auth.token"), token),
            Some(NatsAuth::Nkey { seed }) => expand(format!("handlers.{name}.auth.seed"), seed),
            Some(NatsAuth::Creds { .. }) | None => {}
        }
    }

    /// Pushes what is wrong to `errors`, each naming `key` (`handlers.<name>`).
    pub(super) fn validate(&self, key: &str, errors: &mut Vec<String>) {
        if self.url.is_empty() {
            errors.push(format!("{key}.url is empty: give nats://host:4222"));
        }
        for url in &self.url {
            if !matches!(url.scheme(), "nats" | "tls") || url.host_str().is_none_or(str::is_empty) {
                errors.push(format!(
                    "{key}.url '{url}' is not a nats:// or tls:// URL with a host"
                ));
            } else if !url.username().is_empty() || url.password().is_some() {
                errors.push(format!(
                    "{key}.url carries credentials; put them in auth, where ${{VAR}} works and nothing prints them"
                ));
            }
        }
        if self.payload == NatsPayload::Envelope
            && let Some(field) = self.subject.fields().find(|f| f.is_per_event())
        {
            errors.push(format!(
                "{key}.subject uses {{{}}}, a field of one event, but payload = \"envelope\" publishes all of a message's events at once; use endpoint, sender or externalEventId",
                field.name()
            ));
        }
        if let Some(stream) = &self.stream
            && (stream.is_empty()
                || stream
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || ".*>/\\".contains(c)))
        {
            errors.push(format!(
                "{key}.stream {stream:?} is not a stream name (no white space, '.', '*', '>', '/' or '\\')"
            ));
        }
        self.validate_files(key, errors);
        if let Some(NatsAuth::Nkey { seed }) = &self.auth
            && nkeys::KeyPair::from_seed(seed.expose()).is_err()
        {
            errors.push(format!(
                "{key}.auth.seed is not an NKey seed (it starts with 'SU' and is 58 characters long)"
            ));
        }
        if self.timeout_ms == 0 {
            errors.push(format!("{key}.timeout_ms must be greater than 0"));
        }
        if self.retries > 10 {
            errors.push(format!(
                "{key}.retries is {}; at most 10 further attempts are allowed (the sender waits for them)",
                self.retries
            ));
        }
        if self.backoff_ms > self.max_backoff_ms {
            errors.push(format!(
                "{key}.backoff_ms ({}) is larger than max_backoff_ms ({})",
                self.backoff_ms, self.max_backoff_ms
            ));
        }
    }

    /// The files must be there when iflowd starts; checked here so that `check-config` refuses
    /// what `serve` would. Their content is read when the handler is built.
    fn validate_files(&self, key: &str, errors: &mut Vec<String>) {
        let mut file = |setting: String, path: &PathBuf| {
            if !path.is_file() {
                errors.push(format!(
                    "{key}.{setting} '{}' is not a readable file",
                    path.display()
                ));
            }
        };
        if let Some(NatsAuth::Creds { path }) = &self.auth {
            file("auth.path".to_owned(), path);
        }
        let Some(tls) = &self.tls else { return };
        for (setting, path) in [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)] {
            if let Some(path) = path {
                file(format!("tls.{setting}"), path);
            }
        }
        if tls.cert.is_some() != tls.key.is_some() {
            errors.push(format!(
                "{key}.tls: give both cert and key (the client certificate and its private key), or neither"
            ));
        }
    }
}
