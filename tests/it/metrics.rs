//! `/metrics` after a known sequence of calls, in a server of its own (each `App` counts only
//! its own calls, whatever else runs in this process).

use crate::common::{TestApp, envelope, isc_and_broken};

#[tokio::test]
async fn metrics_count_messages_by_endpoint_and_status_durations_failures_and_duplicates() {
    let config = isc_and_broken("soap");
    let app = TestApp::spawn(&config).await;
    let before = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        before.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let before = before.text().await.unwrap();
    assert!(
        before.contains(r#"iflowd_messages_total{endpoint="ISC_Events",status="COMPLETED"} 0"#),
        "every endpoint's series from the start: {before}"
    );

    // 2 completed, 1 duplicate, 1 malformed, 2 failing in a handler.
    for (path, body) in [
        ("/cxf/isc/events", envelope("m-1", 1, false)),
        ("/cxf/isc/events", envelope("m-2", 3, false)),
        ("/cxf/isc/events", envelope("m-1", 1, true)),
        ("/cxf/isc/events", "<not-xml".to_owned()),
        ("/cxf/broken", envelope("m-3", 1, false)),
        ("/cxf/broken", envelope("m-3", 1, true)),
    ] {
        app.post_soap(path, body).await;
    }

    app.assert_metrics(&[
        r#"iflowd_messages_total{endpoint="ISC_Events",status="COMPLETED"} 2"#,
        r#"iflowd_messages_total{endpoint="ISC_Events",status="DISCARDED"} 1"#,
        r#"iflowd_messages_total{endpoint="ISC_Events",status="FAILED"} 1"#,
        r#"iflowd_messages_total{endpoint="Broken",status="FAILED"} 2"#,
        r#"iflowd_messages_total{endpoint="Broken",status="COMPLETED"} 0"#,
        r#"iflowd_duplicates_total{endpoint="ISC_Events"} 1"#,
        r#"iflowd_duplicates_total{endpoint="Broken"} 0"#,
        r#"iflowd_request_duration_seconds_count{endpoint="ISC_Events"} 4"#,
        r#"iflowd_request_duration_seconds_count{endpoint="Broken"} 2"#,
        // The log handler ran for the two new messages only, not the duplicate nor the malformed.
        r#"iflowd_handler_duration_seconds_count{endpoint="ISC_Events",handler="log"} 2"#,
        r#"iflowd_handler_duration_seconds_count{endpoint="Broken",handler="archive"} 2"#,
        r#"iflowd_handler_failures_total{endpoint="Broken",handler="archive"} 2"#,
        r#"iflowd_handler_failures_total{endpoint="Broken",handler="log"} 0"#,
        r#"iflowd_store_errors_total{operation="insert"} 0"#,
        r#"iflowd_store_errors_total{operation="finish"} 0"#,
        "# EOF",
    ])
    .await;
}
