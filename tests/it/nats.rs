//! `nats` against a real `nats-server -js` started by each test: what reaches the stream (read
//! back with a pull consumer), JetStream's deduplication by `Nats-Msg-Id`, a missing stream, a
//! server that goes away or is not there at start-up; credentials and TLS in [`access`].

mod access;

use std::collections::BTreeSet;

use crate::common::logs::Logs;
use crate::common::nats::{Access, NatsServer};
use crate::common::{TestApp, envelope, fixture, message_id, users_toml};
use iflowd::App;
use iflowd::config::{Env, load};

const ENDPOINT: &str = "/cxf/isc/events";

/// The endpoint `ISC_Events` running `chain`, with a `nats` handler `to-nats` at `server` and
/// `settings` (which include the subject).
fn config_with(server: &NatsServer, chain: &str, settings: &str) -> String {
    format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = {chain}

[handlers.to-nats]
type = "nats"
url = "{}"
{settings}
"#,
        users_toml(),
        server.url()
    )
}

fn config(server: &NatsServer, settings: &str) -> String {
    config_with(server, r#"["log", "to-nats"]"#, settings)
}

/// POSTs a fixture to the endpoint, its status.
async fn post(app: &TestApp, name: &str) -> u16 {
    post_at(app, ENDPOINT, name).await
}

async fn post_at(app: &TestApp, path: &str, name: &str) -> u16 {
    app.post_soap(path, fixture(name)).await.status().as_u16()
}

/// Loads `config` and builds the app, expecting start-up to fail; the error's text.
async fn start_up_error(config: &str, env: Env) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iflowd.toml");
    let text = format!("data_dir = \"{}/data\"\n{config}", dir.path().display());
    std::fs::write(&path, text).unwrap();
    let loaded = load(Some(&path), &env).expect("the configuration is valid");
    match App::build(&loaded.config).await {
        Ok(_) => panic!("start-up should have failed"),
        Err(e) => e.to_string(),
    }
}

/// The top-level fields of docs/event-json.md.
const EVENT_JSON_FIELDS: [&str; 21] = [
    "messageId",
    "endpoint",
    "sender",
    "receivedAt",
    "namespace",
    "externalEventId",
    "type",
    "kind",
    "eventId",
    "entityType",
    "effectiveStartDate",
    "publishedAt",
    "publishedBy",
    "effective",
    "repost",
    "data",
    "keys",
    "params",
    "payload",
    "extra",
    "metaExtra",
];

#[tokio::test]
async fn each_event_reaches_the_stream_under_its_subject_as_event_json_with_its_event_id() {
    let nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    let app = TestApp::spawn(&config(
        &nats,
        r#"subject = "sf.{endpoint}.{kind}.{key.userId}""#,
    ))
    .await;
    // (fixture, the subject's end, eventId) per event, in the order they are posted.
    let events = [
        (
            "hire.xml",
            "hire.880012",
            "e2d3c4b5-a6f7-4e8d-9c0b-1a2f3e4d5c6b",
        ),
        (
            "termination.xml",
            "termination.107022",
            "4a3b2c1d-0e9f-48a7-b6c5-d4e3f2a1b0c9",
        ),
        (
            "multiple-events.xml",
            "change_in_manager.600001",
            "evt-0001",
        ),
        (
            "multiple-events.xml",
            "change_in_manager.600002",
            "evt-0002",
        ),
        (
            "multiple-events.xml",
            "change_in_manager.600003",
            "evt-0003",
        ),
        (
            "rehire.xml",
            "rehire.100455_1",
            "a0b1c2d3-e4f5-4a6b-8c7d-e8f9a0b1c2d3",
        ),
        ("v1-legacy.xml", "change_in_manager.cgrant", "v1-evt-0001"),
        (
            "unknown-type.xml",
            "other.700100",
            "fedcba98-7654-4321-8fed-cba987654321",
        ),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, _, _) in events {
        if !ids.contains_key(name) {
            let response = app.post_soap(ENDPOINT, fixture(name)).await;
            assert_eq!(response.status(), 200, "{name}");
            ids.insert(name, message_id(&response));
        }
    }

    let read = nats.read("SF").await;
    assert_eq!(read.len(), events.len(), "one message per event: {read:?}");
    for (message, (name, subject, event_id)) in read.iter().zip(events) {
        assert_eq!(message.subject, format!("sf.ISC_Events.{subject}"));
        assert_eq!(message.header("Nats-Msg-Id"), Some(event_id));
        assert_eq!(
            message.header("Iflowd-Message-Id"),
            Some(ids[name].as_str())
        );
        assert_eq!(message.header("Content-Type"), Some("application/json"));
        let json = message.json();
        let fields: BTreeSet<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            BTreeSet::from(EVENT_JSON_FIELDS),
            "the documented shape, {name}"
        );
        assert_eq!(json["eventId"], event_id);
        assert_eq!(json["messageId"], ids[name].as_str());
        assert_eq!(json["endpoint"], "ISC_Events");
        assert_eq!(json["sender"], crate::common::USER);
    }
    assert_eq!(read[0].json()["data"]["userId"], "880012");
}

