//! Who is calling: inbound authentication and the roles it grants.
//!
//! An [`Authenticator`] is built once from `[[users]]`, `[[oauth_clients]]` and `[oauth]`. It
//! turns an `Authorization` header (Basic, or a Bearer token from the token endpoint) or a
//! verified TLS client certificate into a [`Principal`] (a name and its roles), or an
//! [`AuthError`]. Whether the principal may use a given endpoint is a role check the caller makes,
//! so "who are you" (401) and "you may not" (403) stay apart, as in CPI.
//!
//! An OAuth client's id and secret also work as Basic credentials, as on CPI's Cloud Foundry.
//! Secrets are compared in constant time, and nothing here logs a credential.

mod basic;
mod certificate;
mod secret;
pub mod signing_key;
#[cfg(test)]
mod tests;
mod token;

use std::collections::HashSet;
use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use basic::parse as parse_basic;
pub use certificate::{ClientCertificate, DistinguishedName};
pub use secret::hash_password;
use secret::{Secret, VerifiedCache};
pub use signing_key::KeyError;
pub use token::{IssuedToken, SignError, TokenError, TokenService};

use crate::config::{Config, OAuthClientConfig, UserConfig};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    roles: Arc<HashSet<String>>,
}

impl Principal {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// A caller known only by the subject of its client certificate, with no roles (for
    /// endpoints that authorise by certificate allow-list).
    pub fn certificate(subject: &DistinguishedName) -> Self {
        Self {
            name: subject.to_string(),
            roles: Arc::default(),
        }
    }
}

/// Why a caller is not authenticated. Every variant is a 401; the text tells the caller which
/// of their mistakes it was without saying whether a user exists. [`AuthError::is_bearer`] tells
/// the HTTP layer which challenge to send back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "authentication required: send Basic credentials or a Bearer token in the Authorization header"
    )]
    Missing,
    #[error(
        "the Authorization header is not valid Basic credentials (expected 'Basic' and base64 of user:password)"
    )]
    Malformed,
    #[error("the Authorization scheme is not supported here; use Basic or Bearer")]
    UnsupportedScheme,
    #[error("wrong user name or password")]
    Invalid,
    #[error("{0}")]
    InvalidToken(TokenError),
}

impl AuthError {
    /// True when the caller tried a Bearer token: the answer's challenge is then
    /// `Bearer error="invalid_token"` rather than `Basic`.
    pub fn is_bearer(&self) -> bool {
        matches!(self, Self::InvalidToken(_))
    }
}

/// Why a client certificate got no token; the token endpoint's `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateRefused {
    #[error("the client certificate '{0}' is the certificate_subject of no OAuth client")]
    Unknown(String),
    #[error("the client certificate '{subject}' does not belong to client '{id}'")]
    OtherClient { subject: String, id: String },
}

struct Account {
    name: String,
    name_digest: [u8; 32],
    secret: Secret,
    roles: Arc<HashSet<String>>,
    /// Set for OAuth clients: the lifetime of their tokens.
    token_lifetime_s: Option<u64>,
}

/// An OAuth client whose secret checked out, as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub id: String,
    pub roles: Arc<HashSet<String>>,
    pub token_lifetime_s: u64,
}

/// Who holds a role ([`Authenticator::holders`]), by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holders {
    /// `[[users]]` names.
    pub users: Vec<String>,
    /// `[[oauth_clients]]` ids.
    pub clients: Vec<String>,
}

/// Checks credentials against the configured users and OAuth clients, and tokens against the
/// signing key.
pub struct Authenticator {
    accounts: Vec<Account>,
    verified: VerifiedCache,
    tokens: Option<TokenService>,
    certificate_users: Vec<(DistinguishedName, Principal)>,
    /// OAuth clients with a `certificate_subject` (CPI's `client_x509`).
    certificate_clients: Vec<(DistinguishedName, OAuthClient)>,
}

