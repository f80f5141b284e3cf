//! pyodata reads the monitoring API's other sets from `$metadata` alone: the audit log, the
//! keystore, packages, custom header properties, the JMS broker and its queues; it follows next
//! links past a page, and reports the API's 401 and 403 (the message log itself: [`super::odata`]).

use serde_json::{Value, json};

use super::odata::{DRILLED, ENDPOINTS, EVENTS, all_sets, assert_succeeded, call, pyodata, spawn};
use crate::common::{
    MONITOR, MONITOR_PASSWORD, OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, TestApp, USER, users_toml,
};

#[tokio::test]
async fn pyodata_reads_the_audit_log_keystore_packages_and_custom_headers_from_metadata() {
    // An OAuth client, so that the keystore holds the token signing key.
    let config = format!(
        "{}{ENDPOINTS}\n[[oauth_clients]]\nid = \"sb-x\"\nsecret = \"x-secret\"\n",
        users_toml()
    );
    let app = TestApp::spawn(&config).await;
    let (status, id) = call(&app, EVENTS, "odata-sets", 2).await;
    assert_eq!(status, 200);
    for password in ["first-guess", "second-guess"] {
        assert_eq!(
            app.api_as("mallory", password, "AuditLogs").await.status(),
            401
        );
    }

    let (output, r) = pyodata(&app, USER, PASSWORD, "sets", "ISC_Events").await;
    assert_succeeded(&output, &r);
    let schema = &r["schema"];
    assert_eq!(schema["entitySets"], all_sets());
    for (set, key) in [
        ("AuditLogs", "ChangeId"),
        ("KeystoreEntries", "Hexalias"),
        ("IntegrationPackages", "Id"),
        ("MessageProcessingLogCustomHeaderProperties", "Id"),
        ("MessageProcessingLogAttempts", "Id"),
    ] {
        assert_eq!(schema["keys"][set], json!([key]), "{set}");
    }
    assert_eq!(
        r["attempts"],
        json!([]),
        "a synchronous message has no attempts"
    );

    let headers = &r["customHeaders"];
    assert_eq!(headers["MessageGuid"], id.as_str());
    let pairs: Vec<(&str, &str)> = headers["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| (p["Name"].as_str().unwrap(), p["Value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pairs[1..3],
        [("userId", "100000"), ("eventId", "ev-0")],
        "{headers}"
    );
    assert_eq!(pairs.len(), 6);

    let audit = r["auditLogs"].as_array().expect("audit logs");
    let actions: Vec<&str> = audit
        .iter()
        .map(|a| a["Action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "LOGIN_FAILED",
            "LOGIN_FAILED",
            "START",
            "CONFIGURATION_LOADED"
        ],
        "newest first"
    );
    assert!(audit.iter().all(|a| a["_dates"] == json!(["Timestamp"])));
    let failed = &r["failedLogins"];
    assert_eq!(failed["totalCount"], 2, "{failed}");
    for record in failed["records"].as_array().unwrap() {
        assert_eq!(record["UserName"], "mallory");
        assert_eq!(record["ObjectName"], "/api/v1/AuditLogs");
        assert_eq!(record["Details"], "refused: wrong user name or password");
    }
    assert_eq!(r["auditByKey"]["Source (read on demand)"], "127.0.0.1");

    let keystore = r["keystore"].as_array().expect("keystore");
    assert_eq!(keystore.len(), 1, "{keystore:?}");
    let key = &keystore[0];
    assert_eq!(key["Alias"], "oauth_signing_key");
    assert_eq!(key["Type"], "SecretKey");
    assert_eq!(key["KeySize"], 256);
    assert_eq!(key["ValidNotAfter"], Value::Null);
    assert_eq!(key["_dates"], json!(["LastModifiedTime"]));
    assert_eq!(r["keystoreByKey"], "oauth_signing_key");

    let packages = r["packages"].as_array().expect("packages");
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0]["Id"], "iflowd");
    assert_eq!(
        packages[0]["Description"],
        "iflowd endpoints: Drilled, ISC_Events"
    );
    assert_eq!(r["packageVersionOnDemand"], "1.0.0");
    app.stop().await;
}

