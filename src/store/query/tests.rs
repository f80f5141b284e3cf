use time::macros::datetime;

use super::*;
use crate::store::sqlite::tests::{entry, id, name};
use crate::store::{Status, Store, StoreError};

/// Three entries: `a` (event count 1, no end), `b` (2, ended, repost), `c` (no event count).
async fn three() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::open(dir.path()).await.unwrap();
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
    (dir, store)
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

#[tokio::test]
async fn filters_keep_the_documented_meaning_of_null() {
    let (_dir, store) = three().await;
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
        (Filter::always(), vec!["a", "b", "c"]),
        (Filter::never(), vec![]),
        (Filter::Not(Box::new(Filter::never())), vec!["a", "b", "c"]),
    ] {
        assert_eq!(guids(&store, filter.clone()).await, expected, "{filter:?}");
    }
}

#[tokio::test]
async fn a_query_beyond_sqlites_limits_is_too_complex_not_a_failure_of_the_log() {
    let (_dir, store) = three().await;
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
