//! `[store] max_size_mb`: the log purged down to its size as soon as it grows over, oldest bodies
//! first, then oldest entries (issue 18, item 4).

use std::time::Duration;

use crate::common::{PASSWORD, TestApp, USER, envelope, message_id, users_toml};

const ENDPOINT: &str = "/cxf/isc/events";
const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn a_log_over_max_size_mb_loses_its_oldest_bodies_at_once_not_within_the_hour() {
    let config = format!("{}\n[store]\nmax_size_mb = 1\n", users_toml());
    let app = TestApp::spawn(&config).await;
    let store = app.app.store().expect("a store").clone();
    let mut purges = app.app.purges().expect("a store");
    purges.wait_for(|&n| n >= 1).await.unwrap();

    // Envelopes of 40 events, about 10 KB each: the first alone, then 16 at a time (the purges
    // run while calls write), then the newest alone.
    let post = |i: usize| {
        let request = app
            .client
            .post(app.url(ENDPOINT))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml")
            .body(envelope(&format!("size-{i:03}"), 40, false));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            message_id(&response)
        }
    };
    let oldest = post(0).await;
    for batch in 0..8 {
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..16 {
            calls.spawn(post(1 + batch * 16 + i));
        }
        while let Some(call) = calls.join_next().await {
            call.unwrap();
        }
    }
    let newest = post(200).await;
    // The purge for size runs on its own, soon after the log went over (the hourly one is an
    // hour away).
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            purges.changed().await.unwrap();
            if store.size().await.unwrap() <= MIB {
                return;
            }
        }
    })
    .await
    .expect("the log is purged down to max_size_mb");

    let body = app.stored_body(&oldest, "request").await;
    assert_eq!(body.status(), 404, "the oldest body is gone");
    assert_eq!(
        app.log_entry(&oldest).await["Status"],
        "COMPLETED",
        "bodies go before entries"
    );
    let body = app.stored_body(&newest, "request").await;
    assert_eq!(body.status(), 200, "the newest body is kept");
    app.stop().await;
}

#[tokio::test]
async fn without_bodies_to_delete_the_oldest_entries_go() {
    let config = format!(
        "{}\n[store]\nmax_size_mb = 1\npayloads = false\n",
        users_toml()
    );
    let app = TestApp::spawn(&config).await;
    let store = app.app.store().expect("a store").clone();
    let mut purges = app.app.purges().expect("a store");
    purges.wait_for(|&n| n >= 1).await.unwrap();
    // Entries alone are small: an externalEventId of 4 KB makes each about that much larger.
    let mut ids = Vec::new();
    for i in 0..400 {
        let external_id = format!("{i:04}{}", "e".repeat(4096));
        let response = app
            .post_soap(ENDPOINT, envelope(&external_id, 1, false))
            .await;
        assert_eq!(response.status(), 200);
        ids.push(message_id(&response));
    }
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            purges.changed().await.unwrap();
            if store.size().await.unwrap() <= MIB {
                return;
            }
        }
    })
    .await
    .expect("the log is purged down to max_size_mb");
    let oldest = app
        .api_as(
            USER,
            PASSWORD,
            &format!("MessageProcessingLogs('{}')", ids[0]),
        )
        .await;
    assert_eq!(oldest.status(), 404, "the oldest entry is gone");
    assert_eq!(app.log_entry(&ids[399]).await["Status"], "COMPLETED");
    app.stop().await;
}
