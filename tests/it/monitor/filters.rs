//! The list's filters that narrow by time and event type, and its pages: each checked against
//! messages it must keep and messages it must leave out.

use time::macros::format_description;
use time::{Duration, OffsetDateTime};

use super::Monitor;
use crate::common::{Backend, envelope, fixture, on_both_backends};

/// A time as the list's `from`/`to` fields send it.
fn field(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]"
    ))
    .unwrap()
}

async fn the_event_type_and_a_time_range_narrow_the_list(backend: Backend) {
    let monitor = Monitor::start_on(&backend, "").await;
    let manager = monitor
        .post_envelope("/cxf/isc/events", fixture("change-in-manager.xml"))
        .await;
    let hire = monitor
        .post_envelope("/cxf/isc/events", fixture("hire.xml"))
        .await;

    let body = monitor
        .live("period=all&type=com.successfactors.Employment.AssignmentInformation.Hire")
        .await;
    assert!(body.contains(&hire) && !body.contains(&manager), "{body}");

    let now = OffsetDateTime::now_utc();
    let range = |from: OffsetDateTime, to: OffsetDateTime| {
        format!("period=custom&from={}&to={}", field(from), field(to))
    };
    let around = monitor
        .live(&range(now - Duration::hours(1), now + Duration::hours(1)))
        .await;
    assert!(
        around.contains(&hire) && around.contains(&manager),
        "{around}"
    );
    let before = monitor
        .live(&range(now - Duration::hours(2), now - Duration::hours(1)))
        .await;
    assert!(
        !before.contains(&hire) && !before.contains(&manager),
        "{before}"
    );
    let after = monitor
        .live(&range(now + Duration::hours(1), now + Duration::hours(2)))
        .await;
    assert!(
        !after.contains(&hire) && !after.contains(&manager),
        "{after}"
    );
}
on_both_backends!(the_event_type_and_a_time_range_narrow_the_list);

async fn the_list_pages_fifty_at_a_time_newest_first(backend: Backend) {
    let monitor = Monitor::start_on(&backend, "").await;
    let mut ids = Vec::new();
    for i in 0..52 {
        let body = envelope(&format!("paged-{i}"), 1, false);
        ids.push(monitor.post_envelope("/cxf/isc/events", body).await);
    }
    let first = monitor.live("").await;
    let second = monitor.live("page=1").await;
    for (i, id) in ids.iter().enumerate() {
        // The two oldest are on the second page, the 50 newest on the first.
        let (on, off) = if i < 2 {
            (&second, &first)
        } else {
            (&first, &second)
        };
        assert!(on.contains(id.as_str()), "message {i}");
        assert!(!off.contains(id.as_str()), "message {i}");
    }
    assert!(first.contains("Older →") && !first.contains("← Newer"));
    assert!(second.contains("← Newer") && !second.contains("Older →"));
}
on_both_backends!(the_list_pages_fifty_at_a_time_newest_first);
