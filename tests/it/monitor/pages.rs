//! What the monitor's pages show: payloads escaped, filters, the live fragment, payload rights,
//! a failed message with its error and duplicates, a large body.

use http::{StatusCode, header};

use super::{Monitor, SCRIPT_PARAM, SCRIPT_USER_ID, basic, hostile_envelope};
use crate::common::{
    Backend, MONITOR, MONITOR_PASSWORD, PASSWORD, USER, fixture, on_both_backends,
};

#[tokio::test]
async fn payloads_are_shown_escaped_everywhere() {
    let monitor = Monitor::start().await;
    let id = monitor
        .post_envelope("/cxf/isc/events", hostile_envelope("ext-<b>bold</b>"))
        .await;
    let (cookie, _) = monitor.session(USER, PASSWORD).await;
    let list = monitor
        .get("/monitor/?period=all", &[("cookie", &cookie)])
        .await;
    assert!(
        list.body.contains("ext-&lt;b&gt;bold&lt;/b&gt;"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("<b>bold"));
    let detail = monitor
        .get(&format!("/monitor/messages/{id}"), &[("cookie", &cookie)])
        .await;
    assert_eq!(detail.status, 200);
    for raw in [SCRIPT_USER_ID, SCRIPT_PARAM, "<img", "<script>"] {
        assert!(!detail.body.contains(raw), "{raw} unescaped in the page");
    }
    // The userId in the events table, as text.
    assert!(
        detail
            .body
            .contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{}",
        detail.body
    );
    // The laid-out request shows the sender's escaping, escaped again.
    assert!(detail.body.contains("&amp;lt;script&amp;gt;"));
}

async fn filters_find_messages_by_their_events_and_status(backend: Backend) {
    let monitor = Monitor::start_on(&backend, "").await;
    let manager = monitor
        .post_envelope("/cxf/isc/events", fixture("change-in-manager.xml"))
        .await;
    let hire = monitor
        .post_envelope("/cxf/isc/events", fixture("hire.xml"))
        .await;
    let failed = monitor
        .post_envelope("/cxf/broken", fixture("termination.xml"))
        .await;
    let basic_user = basic(USER, PASSWORD);
    for (query, wanted, unwanted) in [
        ("user=103221", &manager, &hire),
        ("kind=change_in_manager", &manager, &failed),
        ("kind=hire", &hire, &manager),
        ("status=FAILED", &failed, &hire),
        ("endpoint=Broken", &failed, &manager),
        ("ext=5e6c2a7d-8f1b-4c39-9d0e-7a4b3c2d1e0f", &manager, &hire),
    ] {
        let body = monitor.live(query).await;
        assert!(body.contains(wanted.as_str()), "{query} finds {wanted}");
        assert!(
            !body.contains(unwanted.as_str()),
            "{query} leaves out {unwanted}"
        );
    }
    // The counts ignore the status filter (each is a link to it) and the chart is there.
    let body = monitor.live("status=FAILED").await;
    assert!(
        body.contains(r#"<span class="count">3</span> all"#),
        "{body}"
    );
    assert!(body.contains("<svg"));
    let bad = monitor
        .get(
            "/monitor/?kind=promotion",
            &[("authorization", &basic_user)],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("event kind 'promotion' is not one of"));
}
on_both_backends!(filters_find_messages_by_their_events_and_status);

async fn the_fragment_is_not_sent_again_while_it_has_not_changed(backend: Backend) {
    let monitor = Monitor::start_on(&backend, "").await;
    let auth = basic(USER, PASSWORD);
    let first = monitor
        .get("/monitor/live", &[("authorization", &auth)])
        .await;
    let etag = first.headers[header::ETAG].to_str().unwrap().to_owned();
    let again = monitor
        .get(
            "/monitor/live",
            &[("authorization", &auth), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let id = monitor
        .post_envelope("/cxf/isc/events", fixture("hire.xml"))
        .await;
    let changed = monitor
        .get(
            "/monitor/live",
            &[("authorization", &auth), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, 200);
    assert!(changed.body.contains(&id));
}
on_both_backends!(the_fragment_is_not_sent_again_while_it_has_not_changed);

#[tokio::test]
async fn a_reader_without_payload_rights_sees_the_entry_but_not_its_bodies() {
    let monitor = Monitor::start().await;
    let id = monitor
        .post_envelope("/cxf/broken", fixture("hire.xml"))
        .await;
    let auth = basic(MONITOR, MONITOR_PASSWORD);
    let detail = monitor
        .get(
            &format!("/monitor/messages/{id}"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(detail.status, 200);
    assert!(
        detail
            .body
            .contains("need the role <code>MessagePayloadsRead</code>"),
        "{}",
        detail.body
    );
    assert!(
        detail.body.contains("archive"),
        "the failing handler is shown"
    );
    assert!(!detail.body.contains("ExternalEvent"), "no body");
    let download = monitor
        .get(
            &format!("/monitor/messages/{id}/request"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(download.status, StatusCode::FORBIDDEN);
}

async fn a_failed_message_shows_its_error_its_laid_out_request_and_its_duplicates(
    backend: Backend,
) {
    let monitor = Monitor::start_on(&backend, "").await;
    let auth = basic(USER, PASSWORD);
    let failed = monitor
        .post_envelope("/cxf/broken", fixture("hire.xml"))
        .await;
    let detail = monitor
        .get(
            &format!("/monitor/messages/{failed}"),
            &[("authorization", &auth)],
        )
        .await;
    assert!(
        detail.body.contains("Handler <code>archive</code>"),
        "{}",
        detail.body
    );
    assert!(
        detail
            .body
            .contains(r#"<span class="x-e">ns3:ExternalEvent</span>"#)
            || detail.body.contains(r#"class="x-e""#)
    );
    assert!(detail.body.contains("<h2>Answer</h2>"));

    let original = monitor
        .post_envelope("/cxf/isc/events", fixture("termination.xml"))
        .await;
    let duplicate = monitor
        .post_envelope("/cxf/isc/events", fixture("termination.xml"))
        .await;
    let page = monitor
        .get(
            &format!("/monitor/messages/{original}"),
            &[("authorization", &auth)],
        )
        .await;
    assert!(
        page.body
            .contains(&format!("/monitor/messages/{duplicate}")),
        "original → duplicate"
    );
    let page = monitor
        .get(
            &format!("/monitor/messages/{duplicate}"),
            &[("authorization", &auth)],
        )
        .await;
    assert!(page.body.contains("A duplicate of "), "{}", page.body);
    assert!(
        page.body.contains(&format!("/monitor/messages/{original}")),
        "duplicate → original"
    );
    let missing = monitor
        .get("/monitor/messages/AGnothing", &[("authorization", &auth)])
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
on_both_backends!(a_failed_message_shows_its_error_its_laid_out_request_and_its_duplicates);

#[tokio::test]
async fn a_large_body_is_shown_cut_with_a_download_link() {
    let monitor = Monitor::start().await;
    let padding = "x".repeat(300 * 1024);
    let body =
        hostile_envelope("big").replace("<name>note</name>", &format!("<name>{padding}</name>"));
    let id = monitor.post_envelope("/cxf/isc/events", body.clone()).await;
    let auth = basic(USER, PASSWORD);
    let detail = monitor
        .get(
            &format!("/monitor/messages/{id}"),
            &[("authorization", &auth)],
        )
        .await;
    assert!(detail.body.contains("Shown cut at 256 KiB"), "cut");
    assert!(
        detail
            .body
            .contains(&format!("href=\"/monitor/messages/{id}/request\" download"))
    );
    assert!(
        detail.body.len() < body.len() + 40_000,
        "not the whole body"
    );
    let download = monitor
        .get(
            &format!("/monitor/messages/{id}/request"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(download.body, body);
}
