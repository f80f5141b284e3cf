//! What only the PostgreSQL backend has: several instances on one database, its limits, its url.
//! The store's semantics are tested on both backends in `store/tests/`.

use super::*;
use crate::clock;
use crate::store::query::{Filter, LogField, Op, Value};
use crate::store::tests::{Kind, Place, completed, entry, id};
use crate::store::{Status, Store};

/// Two instances on one new database, both started as `iflowd serve` starts.
pub(super) async fn two() -> (Place, Store, Store) {
    let place = Place::new(Kind::Postgres).await;
    let (a, _) = place.start().await;
    let (b, _) = place.start().await;
    (place, a, b)
}

/// A running delivery of `ext` on `store`.
async fn begin(store: &Store, guid: &str, ext: &str) -> NewOrDuplicate {
    let mut new = entry(guid, Status::Processing);
    new.application_message_id = Some(ext.to_owned());
    store
        .begin(new, Some(clock::now() - time::Duration::days(1)))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_copy_on_another_instance_finds_the_first_running_then_completed() {
    let (_place, a, b) = two().await;
    let NewOrDuplicate::New(key) = begin(&a, "first", "ext-1").await else {
        panic!("new");
    };
    let copy = begin(&b, "copy", "ext-1").await;
    assert_eq!(copy, NewOrDuplicate::Running(id("first")));
    assert!(
        b.get(id("copy").as_str()).await.unwrap().is_none(),
        "nothing written"
    );
    a.finish(completed(key, None)).await.unwrap();
    let copy = begin(&b, "copy", "ext-1").await;
    assert!(
        matches!(copy, NewOrDuplicate::Duplicate(ref o) if o.guid == id("first")),
        "{copy:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_racing_on_two_instances_run_once() {
    let (_place, a, b) = two().await;
    for round in 0..20 {
        let ext = format!("race-{round}");
        let mut tasks = tokio::task::JoinSet::new();
        for copy in 0..6 {
            let store = if copy % 2 == 0 { a.clone() } else { b.clone() };
            let ext = ext.clone();
            tasks.spawn(async move {
                let begun = begin(&store, &format!("r{round}c{copy}"), &ext).await;
                if let NewOrDuplicate::New(key) = begun {
                    store.finish(completed(key, None)).await.unwrap();
                    return true;
                }
                false
            });
        }
        let mut ran = 0;
        while let Some(result) = tasks.join_next().await {
            ran += usize::from(result.unwrap());
        }
        assert_eq!(ran, 1, "round {round}: exactly one copy ran");
    }
}

#[tokio::test]
async fn start_up_leaves_a_live_instances_entries_running() {
    let (place, a, _b) = two().await;
    begin(&a, "running", "ext-live").await;
    let (c, abandoned) = place.start().await;
    assert!(abandoned.is_empty(), "{abandoned:?}");
    let entry = c.get(id("running").as_str()).await.unwrap().unwrap();
    assert_eq!(entry.status, Status::Processing);
}

#[tokio::test]
async fn an_instance_that_is_gone_leaves_its_copy_to_the_next() {
    let (place, a, b) = two().await;
    begin(&a, "lost", "ext-lost").await;
    drop(a);
    // `b` is still open: wait for `a`'s lock alone to go.
    wait_for_locks(&place, 1).await;
    let copy = begin(&b, "retry", "ext-lost").await;
    assert!(matches!(copy, NewOrDuplicate::New(_)), "{copy:?}");
    let lost = b.get(id("lost").as_str()).await.unwrap().unwrap();
    assert_eq!(lost.status, Status::Abandoned);
    assert!(lost.has_error);
}

#[tokio::test]
async fn the_purge_abandons_the_entries_of_instances_that_are_gone() {
    let (place, a, b) = two().await;
    begin(&a, "lost", "ext-lost").await;
    drop(a);
    wait_for_locks(&place, 1).await;
    let retention = crate::store::Retention {
        entries: time::Duration::days(30),
        payloads: time::Duration::days(30),
        max_size: None,
    };
    b.purge(clock::now(), retention).await.unwrap();
    let lost = b.get(id("lost").as_str()).await.unwrap().unwrap();
    assert_eq!(lost.status, Status::Abandoned);
}

/// Waits until exactly `live` instance locks are held on the place's database.
pub(super) async fn wait_for_locks(place: &Place, live: i64) {
    let url = place.settings.url.as_ref().unwrap().expose().to_owned();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    for _ in 0..1000 {
        let held: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int8::oid
                   AND objid <> 0
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&i64::from(LOCK_CLASS)],
            )
            .await
            .unwrap()
            .get(0);
        if held == live {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{live} instance locks expected within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_beyond_postgres_limits_is_too_complex_not_a_failure_of_the_log() {
    let place = Place::new(Kind::Postgres).await;
    let store = place.open().await;
    // Deeper than PostgreSQL's parser goes; built, translated and dropped on a thread with the
    // stack that takes (the monitoring API never nests more than `odata::MAX_FILTER_DEPTH`).
    let deep_store = store.clone();
    let runtime = tokio::runtime::Handle::current();
    let thread = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            let mut deep = Filter::compare(LogField::EventCount, Op::Eq, Value::Int(1));
            for _ in 0..50_000 {
                deep = Filter::Not(Box::new(deep));
            }
            let query = ListQuery {
                filter: Some(deep),
                limit: 1,
                ..ListQuery::default()
            };
            runtime.block_on(deep_store.list(query)).map(|_| ())
        })
        .unwrap();
    let deep = tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    match deep {
        Err(StoreError::TooComplex(reason)) => {
            assert!(reason.contains("memory exhausted"), "{reason}");
        }
        other => panic!("expected TooComplex, got {other:?}"),
    }
    let wide = Filter::Any(vec![
        Filter::compare(
            LogField::EventCount,
            Op::Eq,
            Value::Int(1)
        );
        70_000
    ]);
    let query = ListQuery {
        filter: Some(wide),
        limit: 1,
        ..ListQuery::default()
    };
    assert!(matches!(
        store.list(query).await,
        Err(StoreError::TooComplex(_))
    ));
    assert!(
        store.list(ListQuery::default()).await.is_ok(),
        "the log is fine"
    );
}

#[tokio::test]
async fn a_read_only_handle_needs_a_log_and_writes_nothing() {
    let place = Place::new(Kind::Postgres).await;
    let url = place.settings.url.as_ref().unwrap().expose().to_owned();
    let settings = Settings {
        url: &url,
        pool_size: 2,
        ca: None,
    };
    let Err(error) = Postgres::open_existing(&settings).await else {
        panic!("an empty database has no log");
    };
    assert!(error.to_string().contains("no message log"), "{error}");
    let _writer = place.open().await;
    let reader = Postgres::open_existing(&settings).await.unwrap();
    let refused = reader.insert(entry("x", Status::Completed)).await;
    assert!(
        matches!(refused, Err(StoreError::Database(ref m)) if m.contains("read-only")),
        "{refused:?}"
    );
}

#[test]
fn url_errors_never_repeat_the_url() {
    for (url, expected) in [
        ("mysql://u:hunter2@h/db", "is not a postgres://"),
        ("postgres://u:hunter2@h:notaport/db", "invalid"),
        ("postgres://u:hunter2@h", "names no database"),
    ] {
        let error = check_url(url).unwrap_err();
        assert!(error.contains(expected), "{url}: {error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
    assert!(check_url("postgres://u:p@h:5432/db?sslmode=require").is_ok());
    assert_eq!(
        describe("postgres://u:hunter2@db.example:5433/logs?sslmode=require"),
        "PostgreSQL u@db.example:5433/logs"
    );
}

/// TLS with `sslmode=require`, verified against `[store] ca`, on a cluster of its own with TLS on
/// (and its certificate from `iflowd cert`'s code); the connection is encrypted as the server
/// sees it, and without the CA the certificate is refused.
#[tokio::test]
async fn sslmode_require_connects_with_tls_verified_against_the_ca() {
    let ssl = tempfile::tempdir().unwrap();
    let files = crate::tls::self_signed(&["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    std::fs::write(ssl.path().join("server.crt"), &files.cert_pem).unwrap();
    std::fs::write(ssl.path().join("server.key"), &files.key_pem).unwrap();
    let port = super::test_cluster::tls_port(ssl.path());
    let url = format!("postgres://postgres@localhost:{port}/postgres?sslmode=require");
    let ca = ssl.path().join("server.crt");

    let mut config = connect::parse(&url).unwrap();
    let tls = connect::tls(&mut config, Some(&ca)).unwrap();
    let (client, _driver) = connect::connect(&config, &tls).await.unwrap();
    let encrypted: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(encrypted, "the server sees a TLS connection");

    let store = Postgres::open(&Settings {
        url: &url,
        pool_size: 2,
        ca: Some(&ca),
    })
    .await
    .unwrap();
    store.insert(entry("tls", Status::Completed)).await.unwrap();
    assert!(store.get(id("tls").as_str()).await.unwrap().is_some());

    let untrusted = Postgres::open(&Settings {
        url: &url,
        pool_size: 2,
        ca: None,
    })
    .await;
    let Err(error) = untrusted else {
        panic!("a certificate no trust anchor signed was accepted");
    };
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
}

/// The instance lock's connection cut (as a server restart or a network cut would): the instance
/// takes its lock again on a new connection, so that another instance starting afterwards does
/// not abandon what it runs.
#[tokio::test]
async fn an_instance_takes_its_lock_again_when_its_connection_is_cut() {
    let place = Place::new(Kind::Postgres).await;
    let (a, _) = place.start().await;
    begin(&a, "running", "ext-cut").await;
    let url = place.settings.url.as_ref().unwrap().expose().to_owned();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let first: i32 = lock_holder(&client).await.expect("the lock is held");
    client
        .execute("SELECT pg_terminate_backend($1)", &[&first])
        .await
        .unwrap();
    let mut again = None;
    for _ in 0..1000 {
        match lock_holder(&client).await {
            Some(pid) if pid != first => {
                again = Some(pid);
                break;
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
    assert!(again.is_some(), "the lock was not taken again within 10 s");
    let (_b, abandoned) = place.start().await;
    assert!(abandoned.is_empty(), "{abandoned:?}");
    let entry = a.get(id("running").as_str()).await.unwrap().unwrap();
    assert_eq!(entry.status, Status::Processing);
}

/// The backend holding an instance lock on `client`'s database.
async fn lock_holder(client: &tokio_postgres::Client) -> Option<i32> {
    client
        .query_opt(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int8::oid
               AND objid <> 0 AND granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[&i64::from(LOCK_CLASS)],
        )
        .await
        .unwrap()
        .map(|row| row.get(0))
}
