//! What only the SQLite backend has: schemas of older versions, and its writer's threads. The
//! store's semantics are tested on every backend in `store/tests/`.

use super::*;
use crate::clock;
use crate::store::Status;
use crate::store::tests::{entry, id, name};

/// Opens the log in `dir` as `iflowd serve` does: the abandonment at start-up included.
async fn open(dir: &std::path::Path) -> (Sqlite, Abandoned) {
    let store = Sqlite::open(dir).await.unwrap();
    let abandoned = store.abandon_processing(clock::now()).await.unwrap();
    (store, abandoned)
}

#[tokio::test]
async fn a_log_written_before_the_bodies_table_keeps_its_bodies() {
    let dir = tempfile::tempdir().unwrap();
    {
        // The schema and rows of a log made by the first migration only.
        let db = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        db.execute_batch(MIGRATIONS[0]).unwrap();
        db.execute_batch(&format!(
            "PRAGMA user_version = 1;
             INSERT INTO messages (id, message_guid, correlation_id, transaction_id,
                 integration_flow_name, sender, status, custom_status, log_start, log_end)
               VALUES (7, '{old}', 'c', 't', 'Flow', 'isc', 'COMPLETED', 'COMPLETED', 1000, 2000);
             INSERT INTO payloads VALUES (7, 'request', 1000, 'text/xml', X'3C612F3E');
             INSERT INTO payloads VALUES (7, 'response', 2000, 'text/xml', X'3C622F3E');
             INSERT INTO messages (id, message_guid, correlation_id, transaction_id,
                 integration_flow_name, sender, status, custom_status, log_start)
               VALUES (8, '{half}', 'c', 't', 'Flow', 'isc', 'ABANDONED', 'ABANDONED', 3000);
             INSERT INTO payloads VALUES (8, 'request', 3000, 'application/xml', X'3C632F3E');",
            old = id("old"),
            half = id("half"),
        ))
        .unwrap();
    }
    let (store, _) = open(dir.path()).await;
    let listed = store.payloads(id("old").as_str()).await.unwrap().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        &store
            .payload(id("old").as_str(), "request")
            .await
            .unwrap()
            .unwrap()
            .body[..],
        b"<a/>"
    );
    assert_eq!(
        &store
            .payload(id("old").as_str(), "response")
            .await
            .unwrap()
            .unwrap()
            .body[..],
        b"<b/>"
    );
    // An entry that only ever had its request keeps that alone.
    let listed = store.payloads(id("half").as_str()).await.unwrap().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].kind.as_str(), listed[0].content_type.as_str()),
        ("request", "application/xml")
    );
    assert_eq!(
        &store
            .payload(id("half").as_str(), "request")
            .await
            .unwrap()
            .unwrap()
            .body[..],
        b"<c/>"
    );
    assert!(
        store
            .payload(id("half").as_str(), "response")
            .await
            .unwrap()
            .is_none()
    );
    let read_only = Sqlite::open_existing(dir.path()).await.unwrap();
    assert!(
        read_only.get(id("old").as_str()).await.unwrap().is_some(),
        "schema current"
    );
}

/// The task that hands out results runs on the runtime that opened the store. A store used on
/// after that runtime was dropped still gets its results, sent by the leaders themselves.
#[test]
fn writes_still_answer_after_the_runtime_of_the_first_write_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = first.block_on(async {
        let (store, _) = open(dir.path()).await;
        store
            .insert(entry("before", Status::Completed))
            .await
            .unwrap();
        store
    });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    second.block_on(async {
        let written = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            store.insert(entry("after", Status::Completed)),
        )
        .await;
        assert!(matches!(written, Ok(Ok(()))), "{written:?}");
        assert!(store.get(id("after").as_str()).await.unwrap().is_some());
    });
}

#[tokio::test]
async fn entries_started_in_one_millisecond_keep_their_written_order_both_ways() {
    use crate::store::query::{Direction, LogField, Order};
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path()).await;
    let start = clock::now();
    for guid in ["first", "second", "third"] {
        store
            .insert(NewEntry {
                log_start: start,
                ..entry(guid, Status::Completed)
            })
            .await
            .unwrap();
    }
    let names = |direction| {
        let store = &store;
        async move {
            let page = store
                .list(ListQuery {
                    order: vec![Order {
                        field: LogField::LogStart,
                        direction,
                    }],
                    limit: 10,
                    ..ListQuery::default()
                })
                .await
                .unwrap();
            page.entries
                .iter()
                .map(|e| name(&e.guid).to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(Direction::Ascending).await,
        ["first", "second", "third"]
    );
    assert_eq!(
        names(Direction::Descending).await,
        ["third", "second", "first"]
    );
}
