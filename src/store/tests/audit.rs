//! The audit log and the custom header properties, on every backend.

use time::{Duration, OffsetDateTime};

use super::*;
use crate::event::EventKind;
use crate::store::audit::{AuditField, AuditFilter, AuditQuery, NewAuditRecord};
use crate::store::query::{Direction, Op, Value};
use crate::store::{
    AuditAction, EventFacts, HeaderProperty, MAX_HEADER_EVENTS, MAX_HEADER_VALUE_CHARS, Retention,
    Status,
};

fn record(action: AuditAction, user: Option<&str>, at: OffsetDateTime) -> NewAuditRecord {
    NewAuditRecord {
        at,
        action,
        user: user.map(str::to_owned),
        object: "/cxf/isc/events".to_owned(),
        source: Some("127.0.0.1".to_owned()),
        details: "refused: wrong user name or password".to_owned(),
    }
}

fn compare(field: AuditField, op: Op, value: Value) -> AuditFilter {
    AuditFilter::Compare { field, op, value }
}

async fn actions(store: &Store, filter: Option<AuditFilter>) -> Vec<(AuditAction, Option<String>)> {
    let page = store
        .audit_log(AuditQuery {
            filter,
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    page.records
        .into_iter()
        .map(|r| (r.action, r.user))
        .collect()
}

async fn audit_records_are_found_by_time_user_action_and_user_type_newest_first(kind: Kind) {
    let (_place, store) = store(kind).await;
    let now = clock::now();
    let earlier = now - Duration::hours(1);
    store
        .audit(record(AuditAction::Start, Some("iflowd"), earlier))
        .await
        .unwrap();
    store
        .audit(record(AuditAction::LoginFailed, Some("mallory"), now))
        .await
        .unwrap();
    store
        .audit(record(AuditAction::LoginFailed, None, now))
        .await
        .unwrap();

    let all = actions(&store, None).await;
    assert_eq!(
        all,
        [
            (AuditAction::LoginFailed, None),
            (AuditAction::LoginFailed, Some("mallory".to_owned())),
            (AuditAction::Start, Some("iflowd".to_owned())),
        ],
        "newest first, ties by ChangeId"
    );
    let recent = compare(AuditField::Time, Op::Gt, Value::Time(earlier));
    assert_eq!(actions(&store, Some(recent)).await.len(), 2);
    let mallory = compare(AuditField::User, Op::Eq, Value::Text("mallory".into()));
    assert_eq!(actions(&store, Some(mallory)).await.len(), 1);
    let nobody = compare(AuditField::User, Op::Eq, Value::Null);
    assert_eq!(actions(&store, Some(nobody)).await.len(), 1);
    for action in AuditAction::ALL {
        let by_type = compare(
            AuditField::UserType,
            Op::Eq,
            Value::Text(action.user_type().into()),
        );
        let by_action = compare(
            AuditField::Action,
            Op::Eq,
            Value::Text(action.as_str().into()),
        );
        let found = actions(&store, Some(AuditFilter::All(vec![by_type, by_action]))).await;
        let expected = all.iter().filter(|(a, _)| *a == action).count();
        assert_eq!(
            found.len(),
            expected,
            "UserType in SQL agrees for {action:?}"
        );
    }
    let page = store
        .audit_log(AuditQuery {
            order: vec![(AuditField::Time, Direction::Ascending)],
            limit: 1,
            count: true,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, Some(3));
    let first = &page.records[0];
    assert_eq!(first.action, AuditAction::Start);
    let by_id = store
        .audit_log(AuditQuery {
            filter: Some(AuditFilter::Id(first.id)),
            limit: 1,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_id.records, std::slice::from_ref(first));
    let as_text = compare(
        AuditField::ChangeId,
        Op::Eq,
        Value::Text(crate::store::audit::change_id(first.id)),
    );
    assert_eq!(actions(&store, Some(as_text)).await.len(), 1);
}
each_backend!(audit_records_are_found_by_time_user_action_and_user_type_newest_first);

async fn the_retention_purge_takes_old_audit_records_too(kind: Kind) {
    let (_place, store) = store(kind).await;
    let now = clock::now();
    store
        .audit(record(
            AuditAction::Start,
            Some("iflowd"),
            now - Duration::days(91),
        ))
        .await
        .unwrap();
    store
        .audit(record(AuditAction::Stop, Some("iflowd"), now))
        .await
        .unwrap();
    let retention = Retention {
        entries: Duration::days(90),
        payloads: Duration::days(30),
        max_size: None,
    };
    store.purge(now, retention).await.unwrap();
    assert_eq!(
        actions(&store, None).await,
        [(AuditAction::Stop, Some("iflowd".to_owned()))]
    );
}
each_backend!(the_retention_purge_takes_old_audit_records_too);

async fn custom_header_properties_are_the_events_facts_in_order(kind: Kind) {
    let (_place, store) = store(kind).await;
    let event = |user: Option<&str>, id: Option<&str>, own_type: Option<&str>| EventFacts {
        kind: EventKind::Hire,
        user_id: user.map(str::to_owned),
        event_id: id.map(str::to_owned),
        event_type: own_type.map(str::to_owned),
    };
    let mut with = entry("headers", Status::Completed);
    with.application_message_type = Some("the.envelope.Type".into());
    with.events = vec![
        event(Some("100042"), Some("ev-1"), None),
        event(None, Some("ev-2"), Some("legacy.Own.Type")),
        event(Some(&"u".repeat(300)), None, None),
    ];
    store.insert(with).await.unwrap();
    store
        .insert(entry("plain", Status::Completed))
        .await
        .unwrap();
    let pair = |name: &str, value: &str| HeaderProperty {
        name: name.into(),
        value: value.into(),
    };
    assert_eq!(
        store.custom_headers(id("headers").as_str()).await.unwrap(),
        Some(vec![
            pair("eventType", "the.envelope.Type"),
            pair("userId", "100042"),
            pair("eventId", "ev-1"),
            pair("eventType", "legacy.Own.Type"),
            pair("eventId", "ev-2"),
            pair("eventType", "the.envelope.Type"),
            pair("userId", &"u".repeat(MAX_HEADER_VALUE_CHARS)),
        ])
    );
    assert_eq!(
        store.custom_headers(id("plain").as_str()).await.unwrap(),
        Some(Vec::new())
    );
    assert_eq!(
        store.custom_headers(id("missing").as_str()).await.unwrap(),
        None
    );

    let mut many = entry("many", Status::Completed);
    many.application_message_type = Some("t".into());
    many.events = (0..150).map(|_| event(None, Some("e"), None)).collect();
    store.insert(many).await.unwrap();
    let shown = store.custom_headers(id("many").as_str()).await.unwrap();
    assert_eq!(
        shown.map(|p| p.len()),
        Some(MAX_HEADER_EVENTS * 2),
        "type and id of the first 100 events"
    );
}
each_backend!(custom_header_properties_are_the_events_facts_in_order);
