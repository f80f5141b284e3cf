//! The delivery queue shared by several instances on one database: claims that skip what
//! another instance is claiming, copies enqueued on two instances at once, leases of an instance
//! that is gone, and a retry beside a newer copy. The queue's semantics on one instance are
//! tested on both backends in `store/tests/queue.rs`.

use time::Duration;

use super::tests::{two, wait_for_locks};
use crate::clock;
use crate::store::tests::{entry, id, name};
use crate::store::{
    AttemptEnd, AttemptStatus, ErrorInfo, NewOrDuplicate, Next, Retried, Start, Status, Store,
};

fn queued_now() -> Start {
    Start::Queued { due: clock::now() }
}

/// Enqueues `guid` with the externalEventId `ext`, with the duplicate lookup.
async fn enqueue(store: &Store, guid: &str, ext: &str, start: Start) -> NewOrDuplicate {
    let mut new = entry(guid, Status::Processing);
    new.application_message_id = Some(ext.to_owned());
    store
        .enqueue(new, Some(clock::now() - Duration::days(1)), start)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_claiming_at_once_never_take_the_same_message() {
    let (_place, a, b) = two().await;
    for n in 0..60 {
        enqueue(&a, &format!("m{n}"), &format!("ext-{n}"), queued_now()).await;
    }
    let claim_all = |store: Store| async move {
        let mut mine = Vec::new();
        loop {
            let now = clock::now();
            let claimed = store
                .claim(now, now + Duration::minutes(5), 4)
                .await
                .unwrap();
            if claimed.is_empty() {
                return mine;
            }
            mine.extend(claimed.into_iter().map(|c| c.guid));
        }
    };
    let (from_a, from_b) = tokio::join!(
        tokio::spawn(claim_all(a.clone())),
        tokio::spawn(claim_all(b.clone()))
    );
    let (from_a, from_b) = (from_a.unwrap(), from_b.unwrap());
    let mut all: Vec<&str> = from_a.iter().chain(&from_b).map(name).collect();
    all.sort_unstable();
    let claimed = all.len();
    all.dedup();
    assert_eq!(claimed, 60, "every message claimed once: {all:?}");
    assert_eq!(all.len(), 60, "no message claimed twice");
    assert!(
        !from_a.is_empty() && !from_b.is_empty(),
        "both instances took work ({} and {})",
        from_a.len(),
        from_b.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_enqueued_on_two_instances_at_once_are_queued_once() {
    let (_place, a, b) = two().await;
    for round in 0..20 {
        let ext = format!("race-{round}");
        let mut tasks = tokio::task::JoinSet::new();
        for copy in 0..6 {
            let store = if copy % 2 == 0 { a.clone() } else { b.clone() };
            let ext = ext.clone();
            tasks.spawn(async move {
                enqueue(&store, &format!("r{round}c{copy}"), &ext, queued_now()).await
            });
        }
        let mut queued = 0;
        while let Some(result) = tasks.join_next().await {
            match result.unwrap() {
                NewOrDuplicate::New(_) => queued += 1,
                NewOrDuplicate::Duplicate(_) => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(queued, 1, "round {round}: exactly one copy queued");
    }
}

#[tokio::test]
async fn a_new_instance_requeues_the_attempts_of_a_gone_one_and_leaves_a_live_ones() {
    let (place, a, b) = two().await;
    let until = clock::now() + Duration::minutes(10);
    enqueue(&a, "a-running", "ext-a", Start::Leased { until }).await;
    enqueue(&b, "b-running", "ext-b", Start::Leased { until }).await;
    drop(a);
    wait_for_locks(&place, 1).await;
    let (c, _) = place.start().await;
    let requeued = c.requeue(clock::now()).await.unwrap();
    assert_eq!(requeued.get("Flow"), Some(&1), "only a's");
    let claimed = c
        .claim(clock::now(), clock::now() + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].guid, id("a-running"));
    assert_eq!(claimed[0].lease.attempt, 2);
    let attempts = c.attempts(id("a-running").as_str()).await.unwrap().unwrap();
    assert_eq!(attempts[0].status, AttemptStatus::Interrupted);
    let b_attempts = c.attempts(id("b-running").as_str()).await.unwrap().unwrap();
    assert_eq!(b_attempts.len(), 1);
    assert_eq!(
        b_attempts[0].status,
        AttemptStatus::Running,
        "b still runs it"
    );
}

#[tokio::test]
async fn an_escalated_message_is_retried_beside_a_newer_copy_still_queued() {
    let (_place, a, b) = two().await;
    let now = clock::now();
    enqueue(
        &a,
        "old",
        "ext-e",
        Start::Leased {
            until: now + Duration::minutes(1),
        },
    )
    .await;
    let lease = a
        .claim(now + Duration::minutes(2), now + Duration::minutes(3), 1)
        .await
        .unwrap()[0]
        .lease;
    let end = AttemptEnd {
        started: now,
        at: now,
        next: Next::Give {
            error: ErrorInfo {
                text: "down".to_owned(),
                step: None,
            },
            status: Status::Escalated,
            custom_status: "ESCALATED 2/2".to_owned(),
        },
    };
    assert!(a.end_attempt(lease, end).await.unwrap());
    // The escalated one is no original: a new delivery of it is queued, then the old is retried.
    assert!(matches!(
        enqueue(&b, "new", "ext-e", queued_now()).await,
        NewOrDuplicate::New(_)
    ));
    assert_eq!(
        b.retry(id("old").as_str(), now).await.unwrap(),
        Retried::Queued
    );
    let old = b.get(id("old").as_str()).await.unwrap().unwrap();
    assert_eq!(old.status, Status::Processing);
}
