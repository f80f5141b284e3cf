use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::clock;
use crate::message::MessageId;
use crate::store::Status;

/// Opens the log in `dir` as `iflowd serve` does: the abandonment at start-up included.
async fn open(dir: &std::path::Path) -> (Sqlite, Abandoned) {
    let store = Sqlite::open(dir).await.unwrap();
    let abandoned = store.abandon_processing(clock::now()).await.unwrap();
    (store, abandoned)
}

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
pub(super) fn completed(key: EntryKey, response: Option<Payload>) -> Completion {
    Completion {
        key,
        status: Status::Completed,
        log_end: clock::now(),
        error: None,
        ack: None,
        response,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits_and_all_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let (store, abandoned) = open(dir.path()).await;
    assert!(abandoned.is_empty());
    let store = Arc::new(store);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let guid = format!("g{i}");
            let NewOrDuplicate::New(key) = store
                .begin(entry(&guid, Status::Processing), Some(clock::now()))
                .await?
            else {
                panic!("not a duplicate");
            };
            store.finish(completed(key, None)).await
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let page = store
        .list(ListQuery {
            limit: 1000,
            count: true,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, Some(200));
    assert!(page.entries.iter().all(|e| e.status == Status::Completed));
}

#[tokio::test]
async fn a_failing_write_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path()).await;
    store
        .insert(entry("same", Status::Completed))
        .await
        .unwrap();
    let again = store.insert(entry("same", Status::Completed)).await;
    assert!(
        matches!(again, Err(StoreError::Database(ref m)) if m.contains("UNIQUE")),
        "{again:?}"
    );
    let unknown = store.finish(completed(EntryKey(4242), None)).await;
    assert!(unknown.is_err(), "finishing a missing entry is an error");
    store
        .insert(entry("other", Status::Completed))
        .await
        .unwrap();
    assert!(store.get(id("other").as_str()).await.unwrap().is_some());
}

#[tokio::test]
async fn reopening_applies_no_migration_twice_and_abandons_what_was_processing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path()).await;
        store
            .insert(entry("running", Status::Processing))
            .await
            .unwrap();
        store
            .insert(entry("done", Status::Completed))
            .await
            .unwrap();
    }
    let (store, abandoned) = open(dir.path()).await;
    assert_eq!(
        abandoned.into_iter().collect::<Vec<_>>(),
        [("Flow".to_owned(), 1)]
    );
    let running = store.get(id("running").as_str()).await.unwrap().unwrap();
    assert_eq!(running.status, Status::Abandoned);
    assert!(running.log_end.is_some() && running.has_error);
    assert_eq!(
        store
            .get(id("done").as_str())
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Completed
    );
    let read_only = Sqlite::open_existing(dir.path()).await.unwrap();
    assert_eq!(
        read_only
            .get(id("done").as_str())
            .await
            .unwrap()
            .unwrap()
            .guid,
        id("done")
    );
}

#[tokio::test]
async fn the_duplicate_lookup_sees_completed_entries_within_the_window_only() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path()).await;
    store.insert(entry("failed", Status::Failed)).await.unwrap();
    assert_eq!(
        store
            .find_completed("Flow", "ext-failed", clock::now() - time::Duration::days(1))
            .await
            .unwrap(),
        None
    );
    store.insert(entry("ok", Status::Completed)).await.unwrap();
    let found = store
        .find_completed("Flow", "ext-ok", clock::now() - time::Duration::days(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.guid, id("ok"));
    assert_eq!(found.correlation_id, "c-ok");
    assert_eq!(
        store
            .find_completed("Other", "ext-ok", clock::now() - time::Duration::days(1))
            .await
            .unwrap(),
        None,
        "per endpoint"
    );
    assert_eq!(
        store
            .find_completed("Flow", "ext-ok", clock::now() + time::Duration::days(1))
            .await
            .unwrap(),
        None,
        "outside the window"
    );
}

#[tokio::test]
async fn begin_finds_a_completed_original_instead_of_writing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path()).await;
    store.insert(entry("ok", Status::Completed)).await.unwrap();
    let mut copy = entry("copy", Status::Processing);
    copy.application_message_id = Some("ext-ok".to_owned());
    let since = clock::now() - time::Duration::days(1);
    let begun = store.begin(copy.clone(), Some(since)).await.unwrap();
    assert!(
        matches!(begun, NewOrDuplicate::Duplicate(ref o) if o.guid == id("ok")),
        "{begun:?}"
    );
    assert!(
        store.get(id("copy").as_str()).await.unwrap().is_none(),
        "nothing written"
    );
    let begun = store.begin(copy, None).await.unwrap();
    assert!(
        matches!(begun, NewOrDuplicate::New(_)),
        "no lookup without a window"
    );
}

pub(super) fn body(content_type: &str, text: &'static str) -> Option<Payload> {
    Some(Payload {
        content_type: content_type.to_owned(),
        body: Bytes::from_static(text.as_bytes()),
    })
}

#[tokio::test]
async fn the_request_is_stored_with_the_running_entry_and_the_answer_joins_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path()).await;
    let mut running = entry("running", Status::Processing);
    running.request = body("text/xml", "<request/>");
    let NewOrDuplicate::New(key) = store.begin(running, None).await.unwrap() else {
        panic!("not a duplicate");
    };
    let listed = store
        .payloads(id("running").as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.len(), 1, "the request only, while it runs");
    assert_eq!(listed[0].kind, "request");
    assert!(
        store
            .payload(id("running").as_str(), "response")
            .await
            .unwrap()
            .is_none()
    );

    store
        .finish(completed(key, body("text/xml; charset=utf-8", "<answer/>")))
        .await
        .unwrap();
    let listed = store
        .payloads(id("running").as_str())
        .await
        .unwrap()
        .unwrap();
    let kinds: Vec<(&str, &str)> = listed
        .iter()
        .map(|p| (p.kind.as_str(), p.content_type.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("request", "text/xml"),
            ("response", "text/xml; charset=utf-8")
        ]
    );
    assert_eq!(
        listed[0].stored_at, listed[1].stored_at,
        "one row: both bodies show the time of its last write, the entry's end"
    );
    let request = store
        .payload(id("running").as_str(), "request")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        &request.body[..],
        b"<request/>",
        "kept when the answer joined"
    );
    let response = store
        .payload(id("running").as_str(), "response")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&response.body[..], b"<answer/>");
    assert_eq!(response.content_type, "text/xml; charset=utf-8");
    assert!(
        store
            .payload(id("running").as_str(), "other")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .payloads(id("missing").as_str())
            .await
            .unwrap()
            .is_none()
    );

    // An entry written final at once keeps what it was given: here only the answer.
    let mut refused = entry("refused", Status::Failed);
    refused.request = None;
    refused.response = body("text/xml", "<fault/>");
    store.insert(refused).await.unwrap();
    let listed = store
        .payloads(id("refused").as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, "response");
    assert!(
        store
            .payload(id("refused").as_str(), "request")
            .await
            .unwrap()
            .is_none()
    );
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