#[tokio::test]
async fn payload_envelope_publishes_the_message_once_byte_for_byte_under_its_external_event_id() {
    let nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    let app = TestApp::spawn(&config(
        &nats,
        "subject = \"sf.envelopes.{endpoint}\"\npayload = \"envelope\"",
    ))
    .await;
    let body = fixture("multiple-events.xml");
    let response = app.post_soap(ENDPOINT, body.clone()).await;
    assert_eq!(response.status(), 200);

    let read = nats.read("SF").await;
    assert_eq!(read.len(), 1, "one message per SOAP message");
    assert_eq!(read[0].subject, "sf.envelopes.ISC_Events");
    assert_eq!(read[0].payload, body);
    assert_eq!(
        read[0].header("Nats-Msg-Id"),
        Some("77aa88bb-99cc-4ddd-8eee-ff0011223344")
    );
    assert_eq!(
        read[0].header("Content-Type"),
        Some("text/xml; charset=utf-8")
    );
}

#[tokio::test]
async fn a_redelivery_after_a_later_handler_failed_is_dropped_by_the_stream_as_a_duplicate() {
    let nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    // The first delivery publishes, then the drill fails it; SuccessFactors delivers again, the
    // handler publishes again, and JetStream keeps one copy per eventId.
    let app = TestApp::spawn(&format!(
        "{}\n[handlers.drill]\ntype = \"fault\"\nmode = \"soap-fault\"\nfirst = 1\n",
        config_with(
            &nats,
            r#"["to-nats", "drill"]"#,
            r#"subject = "sf.events.{kind}""#
        )
    ))
    .await;
    let body = fixture("multiple-events.xml");
    assert_eq!(app.post_soap(ENDPOINT, body.clone()).await.status(), 500);
    assert_eq!(nats.stream_messages("SF").await, 3);
    assert_eq!(app.post_soap(ENDPOINT, body).await.status(), 200);

    let read = nats.read("SF").await;
    let ids: Vec<_> = read.iter().map(|m| m.header("Nats-Msg-Id")).collect();
    assert_eq!(
        ids,
        [Some("evt-0001"), Some("evt-0002"), Some("evt-0003")],
        "stored once each"
    );
}

