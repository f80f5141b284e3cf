use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::clock;

fn entry(guid: &str, status: Status) -> NewEntry {
    NewEntry {
        guid: guid.to_owned(),
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
        ack: Some("{}".to_owned()),
        request: Some(Payload {
            content_type: "text/xml".to_owned(),
            body: Bytes::from_static(b"<x/>"),
        }),
        response: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits_and_all_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let (store, abandoned) = Store::open(dir.path()).await.unwrap();
    assert_eq!(abandoned, 0);
    let store = Arc::new(store);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let guid = format!("g{i}");
            let Begun::Started(row) = store
                .begin(entry(&guid, Status::Processing), Some(clock::now()))
                .await?
            else {
                panic!("not a duplicate");
            };
            store
                .finish(Finish {
                    row,
                    status: Status::Completed,
                    log_end: clock::now(),
                    error: None,
                    ack: None,
                    response: None,
                })
                .await
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
    assert!(page.entries.iter().all(|e| e.status == "COMPLETED"));
}

#[tokio::test]
async fn a_failing_write_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).await.unwrap();
    store
        .insert(entry("same", Status::Completed))
        .await
        .unwrap();
    let again = store.insert(entry("same", Status::Completed)).await;
    assert!(
        matches!(again, Err(StoreError::Database(ref m)) if m.contains("UNIQUE")),
        "{again:?}"
    );
    let unknown = store
        .finish(Finish {
            row: 4242,
            status: Status::Completed,
            log_end: clock::now(),
            error: None,
            ack: None,
            response: None,
        })
        .await;
    assert!(unknown.is_err(), "finishing a missing entry is an error");
    store
        .insert(entry("other", Status::Completed))
        .await
        .unwrap();
    assert!(store.get("other").await.unwrap().is_some());
}

#[tokio::test]
async fn reopening_applies_no_migration_twice_and_abandons_what_was_processing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = Store::open(dir.path()).await.unwrap();
        store
            .insert(entry("running", Status::Processing))
            .await
            .unwrap();
        store
            .insert(entry("done", Status::Completed))
            .await
            .unwrap();
    }
    let (store, abandoned) = Store::open(dir.path()).await.unwrap();
    assert_eq!(abandoned, 1);
    let running = store.get("running").await.unwrap().unwrap();
    assert_eq!(running.status, "ABANDONED");
    assert!(running.log_end.is_some() && running.has_error);
    assert_eq!(
        store.get("done").await.unwrap().unwrap().status,
        "COMPLETED"
    );
    let read_only = Store::open_existing(dir.path()).await.unwrap();
    assert_eq!(read_only.get("done").await.unwrap().unwrap().guid, "done");
}

#[tokio::test]
async fn the_duplicate_lookup_sees_completed_entries_within_the_window_only() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).await.unwrap();
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
    assert_eq!(found.guid, "ok");
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
    let (store, _) = Store::open(dir.path()).await.unwrap();
    store.insert(entry("ok", Status::Completed)).await.unwrap();
    let mut copy = entry("copy", Status::Processing);
    copy.application_message_id = Some("ext-ok".to_owned());
    let since = clock::now() - time::Duration::days(1);
    let begun = store.begin(copy.clone(), Some(since)).await.unwrap();
    assert!(
        matches!(begun, Begun::Duplicate(ref o) if o.guid == "ok"),
        "{begun:?}"
    );
    assert!(
        store.get("copy").await.unwrap().is_none(),
        "nothing written"
    );
    let begun = store.begin(copy, None).await.unwrap();
    assert!(
        matches!(begun, Begun::Started(_)),
        "no lookup without a window"
    );
}
