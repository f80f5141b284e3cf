//! CPI's OData monitoring API: roles, paging, `$metadata`, artifacts and service endpoints.
//! (Query options: `monitoring_queries.rs`.)

use std::collections::BTreeSet;

use crate::common::{
    Backend, MONITOR, MONITOR_PASSWORD, OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, TestApp, USER,
    isc_and_broken, message_id, on_both_backends,
};
use serde_json::Value;

async fn reading_needs_monitoring_data_read_and_bodies_need_message_payloads_read(
    backend: Backend,
) {
    let app = TestApp::spawn_default_on(&backend).await;
    let id = message_id(&app.post_fixture("hire.xml").await);

    let anonymous = app
        .client
        .get(app.url("/api/v1/MessageProcessingLogs"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        r#"Basic realm="iflowd""#
    );
    let wrong = app.api_as(USER, "wrong", "MessageProcessingLogs").await;
    assert_eq!(wrong.status(), 401);

    let outsider = app
        .api_as(OUTSIDER, OUTSIDER_PASSWORD, "MessageProcessingLogs")
        .await;
    assert_eq!(outsider.status(), 403);
    let error: Value = outsider.json().await.unwrap();
    assert_eq!(
        error["error"]["message"]["value"],
        "user 'outsider' does not have the role 'MonitoringDataRead' this requires"
    );
    let outsider_metadata = app.api_as(OUTSIDER, OUTSIDER_PASSWORD, "$metadata").await;
    assert_eq!(outsider_metadata.status(), 403);

    let monitor_list = app
        .api_as(MONITOR, MONITOR_PASSWORD, "MessageProcessingLogs")
        .await;
    assert_eq!(monitor_list.status(), 200);
    let entries = app
        .api_as(
            MONITOR,
            MONITOR_PASSWORD,
            &format!("MessageProcessingLogs('{id}')/MessageStoreEntries"),
        )
        .await;
    assert_eq!(
        entries.status(),
        200,
        "the list of bodies is monitoring data"
    );
    let body = app
        .api_as(
            MONITOR,
            MONITOR_PASSWORD,
            &format!("MessageStoreEntries('{id}.request')/$value"),
        )
        .await;
    assert_eq!(body.status(), 403);
    let error: Value = body.json().await.unwrap();
    assert_eq!(
        error["error"]["message"]["value"],
        "user 'monitor' does not have the role 'MessagePayloadsRead' this requires"
    );
    let own = app.stored_body(&id, "request").await;
    assert_eq!(own.status(), 200);

    let post = app
        .client
        .post(app.url("/api/v1/MessageProcessingLogs"))
        .basic_auth(USER, Some(PASSWORD))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}
on_both_backends!(reading_needs_monitoring_data_read_and_bodies_need_message_payloads_read);

async fn pages_stop_at_1000_entries_with_a_next_link(backend: Backend) {
    let app = TestApp::spawn_default_on(&backend).await;
    app.post_pages("/cxf/isc/events", 1001, 0).await;

    let first = app
        .api("MessageProcessingLogs?$inlinecount=allpages&$orderby=ApplicationMessageId&$select=ApplicationMessageId")
        .await;
    let results = first["d"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    assert_eq!(first["d"]["__count"], "1001");
    assert_eq!(results[999]["ApplicationMessageId"], "page-0999");
    let next = first["d"]["__next"].as_str().expect("__next").to_owned();
    let base = app.url("/api/v1/");
    let rest = app
        .api(next.strip_prefix(&base).expect("absolute link"))
        .await;
    let results = rest["d"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ApplicationMessageId"], "page-1000");
    assert_eq!(rest["d"]["__count"], "1001", "options carried over");
    assert!(rest["d"].get("__next").is_none());

    let topped = app
        .api("MessageProcessingLogs?$top=1001&$skip=0&$select=MessageGuid")
        .await;
    assert_eq!(topped["d"]["results"].as_array().unwrap().len(), 1000);
    let next = topped["d"]["__next"].as_str().unwrap();
    assert!(
        next.contains("%24skip=1000") && next.contains("%24top=1"),
        "{next}"
    );
}
on_both_backends!(pages_stop_at_1000_entries_with_a_next_link);

#[tokio::test]
async fn metadata_declares_exactly_what_the_entries_carry() {
    let app = TestApp::spawn_default().await;
    let id = message_id(&app.post_fixture("hire.xml").await);
    let response = app.api_as(USER, PASSWORD, "$metadata").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/xml;charset=utf-8"
    );
    assert_eq!(response.headers()["dataserviceversion"], "2.0");
    let xml = response.text().await.unwrap();

    // Properties and navigation properties of each entity type, read with a real XML parser.
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut current = String::new();
    let mut declared: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    let mut sets = BTreeSet::new();
    loop {
        match reader.read_event().expect("well-formed EDMX") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let name = |e: &quick_xml::events::BytesStart| {
                    e.try_get_attribute("Name")
                        .unwrap()
                        .map(|a| a.value.to_string())
                };
                match e.local_name().as_ref() {
                    "EntityType" | "ComplexType" => current = name(&e).unwrap(),
                    "Property" | "NavigationProperty" => {
                        declared
                            .entry(current.clone())
                            .or_default()
                            .insert(name(&e).unwrap());
                    }
                    "EntitySet" => {
                        sets.insert(name(&e).unwrap());
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        sets,
        BTreeSet::from(
            [
                "MessageProcessingLogs",
                "MessageProcessingLogErrorInformations",
                "MessageStoreEntries",
                "MessageProcessingLogCustomHeaderProperties",
                "MessageProcessingLogAttempts",
                "IntegrationRuntimeArtifacts",
                "ServiceEndpoints",
                "IntegrationPackages",
                "KeystoreEntries",
                "AuditLogs",
                "JmsBrokers",
                "JmsQueues",
            ]
            .map(String::from)
        )
    );
    let keys = |value: &Value| -> BTreeSet<String> {
        value
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "__metadata")
            .cloned()
            .collect()
    };
    let entry = app.log_entry(&id).await;
    assert_eq!(keys(&entry), declared["MessageProcessingLog"]);
    assert_eq!(
        keys(&entry["IntegrationArtifact"]),
        declared["IntegrationArtifact"]
    );
    let stored = app
        .api_results(&format!(
            "MessageProcessingLogs('{id}')/MessageStoreEntries"
        ))
        .await;
    assert_eq!(keys(&stored[0]), declared["MessageStoreEntry"]);
    let artifacts = app.api_results("IntegrationRuntimeArtifacts").await;
    assert_eq!(keys(&artifacts[0]), declared["IntegrationRuntimeArtifact"]);
    let endpoints = app.api_results("ServiceEndpoints").await;
    assert_eq!(keys(&endpoints[0]), declared["ServiceEndpoint"]);
    let headers = app
        .api_results(&format!(
            "MessageProcessingLogs('{id}')/CustomHeaderProperties"
        ))
        .await;
    assert_eq!(
        keys(&headers[0]),
        declared["MessageProcessingLogCustomHeaderProperty"]
    );
    let packages = app.api_results("IntegrationPackages").await;
    assert_eq!(keys(&packages[0]), declared["IntegrationPackage"]);
    let audit = app.api_results("AuditLogs").await;
    assert_eq!(keys(&audit[0]), declared["AuditLog"]);
    // KeystoreEntry: keystore.rs (it needs [tls]); JmsBroker: jms_brokers.rs (its role).

    let service = app.api("").await;
    let listed: BTreeSet<String> = service["d"]["EntitySets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed, sets,
        "the service document lists what $metadata declares"
    );
}

#[tokio::test]
async fn artifacts_and_service_endpoints_list_the_configured_endpoints() {
    let app = TestApp::spawn(&isc_and_broken("https")).await;
    let artifacts = app.api_results("IntegrationRuntimeArtifacts").await;
    let names: Vec<&str> = artifacts
        .iter()
        .map(|a| a["Id"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Broken", "ISC_Events"]);
    for artifact in &artifacts {
        assert_eq!(artifact["Status"], "STARTED");
        assert_eq!(artifact["Type"], "INTEGRATION_FLOW");
        assert!(
            artifact["DeployedOn"]
                .as_str()
                .unwrap()
                .starts_with("/Date(")
        );
    }
    let one = app
        .api("IntegrationRuntimeArtifacts('ISC_Events')?$select=Status")
        .await;
    assert_eq!(one["d"]["Status"], "STARTED");
    assert!(one["d"].get("Name").is_none());
    assert_eq!(
        app.api_as(USER, PASSWORD, "IntegrationRuntimeArtifacts('Nope')")
            .await
            .status(),
        404
    );

    let endpoints = app
        .api("ServiceEndpoints?$filter=Protocol%20eq%20'SOAP'&$inlinecount=allpages")
        .await;
    assert_eq!(endpoints["d"]["__count"], "1");
    let soap = &endpoints["d"]["results"][0];
    assert_eq!(soap["Name"], "ISC_Events");
    assert_eq!(soap["Url"], app.url("/cxf/isc/events"));
    let rest = app.api("ServiceEndpoints('Broken')").await;
    assert_eq!(rest["d"]["Protocol"], "REST");
    assert_eq!(rest["d"]["Url"], app.url("/http/broken"));
    let ordered = app
        .api_results("IntegrationRuntimeArtifacts?$orderby=Name%20desc&$top=1")
        .await;
    assert_eq!(ordered[0]["Name"], "ISC_Events");
}

async fn a_single_property_of_an_entry_has_its_own_address(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &isc_and_broken("https")).await;
    let id = message_id(&app.post_fixture("hire.xml").await);
    let entry = app.log_entry(&id).await;

    let status = app
        .api(&format!("MessageProcessingLogs('{id}')/Status"))
        .await;
    assert_eq!(
        status,
        serde_json::json!({ "d": { "Status": "COMPLETED" } })
    );
    let start = app
        .api(&format!("MessageProcessingLogs('{id}')/LogStart"))
        .await;
    assert_eq!(start["d"]["LogStart"], entry["LogStart"]);
    let artifact = app
        .api(&format!(
            "MessageProcessingLogs('{id}')/IntegrationArtifact"
        ))
        .await;
    assert_eq!(artifact["d"]["IntegrationArtifact"]["Id"], "ISC_Events");
    let receiver = app
        .api(&format!("MessageProcessingLogs('{id}')/Receiver"))
        .await;
    assert_eq!(receiver, serde_json::json!({ "d": { "Receiver": null } }));

    let deployed = app
        .api("IntegrationRuntimeArtifacts('Broken')/Status")
        .await;
    assert_eq!(deployed["d"]["Status"], "STARTED");
    let url = app.api("ServiceEndpoints('Broken')/Url").await;
    assert_eq!(url["d"]["Url"], app.url("/http/broken"));

    for (path, status) in [
        (format!("MessageProcessingLogs('{id}')/Statuss"), 404),
        ("MessageProcessingLogs('AGnone')/Status".to_owned(), 404),
        ("IntegrationRuntimeArtifacts('Nope')/Status".to_owned(), 404),
        (format!("MessageProcessingLogs('{id}')/Status?$top=1"), 400),
    ] {
        let response = app.api_as(USER, PASSWORD, &path).await;
        assert_eq!(response.status(), status, "{path}");
    }
}
on_both_backends!(a_single_property_of_an_entry_has_its_own_address);