#[tokio::test]
async fn events_without_an_event_id_are_deduplicated_by_external_event_id_and_position() {
    let nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    // Without the message log, iflowd runs the chain for every delivery.
    let app = TestApp::spawn(&format!(
        "[store]\nenabled = false\n{}",
        config(&nats, r#"subject = "sf.events.{kind}.{eventId}""#)
    ))
    .await;
    let body = envelope("ext-77", 2, false)
        .replace("<ns:eventId>ev-0</ns:eventId>", "")
        .replace("<ns:eventId>ev-1</ns:eventId>", "");
    for _ in 0..2 {
        assert_eq!(app.post_soap(ENDPOINT, body.clone()).await.status(), 200);
    }

    let read = nats.read("SF").await;
    let seen: Vec<_> = read
        .iter()
        .map(|m| (m.subject.as_str(), m.header("Nats-Msg-Id")))
        .collect();
    assert_eq!(
        seen,
        [
            ("sf.events.hire._", Some("ext-77:1")),
            ("sf.events.hire._", Some("ext-77:2")),
        ],
        "a missing value is '_' in the subject; the second delivery was dropped"
    );
}

#[tokio::test]
async fn only_the_events_the_filter_matches_are_published() {
    let nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    let app = TestApp::spawn(&config(
        &nats,
        "subject = \"sf.leavers\"\nwhen = { kind = \"termination\" }",
    ))
    .await;
    for name in ["hire.xml", "termination.xml", "multiple-events.xml"] {
        assert_eq!(post(&app, name).await, 200, "{name}");
    }
    let read = nats.read("SF").await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].json()["kind"], "termination");
}

