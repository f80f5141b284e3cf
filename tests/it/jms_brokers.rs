//! `JmsBrokers('Broker1')`: the delivery queue as CPI's JMS broker, read with
//! `HealthCheckMonitoringDataRead`: its capacity, its queues (one per endpoint) and their
//! messages by state, after messages were queued, retried and escalated.

use serde_json::Value;

use crate::common::queue::{ended, flaky};
use crate::common::{
    Backend, OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, TestApp, USER, envelope, on_both_backends,
    users_toml,
};

/// A user with only the health-check role, as SAP Cloud ALM is given.
const HEALTH: &str = "calm";
const HEALTH_PASSWORD: &str = "calm-pw";

/// `ISC_Events` (sync), `Queued` (async, failing, a retry an hour later, 2 attempts) and `Once`
/// (async, failing, 1 attempt: escalated at once); the log limited to 64 MiB.
fn config() -> String {
    format!(
        r#"{users}
[[users]]
name = "{HEALTH}"
password = "{HEALTH_PASSWORD}"
roles = ["HealthCheckMonitoringDataRead"]

[store]
max_size_mb = 64

[[endpoints]]
name = "ISC_Events"
address = "/isc/events"

[[endpoints]]
name = "Queued"
address = "/queued"
delivery = "async"
handlers = ["flaky"]

[endpoints.retry]
interval_ms = 3600000
max_attempts = 2

[[endpoints]]
name = "Once"
address = "/once"
delivery = "async"
handlers = ["flaky"]

[endpoints.retry]
max_attempts = 1

{flaky}"#,
        users = users_toml(),
        flaky = flaky(None)
    )
}

async fn read(app: &TestApp, path: &str) -> Value {
    let response = app.api_as(HEALTH, HEALTH_PASSWORD, path).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The queues as (Name, QueueSize, Queued, Running, Retry, Escalated).
async fn queues(app: &TestApp) -> Vec<(String, String, String, String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("{v}")).to_owned();
    read(app, "JmsBrokers('Broker1')/Queues").await["d"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                text(&q["Name"]),
                text(&q["QueueSize"]),
                text(&q["Queued"]),
                text(&q["Running"]),
                text(&q["Retry"]),
                text(&q["Escalated"]),
            )
        })
        .collect()
}

fn row(name: &str, figures: [&str; 5]) -> (String, String, String, String, String, String) {
    let [size, queued, running, retry, escalated] = figures.map(str::to_owned);
    (name.to_owned(), size, queued, running, retry, escalated)
}