impl Authenticator {
    /// Basic authentication for `users` only.
    pub fn new(users: &[UserConfig]) -> Self {
        let accounts = users
            .iter()
            .map(|user| {
                let secret = match (&user.password, &user.password_hash) {
                    (_, Some(hash)) => Secret::Argon2(hash.clone()),
                    (Some(password), None) => {
                        Secret::Plain(sha256(password.expose_secret().as_bytes()))
                    }
                    // A certificate-only user has no password that could match.
                    (None, None) => Secret::Never,
                };
                account(&user.name, secret, &user.roles, None)
            })
            .collect();
        let certificate_users = users
            .iter()
            .filter_map(|user| {
                let subject = user.certificate_subject.as_deref()?;
                // Validation has parsed every subject already.
                let dn = DistinguishedName::parse(subject).ok()?;
                let principal = Principal {
                    name: user.name.clone(),
                    roles: Arc::new(user.roles.iter().cloned().collect()),
                };
                Some((dn, principal))
            })
            .collect();
        Self {
            accounts,
            verified: VerifiedCache::default(),
            tokens: None,
            certificate_users,
            certificate_clients: Vec::new(),
        }
    }

    /// Everything the configuration asks for: users, OAuth clients, and, when there are OAuth
    /// clients, the token service with its signing key (read or created in `data_dir`).
    pub fn from_config(config: &Config) -> Result<Self, KeyError> {
        let mut auth = Self::new(&config.users).with_clients(&config.oauth_clients);
        if !config.oauth_clients.is_empty() {
            let key =
                signing_key::load_or_create(config.oauth.signing_key.as_ref(), &config.data_dir)?;
            auth.tokens = Some(TokenService::new(&config.oauth.app_name, &key));
        }
        Ok(auth)
    }

    /// Adds OAuth clients (their id and secret also work as Basic credentials; their
    /// certificate, when they have a `certificate_subject`, at the token endpoint and on direct
    /// calls).
    pub fn with_clients(mut self, clients: &[OAuthClientConfig]) -> Self {
        self.certificate_clients
            .extend(clients.iter().filter_map(|client| {
                // Validation has parsed every subject already.
                let subject =
                    DistinguishedName::parse(client.certificate_subject.as_deref()?).ok()?;
                let oauth = OAuthClient {
                    id: client.id.clone(),
                    roles: Arc::new(client.roles.iter().cloned().collect()),
                    token_lifetime_s: client.token_lifetime_s,
                };
                Some((subject, oauth))
            }));
        self.accounts.extend(clients.iter().map(|client| {
            let secret = match (&client.secret, &client.secret_hash) {
                (_, Some(hash)) => Secret::Argon2(hash.clone()),
                (Some(secret), None) => Secret::Plain(sha256(secret.expose_secret().as_bytes())),
                // A certificate-only client has no secret that could match.
                (None, None) => Secret::Never,
            };
            account(
                &client.id,
                secret,
                &client.roles,
                Some(client.token_lifetime_s),
            )
        }));
        self
    }

    /// Uses `tokens` to verify Bearer tokens.
    pub fn with_tokens(mut self, tokens: TokenService) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The token service, when OAuth clients are configured.
    pub fn tokens(&self) -> Option<&TokenService> {
        self.tokens.as_ref()
    }

