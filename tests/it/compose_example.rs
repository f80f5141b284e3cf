//! `examples/scale-out/`: the configuration `compose.yaml` gives both of its iflowd instances,
//! run as two instances with the environment compose passes them, on a real PostgreSQL and a real
//! `nats-server -js` with the stream compose's `nats-init` makes. Only the service names
//! (`postgres`, `nats`) and the container's `/data` are replaced by the test's own: no container
//! engine runs here, so compose itself is not run (docs/scale-out.md says so).

use crate::common::nats::NatsServer;
use crate::common::{Backend, TestApp, fixture, message_id};
use iflowd::config::Env;

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/scale-out/iflowd.toml"
    ))
    .unwrap()
}

/// `text` with `from` replaced by `to`, which must be there: the test fails when the example
/// changes under it.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the example no longer has {from}");
    text.replace(from, to)
}

/// The example pointed at the test's services. The test cluster trusts its `postgres` user, so
/// the url keeps the example's `${IFLOWD_DB_PASSWORD}`, expanded but not checked.
fn pointed_at(database_url: &str, nats: &NatsServer) -> String {
    let (_, at) = database_url.split_once('@').unwrap();
    let config = replace(
        &example(),
        "postgres://iflowd:${IFLOWD_DB_PASSWORD}@postgres:5432/iflowd",
        &format!("postgres://postgres:${{IFLOWD_DB_PASSWORD}}@{at}"),
    );
    let config = replace(&config, "nats://nats:4222", &nats.url());
    replace(&config, "/data/iflowd-data", "{dir}/iflowd-data")
}

/// compose's `environment:` for both instances.
fn compose_env() -> Env {
    Env {
        password: Some("secret".to_owned().into()),
        vars: [("IFLOWD_DB_PASSWORD", "db-secret")].into_iter().collect(),
        ..Env::default()
    }
}

#[tokio::test]
async fn the_compose_examples_two_instances_share_one_log_and_publish_each_event_once() {
    let nats = NatsServer::start().await;
    nats.create_stream("SF_EVENTS", &["sf.events.>"]).await;
    let Backend::Postgres(url) = Backend::postgres().await else {
        unreachable!()
    };
    let config = pointed_at(&url, &nats);
    let a = TestApp::spawn_with_env(&config, compose_env()).await;
    let b = TestApp::spawn_with_env(&config, compose_env()).await;

    // docs/scale-out.md's first curl, to instance A (as the built-in user isc).
    let send = |app: &TestApp| {
        app.client
            .post(app.url("/cxf/isc/events"))
            .basic_auth("isc", Some("secret"))
            .header("Content-Type", "text/xml")
            .body(fixture("change-in-manager.xml"))
            .send()
    };
    let first = send(&a).await.unwrap();
    assert_eq!(first.status(), 200);
    let first_id = message_id(&first);
    let published = nats.read("SF_EVENTS").await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].subject, "sf.events.change_in_manager");

    // Its second, to instance B: the message A logged.
    let list: serde_json::Value = b
        .api_as("isc", "secret", "MessageProcessingLogs?$format=json")
        .await
        .json()
        .await
        .unwrap();
    let entries = list["d"]["results"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{list}");
    assert_eq!(entries[0]["MessageGuid"], first_id.as_str());
    assert_eq!(entries[0]["Status"], "COMPLETED");

    // SuccessFactors sending the event again, to B: a duplicate, not published again.
    let copy = send(&b).await.unwrap();
    assert_eq!(copy.status(), 200);
    assert_eq!(nats.read("SF_EVENTS").await.len(), 1);
}
