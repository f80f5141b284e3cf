//! `iflowd.example.toml` as shipped, served for real: only the forward's URL and the archive's
//! path are pointed at the test's own downstream and directory.

use crate::common::downstream::Downstream;
use crate::common::{TestApp, element_text, fixture};
use iflowd::config::Env;

fn example() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/iflowd.example.toml")).unwrap()
}

async fn post(app: &TestApp, path: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .basic_auth("isc", Some("change-me"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_example_chain_logs_routes_change_in_manager_to_the_forward_and_archives_everything() {
    let mut hr = Downstream::spawn(&[]).await;
    let text = example();
    assert!(text.contains("url = \"https://hr.example/hooks/manager\""));
    assert!(text.contains("path = \"events.jsonl\""));
    assert!(text.contains("data_dir = \"./iflowd-data\""));
    let text = text
        .replace(
            "https://hr.example/hooks/manager",
            &hr.url("/hooks/manager"),
        )
        .replace("path = \"events.jsonl\"", "path = \"{dir}/events.jsonl\"")
        .replace("data_dir = \"./iflowd-data\"", "data_dir = \"{dir}/data\"");
    let env = Env {
        vars: [("HR_API_KEY", "example-key")].into_iter().collect(),
        ..Env::default()
    };
    let app = TestApp::spawn_with_env(&text, env).await;

    let response = post(
        &app,
        "/cxf/isc/change-in-manager",
        fixture("change-in-manager.xml"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let sent = hr.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("x-api-key"), Some("example-key"));
    assert_eq!(sent[0].json()["kind"], "change_in_manager");

    let response = post(&app, "/cxf/isc/change-in-manager", fixture("hire.xml")).await;
    assert_eq!(response.status(), 200);
    assert!(
        hr.received().is_empty(),
        "a hire is not routed to the HR system"
    );

    let response = post(&app, "/http/isc/events/any", fixture("termination.xml")).await;
    let body = response.text().await.unwrap();
    assert_eq!(
        element_text(&body, "status"),
        Some("201"),
        "the respond handler"
    );
    assert_eq!(
        element_text(&body, "statusDetails"),
        Some("created 3f2e1d0c-b9a8-4776-a5b4-c3d2e1f0a9b8")
    );

    let mut drilled = Vec::new();
    for _ in 0..3 {
        let response = post(&app, "/cxf/isc/drill", fixture("rehire.xml")).await;
        drilled.push(response.status().as_u16());
    }
    assert_eq!(
        drilled,
        [500, 500, 200],
        "the drill fails the first two deliveries"
    );

    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    assert_eq!(
        archived.lines().count(),
        4,
        "every accepted event, and only those"
    );
}