#[tokio::test]
async fn a_subject_no_stream_takes_fails_the_message_at_once_with_a_clear_error() {
    let (logs, _guard) = Logs::capture();
    let nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    let app = TestApp::spawn(&config(
        &nats,
        "subject = \"hr.events.{kind}\"\nretries = 3",
    ))
    .await;
    let response = app.post_soap(ENDPOINT, fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
    let id = message_id(&response);
    let body = response.text().await.unwrap();
    assert!(body.contains("soap:Server") && body.contains(&id), "{body}");

    let error = app.error_text(&id).await;
    assert!(
        error.contains("publish to 'hr.events.hire': no stream takes this subject")
            && error.contains("gave up after 1 attempt"),
        "{error}"
    );
    let failures = logs.lines_with(&["handler failed", &id]);
    assert_eq!(failures.len(), 1, "{}", logs.text());
    assert!(failures[0].contains("handler=to-nats"), "{}", failures[0]);
    assert_eq!(nats.stream_messages("SF").await, 0);
}

#[tokio::test]
async fn a_stream_other_than_the_expected_one_is_refused() {
    let nats = NatsServer::start().await;
    nats.create_stream("OTHER", &["sf.>"]).await;
    let app = TestApp::spawn(&config(&nats, "subject = \"sf.events\"\nstream = \"SF\"")).await;
    let response = app.post_soap(ENDPOINT, fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
    let error = app.error_text(&message_id(&response)).await;
    assert!(
        error.contains("the stream refused it: expected stream does not match"),
        "{error}"
    );
    assert_eq!(nats.stream_messages("OTHER").await, 0);
}

#[tokio::test]
async fn a_server_that_went_away_is_retried_then_the_message_fails_and_the_client_reconnects() {
    let mut nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    // Two endpoints, each with a handler (and a connection) of its own: one quick to give up,
    // one whose retries outlast the client's wait between reconnect attempts (at most 4 s).
    let app = TestApp::spawn(&format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["quick"]

[[endpoints]]
name = "Patient"
address = "/patient"
handlers = ["patient"]

[handlers.quick]
type = "nats"
url = "{url}"
subject = "sf.events"
timeout_ms = 300
retries = 2
backoff_ms = 50
max_backoff_ms = 100

[handlers.patient]
type = "nats"
url = "{url}"
subject = "sf.events"
timeout_ms = 1000
retries = 10
backoff_ms = 100
max_backoff_ms = 1000
"#,
        users_toml(),
        url = nats.url()
    ))
    .await;
    assert_eq!(post(&app, "hire.xml").await, 200);

    nats.stop().await;
    let response = app.post_soap(ENDPOINT, fixture("termination.xml")).await;
    assert_eq!(response.status(), 500);
    let error = app.error_text(&message_id(&response)).await;
    assert!(
        error.contains("publish to 'sf.events': no ack from the stream within 300 ms")
            && error.contains("gave up after 3 attempts"),
        "{error}"
    );

    // Back again, on the same port with the same store: the clients reconnect by themselves.
    nats.restart().await;
    assert_eq!(post_at(&app, "/cxf/patient", "rehire.xml").await, 200);
    // The failed termination's publishes were queued in the quick client and may reach the
    // stream once it reconnects. SuccessFactors delivers the termination again; whichever copy
    // comes first is kept, the others have its Nats-Msg-Id and are dropped.
    assert_eq!(post_at(&app, "/cxf/patient", "termination.xml").await, 200);
    let mut kinds: Vec<_> = nats
        .read("SF")
        .await
        .iter()
        .map(|m| m.json()["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["hire", "rehire", "termination"]);
}

#[tokio::test]
async fn no_server_at_start_up_stops_it_unless_connect_is_background() {
    let mut nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    nats.stop().await;

    let error = start_up_error(
        &config(&nats, "subject = \"sf.events\"\ntimeout_ms = 1000"),
        Env::default(),
    )
    .await;
    assert!(
        error.starts_with("handler 'to-nats': cannot connect to nats://127.0.0.1:"),
        "{error}"
    );

    let app = TestApp::spawn(&config(
        &nats,
        "subject = \"sf.events\"\nconnect = \"background\"\ntimeout_ms = 1000\nretries = 10\nbackoff_ms = 100\nmax_backoff_ms = 1000",
    ))
    .await;
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "iflowd started without NATS");

    nats.restart().await;
    assert_eq!(post(&app, "hire.xml").await, 200);
    assert_eq!(nats.stream_messages("SF").await, 1);
}

/// `iflowd.example.toml` with `[handlers.to-bus]` uncommented and added to its first endpoint's
/// chain, as its comment says, against `server`, its files in the test's directory.
fn example_with_bus(server: &NatsServer) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("iflowd.example.toml");
    let example = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut in_block = false;
    for line in example.lines() {
        in_block = (in_block || line == "# [handlers.to-bus]") && line.starts_with('#');
        out.push(match line.strip_prefix("# ") {
            Some(uncommented) if in_block => uncommented,
            _ => line,
        });
    }
    let text = out.join("\n");
    assert!(
        text.contains("\n[handlers.to-bus]\n") && text.contains("\ntype = \"nats\"\n"),
        "{text}"
    );
    text.replacen(
        "handlers = [\"log\", \"archive\"]",
        "handlers = [\"log\", \"to-bus\", \"archive\"]",
        1,
    )
    .replace("nats://127.0.0.1:4222", &server.url())
    .replace("path = \"events.jsonl\"", "path = \"{dir}/events.jsonl\"")
    .replace("data_dir = \"./iflowd-data\"", "data_dir = \"{dir}/data\"")
}

#[tokio::test]
async fn the_examples_nats_handler_publishes_once_uncommented() {
    let nats = NatsServer::start_with(
        r#"authorization { users = [ { user: "iflowd", password: "bus-pw" } ] }"#,
        Access::User("iflowd".into(), "bus-pw".into()),
    )
    .await;
    nats.create_stream("SF_EVENTS", &["sf.events.>"]).await;
    let env = Env {
        vars: [("NATS_PASSWORD", "bus-pw")].into_iter().collect(),
        ..Env::default()
    };
    let app = TestApp::spawn_with_env(&example_with_bus(&nats), env).await;
    // The example's own user.
    let response = app
        .client
        .post(app.url("/cxf/isc/change-in-manager"))
        .basic_auth("isc", Some("change-me"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(fixture("change-in-manager.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let read = nats.read("SF_EVENTS").await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].subject, "sf.events.change_in_manager");
    assert_eq!(
        read[0].header("Nats-Msg-Id"),
        Some("b1d0e8f4-3a5c-4e2b-8c7d-9f6e5d4c3b2a")
    );
}
