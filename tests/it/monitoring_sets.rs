//! The monitoring API's configuration-made sets (`IntegrationPackages`, the artifacts'
//! deployment fields from `[deployment]` and the start) and a message's
//! `CustomHeaderProperties`.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::common::{
    MONITOR, MONITOR_PASSWORD, OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, TestApp, USER, envelope,
    message_id, users_toml,
};

const DEPLOYED: &str = r#"
[deployment]
deployed_by = "ops@acme.example"
version = "2.4.1"
package = "HR_Events"

[[endpoints]]
name = "ISC_Events"
address = "/isc/events"

[[endpoints]]
name = "Terminations"
address = "/isc/terminations"

[[endpoints]]
name = "Payroll"
address = "/payroll"
package = "Payroll_Sync"
"#;

fn date_ms(value: &Value) -> i64 {
    value
        .as_str()
        .and_then(|t| t.strip_prefix("/Date("))
        .and_then(|t| t.strip_suffix(")/"))
        .unwrap_or_else(|| panic!("not a date: {value}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn packages_and_deployment_fields_come_from_the_configuration_and_the_start() {
    let before = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let app = TestApp::spawn(&format!("{}{DEPLOYED}", users_toml())).await;
    let after = OffsetDateTime::now_utc().unix_timestamp() * 1000 + 1000;

    let artifacts = app.api_results("IntegrationRuntimeArtifacts").await;
    assert_eq!(artifacts.len(), 3);
    let deployed_on = date_ms(&artifacts[0]["DeployedOn"]);
    assert!((before..=after).contains(&deployed_on), "{deployed_on}");
    for artifact in &artifacts {
        assert_eq!(artifact["DeployedBy"], "ops@acme.example");
        assert_eq!(artifact["Version"], "2.4.1");
        assert_eq!(date_ms(&artifact["DeployedOn"]), deployed_on);
    }
    let endpoints = app.api_results("ServiceEndpoints").await;
    assert!(endpoints.iter().all(|e| e["Version"] == "2.4.1"));

    let packages = app.api_results("IntegrationPackages").await;
    let ids: Vec<&str> = packages.iter().map(|p| p["Id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["HR_Events", "Payroll_Sync"]);
    let hr = &packages[0];
    assert_eq!(hr["Name"], "HR_Events");
    assert_eq!(
        hr["Description"],
        "iflowd endpoints: ISC_Events, Terminations"
    );
    assert_eq!(hr["Version"], "2.4.1");
    assert_eq!(hr["CreatedBy"], "ops@acme.example");
    assert_eq!(hr["ModifiedBy"], "ops@acme.example");
    assert_eq!(hr["PartnerContent"], false);
    // As in CPI: epoch milliseconds as text, the start.
    assert_eq!(hr["CreationDate"], deployed_on.to_string());
    assert_eq!(hr["ModifiedDate"], deployed_on.to_string());
    assert_eq!(
        hr["__metadata"]["type"], "com.sap.hci.api.IntegrationPackage",
        "{hr}"
    );

    let one = app.api("IntegrationPackages('Payroll_Sync')").await;
    assert_eq!(one["d"]["Description"], "iflowd endpoints: Payroll");
    let version = app.api("IntegrationPackages('HR_Events')/Version").await;
    assert_eq!(version["d"], json!({ "Version": "2.4.1" }));
    let filtered = app
        .api_results("IntegrationPackages?$filter=Id%20ne%20'HR_Events'")
        .await;
    assert_eq!(filtered.len(), 1);
    let missing = app
        .api_as(USER, PASSWORD, "IntegrationPackages('Nope')")
        .await;
    assert_eq!(missing.status(), 404);

    let outsider = app
        .api_as(OUTSIDER, OUTSIDER_PASSWORD, "IntegrationPackages")
        .await;
    assert_eq!(outsider.status(), 403);
    let monitor = app
        .api_as(MONITOR, MONITOR_PASSWORD, "IntegrationPackages")
        .await;
    assert_eq!(monitor.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn without_deployment_settings_there_is_one_package_named_iflowd() {
    let app = TestApp::spawn_default().await;
    let packages = app.api_results("IntegrationPackages").await;
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0]["Id"], "iflowd");
    let artifacts = app.api_results("IntegrationRuntimeArtifacts").await;
    assert_eq!(artifacts[0]["DeployedBy"], "iflowd");
    assert_eq!(artifacts[0]["Version"], "1.0.0");
    app.stop().await;
}

#[tokio::test]
async fn custom_header_properties_carry_each_events_type_user_and_event_id() {
    let app = TestApp::spawn_default().await;
    let response = app
        .post_soap("/cxf/isc/events", envelope("headers-1", 2, false))
        .await;
    assert_eq!(response.status(), 200);
    let id = message_id(&response);

    let properties = app
        .api_results(&format!(
            "MessageProcessingLogs('{id}')/CustomHeaderProperties"
        ))
        .await;
    let pairs: Vec<(&str, &str)> = properties
        .iter()
        .map(|p| (p["Name"].as_str().unwrap(), p["Value"].as_str().unwrap()))
        .collect();
    let hire = "com.successfactors.Employment.AssignmentInformation.Hire";
    assert_eq!(
        pairs,
        [
            ("eventType", hire),
            ("userId", "100000"),
            ("eventId", "ev-0"),
            ("eventType", hire),
            ("userId", "100001"),
            ("eventId", "ev-1"),
        ]
    );
    assert_eq!(properties[4]["Id"], format!("{id}.5"));
    assert_eq!(
        properties[4]["__metadata"]["uri"],
        app.url(&format!(
            "/api/v1/MessageProcessingLogCustomHeaderProperties('{id}.5')"
        ))
    );
    let one = app
        .api(&format!(
            "MessageProcessingLogCustomHeaderProperties('{id}.5')"
        ))
        .await;
    assert_eq!(one["d"]["Value"], "100001");
    let entry = app.log_entry(&id).await;
    assert_eq!(
        entry["CustomHeaderProperties"]["__deferred"]["uri"],
        app.url(&format!(
            "/api/v1/MessageProcessingLogs('{id}')/CustomHeaderProperties"
        ))
    );

    for (path, status) in [
        (
            format!("MessageProcessingLogCustomHeaderProperties('{id}.7')"),
            404,
        ),
        (
            "MessageProcessingLogs('AGnope')/CustomHeaderProperties".to_owned(),
            404,
        ),
        ("MessageProcessingLogCustomHeaderProperties".to_owned(), 400),
    ] {
        let response = app.api_as(USER, PASSWORD, &path).await;
        assert_eq!(response.status(), status, "{path}");
    }
    let outsider = app
        .api_as(
            OUTSIDER,
            OUTSIDER_PASSWORD,
            &format!("MessageProcessingLogs('{id}')/CustomHeaderProperties"),
        )
        .await;
    assert_eq!(outsider.status(), 403);

    // A call refused before its body was read has none.
    let refused = app
        .client
        .post(app.url("/cxf/isc/events"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 415);
    let none = app
        .api_results(&format!(
            "MessageProcessingLogs('{}')/CustomHeaderProperties",
            message_id(&refused)
        ))
        .await;
    assert!(none.is_empty());
    app.stop().await;
}
