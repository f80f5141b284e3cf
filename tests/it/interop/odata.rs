//! pyodata, SAP's generic OData v2 client, reads the monitoring API.
//!
//! `tests/interop/odata_client.py` knows nothing of the API but its root URL: pyodata builds the
//! entity sets, types, keys and navigations from `/api/v1/$metadata`, and the script walks the
//! message log as a monitoring user would. These tests send known calls first, then check what
//! the library reports: the entries, their statuses and counts, dates decoded as dates, the error
//! and stored bodies reached through the navigations, the artifacts and the endpoints; and every
//! other set (audit log, keystore, packages, custom header properties) as `$metadata` names it.

use std::process::{Command, Output};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CLIENT_TIMEOUT, installed, interop_dir, report, run};
use crate::common::{
    MONITOR, MONITOR_PASSWORD, OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, TestApp, USER, envelope,
    message_id, users_toml,
};

/// Two endpoints: one that completes, one whose first delivery of every event fails.
const ENDPOINTS: &str = r#"
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"

[[endpoints]]
name = "Drilled"
address = "/isc/drilled"
handlers = ["drill"]

[handlers.drill]
type = "fault"
mode = "soap-fault"
first = 1
"#;
const EVENTS: &str = "/cxf/isc/events";
const DRILLED: &str = "/cxf/isc/drilled";

async fn spawn() -> TestApp {
    TestApp::spawn(&format!("{}{ENDPOINTS}", users_toml())).await
}

/// Sends an `ExternalEvent` with `events` events; returns the message id of the answer.
async fn call(app: &TestApp, path: &str, external_event_id: &str, events: usize) -> (u16, String) {
    let response = app
        .post_soap(path, envelope(external_event_id, events, false))
        .await;
    (response.status().as_u16(), message_id(&response))
}

/// Runs `odata_client.py <scenario> --flow <flow>` against `app`'s monitoring API.
async fn pyodata(
    app: &TestApp,
    user: &str,
    password: &str,
    scenario: &str,
    flow: &str,
) -> (Output, Value) {
    let mut command = Command::new(installed(".venv/bin/python"));
    command
        .arg(interop_dir().join("odata_client.py"))
        .arg(app.url("/api/v1/"))
        .args(["--user", user, "--password", password])
        .args([scenario, "--flow", flow]);
    let output = run(command, CLIENT_TIMEOUT).await;
    let parsed = report(&output);
    (output, parsed)
}

