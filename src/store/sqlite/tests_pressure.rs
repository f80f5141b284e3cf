//! A database that may not grow (SQLite's `max_page_count`, which fails writes with
//! `SQLITE_FULL` as a full disk does), and the log's size and the purge down to it. The real
//! full disk, on a small tmpfs, is tested through the server (`tests/it/disk_full.rs`).

use bytes::Bytes;

use super::*;
use crate::clock;
use crate::store::Status;
use crate::store::tests::{completed, entry, id};

async fn open(dir: &std::path::Path) -> Sqlite {
    let store = Sqlite::open(dir).await.unwrap();
    store.abandon_processing(clock::now()).await.unwrap();
    store
}

/// `name`'s entry with a request body of `size` bytes.
fn large(name: &str, status: Status, size: usize) -> NewEntry {
    NewEntry {
        request: Some(Payload {
            content_type: "text/xml".to_owned(),
            body: Bytes::from(vec![b'x'; size]),
        }),
        ..entry(name, status)
    }
}

/// The database may not grow beyond the pages it has (`grow: false`), or may again.
fn growth(store: &Sqlite, grow: bool) {
    store.shared.writer.with_connection(|db| {
        let pages: i64 = db
            .query_row("PRAGMA page_count", [], |row| row.get(0))
            .unwrap();
        let max = if grow { 1 << 30 } else { pages };
        db.query_row(&format!("PRAGMA max_page_count = {max}"), [], |_| Ok(()))
            .unwrap();
    });
}

fn unwritable(result: &Result<impl std::fmt::Debug, StoreError>) -> bool {
    matches!(result, Err(StoreError::Unwritable(reason)) if reason.contains("full"))
}

#[tokio::test]
async fn a_write_refused_for_want_of_space_fails_and_the_next_one_succeeds_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .insert(entry("before", Status::Completed))
        .await
        .unwrap();
    assert_eq!(store.health(), Health::Writable);

    growth(&store, false);
    let refused = store
        .insert(large("refused", Status::Completed, 64 * 1024))
        .await;
    assert!(unwritable(&refused), "{refused:?}");
    let Health::Unwritable { reason, .. } = store.health() else {
        panic!("the log says it is writable")
    };
    assert!(reason.contains("full"), "{reason}");
    let begun = store
        .begin(large("begun", Status::Processing, 64 * 1024), None)
        .await;
    assert!(unwritable(&begun), "{begun:?}");
    // Reads go on.
    assert!(store.get(id("before").as_str()).await.unwrap().is_some());

    // Room again: the next write succeeds on the same handle, and the log says so.
    growth(&store, true);
    store
        .insert(large("after", Status::Completed, 64 * 1024))
        .await
        .unwrap();
    assert_eq!(store.health(), Health::Writable);
    assert!(store.get(id("refused").as_str()).await.unwrap().is_none());
    assert!(store.get(id("begun").as_str()).await.unwrap().is_none());
    assert!(store.get(id("after").as_str()).await.unwrap().is_some());
}

#[tokio::test]
async fn a_refused_batch_fails_whole_and_a_constraint_still_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()).await);
    store
        .insert(entry("taken", Status::Completed))
        .await
        .unwrap();
    growth(&store, false);
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = Arc::clone(&store);
        writes.spawn(async move {
            let name = format!("w{i}");
            store
                .insert(large(&name, Status::Completed, 16 * 1024))
                .await
        });
    }
    while let Some(result) = writes.join_next().await {
        assert!(unwritable(&result.unwrap()));
    }
    growth(&store, true);
    store
        .insert(entry("after", Status::Completed))
        .await
        .unwrap();
    assert_eq!(store.health(), Health::Writable);
    let again = store.insert(entry("taken", Status::Completed)).await;
    assert!(
        matches!(again, Err(StoreError::Database(ref m)) if m.contains("UNIQUE")),
        "{again:?}"
    );
    assert_eq!(store.health(), Health::Writable, "a constraint is no disk");
}

