//! The configuration of OAuth clients, the token service and TLS: plain serde data, checked by
//! `validate_security.rs` and turned into runtime objects by [`crate::auth`] and [`crate::tls`].

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::defaults;

/// An OAuth client of the client-credentials grant, configured like a user: SuccessFactors' ISC
/// Event Connector is given its id, its secret and the token endpoint's URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientConfig {
    /// The client id (`clientid` of a CPI service key). Also a Basic user name, so no `:`.
    pub id: String,
    /// Plain client secret; give this or `secret_hash`.
    pub secret: Option<SecretString>,
    /// An argon2 PHC string, as printed by `iflowd hash-password`.
    pub secret_hash: Option<String>,
    /// CPI's `client_x509`: the subject DN of a client certificate (verified against `[tls]
    /// client_ca`) that authenticates this client without a secret, at the token endpoint and
    /// on direct calls. Give this, a secret, or both.
    pub certificate_subject: Option<String>,
    /// Roles granted; a token carries them as scopes `<app_name>.<role>`.
    #[serde(default = "defaults::roles")]
    pub roles: Vec<String>,
    /// How long an access token of this client is valid, in seconds.
    #[serde(default = "defaults::token_lifetime_s")]
    pub token_lifetime_s: u64,
}

/// The token service: where it answers and how it signs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuthConfig {
    /// The path of the token endpoint (`POST`), `/oauth/token` like XSUAA's.
    pub token_path: String,
    /// The `xsappname` of the scopes: a token's scope for role R is `<app_name>.R`.
    pub app_name: String,
    /// The HS256 signing key (at least 32 bytes). Without it, a random key is generated once and
    /// kept in `<data_dir>/oauth-signing.key`, so tokens survive a restart; instances that share
    /// the key (the same value here, or the same data directory) accept each other's tokens.
    pub signing_key: Option<SecretString>,
}

/// HTTPS. With this section, `listen` serves TLS 1.2 and 1.3 only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates (PEM) whose client certificates are trusted; enables client certificates.
    pub client_ca: Option<PathBuf>,
    /// `optional` (default): a client may present a certificate; `required`: the TLS handshake
    /// fails without one.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// An additional plain-HTTP listener (for a health check or a local proxy), off by default.
    pub http_listen: Option<SocketAddr>,
    /// Time a client has to complete the TLS handshake.
    #[serde(default = "defaults::handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    #[default]
    Optional,
    Required,
}