fn assert_succeeded(output: &Output, report: &Value) {
    assert!(
        output.status.success(),
        "the pyodata client failed ({}): {report}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A date as the client printed it (ISO 8601 of the `datetime` pyodata decoded).
fn date(value: &Value) -> OffsetDateTime {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a date: {value}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `at` without its fraction of a millisecond: the API's precision.
fn millisecond(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_millisecond(at.millisecond()).unwrap()
}

fn assert_within(value: &Value, from: OffsetDateTime, to: OffsetDateTime) {
    let at = date(value);
    assert!(
        millisecond(from) <= at && at <= to,
        "{at} is not between {from} and {to}"
    );
}

fn sorted(ids: &[&str]) -> Value {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    json!(ids)
}

#[tokio::test]
async fn pyodata_reads_the_message_log_through_metadata_filters_keys_and_navigations() {
    let started = OffsetDateTime::now_utc();
    let app = spawn().await;
    let before = OffsetDateTime::now_utc();
    let (status, first) = call(&app, EVENTS, "odata-a", 1).await;
    assert_eq!(status, 200);
    let (status, second) = call(&app, EVENTS, "odata-b", 2).await;
    assert_eq!(status, 200);
    let (status, duplicate) = call(&app, EVENTS, "odata-a", 1).await;
    assert_eq!(status, 200, "a duplicate is answered like the original");
    let (status, failed) = call(&app, DRILLED, "odata-c", 1).await;
    assert_eq!(status, 500);
    let (status, retried) = call(&app, DRILLED, "odata-c", 1).await;
    assert_eq!(
        status, 200,
        "the redelivery of a failed message is processed"
    );
    let after = OffsetDateTime::now_utc();

    let (output, r) = pyodata(&app, USER, PASSWORD, "browse", "ISC_Events").await;
    assert_succeeded(&output, &r);

    // The model pyodata built from $metadata.
    assert_eq!(r["schema"]["entitySets"], all_sets());
    assert_eq!(
        r["schema"]["keys"]["MessageProcessingLogs"],
        json!(["MessageGuid"])
    );
    assert_eq!(r["schema"]["keys"]["MessageStoreEntries"], json!(["Id"]));
    assert_eq!(
        r["schema"]["navigations"]["MessageProcessingLogs"],
        json!([
            "Attempts",
            "CustomHeaderProperties",
            "ErrorInformation",
            "MessageStoreEntries"
        ])
    );

    // COMPLETED in ISC_Events, newest first, one per page: $filter, $orderby, $top, $skip, count.
    let completed = &r["completed"];
    assert_eq!(completed["totalCount"], 2, "{completed}");
    let pages = completed["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 2, "{completed}");
    assert!(pages.iter().all(|p| p.as_array().map(Vec::len) == Some(1)));
    let (newest, older) = (&pages[0][0], &pages[1][0]);
    for (entry, id, external_event_id, events) in [
        (newest, &second, "odata-b", 2),
        (older, &first, "odata-a", 1),
    ] {
        assert_eq!(entry["MessageGuid"], id.as_str(), "{entry}");
        assert_eq!(entry["Status"], "COMPLETED");
        assert_eq!(entry["IntegrationFlowName"], "ISC_Events");
        assert_eq!(entry["ApplicationMessageId"], external_event_id);
        assert_eq!(entry["EventCount"], events);
        assert_eq!(entry["Sender"], USER);
        assert_eq!(entry["Repost"], false);
        assert_eq!(entry["OriginalMessageGuid"], Value::Null);
        assert_eq!(entry["Receiver"], Value::Null);
        assert_eq!(
            entry["IntegrationArtifact"],
            json!({ "Id": "ISC_Events", "Name": "ISC_Events", "Type": "INTEGRATION_FLOW" })
        );
        assert_eq!(entry["_dates"], json!(["LogEnd", "LogStart"]), "{entry}");
        assert_within(&entry["LogStart"], before, after);
        assert_within(&entry["LogEnd"], before, after);
        assert!(
            date(&entry["LogStart"]) <= date(&entry["LogEnd"]),
            "{entry}"
        );
    }
    assert!(date(&newest["LogEnd"]) >= date(&older["LogEnd"]));

    assert_eq!(r["failedCount"], 1, "$count of FAILED");

    // The failed entry by its key, its error and its bodies through the navigations.
    let entry = &r["failed"]["entry"];
    assert_eq!(entry["MessageGuid"], failed.as_str(), "{entry}");
    assert_eq!(entry["Status"], "FAILED");
    assert_eq!(entry["IntegrationFlowName"], "Drilled");
    assert_eq!(entry["ApplicationMessageId"], "odata-c");
    assert_eq!(entry["_dates"], json!(["LogEnd", "LogStart"]));
    assert_within(&entry["LogEnd"], before, after);
    let error = &r["failed"]["error"];
    assert_eq!(error["MessageGuid"], failed.as_str());
    assert_eq!(error["Type"], "MPL");
    assert_eq!(error["LastErrorModelStepId"], "drill");
    let text = r["failed"]["errorText"].as_str().expect("error text");
    assert!(
        text.contains("drill 'drill'") && text.contains("odata-c"),
        "{text}"
    );
    let stored = r["failed"]["storeEntries"].as_array().expect("bodies");
    let ids: Vec<&str> = stored.iter().filter_map(|s| s["Id"].as_str()).collect();
    assert_eq!(
        ids,
        [format!("{failed}.request"), format!("{failed}.response")]
    );
    let request = &stored[0];
    assert_eq!(request["MessageStoreId"], "request");
    assert!(
        request["ContentType"]
            .as_str()
            .unwrap()
            .starts_with("text/xml")
    );
    assert_eq!(request["bodyContentType"], request["ContentType"]);
    assert_eq!(request["_dates"], json!(["TimeStamp"]));
    assert!(
        request["body"]
            .as_str()
            .unwrap()
            .contains("<ns:externalEventId>odata-c</ns:externalEventId>"),
        "{request}"
    );
    let answer = stored[1]["body"].as_str().unwrap();
    assert!(
        answer.contains("soap:Fault") && answer.contains(&failed),
        "{answer}"
    );

    // The duplicate points at its original.
    let discarded = r["discarded"].as_array().expect("discarded");
    assert_eq!(discarded.len(), 1, "{discarded:?}");
    assert_eq!(discarded[0]["MessageGuid"], duplicate.as_str());
    assert_eq!(discarded[0]["OriginalMessageGuid"], first.as_str());
    assert_eq!(discarded[0]["CorrelationId"], older["CorrelationId"]);
    assert_eq!(
        r["completedOrDiscarded"],
        sorted(&[&first, &second, &duplicate])
    );

    // $select, then the property left out, read from its own address.
    assert_eq!(
        r["selected"],
        json!({
            "MessageGuid": failed,
            "Status": "FAILED",
            "IntegrationFlowName (read on demand)": "Drilled"
        })
    );

    // A moment half a millisecond after the oldest entry splits the log where the dates say.
    let split = &r["split"];
    let moment = date(&split["moment"]);
    let all = split["all"].as_array().expect("all entries");
    assert_eq!(all.len(), 5, "{split}");
    assert_eq!(all[0]["MessageGuid"], first.as_str(), "the oldest");
    let (mut earlier, mut later) = (Vec::new(), Vec::new());
    for entry in all {
        let id = entry["MessageGuid"].as_str().unwrap();
        if date(&entry["LogStart"]) < moment {
            earlier.push(id);
        } else {
            later.push(id);
        }
    }
    assert!(earlier.contains(&first.as_str()));
    assert_eq!(split["before"], sorted(&earlier), "{split}");
    assert_eq!(split["after"], sorted(&later), "{split}");
    assert!(
        all.iter().any(|e| e["MessageGuid"] == retried.as_str()),
        "{split}"
    );

    // The deployed endpoints and their addresses.
    let artifacts = r["artifacts"].as_array().expect("artifacts");
    let names: Vec<&str> = artifacts.iter().filter_map(|a| a["Id"].as_str()).collect();
    assert_eq!(names, ["Drilled", "ISC_Events"]);
    for artifact in artifacts {
        assert_eq!(artifact["Status"], "STARTED");
        assert_eq!(artifact["Type"], "INTEGRATION_FLOW");
        assert_eq!(artifact["_dates"], json!(["DeployedOn"]));
        assert_within(&artifact["DeployedOn"], started, before);
    }
    assert_eq!(
        r["deployedAtTheSameMoment"], 2,
        "a filter on the DeployedOn the API showed finds both"
    );
    assert_eq!(r["artifactStatusOnDemand"], "STARTED");
    let endpoints = r["serviceEndpoints"].as_array().expect("service endpoints");
    assert_eq!(endpoints.len(), 2);
    for endpoint in endpoints {
        let (name, path) = match endpoint["Id"].as_str() {
            Some("ISC_Events") => ("ISC_Events", EVENTS),
            Some("Drilled") => ("Drilled", DRILLED),
            other => panic!("unexpected service endpoint {other:?}"),
        };
        assert_eq!(endpoint["Name"], name);
        assert_eq!(endpoint["Protocol"], "SOAP");
        assert_eq!(endpoint["Url"], app.url(path));
        assert_eq!(endpoint["_dates"], json!(["LastUpdated"]));
    }

    // What iflowd does not serve is a clear OData error the library hands on.
    assert_eq!(r["expand"]["httpStatus"], 400);
    assert!(
        r["expand"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("$expand is not supported")),
        "{}",
        r["expand"]
    );

    // The library asked the server, with the options it was given.
    let requests: Vec<&str> = r["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(requests[0], app.url("/api/v1/$metadata"));
    for wanted in [
        "%24inlinecount=allpages",
        "%24orderby=LogEnd+desc",
        "MessageProcessingLogs/$count?",
        "LogStart+lt+datetime",
    ] {
        assert!(
            requests.iter().any(|url| url.contains(wanted)),
            "no request with {wanted}: {requests:#?}"
        );
    }
    app.stop().await;
}

/// Every entity set, as pyodata lists them (sorted).
fn all_sets() -> Value {
    json!([
        "AuditLogs",
        "IntegrationPackages",
        "IntegrationRuntimeArtifacts",
        "JmsBrokers",
        "JmsQueues",
        "KeystoreEntries",
        "MessageProcessingLogAttempts",
        "MessageProcessingLogCustomHeaderProperties",
        "MessageProcessingLogErrorInformations",
        "MessageProcessingLogs",
        "MessageStoreEntries",
        "ServiceEndpoints"
    ])
}

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
