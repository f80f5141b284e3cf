//! Writing entries: concurrency, failures, the duplicate lookup, bodies, start-up.

use super::*;
use crate::store::{ListQuery, NewOrDuplicate, StoreError};

async fn concurrent_writes_all_arrive(kind: Kind) {
    let (_place, store) = store(kind).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = store.clone();
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
each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    concurrent_writes_all_arrive
);

async fn a_failing_write_fails_alone(kind: Kind) {
    let (_place, store) = store(kind).await;
    store
        .insert(entry("same", Status::Completed))
        .await
        .unwrap();
    let again = store.insert(entry("same", Status::Completed)).await;
    assert!(
        matches!(again, Err(StoreError::Database(ref m)) if m.to_lowercase().contains("unique")),
        "{again:?}"
    );
    // An error's text may quote what a program wrote, NUL characters included.
    let mut failed = entry("nul", Status::Failed);
    failed.error = Some(crate::store::ErrorInfo {
        text: "exit 1: a\0b".to_owned(),
        step: None,
    });
    store.insert(failed).await.unwrap();
    let error = store
        .error(id("nul").as_str())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        error.text.starts_with("exit 1: a") && error.text.ends_with('b'),
        "{error:?}"
    );
    let unknown = store.finish(completed(EntryKey(4242), None)).await;
    assert!(unknown.is_err(), "finishing a missing entry is an error");
    store
        .insert(entry("other", Status::Completed))
        .await
        .unwrap();
    assert!(store.get(id("other").as_str()).await.unwrap().is_some());
}
each_backend!(a_failing_write_fails_alone);

async fn reopening_applies_no_migration_twice_and_abandons_what_was_processing(kind: Kind) {
    let place = Place::new(kind).await;
    {
        let (store, abandoned) = place.start().await;
        assert!(abandoned.is_empty());
        store
            .insert(entry("running", Status::Processing))
            .await
            .unwrap();
        store
            .insert(entry("done", Status::Completed))
            .await
            .unwrap();
    }
    place.instances_gone().await;
    let (store, abandoned) = place.start().await;
    assert_eq!(
        abandoned.into_iter().collect::<Vec<_>>(),
        [("Flow".to_owned(), 1)]
    );
    let running = store.get(id("running").as_str()).await.unwrap().unwrap();
    assert_eq!(running.status, Status::Abandoned);
    assert!(running.log_end.is_some() && running.has_error);
    let done = store.get(id("done").as_str()).await.unwrap().unwrap();
    assert_eq!(done.status, Status::Completed);
    let read_only = place.open_existing().await;
    let read = read_only.get(id("done").as_str()).await.unwrap().unwrap();
    assert_eq!(read.guid, id("done"));
}
each_backend!(reopening_applies_no_migration_twice_and_abandons_what_was_processing);

/// A new delivery of `external_id`, as `begin` sees it with a window from `since`.
async fn begin_copy(
    store: &Store,
    guid: &str,
    flow: &str,
    external_id: &str,
    since: Option<time::OffsetDateTime>,
) -> NewOrDuplicate {
    let mut copy = entry(guid, Status::Processing);
    copy.integration_flow_name = flow.to_owned();
    copy.application_message_id = Some(external_id.to_owned());
    store.begin(copy, since).await.unwrap()
}

async fn the_duplicate_lookup_sees_completed_entries_within_the_window_only(kind: Kind) {
    let (_place, store) = store(kind).await;
    let day_ago = Some(clock::now() - time::Duration::days(1));
    store.insert(entry("failed", Status::Failed)).await.unwrap();
    let begun = begin_copy(&store, "c1", "Flow", "ext-failed", day_ago).await;
    assert!(
        matches!(begun, NewOrDuplicate::New(_)),
        "failed ones do not count: {begun:?}"
    );

    store.insert(entry("ok", Status::Completed)).await.unwrap();
    let begun = begin_copy(&store, "c2", "Flow", "ext-ok", day_ago).await;
    let NewOrDuplicate::Duplicate(found) = begun else {
        panic!("a duplicate: {begun:?}");
    };
    assert_eq!(found.guid, id("ok"));
    assert_eq!(found.correlation_id, "c-ok");
    assert!(
        store.get(id("c2").as_str()).await.unwrap().is_none(),
        "nothing written"
    );

    let begun = begin_copy(&store, "c3", "Other", "ext-ok", day_ago).await;
    assert!(
        matches!(begun, NewOrDuplicate::New(_)),
        "per endpoint: {begun:?}"
    );
    let tomorrow = Some(clock::now() + time::Duration::days(1));
    let begun = begin_copy(&store, "c4", "Flow2", "ext-ok", tomorrow).await;
    assert!(
        matches!(begun, NewOrDuplicate::New(_)),
        "outside the window: {begun:?}"
    );
    let begun = begin_copy(&store, "c5", "Flow3", "ext-ok", None).await;
    assert!(
        matches!(begun, NewOrDuplicate::New(_)),
        "no lookup without a window"
    );
}
each_backend!(the_duplicate_lookup_sees_completed_entries_within_the_window_only);

async fn the_request_is_stored_with_the_running_entry_and_the_answer_beside_it(kind: Kind) {
    let (_place, store) = store(kind).await;
    let mut running = entry("running", Status::Processing);
    running.request = body("text/xml", "<request/>");
    // A minute ago, in whole milliseconds as the log keeps times.
    let started = clock::from_epoch_millis(clock::epoch_millis(clock::now()) - 60_000);
    running.log_start = started;
    let NewOrDuplicate::New(key) = store.begin(running, None).await.unwrap() else {
        panic!("not a duplicate");
    };
    let guid = id("running");
    let listed = store.payloads(guid.as_str()).await.unwrap().unwrap();
    assert_eq!(listed.len(), 1, "the request only, while it runs");
    assert_eq!(listed[0].kind, "request");
    assert!(
        store
            .payload(guid.as_str(), "response")
            .await
            .unwrap()
            .is_none()
    );

    let finished = completed(key, body("text/xml; charset=utf-8", "<answer/>"));
    let ended = clock::from_epoch_millis(clock::epoch_millis(finished.log_end));
    store.finish(finished).await.unwrap();
    let listed = store.payloads(guid.as_str()).await.unwrap().unwrap();
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
        (listed[0].stored_at, listed[1].stored_at),
        (started, ended),
        "each body shows when it was stored: the request at the start, the answer at the end"
    );
    let request = store
        .payload(guid.as_str(), "request")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        &request.body[..],
        b"<request/>",
        "kept when the answer joined"
    );
    let response = store
        .payload(guid.as_str(), "response")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&response.body[..], b"<answer/>");
    assert_eq!(response.content_type, "text/xml; charset=utf-8");
    assert!(
        store
            .payload(guid.as_str(), "other")
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
    // An entry without bodies has none to list.
    let mut bare = entry("bare", Status::Failed);
    bare.request = None;
    store.insert(bare).await.unwrap();
    assert_eq!(
        store.payloads(id("bare").as_str()).await.unwrap(),
        Some(Vec::new())
    );
}
each_backend!(the_request_is_stored_with_the_running_entry_and_the_answer_beside_it);

async fn entries_started_in_one_millisecond_keep_their_written_order_both_ways(kind: Kind) {
    use crate::store::query::{Direction, LogField, Order};
    let (_place, store) = store(kind).await;
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
each_backend!(entries_started_in_one_millisecond_keep_their_written_order_both_ways);