#[tokio::test]
async fn the_broker_needs_the_health_check_role() {
    let app = TestApp::spawn(&config()).await;
    let path = "JmsBrokers('Broker1')";
    let anonymous = app
        .client
        .get(app.url(&format!("/api/v1/{path}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    for (user, password) in [(OUTSIDER, OUTSIDER_PASSWORD), (USER, PASSWORD)] {
        for path in [path, "JmsBrokers('Broker1')/Queues", "JmsQueues"] {
            let response = app.api_as(user, password, path).await;
            assert_eq!(response.status(), 403, "{user} {path}");
            let body: Value = response.json().await.unwrap();
            let message = body["error"]["message"]["value"].as_str().unwrap();
            assert!(
                message.contains("HealthCheckMonitoringDataRead")
                    || message.contains("MonitoringDataRead"),
                "{message}"
            );
        }
    }
    assert_eq!(
        app.api_as(HEALTH, HEALTH_PASSWORD, path).await.status(),
        200
    );
    // Another broker, or the set as a whole, names nothing to read.
    let other = app
        .api_as(HEALTH, HEALTH_PASSWORD, "JmsBrokers('Broker2')")
        .await;
    assert_eq!(other.status(), 404);
    let all = app.api_as(HEALTH, HEALTH_PASSWORD, "JmsBrokers").await;
    assert_eq!(all.status(), 400);
}

on_both_backends!(the_broker_counts_queued_retrying_and_escalated_messages_per_endpoint);

async fn the_broker_counts_queued_retrying_and_escalated_messages_per_endpoint(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &config()).await;
    let broker = read(&app, "JmsBrokers('Broker1')").await["d"].clone();
    assert_eq!(broker["Key"], "Broker1");
    // CPI's properties, and the navigation.
    let mut names: Vec<&str> = broker
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "__metadata")
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Capacity",
            "CapacityError",
            "CapacityOk",
            "CapacityWarning",
            "IsConsumersHigh",
            "IsMessageSpoolHigh",
            "IsProducersHigh",
            "IsQueuesHigh",
            "IsTransactedSessionsHigh",
            "Key",
            "MaxCapacity",
            "MaxQueueNumber",
            "QueueNumber",
            "Queues",
        ]
    );
    assert_eq!(
        broker["MaxCapacity"],
        (64u64 * 1024 * 1024).to_string(),
        "{broker}"
    );
    let used: u64 = broker["Capacity"].as_str().unwrap().parse().unwrap();
    assert!(used > 0, "{broker}");
    assert_eq!(
        broker["QueueNumber"], "2",
        "the two async endpoints: {broker}"
    );
    assert_eq!(broker["MaxQueueNumber"], "3");
    assert_eq!(broker["CapacityOk"], "2");
    assert_eq!(broker["CapacityWarning"], "0");
    assert_eq!(broker["CapacityError"], "0");
    assert_eq!(broker["IsConsumersHigh"], 0);
    assert_eq!(broker["IsMessageSpoolHigh"], 0);
    assert!(
        broker["Queues"]["__deferred"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/JmsBrokers('Broker1')/Queues")
    );
    assert_eq!(
        queues(&app).await,
        [row("Once", ["0"; 5]), row("Queued", ["0"; 5])]
    );

    // Two messages fail their first attempt (RETRY, an hour later), one fails its only one
    // (ESCALATED); a synchronous message is never queued.
    for id in ["jms-1", "jms-2"] {
        let response = app.post_soap("/cxf/queued", envelope(id, 1, false)).await;
        assert_eq!(response.status(), 200);
    }
    let response = app
        .post_soap("/cxf/once", envelope("jms-3", 1, false))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.post_fixture("hire.xml").await.status(), 200);
    ended(&app, 3).await;
    assert_eq!(
        queues(&app).await,
        [
            row("Once", ["1", "0", "0", "0", "1"]),
            row("Queued", ["2", "0", "0", "2", "0"]),
        ]
    );
    let once = read(&app, "JmsQueues('Once')").await;
    assert_eq!(once["d"]["Escalated"], "1");
    assert_eq!(once["d"]["State"], "0");
    let busy = read(&app, "JmsQueues?$filter=QueueSize%20gt%201").await;
    let names: Vec<&str> = busy["d"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Queued"]);
    // The same depth on /metrics.
    app.assert_metrics(&[
        r#"iflowd_queue_depth{endpoint="Queued",state="retry"} 2"#,
        r#"iflowd_queue_depth{endpoint="Once",state="retry"} 0"#,
    ])
    .await;
    // $metadata declares the set with CPI's types.
    let metadata = app
        .api_as(HEALTH, HEALTH_PASSWORD, "$metadata")
        .await
        .text()
        .await
        .unwrap();
    for declared in [
        r#"<EntitySet Name="JmsBrokers" EntityType="com.sap.hci.api.JmsBroker"/>"#,
        r#"<Property Name="Capacity" Type="Edm.Int64" Nullable="true"/>"#,
        r#"<Property Name="IsConsumersHigh" Type="Edm.Int32" Nullable="true"/>"#,
        r#"<NavigationProperty Name="Queues" Relationship="com.sap.hci.api.JmsBroker_Queues""#,
    ] {
        assert!(metadata.contains(declared), "{declared}");
    }
}
