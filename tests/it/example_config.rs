//! `iflowd.example.toml`: served as shipped, by the binary, the way its header says to run it;
//! and its commented-out forward and async delivery, uncommented the way their comments say.

use std::path::Path;

use crate::common::downstream::Downstream;
use crate::common::process::{serve_in, stop_with_sigterm};
use crate::common::{TestApp, element_text, fixture, http_client};
use iflowd::config::Env;

fn example_path() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/iflowd.example.toml"))
}

fn example() -> String {
    std::fs::read_to_string(example_path()).unwrap()
}

/// Every fixture that is a valid `ExternalEvent` call (the others are refusals on purpose).
const VALID_FIXTURES: &[&str] = &[
    "change-in-manager.xml",
    "change-in-manager-with-managers.xml",
    "hire.xml",
    "rehire.xml",
    "termination.xml",
    "node-soap-default-namespace.xml",
    "zeep-ns0.xml",
    "v1-legacy.xml",
    "soap12.xml",
    "multiple-events.xml",
    "empty-events.xml",
    "unknown-type.xml",
];

async fn post(client: &reqwest::Client, url: &str, name: &str) -> reqwest::Response {
    let content_type = if name == "soap12.xml" {
        "application/soap+xml; charset=utf-8"
    } else {
        "text/xml; charset=utf-8"
    };
    client
        .post(url)
        .basic_auth("isc", Some("change-me"))
        .header("Content-Type", content_type)
        .body(fixture(name))
        .send()
        .await
        .unwrap()
}

/// The number in `statusDetails` "accepted N event(s); ...".
fn accepted(body: &str) -> usize {
    let details = element_text(body, "statusDetails").expect("statusDetails");
    details
        .strip_prefix("accepted ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an acknowledgement: {details}"))
}

#[tokio::test]
async fn the_example_runs_as_shipped_and_acknowledges_every_valid_fixture() {
    let workdir = tempfile::tempdir().unwrap();
    let (mut server, base) = serve_in(
        workdir.path(),
        &["--config", example_path().to_str().unwrap()],
    )
    .await;
    let client = http_client();

    let mut events = 0;
    for name in VALID_FIXTURES {
        let response = post(&client, &format!("{base}/cxf/isc/change-in-manager"), name).await;
        assert_eq!(response.status(), 200, "{name}");
        let body = response.text().await.unwrap();
        assert_eq!(element_text(&body, "status"), Some("200"), "{name}: {body}");
        assert_eq!(element_text(&body, "errorCode"), None, "{name}: {body}");
        events += accepted(&body);
    }

    let response = post(&client, &format!("{base}/http/isc/events/any"), "hire.xml").await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(
        element_text(&body, "status"),
        Some("201"),
        "the respond handler"
    );
    assert_eq!(
        element_text(&body, "statusDetails"),
        Some("created c4a1f7e2-90b3-4d6c-8e5f-1a2b3c4d5e6f")
    );
    events += 1;

    let mut drilled = Vec::new();
    for _ in 0..3 {
        let response = post(&client, &format!("{base}/cxf/isc/drill"), "rehire.xml").await;
        drilled.push(response.status().as_u16());
    }
    assert_eq!(
        drilled,
        [500, 500, 200],
        "the drill fails the first two deliveries"
    );
    events += 1;

    let archived = std::fs::read_to_string(workdir.path().join("events.jsonl")).unwrap();
    assert_eq!(
        archived.lines().count(),
        events,
        "every accepted event is archived in the working directory, and only those"
    );
    assert!(workdir.path().join("iflowd-data/messages.db").is_file());
    stop_with_sigterm(&mut server).await;
}

/// Uncomments `[handlers.to-hr]` and adds it to the chain, as the example's comment says.
fn with_forward(example: &str, url: &str) -> String {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in example.lines() {
        if line == "# [handlers.to-hr]" {
            in_block = true;
        }
        if in_block && !line.starts_with('#') {
            in_block = false;
        }
        if in_block {
            out.push(
                line.strip_prefix("# ")
                    .unwrap_or(line.trim_start_matches('#')),
            );
        } else {
            out.push(line);
        }
    }
    let text = out.join("\n");
    assert!(
        text.contains("\n[handlers.to-hr]\n") && text.contains("\ntype = \"forward\"\n"),
        "{text}"
    );
    text.replacen(
        "handlers = [\"log\", \"archive\"]",
        "handlers = [\"log\", \"to-hr\", \"archive\"]",
        1,
    )
    .replace("https://hr.example/hooks/manager", url)
}

#[tokio::test]
async fn the_examples_forward_routes_change_in_manager_once_uncommented() {
    let mut hr = Downstream::spawn(&[]).await;
    let text = with_forward(&example(), &hr.url("/hooks/manager"))
        .replace("path = \"events.jsonl\"", "path = \"{dir}/events.jsonl\"")
        .replace("data_dir = \"./iflowd-data\"", "data_dir = \"{dir}/data\"");
    let env = Env {
        vars: [("HR_API_KEY", "example-key")].into_iter().collect(),
        ..Env::default()
    };
    let app = TestApp::spawn_with_env(&text, env).await;
    let client = http_client();
    let endpoint = app.url("/cxf/isc/change-in-manager");

    let response = post(&client, &endpoint, "change-in-manager.xml").await;
    assert_eq!(response.status(), 200);
    let sent = hr.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("x-api-key"), Some("example-key"));
    assert_eq!(sent[0].json()["kind"], "change_in_manager");

    let response = post(&client, &endpoint, "hire.xml").await;
    assert_eq!(response.status(), 200);
    assert!(
        hr.received().is_empty(),
        "a hire is not routed to the HR system"
    );
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    assert_eq!(archived.lines().count(), 2);
}

/// Uncomments `delivery = "async"` and the `[endpoints.retry]` table below it, as shipped.
fn with_async(example: &str) -> String {
    let mut out = Vec::new();
    let mut in_retry = false;
    for line in example.lines() {
        if line == "# delivery = \"async\"" {
            out.push("delivery = \"async\"".to_owned());
            continue;
        }
        if line == "# [endpoints.retry]" {
            in_retry = true;
            out.push("[endpoints.retry]".to_owned());
            continue;
        }
        if in_retry && line.starts_with("# ") && line.contains(" = ") {
            out.push(line.trim_start_matches("# ").to_owned());
            continue;
        }
        in_retry = false;
        out.push(line.to_owned());
    }
    let text = out.join("\n");
    assert!(
        text.contains("\ndelivery = \"async\"\n") && text.contains("\nmax_attempts = 10 "),
        "{text}"
    );
    text
}

#[tokio::test]
async fn the_examples_async_delivery_queues_once_uncommented() {
    let text = with_async(&example())
        .replace("path = \"events.jsonl\"", "path = \"{dir}/events.jsonl\"")
        .replace("data_dir = \"./iflowd-data\"", "data_dir = \"{dir}/data\"");
    let app = TestApp::spawn(&text).await;
    let client = crate::common::http_client();
    let response = post(&client, &app.url("/cxf/isc/change-in-manager"), "hire.xml").await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let details = element_text(&body, "statusDetails").unwrap();
    assert!(
        details.starts_with("queued 1 event for delivery"),
        "{details}"
    );
    crate::common::queue::ended(&app, 1).await;
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    assert_eq!(archived.lines().count(), 1);
}
