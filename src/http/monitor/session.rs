//! Browser sessions: a random id in a cookie, the session itself in memory on the server.
//!
//! Why server-side rather than a signed cookie: logging out really ends a session (a signed
//! cookie stays valid until it expires, wherever a copy of it went), there is no signing key to
//! create, keep and rotate, and expiry is decided here. The price is that sessions live in this
//! process: a restart logs everyone out, and two iflowd processes do not share them, which is
//! fine for one monitor per iflowd.
//!
//! A session id is 32 random bytes; the table keeps only its SHA-256, so a memory dump does not
//! hand out sessions, and a lookup never compares secrets byte by byte. Each session has its own
//! CSRF token (the synchronizer token pattern): a request that changes something must carry it
//! in a form field or header, which a page of another site cannot read. A session ends after
//! [`IDLE`] without requests or [`LIFETIME`] after login, whichever comes first; at most
//! [`CAPACITY`] sessions are kept (the ones closest to ending go first).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use crate::auth::Principal;

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after login, however busy.
pub const LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// The most sessions kept at once.
pub const CAPACITY: usize = 1024;

/// The session cookie's name.
pub const COOKIE: &str = "iflowd_session";

/// A live session, as a request sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    /// What a state-changing request must send back.
    pub csrf: String,
}

impl Session {
    /// Whether `token` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        same_secret(&self.csrf, token)
    }
}

struct Entry {
    session: Session,
    created: Instant,
    last_seen: Instant,
}

impl Entry {
    fn ends(&self) -> Instant {
        (self.last_seen + IDLE).min(self.created + LIFETIME)
    }
}

/// The sessions of one monitor.
#[derive(Default)]
pub struct Sessions {
    table: Mutex<HashMap<[u8; 32], Entry>>,
}

impl Sessions {
    /// Starts a session for `principal`; returns the id for the cookie and the session.
    pub fn start(&self, principal: Principal) -> (String, Session) {
        let id = random_token();
        let session = Session {
            principal,
            csrf: random_token(),
        };
        let now = Instant::now();
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.retain(|_, entry| entry.ends() > now);
        if table.len() >= CAPACITY
            && let Some(first) = table.iter().min_by_key(|(_, e)| e.ends()).map(|(k, _)| *k)
        {
            table.remove(&first);
        }
        table.insert(
            digest(&id),
            Entry {
                session: session.clone(),
                created: now,
                last_seen: now,
            },
        );
        (id, session)
    }

    /// The live session with this id, which counts as a request to it; `None` when there is none
    /// or it has ended (then it is gone).
    pub fn get(&self, id: &str) -> Option<Session> {
        let key = digest(id);
        let now = Instant::now();
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = table.get_mut(&key)?;
        if entry.ends() <= now {
            table.remove(&key);
            return None;
        }
        entry.last_seen = now;
        Some(entry.session.clone())
    }

    /// Ends the session with this id, if there is one.
    pub fn end(&self, id: &str) {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&digest(id));
    }
}

/// 32 random bytes, URL-safe base64: a session id, a CSRF token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in constant time (by their digests, so also whatever their lengths).
pub fn same_secret(a: &str, b: &str) -> bool {
    bool::from(digest(a).ct_eq(&digest(b)))
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::DistinguishedName;

    fn someone() -> Principal {
        Principal::certificate(&DistinguishedName::parse("CN=someone").unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_when_idle_and_at_the_end_of_its_lifetime() {
        let sessions = Sessions::default();
        let (id, session) = sessions.start(someone());
        assert!(sessions.get(&id).is_some_and(|s| s.csrf == session.csrf));
        tokio::time::advance(IDLE - Duration::from_secs(1)).await;
        assert!(sessions.get(&id).is_some(), "used within the idle time");
        tokio::time::advance(IDLE).await;
        assert!(sessions.get(&id).is_none(), "idle too long");

        let (id, _) = sessions.start(someone());
        let mut used = Duration::ZERO;
        while used + IDLE / 2 < LIFETIME {
            tokio::time::advance(IDLE / 2).await;
            used += IDLE / 2;
            assert!(sessions.get(&id).is_some(), "busy at {used:?}");
        }
        tokio::time::advance(IDLE / 2).await;
        assert!(sessions.get(&id).is_none(), "past its lifetime");
    }

    #[tokio::test(start_paused = true)]
    async fn ending_a_session_forgets_it_and_other_ids_find_nothing() {
        let sessions = Sessions::default();
        let (id, session) = sessions.start(someone());
        assert!(sessions.get(&random_token()).is_none());
        assert!(session.csrf_matches(&session.csrf));
        assert!(!session.csrf_matches(&id));
        sessions.end(&id);
        assert!(sessions.get(&id).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn at_capacity_the_session_closest_to_its_end_goes() {
        let sessions = Sessions::default();
        let (oldest, _) = sessions.start(someone());
        tokio::time::advance(Duration::from_secs(1)).await;
        let ids: Vec<String> = (1..CAPACITY).map(|_| sessions.start(someone()).0).collect();
        let (newest, _) = sessions.start(someone());
        assert!(sessions.get(&oldest).is_none());
        assert!(sessions.get(&ids[0]).is_some() && sessions.get(&newest).is_some());
    }

    #[test]
    fn cookies_are_found_by_name() {
        let header = "a=1; iflowd_session=abc; iflowd_session_x=no";
        assert_eq!(cookie(header, COOKIE), Some("abc"));
        assert_eq!(cookie(header, "b"), None);
    }
}
