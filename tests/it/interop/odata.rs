//! pyodata, SAP's generic OData v2 client, reads the monitoring API.
//!
//! `tests/interop/odata_client.py` knows nothing of the API but its root URL: pyodata builds the
//! entity sets, types, keys and navigations from `/api/v1/$metadata`, and the script walks the
//! message log as a monitoring user would. These tests send known calls first, then check what
//! the library reports: the entries, their statuses and counts, dates decoded as dates, the error
//! and stored bodies reached through the navigations, the artifacts and the endpoints; and every
//! other set as `$metadata` names it ([`super::odata_sets`]).

use std::process::{Command, Output};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CLIENT_TIMEOUT, installed, interop_dir, report, run};
use crate::common::{PASSWORD, TestApp, USER, envelope, message_id, users_toml};

/// Two endpoints: one that completes, one whose first delivery of every event fails.
pub(super) const ENDPOINTS: &str = r#"
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
pub(super) const EVENTS: &str = "/cxf/isc/events";
pub(super) const DRILLED: &str = "/cxf/isc/drilled";

pub(super) async fn spawn() -> TestApp {
    TestApp::spawn(&format!("{}{ENDPOINTS}", users_toml())).await
}

/// Sends an `ExternalEvent` with `events` events; returns the message id of the answer.
pub(super) async fn call(
    app: &TestApp,
    path: &str,
    external_event_id: &str,
    events: usize,
) -> (u16, String) {
    let response = app
        .post_soap(path, envelope(external_event_id, events, false))
        .await;
    (response.status().as_u16(), message_id(&response))
}

/// Runs `odata_client.py <scenario> --flow <flow>` against `app`'s monitoring API.
pub(super) async fn pyodata(
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

pub(super) fn assert_succeeded(output: &Output, report: &Value) {
    assert!(
        output.status.success(),
        "the pyodata client failed ({}): {report}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A date as the client printed it (ISO 8601 of the `datetime` pyodata decoded).
pub(super) fn date(value: &Value) -> OffsetDateTime {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a date: {value}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `at` without its fraction of a millisecond: the API's precision.
pub(super) fn millisecond(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_millisecond(at.millisecond()).unwrap()
}

pub(super) fn assert_within(value: &Value, from: OffsetDateTime, to: OffsetDateTime) {
    let at = date(value);
    assert!(
        millisecond(from) <= at && at <= to,
        "{at} is not between {from} and {to}"
    );
}

pub(super) fn sorted(ids: &[&str]) -> Value {
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
pub(super) fn all_sets() -> Value {
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
