//! Who is calling: inbound authentication and the roles it grants.
//!
//! An [`Authenticator`] is built once from `[[users]]`. It turns an `Authorization` header into a
//! [`Principal`] (a name and its roles) or an [`AuthError`]; whether the principal may use a given
//! endpoint is a role check the caller makes, so "who are you" (401) and "you may not" (403) stay
//! apart, as in CPI.
//!
//! Secrets are compared in constant time, and nothing here logs a credential.

mod basic;
mod secret;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use secret::hash_password;
use secret::{Secret, VerifiedCache};

use crate::config::UserConfig;

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
}

/// Why a caller is not authenticated. Every variant is a 401; the text tells the caller which
/// of their mistakes it was without saying whether a user exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send Basic credentials in the Authorization header")]
    Missing,
    #[error(
        "the Authorization header is not valid Basic credentials (expected 'Basic' and base64 of user:password)"
    )]
    Malformed,
    #[error("the Authorization scheme is not supported here; use Basic")]
    UnsupportedScheme,
    #[error("wrong user name or password")]
    Invalid,
}

struct User {
    name: String,
    name_digest: [u8; 32],
    secret: Secret,
    roles: Arc<HashSet<String>>,
}

/// Checks Basic credentials against the configured users.
pub struct Authenticator {
    users: Vec<User>,
    verified: VerifiedCache,
}

impl Authenticator {
    pub fn new(users: &[UserConfig]) -> Self {
        let users = users
            .iter()
            .map(|user| User {
                name: user.name.clone(),
                name_digest: sha256(user.name.as_bytes()),
                secret: match (&user.password, &user.password_hash) {
                    (_, Some(hash)) => Secret::Argon2(hash.clone()),
                    (Some(password), None) => {
                        Secret::Plain(sha256(password.expose_secret().as_bytes()))
                    }
                    // Validation guarantees one of the two; a user without either never matches.
                    (None, None) => Secret::Never,
                },
                roles: Arc::new(user.roles.iter().cloned().collect()),
            })
            .collect();
        Self {
            users,
            verified: VerifiedCache::default(),
        }
    }

    /// Authenticates the request's `Authorization` header.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let value = headers.get(AUTHORIZATION).ok_or(AuthError::Missing)?;
        let (name, password) = basic::parse(value)?;
        self.check(&name, &password).await
    }

    async fn check(&self, name: &str, password: &str) -> Result<Principal, AuthError> {
        let name_digest = sha256(name.as_bytes());
        // Look at every user so the time taken does not depend on where a name matches.
        let mut found = None;
        for user in &self.users {
            if bool::from(user.name_digest.ct_eq(&name_digest)) {
                found = Some(user);
            }
        }
        let Some(user) = found else {
            // Same work as a wrong password for a plain-text user.
            let _ = Secret::Never.matches_plain(&sha256(password.as_bytes()));
            return Err(AuthError::Invalid);
        };
        let ok = match &user.secret {
            Secret::Argon2(hash) => self.verified.verify(name, password, hash).await,
            plain => plain.matches_plain(&sha256(password.as_bytes())),
        };
        if ok {
            Ok(Principal {
                name: user.name.clone(),
                roles: Arc::clone(&user.roles),
            })
        } else {
            Err(AuthError::Invalid)
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
