//! The message log's two backends in the tests: SQLite in the test's directory, or a database of
//! the test's own on a real PostgreSQL (one cluster per run of this binary, started on first use
//! by `tests/support/postgres.sh`; see `src/store/postgres/test_cluster.rs`, included here).
//!
//! [`on_both_backends!`] turns a test written as `async fn name(backend: Backend)` into two,
//! `name::sqlite` and `name::postgres`: one suite, two backends.

#[path = "../../../src/store/postgres/test_cluster.rs"]
mod test_cluster;

/// Where a test's message log lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `data_dir`'s `messages.db`, the default.
    Sqlite,
    /// A database of its own on the test cluster: its url.
    Postgres(String),
}

impl Backend {
    pub fn sqlite() -> Self {
        Self::Sqlite
    }

    /// A new, empty database on the test cluster.
    pub async fn postgres() -> Self {
        Self::Postgres(test_cluster::database().await)
    }

    /// The url, for PostgreSQL.
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres(url) => Some(url),
        }
    }

    /// `[store] url = "..."` for a configuration file, or nothing for SQLite. (TOML: put it where
    /// a `[store]` table may start, and no other `[store]` in the same file.)
    pub fn store_toml(&self) -> String {
        match self {
            Self::Sqlite => String::new(),
            Self::Postgres(url) => format!("\n[store]\nurl = \"{url}\"\n"),
        }
    }

    /// A client of the test's own on the database, for looking behind the API (PostgreSQL only).
    pub async fn client(&self) -> tokio_postgres::Client {
        let url = self.url().expect("a PostgreSQL backend");
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    }

    /// Waits until exactly `live` iflowd instances hold their instance lock on this database
    /// (a stopped or killed instance's connection closes, and the server notices a moment
    /// later): a readiness probe with a bound. Nothing to wait for with SQLite.
    pub async fn wait_for_instances(&self, live: i64) {
        if *self == Self::Sqlite {
            return;
        }
        let client = self.client().await;
        for _ in 0..1000 {
            let held: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                       AND classid = 1768320111 AND objid <> 0
                       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    &[],
                )
                .await
                .expect("pg_locks")
                .get(0);
            if held == live {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("expected {live} live instances within 10 s");
    }
}

/// Runs the async test function `name(backend: Backend)` as two tests, `name::sqlite` and
/// `name::postgres`, with the test attribute given (`#[tokio::test]` by default).
macro_rules! on_both_backends {
    ($(#[$attr:meta])+ $name:ident) => {
        mod $name {
            use $crate::common::postgres::Backend;
            $(#[$attr])+
            async fn sqlite() {
                super::$name(Backend::sqlite()).await
            }
            $(#[$attr])+
            async fn postgres() {
                super::$name(Backend::postgres().await).await
            }
        }
    };
    ($name:ident) => {
        $crate::common::on_both_backends!(#[tokio::test] $name);
    };
}
pub(crate) use on_both_backends;