    /// Authenticates the request's `Authorization` header: Basic (users and OAuth clients) or
    /// Bearer (tokens from the token endpoint).
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let value = headers.get(AUTHORIZATION).ok_or(AuthError::Missing)?;
        let text = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
        let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.bearer(rest.trim());
        }
        let (name, password) = basic::parse(value)?;
        self.check(&name, &password).await.map(|account| Principal {
            name: account.name.clone(),
            roles: Arc::clone(&account.roles),
        })
    }

    /// Checks a user name and password given some other way than a header (the monitor's login
    /// form): the same accounts, the same constant-time comparison and argon2 as Basic.
    pub async fn password(&self, name: &str, password: &str) -> Result<Principal, AuthError> {
        self.check(name, password).await.map(|account| Principal {
            name: account.name.clone(),
            roles: Arc::clone(&account.roles),
        })
    }

    /// The names of the users and of the OAuth clients that have `role` and a password or
    /// secret, for telling someone which credentials an endpoint takes. Names only.
    pub fn holders(&self, role: &str) -> Holders {
        let mut holders = Holders::default();
        for account in &self.accounts {
            if matches!(account.secret, Secret::Never) || !account.roles.contains(role) {
                continue;
            }
            match account.token_lifetime_s {
                Some(_) => holders.clients.push(account.name.clone()),
                None => holders.users.push(account.name.clone()),
            }
        }
        holders
    }

    /// The user or OAuth client a verified client certificate is mapped to
    /// (`certificate_subject`), if any.
    pub fn certificate_user(&self, certificate: &ClientCertificate) -> Option<Principal> {
        let user = self
            .certificate_users
            .iter()
            .find(|(subject, _)| *subject == certificate.subject)
            .map(|(_, principal)| principal.clone());
        user.or_else(|| {
            let client = self.certificate_client(certificate, None).ok()?;
            Some(Principal {
                name: client.id,
                roles: client.roles,
            })
        })
    }

    /// The OAuth client whose `certificate_subject` is the verified certificate's subject, for
    /// the token endpoint (CPI's `client_x509`); when the request names a client (`id`), it
    /// must be that one.
    pub fn certificate_client(
        &self,
        certificate: &ClientCertificate,
        id: Option<&str>,
    ) -> Result<OAuthClient, CertificateRefused> {
        let client = self
            .certificate_clients
            .iter()
            .find(|(subject, _)| *subject == certificate.subject)
            .map(|(_, client)| client)
            .ok_or_else(|| CertificateRefused::Unknown(certificate.subject.to_string()))?;
        match id {
            Some(id) if id != client.id => Err(CertificateRefused::OtherClient {
                subject: certificate.subject.to_string(),
                id: id.to_owned(),
            }),
            _ => Ok(client.clone()),
        }
    }

    /// Checks an OAuth client's id and secret, for the token endpoint. A user (not a client) is
    /// refused like a wrong secret.
    pub async fn authenticate_client(
        &self,
        id: &str,
        secret: &str,
    ) -> Result<OAuthClient, AuthError> {
        let account = self.check(id, secret).await?;
        let lifetime = account.token_lifetime_s.ok_or(AuthError::Invalid)?;
        Ok(OAuthClient {
            id: account.name.clone(),
            roles: Arc::clone(&account.roles),
            token_lifetime_s: lifetime,
        })
    }

    fn bearer(&self, token: &str) -> Result<Principal, AuthError> {
        let tokens = self.tokens.as_ref().ok_or(AuthError::UnsupportedScheme)?;
        let claims = tokens.verify(token).map_err(AuthError::InvalidToken)?;
        Ok(Principal {
            name: claims.client_id,
            roles: Arc::new(claims.roles),
        })
    }

    async fn check(&self, name: &str, password: &str) -> Result<&Account, AuthError> {
        let name_digest = sha256(name.as_bytes());
        // Look at every account so the time taken does not depend on where a name matches.
        let mut found = None;
        for account in &self.accounts {
            if bool::from(account.name_digest.ct_eq(&name_digest)) {
                found = Some(account);
            }
        }
        let Some(account) = found else {
            // Same work as a wrong password for a plain-text user.
            let _ = Secret::Never.matches_plain(&sha256(password.as_bytes()));
            return Err(AuthError::Invalid);
        };
        let ok = match &account.secret {
            Secret::Argon2(hash) => self.verified.verify(name, password, hash).await,
            plain => plain.matches_plain(&sha256(password.as_bytes())),
        };
        if ok {
            Ok(account)
        } else {
            Err(AuthError::Invalid)
        }
    }
}

fn account(name: &str, secret: Secret, roles: &[String], token_lifetime_s: Option<u64>) -> Account {
    Account {
        name: name.to_owned(),
        name_digest: sha256(name.as_bytes()),
        secret,
        roles: Arc::new(roles.iter().cloned().collect()),
        token_lifetime_s,
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
