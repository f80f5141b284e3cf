use time::macros::datetime;

use super::*;
use crate::event::EventKind;
use crate::store::tests::{Kind, Place, each_backend, entry, id, name, store};
use crate::store::{EventFacts, Status, Store, StoreError};

/// Three entries: `a` (event count 1, no end), `b` (2, ended, repost), `c` (no event count).
async fn three(kind: Kind) -> (Place, Store) {
    let (place, store) = store(kind).await;
    for (guid, count, end, repost) in [
        ("a", Some(1), None, None),
        (
            "b",
            Some(2),
            Some(datetime!(2026-03-01 10:00 UTC)),
            Some(true),
        ),
        ("c", None, None, Some(false)),
    ] {
        let mut new = entry(guid, Status::Completed);
        new.event_count = count;
        new.log_end = end;
        new.repost = repost;
        store.insert(new).await.unwrap();
    }
    (place, store)
}

async fn guids(store: &Store, filter: Filter) -> Vec<String> {
    let page = store
        .list(ListQuery {
            filter: Some(filter),
            order: vec![Order {
                field: LogField::Guid,
                direction: Direction::Ascending,
            }],
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    page.entries
        .iter()
        .map(|e| name(&e.guid).to_owned())
        .collect()
}

fn count(op: Op, value: Value) -> Filter {
    Filter::compare(LogField::EventCount, op, value)
}

async fn filters_keep_the_documented_meaning_of_null(kind: Kind) {
    let (_place, store) = three(kind).await;
    for (filter, expected) in [
        (count(Op::Eq, Value::Int(1)), vec!["a"]),
        (count(Op::Ne, Value::Int(1)), vec!["b", "c"]),
        (count(Op::Eq, Value::Null), vec!["c"]),
        (count(Op::Ne, Value::Null), vec!["a", "b"]),
        (count(Op::Lt, Value::Int(5)), vec!["a", "b"]),
        (
            Filter::Not(Box::new(count(Op::Lt, Value::Int(5)))),
            vec!["c"],
        ),
        (
            Filter::compare(
                LogField::LogEnd,
                Op::Ge,
                Value::Time(datetime!(2026-03-01 10:00 UTC)),
            ),
            vec!["b"],
        ),
        (
            Filter::compare(LogField::Repost, Op::Eq, Value::Bool(false)),
            vec!["c"],
        ),
        (
            Filter::Any(vec![
                count(Op::Gt, Value::Int(1)),
                Filter::compare(LogField::Guid, Op::Eq, Value::Text(id("a").to_string())),
            ]),
            vec!["a", "b"],
        ),
        (
            Filter::All(vec![
                count(Op::Ge, Value::Int(1)),
                Filter::Not(Box::new(count(Op::Eq, Value::Int(2)))),
            ]),
            vec!["a"],
        ),
        // A NUL character (which PostgreSQL's texts cannot hold) compares like any other.
        (
            Filter::compare(LogField::Guid, Op::Gt, Value::Text("AG\0".into())),
            vec!["a", "b", "c"],
        ),
        (
            Filter::compare(LogField::Guid, Op::Lt, Value::Text("AG\0".into())),
            vec![],
        ),
        (
            Filter::compare(LogField::Guid, Op::Eq, Value::Text("a\0".into())),
            vec![],
        ),
        (
            Filter::compare(LogField::Guid, Op::Ne, Value::Text("a\0".into())),
            vec!["a", "b", "c"],
        ),
        (Filter::always(), vec!["a", "b", "c"]),
        (Filter::never(), vec![]),
        (Filter::Not(Box::new(Filter::never())), vec!["a", "b", "c"]),
    ] {
        assert_eq!(guids(&store, filter.clone()).await, expected, "{filter:?}");
    }
}
each_backend!(filters_keep_the_documented_meaning_of_null);

#[tokio::test]
async fn a_query_beyond_sqlites_limits_is_too_complex_not_a_failure_of_the_log() {
    let (_place, store) = three(Kind::Sqlite).await;
    let wide = Filter::Any(vec![count(Op::Eq, Value::Int(1)); 1500]);
    let mut deep = count(Op::Eq, Value::Int(1));
    for _ in 0..600 {
        deep = Filter::Not(Box::new(deep));
    }
    let many_keys = vec![
        Order {
            field: LogField::Status,
            direction: Direction::Ascending,
        };
        3000
    ];
    for (query, expected) in [
        (
            ListQuery {
                filter: Some(wide),
                limit: 1,
                ..ListQuery::default()
            },
            "Expression tree is too large",
        ),
        (
            ListQuery {
                filter: Some(deep),
                limit: 1,
                count: true,
                ..ListQuery::default()
            },
            "Recursion limit",
        ),
        (
            ListQuery {
                order: many_keys,
                limit: 1,
                ..ListQuery::default()
            },
            "too many terms in ORDER BY clause",
        ),
    ] {
        match store.list(query).await {
            Err(StoreError::TooComplex(reason)) => {
                assert!(reason.contains(expected), "{reason}");
            }
            other => panic!("expected TooComplex, got {other:?}"),
        }
    }
    // The log itself is fine.
    assert_eq!(guids(&store, Filter::always()).await.len(), 3);
}

/// Entries `x` (a Hire for 1001 and a Termination for 1002), `y` (an Other event without a
/// userId) and `z` (no events).
async fn with_events(kind: Kind) -> (Place, Store) {
    let (place, store) = store(kind).await;
    let fact = |kind, user: Option<&str>| EventFacts {
        kind,
        user_id: user.map(str::to_owned),
        event_id: None,
        event_type: None,
    };
    for (guid, events) in [
        (
            "x",
            vec![
                fact(EventKind::Hire, Some("1001")),
                fact(EventKind::Termination, Some("1002")),
            ],
        ),
        ("y", vec![fact(EventKind::Other, None)]),
        ("z", vec![]),
    ] {
        let mut new = entry(guid, Status::Completed);
        new.events = events;
        store.insert(new).await.unwrap();
    }
    (place, store)
}

async fn an_entry_is_found_by_any_of_its_events(kind: Kind) {
    let (_place, store) = with_events(kind).await;
    let has = |event| Filter::HasEvent(event);
    for (filter, expected) in [
        (has(EventMatch::UserId("1001".into())), vec!["x"]),
        (has(EventMatch::UserId("1002".into())), vec!["x"]),
        (has(EventMatch::UserId("100".into())), vec![]),
        (has(EventMatch::Kind(EventKind::Termination)), vec!["x"]),
        (has(EventMatch::Kind(EventKind::Other)), vec!["y"]),
        (
            Filter::Not(Box::new(has(EventMatch::Kind(EventKind::Hire)))),
            vec!["y", "z"],
        ),
        (
            Filter::All(vec![
                has(EventMatch::Kind(EventKind::Hire)),
                has(EventMatch::UserId("1002".into())),
            ]),
            vec!["x"],
        ),
    ] {
        assert_eq!(guids(&store, filter.clone()).await, expected, "{filter:?}");
    }
}
each_backend!(an_entry_is_found_by_any_of_its_events);

async fn a_deleted_entry_takes_its_events_along(kind: Kind) {
    let (place, store) = with_events(kind).await;
    let later = crate::clock::now() + time::Duration::days(1);
    let retention = crate::store::Retention {
        entries: time::Duration::ZERO,
        payloads: time::Duration::ZERO,
        max_size: None,
    };
    store.purge(later, retention).await.unwrap();
    let user = Filter::HasEvent(EventMatch::UserId("1001".into()));
    assert!(guids(&store, user).await.is_empty());
    assert_eq!(event_rows(&place).await, 0);
}
each_backend!(a_deleted_entry_takes_its_events_along);

/// The rows left in `message_events`, read with the backend's own client.
async fn event_rows(place: &Place) -> i64 {
    match &place.settings.url {
        None => {
            let path = place.dir.path().join(crate::store::DATABASE_FILE);
            let db = rusqlite::Connection::open(path).unwrap();
            db.query_row("SELECT count(*) FROM message_events", [], |r| r.get(0))
                .unwrap()
        }
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .query_one("SELECT count(*) FROM message_events", &[])
                .await
                .unwrap()
                .get(0)
        }
    }
}

async fn a_tally_counts_by_bucket_and_status_from_its_start(kind: Kind) {
    let (_place, store) = store(kind).await;
    let from = datetime!(2026-03-01 10:00 UTC);
    for (guid, minute, status) in [
        ("early", -1, Status::Completed),
        ("a", 0, Status::Completed),
        ("b", 0, Status::Failed),
        ("c", 0, Status::Completed),
        ("d", 3, Status::Completed),
    ] {
        let mut new = entry(guid, status);
        new.log_start = from + time::Duration::minutes(minute) + time::Duration::seconds(30);
        store.insert(new).await.unwrap();
    }
    let tally = |filter| {
        store.tally(TallyQuery {
            filter,
            from,
            bucket: time::Duration::minutes(1),
        })
    };
    let mut counts = tally(None).await.unwrap();
    counts.sort_by_key(|c| (c.bucket, c.status.as_str()));
    let count = |bucket, status, count| TallyCount {
        bucket,
        status,
        count,
    };
    assert_eq!(
        counts,
        [
            count(0, Status::Completed, 2),
            count(0, Status::Failed, 1),
            count(3, Status::Completed, 1)
        ]
    );
    let failed = Filter::compare(LogField::Status, Op::Eq, Value::Text("FAILED".into()));
    assert_eq!(
        tally(Some(failed)).await.unwrap(),
        [count(0, Status::Failed, 1)]
    );
}
each_backend!(a_tally_counts_by_bucket_and_status_from_its_start);
