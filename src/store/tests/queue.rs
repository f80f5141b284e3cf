//! The queue's statements on each backend: leases and their fencing, a lease that ran out, the
//! start-up requeue, the duplicate lookup, the purge, retry and depth.

use time::Duration;

use super::{Kind, Place, each_backend, entry, id, store};
use crate::clock;
use crate::store::{
    AttemptEnd, AttemptStatus, EntryKey, ErrorInfo, Lease, NewOrDuplicate, Next, QueueState,
    Retention, Retried, Start, Status, Store,
};

fn queued_now() -> Start {
    Start::Queued { due: clock::now() }
}

async fn enqueue(store: &Store, name: &str, start: Start) -> EntryKey {
    match store
        .enqueue(entry(name, Status::Processing), None, start)
        .await
        .unwrap()
    {
        NewOrDuplicate::New(key) => key,
        other => panic!("not new: {other:?}"),
    }
}

fn complete() -> AttemptEnd {
    AttemptEnd {
        started: clock::now(),
        at: clock::now(),
        next: Next::Complete { keep_request: true },
    }
}

async fn a_claim_takes_each_due_message_once_and_only_its_lease_ends_the_attempt(kind: Kind) {
    let (_place, store) = store(kind).await;
    let now = clock::now();
    enqueue(&store, "due", queued_now()).await;
    enqueue(
        &store,
        "later",
        Start::Queued {
            due: now + Duration::hours(1),
        },
    )
    .await;
    let until = now + Duration::minutes(1);
    let claimed = store.claim(now, until, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let first = &claimed[0];
    assert_eq!(first.guid, id("due"));
    assert_eq!(first.lease.attempt, 1);
    assert_eq!(first.request.as_ref().unwrap().body.as_ref(), b"<x/>");
    assert!(
        store.claim(now, until, 10).await.unwrap().is_empty(),
        "claimed once"
    );

    let stale = Lease {
        attempt: 2,
        ..first.lease
    };
    assert!(!store.end_attempt(stale, complete()).await.unwrap());
    assert!(
        store
            .renew(first.lease, until + Duration::minutes(1))
            .await
            .unwrap()
    );
    assert!(store.end_attempt(first.lease, complete()).await.unwrap());
    assert!(
        !store.end_attempt(first.lease, complete()).await.unwrap(),
        "ended once"
    );
    let done = store.get(id("due").as_str()).await.unwrap().unwrap();
    assert_eq!(done.status, Status::Completed);
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(crate::clock::from_epoch_millis(crate::clock::epoch_millis(
            now + Duration::hours(1)
        )))
    );
}
each_backend!(a_claim_takes_each_due_message_once_and_only_its_lease_ends_the_attempt);

async fn a_lease_that_ran_out_is_claimed_again_and_its_attempt_interrupted(kind: Kind) {
    let (_place, store) = store(kind).await;
    let now = clock::now();
    let key = enqueue(
        &store,
        "leased",
        Start::Leased {
            until: now + Duration::seconds(5),
        },
    )
    .await;
    assert!(
        store
            .claim(now, now + Duration::minutes(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = now + Duration::seconds(6);
    let again = store
        .claim(later, later + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].lease, Lease { key, attempt: 2 });
    let old = Lease { key, attempt: 1 };
    assert!(
        !store.end_attempt(old, complete()).await.unwrap(),
        "the old lease is fenced off"
    );
    let attempts = store
        .attempts(id("leased").as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(attempts[0].status, AttemptStatus::Interrupted);
    assert_eq!(attempts[1].status, AttemptStatus::Running);
}
each_backend!(a_lease_that_ran_out_is_claimed_again_and_its_attempt_interrupted);

async fn start_up_requeues_running_messages_and_abandons_only_sync_ones(kind: Kind) {
    let place = Place::new(kind).await;
    {
        let store = place.open().await;
        let until = clock::now() + Duration::minutes(1);
        enqueue(&store, "running", Start::Leased { until }).await;
        enqueue(&store, "waiting", queued_now()).await;
        store
            .begin(entry("sync", Status::Processing), None)
            .await
            .unwrap();
    }
    // The previous run (PostgreSQL: the previous instance) is gone.
    place.instances_gone().await;
    let (store, abandoned) = place.start().await;
    assert_eq!(abandoned.get("Flow"), Some(&1));
    let requeued = store.requeue(clock::now()).await.unwrap();
    assert_eq!(requeued.get("Flow"), Some(&1));
    let running = store.get(id("running").as_str()).await.unwrap().unwrap();
    assert_eq!(running.status, Status::Processing);
    let depth = store.depth().await.unwrap();
    assert_eq!(
        depth.get(&("Flow".to_owned(), QueueState::Queued)),
        Some(&2)
    );
    assert_eq!(depth.get(&("Flow".to_owned(), QueueState::Running)), None);
    let claimed = store
        .claim(clock::now(), clock::now() + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let attempts = store
        .attempts(id("running").as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(attempts[0].status, AttemptStatus::Interrupted);
    assert_eq!(attempts[1].number, 2);
}
each_backend!(start_up_requeues_running_messages_and_abandons_only_sync_ones);

async fn a_queued_message_is_an_original_for_duplicates_and_its_body_is_never_purged(kind: Kind) {
    let (_place, store) = store(kind).await;
    let key = enqueue(&store, "q", queued_now()).await;
    let mut copy = entry("copy", Status::Processing);
    copy.application_message_id = Some("ext-q".to_owned());
    let since = Some(clock::now() - Duration::days(1));
    let copy = store.enqueue(copy, since, queued_now()).await.unwrap();
    assert!(matches!(copy, NewOrDuplicate::Duplicate(o) if o.guid == id("q")));
    let retention = Retention {
        entries: Duration::days(1),
        payloads: Duration::days(1),
        // Over any size: the size-based purge must spare it too.
        max_size: Some(1),
    };
    let purged = store
        .purge(clock::now() + Duration::days(30), retention)
        .await
        .unwrap();
    assert_eq!(
        purged,
        crate::store::Purged::default(),
        "nothing queued is purged"
    );
    assert!(
        store
            .payload(id("q").as_str(), "request")
            .await
            .unwrap()
            .is_some()
    );

    // Escalated, it is an original no more, can be retried, and ages like any entry.
    let now = clock::now();
    let lease = store
        .claim(now, now + Duration::minutes(1), 1)
        .await
        .unwrap()[0]
        .lease;
    assert_eq!(lease.key, key);
    let error = ErrorInfo {
        text: "down".to_owned(),
        step: Some("h".to_owned()),
    };
    let end = AttemptEnd {
        started: now,
        at: now,
        next: Next::Give {
            error,
            status: Status::Escalated,
            custom_status: "ESCALATED 1/1".to_owned(),
        },
    };
    assert!(store.end_attempt(lease, end).await.unwrap());
    assert_eq!(
        store
            .retry("AGnothing__________________", now)
            .await
            .unwrap(),
        Retried::NoMessage
    );
    assert_eq!(
        store.retry(id("q").as_str(), now).await.unwrap(),
        Retried::Queued
    );
    assert_eq!(
        store.retry(id("q").as_str(), now).await.unwrap(),
        Retried::NotEscalated(Status::Processing)
    );
}
each_backend!(a_queued_message_is_an_original_for_duplicates_and_its_body_is_never_purged);
