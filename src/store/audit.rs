//! The audit log as the store keeps it: what was done to or with iflowd, by whom, from where
//! and when (CPI's `AuditLogs`), beside the message log, in the same store.
//!
//! Records are written by [`crate::audit::Audit`] and read by the monitoring API through an
//! [`AuditQuery`], the audit log's own small query language: a filter over the [`AuditField`]s
//! with the same operators and the same null-safe meaning as the message log's
//! ([`super::query`]), an order and a page. A record never holds a credential: the audit module
//! writes names and addresses, never a password, secret or token.

use time::OffsetDateTime;

use super::query::{Direction, Op, Value};

/// What a record says happened. Stored as its [`AuditAction::as_str`] text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// The server started listening.
    Start,
    /// The server stopped (after its connections were finished).
    Stop,
    /// A configuration was loaded at start-up: which file, which endpoints.
    ConfigurationLoaded,
    /// Credentials (a password, a client secret, a token) were refused.
    LoginFailed,
    /// A user started a replay of messages (the delivery queue's replay API).
    Replay,
    /// A user started a retry of messages (the delivery queue's retry API).
    Retry,
}

impl AuditAction {
    pub const ALL: [Self; 6] = [
        Self::Start,
        Self::Stop,
        Self::ConfigurationLoaded,
        Self::LoginFailed,
        Self::Replay,
        Self::Retry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "START",
            Self::Stop => "STOP",
            Self::ConfigurationLoaded => "CONFIGURATION_LOADED",
            Self::LoginFailed => "LOGIN_FAILED",
            Self::Replay => "REPLAY",
            Self::Retry => "RETRY",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// Done by iflowd itself rather than by a caller (CPI's `UserType` `SYSTEM`).
    pub fn by_system(self) -> bool {
        matches!(self, Self::Start | Self::Stop | Self::ConfigurationLoaded)
    }

    /// CPI's `UserType` of a record of this action.
    pub fn user_type(self) -> &'static str {
        if self.by_system() {
            SYSTEM_USER_TYPE
        } else {
            USER_USER_TYPE
        }
    }
}

/// A record to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditRecord {
    pub at: OffsetDateTime,
    pub action: AuditAction,
    /// Who: the user or client name (a name given with refused credentials, too), `None` when
    /// there is none.
    pub user: Option<String>,
    /// What it was done to or with: an endpoint, the configuration file, the token endpoint.
    pub object: String,
    /// Where from: the caller's address.
    pub source: Option<String>,
    /// The rest, in words. Never a credential.
    pub details: String,
}

/// The `ChangeId` of record `id`: 16 digits, so that text order is the order of the records.
pub fn change_id(id: i64) -> String {
    format!("{id:016}")
}

/// A record as read back; `id` is its `ChangeId` ([`change_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: OffsetDateTime,
    pub action: AuditAction,
    pub user: Option<String>,
    pub object: String,
    pub source: Option<String>,
    pub details: String,
}

/// A field of a record that a query can compare or sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditField {
    /// The record's id as the API shows its `ChangeId`: [`change_id`].
    ChangeId,
    Time,
    Action,
    User,
    /// `SYSTEM` for what iflowd did itself ([`AuditAction::by_system`]), else `USER`.
    UserType,
    Object,
    Source,
    Details,
}

/// [`AuditField::UserType`] of records iflowd wrote about itself.
pub const SYSTEM_USER_TYPE: &str = "SYSTEM";
/// [`AuditField::UserType`] of the others.
pub const USER_USER_TYPE: &str = "USER";

/// Which records a query selects; the meaning of [`super::query::Filter`].
#[derive(Debug, Clone, PartialEq)]
pub enum AuditFilter {
    All(Vec<AuditFilter>),
    Any(Vec<AuditFilter>),
    Not(Box<AuditFilter>),
    Compare {
        field: AuditField,
        op: Op,
        value: Value,
    },
    /// The record with this `ChangeId`.
    Id(i64),
}

/// A page of records. Without an order, newest first; ties go by `ChangeId` (the written order), in the
/// direction of the first key.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub filter: Option<AuditFilter>,
    pub order: Vec<(AuditField, Direction)>,
    pub skip: u64,
    pub limit: u64,
    /// Also count every match.
    pub count: bool,
}

/// What an [`AuditQuery`] found.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    pub total: Option<u64>,
}