#[tokio::test]
async fn every_write_batch_is_counted_for_those_waiting_on_new_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let mut writes = store.writes();
    store.insert(entry("one", Status::Completed)).await.unwrap();
    assert!(writes.has_changed().unwrap());
    writes.borrow_and_update();
    growth(&store, false);
    let _ = store
        .insert(large("two", Status::Completed, 64 * 1024))
        .await;
    assert!(writes.has_changed().unwrap(), "a refused batch counts too");
}

#[tokio::test]
async fn the_size_counts_pages_in_use_and_the_wal_and_a_purge_brings_it_under_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let empty = store.size().await.unwrap();
    for i in 0..40 {
        store
            .insert(large(&format!("e{i:02}"), Status::Completed, 16 * 1024))
            .await
            .unwrap();
    }
    let NewOrDuplicate::New(running) = store
        .begin(large("running", Status::Processing, 16 * 1024), None)
        .await
        .unwrap()
    else {
        panic!("not a duplicate")
    };
    let full = store.size().await.unwrap();
    assert!(full >= empty + 41 * 16 * 1024, "{empty} -> {full}");

    let forever = time::Duration::days(3650);
    let retention = |max: u64| Retention {
        entries: forever,
        payloads: forever,
        max_size: Some(max),
    };
    // Under the limit: nothing goes.
    let purged = store
        .purge(clock::now(), retention(full * 2))
        .await
        .unwrap();
    assert!(!purged.any(), "{purged:?}");

    // Over it: the oldest bodies go first, down to nine tenths of the limit.
    let max = full / 2;
    let purged = store.purge(clock::now(), retention(max)).await.unwrap();
    assert!(purged.payloads_over_size >= 10, "{purged:?}");
    assert_eq!(purged.entries_over_size, 0, "{purged:?}");
    assert!(store.size().await.unwrap() <= max / 10 * 9);
    assert!(
        store
            .payload(id("e00").as_str(), "request")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .payload(id("e39").as_str(), "request")
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.get(id("e00").as_str()).await.unwrap().is_some());

    // Far over it: every body, then the oldest entries; never the running one.
    let purged = store.purge(clock::now(), retention(empty)).await.unwrap();
    assert!(purged.entries_over_size > 0, "{purged:?}");
    assert!(store.get(id("e00").as_str()).await.unwrap().is_none());
    assert!(store.get(id("running").as_str()).await.unwrap().is_some());
    store.finish(completed(running, None)).await.unwrap();
}

#[tokio::test]
async fn a_purge_down_to_size_takes_whole_entries_bodies_request_and_answer_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let body = |size: usize| Payload {
        content_type: "text/xml".to_owned(),
        body: Bytes::from(vec![b'x'; size]),
    };
    // Every third entry has no stored answer (a refusal, say), so the two tables differ.
    let answered = |i: usize| !i.is_multiple_of(3);
    for i in 0..40 {
        let mut entry = large(&format!("e{i:02}"), Status::Completed, 8 * 1024);
        entry.response = answered(i).then(|| body(8 * 1024));
        store.insert(entry).await.unwrap();
    }
    let full = store.size().await.unwrap();
    let retention = Retention {
        entries: time::Duration::days(3650),
        payloads: time::Duration::days(3650),
        max_size: Some(full / 2),
    };
    let purged = store.purge(clock::now(), retention).await.unwrap();
    assert!(purged.payloads_over_size >= 10, "{purged:?}");
    let mut gone = 0;
    for i in 0..40 {
        let guid = id(&format!("e{i:02}"));
        let request = store.payload(guid.as_str(), "request").await.unwrap();
        let response = store.payload(guid.as_str(), "response").await.unwrap();
        if answered(i) {
            assert_eq!(
                request.is_none(),
                response.is_none(),
                "e{i:02}: one body of two"
            );
        }
        // The oldest go first: no entry keeps its bodies while a later one lost them.
        assert!(
            request.is_some() || gone == i,
            "e{i:02} went after a later one stayed"
        );
        gone += usize::from(request.is_none());
    }
    // Each entry counted once, however many of its bodies went.
    assert_eq!(purged.payloads_over_size, gone, "{purged:?}");
}
