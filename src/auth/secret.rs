//! Stored secrets and how a candidate is checked against them.

use std::collections::HashSet;
use std::sync::Mutex;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub(super) enum Secret {
    /// SHA-256 of a plain-text password from the configuration. Comparing digests makes the
    /// comparison constant-time whatever the candidate's length.
    Plain([u8; 32]),
    /// An argon2 PHC string.
    Argon2(String),
    /// Matches nothing; stands in for unknown users so they cost the same as known ones.
    Never,
}

impl Secret {
    pub fn matches_plain(&self, candidate: &[u8; 32]) -> bool {
        match self {
            Self::Plain(digest) => bool::from(digest.ct_eq(candidate)),
            Self::Never => {
                let _ = [0u8; 32].ct_eq(candidate);
                false
            }
            Self::Argon2(_) => false,
        }
    }
}

/// How many verified argon2 credentials are remembered before the cache starts over.
const CACHE_CAPACITY: usize = 1024;

/// Argon2 is deliberately slow (tens of milliseconds); SuccessFactors sends the same credentials
/// with every event. Once a user/password pair has verified, a digest of it is remembered, so
/// later requests cost one SHA-256. Only successes are cached: a wrong guess always pays full
/// price.
#[derive(Default)]
pub(super) struct VerifiedCache {
    digests: Mutex<HashSet<[u8; 32]>>,
}

impl VerifiedCache {
    pub async fn verify(&self, name: &str, password: &str, hash: &str) -> bool {
        let key = cache_key(name, password);
        if self.contains(&key) {
            return true;
        }
        let (password, hash) = (password.to_owned(), hash.to_owned());
        // Off the async workers: argon2 would stall every other connection on this thread.
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        if ok {
            self.insert(key);
        }
        ok
    }

    pub fn contains(&self, key: &[u8; 32]) -> bool {
        self.digests.lock().is_ok_and(|set| set.contains(key))
    }

    fn insert(&self, key: [u8; 32]) {
        if let Ok(mut set) = self.digests.lock() {
            if set.len() >= CACHE_CAPACITY {
                set.clear();
            }
            set.insert(key);
        }
    }
}

pub(super) fn cache_key(name: &str, password: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(password.as_bytes());
    hasher.finalize().into()
}

/// An argon2id PHC string for `password` with a random salt, for `password_hash` in the
/// configuration.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}