#[tokio::test]
async fn pyodata_reads_the_jms_broker_and_its_queues_from_metadata() {
    let config = format!(
        r#"{users}
[[users]]
name = "calm"
password = "calm-pw"
roles = ["HealthCheckMonitoringDataRead"]

[[endpoints]]
name = "Queued"
address = "/queued"
delivery = "async"
handlers = ["flaky"]

[endpoints.retry]
max_attempts = 1

{flaky}"#,
        users = users_toml(),
        flaky = crate::common::queue::flaky(None)
    );
    let app = TestApp::spawn(&config).await;
    assert_eq!(call(&app, "/cxf/queued", "odata-jms", 1).await.0, 200);
    crate::common::queue::ended(&app, 1).await;

    let (output, r) = pyodata(&app, "calm", "calm-pw", "broker", "Queued").await;
    assert_succeeded(&output, &r);
    let broker = &r["broker"];
    assert_eq!(broker["Key"], "Broker1", "{r}");
    assert_eq!(r["capacityType"], "int", "Edm.Int64 read as a number: {r}");
    assert_eq!(broker["QueueNumber"], 1);
    assert_eq!(broker["CapacityOk"], 1);
    assert_eq!(broker["MaxCapacity"], Value::Null);
    let queues = r["queues"].as_array().expect("queues");
    assert_eq!(queues.len(), 1, "{r}");
    assert_eq!(queues[0]["Name"], "Queued");
    assert_eq!(queues[0]["Escalated"], 1);
    assert_eq!(queues[0]["QueueSize"], 1);
    assert_eq!(r["flowQueue"]["Escalated"], 1);
    app.stop().await;
}

#[tokio::test]
async fn pyodata_follows_next_links_past_the_page_of_1000() {
    let app = spawn().await;
    app.post_pages(EVENTS, 1001, 1).await;
    // Another endpoint's entry, which the filter leaves out.
    assert_eq!(call(&app, DRILLED, "elsewhere", 1).await.0, 500);

    let (output, r) = pyodata(&app, USER, PASSWORD, "pages", "ISC_Events").await;
    assert_succeeded(&output, &r);
    assert_eq!(r["totalCount"], 1001, "{r}");
    assert_eq!(r["pageSizes"], json!([1000, 1]), "{r}");
    assert_eq!(r["distinct"], 1001);
    assert_eq!(r["first"], "page-0000");
    assert_eq!(r["last"], "page-1000");
    let requests = r["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 3, "$metadata and two pages: {requests:#?}");
    assert!(
        requests[2].as_str().unwrap().contains("%24skip=1000"),
        "{requests:#?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn pyodata_reports_the_401_and_403_of_the_monitoring_api() {
    let app = spawn().await;
    assert_eq!(call(&app, DRILLED, "odata-roles", 1).await.0, 500);

    for (user, password, status, message) in [
        (USER, "wrong", 401, "wrong user name or password"),
        (
            OUTSIDER,
            OUTSIDER_PASSWORD,
            403,
            "user 'outsider' does not have the role 'MonitoringDataRead' this requires",
        ),
        // The monitor reads the log, up to the first stored body.
        (
            MONITOR,
            MONITOR_PASSWORD,
            403,
            "user 'monitor' does not have the role 'MessagePayloadsRead' this requires",
        ),
    ] {
        let (output, r) = pyodata(&app, user, password, "browse", "ISC_Events").await;
        assert!(!output.status.success(), "{user} succeeded: {r}");
        assert_eq!(r["httpStatus"], status, "{user}: {r}");
        assert_eq!(r["odataError"], message, "{user}: {r}");
    }
    app.stop().await;
}
