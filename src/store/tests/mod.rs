//! The store's semantics, tested on every backend: each test here runs once on SQLite and once
//! on PostgreSQL (a real server, `postgres::test_cluster`), as `<test>::sqlite` and
//! `<test>::postgres`. What only one backend has (SQLite's writer and old schemas, PostgreSQL's
//! instances) is tested beside that backend.

mod audit;
mod entries;
mod queue;

use bytes::Bytes;

use super::{Completion, EntryKey, NewEntry, Payload, Status, Store, StoreConfig};
use crate::clock;
use crate::message::MessageId;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Kind {
    Sqlite,
    Postgres,
}

/// Where a test's log lives: a directory for SQLite, a database of its own for PostgreSQL.
pub(in crate::store) struct Place {
    pub dir: tempfile::TempDir,
    pub settings: StoreConfig,
}

impl Place {
    pub async fn new(kind: Kind) -> Self {
        let mut settings = StoreConfig::default();
        if kind == Kind::Postgres {
            let url = super::postgres::test_cluster::database().await;
            settings.url = Some(crate::config::EnvString::from(url.as_str()));
        }
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            settings,
        }
    }

    /// Opens the log as `iflowd serve` does, without the abandonment at start-up.
    pub async fn open(&self) -> Store {
        super::open(&self.settings, self.dir.path())
            .await
            .expect("the store opens")
    }

    /// Opens the log as `iflowd serve` does: the abandonment at start-up included.
    pub async fn start(&self) -> (Store, super::Abandoned) {
        let store = self.open().await;
        let abandoned = store
            .abandon_processing(clock::now())
            .await
            .expect("abandon at start-up");
        (store, abandoned)
    }

    /// Waits until no instance holds its lock on this place's database any more (the
    /// connection of a dropped store closes on its own task, and the server notices a moment
    /// later): a readiness probe with a bound. Nothing to wait for with SQLite.
    pub async fn instances_gone(&self) {
        let Some(url) = &self.settings.url else {
            return;
        };
        let (client, connection) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        for _ in 0..1000 {
            let held: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int8::oid
                       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    &[&i64::from(super::postgres::LOCK_CLASS)],
                )
                .await
                .expect("pg_locks")
                .get(0);
            if held == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("an instance lock was still held after 10 s");
    }

    /// Opens the log for reading only, as `iflowd messages` does.
    pub async fn open_existing(&self) -> Store {
        super::open_existing(&self.settings, self.dir.path())
            .await
            .expect("the store opens for reading")
    }
}

/// A store of `kind` with its place (keep the place as long as the store).
pub(in crate::store) async fn store(kind: Kind) -> (Place, Store) {
    let place = Place::new(kind).await;
    let store = place.open().await;
    (place, store)
}

/// Runs the async function `name(kind)` as two tests, `name::sqlite` and `name::postgres`, with
/// the test attribute given (`#[tokio::test]` by default).
macro_rules! each_backend {
    ($(#[$attr:meta])+ $name:ident) => {
        mod $name {
            use $crate::store::tests::Kind;
            $(#[$attr])+
            async fn sqlite() {
                super::$name(Kind::Sqlite).await
            }
            $(#[$attr])+
            async fn postgres() {
                super::$name(Kind::Postgres).await
            }
        }
    };
    ($name:ident) => {
        each_backend!(#[tokio::test] $name);
    };
}
pub(in crate::store) use each_backend;

/// A message id made from `name`, so tests can name their entries.
pub(in crate::store) fn id(name: &str) -> MessageId {
    MessageId::parse(&format!("AG{name:_>26}")).expect("a name of at most 26 letters")
}

/// The name [`id`] made `id` from.
pub(in crate::store) fn name(id: &MessageId) -> &str {
    id.as_str().trim_start_matches("AG").trim_start_matches('_')
}

pub(in crate::store) fn entry(guid: &str, status: Status) -> NewEntry {
    NewEntry {
        guid: id(guid),
        correlation_id: format!("c-{guid}"),
        transaction_id: "t".to_owned(),
        application_message_id: Some(format!("ext-{guid}")),
        application_message_type: None,
        integration_flow_name: "Flow".to_owned(),
        sender: "isc".to_owned(),
        status,
        log_start: clock::now(),
        log_end: None,
        error: None,
        event_count: Some(1),
        repost: None,
        original_guid: None,
        events: Vec::new(),
        ack: Some("{}".to_owned()),
        request: Some(Payload {
            content_type: "text/xml".to_owned(),
            body: Bytes::from_static(b"<x/>"),
        }),
        response: None,
    }
}

/// `key` completed now, with `response` as its answer body.
pub(in crate::store) fn completed(key: EntryKey, response: Option<Payload>) -> Completion {
    Completion {
        key,
        status: Status::Completed,
        log_end: clock::now(),
        error: None,
        ack: None,
        response,
    }
}

pub(in crate::store) fn body(content_type: &str, text: &'static str) -> Option<Payload> {
    Some(Payload {
        content_type: content_type.to_owned(),
        body: Bytes::from_static(text.as_bytes()),
    })
}
