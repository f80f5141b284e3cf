//! `when` filters route events to handlers; `respond` shapes the acknowledgement.

use crate::common::downstream::Downstream;
use crate::common::{TestApp, element_text, users_toml};

#[tokio::test]
async fn when_filters_route_change_in_manager_and_termination_to_their_own_downstreams() {
    let mut managers = Downstream::spawn(&[]).await;
    let mut leavers = Downstream::spawn(&[]).await;
    let app = TestApp::spawn(&format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["log", "to-managers", "to-leavers"]

[handlers.to-managers]
type = "forward"
url = "{}"
when = {{ kind = "change_in_manager" }}

[handlers.to-leavers]
type = "forward"
url = "{}"
when = {{ type = "com.successfactors.Employment.*.Termination", entity_type = ["EmpEmploymentTermination", "EmpJob"] }}
"#,
        users_toml(),
        managers.url("/managers"),
        leavers.url("/leavers"),
    ))
    .await;

    let response = app.post_fixture("change-in-manager.xml").await;
    assert_eq!(response.status(), 200);
    assert_eq!(managers.received().len(), 1);
    assert_eq!(leavers.received().len(), 0);

    let response = app.post_fixture("termination.xml").await;
    assert_eq!(response.status(), 200);
    assert_eq!(managers.received().len(), 0);
    let leaving = leavers.received();
    assert_eq!(leaving.len(), 1);
    assert_eq!(leaving[0].json()["kind"], "termination");

    let response = app.post_fixture("hire.xml").await;
    assert_eq!(response.status(), 200, "no handler matches: still accepted");
    assert_eq!(managers.received().len() + leavers.received().len(), 0);
}

#[tokio::test]
async fn a_filter_on_a_key_passes_only_the_matching_events_of_a_message() {
    let app = TestApp::spawn(&format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["one-user", "everything"]

[handlers.one-user]
type = "jsonl"
path = "{{dir}}/one-user.jsonl"
when = {{ key.userId = "600002" }}

[handlers.everything]
type = "jsonl"
path = "{{dir}}/all.jsonl"
"#,
        users_toml()
    ))
    .await;
    let response = app.post_fixture("multiple-events.xml").await;
    assert_eq!(response.status(), 200);
    let one = std::fs::read_to_string(app.path("one-user.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = one
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["eventId"], "evt-0002");
    let all = std::fs::read_to_string(app.path("all.jsonl")).unwrap();
    assert_eq!(
        all.lines().count(),
        3,
        "the next handler sees the whole message again"
    );
}

fn respond_config(when: &str) -> String {
    format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["log", "ack"]

[handlers.ack]
type = "respond"
status = 201
status_details = "created {{{{externalEventId}}}} for user {{{{key.userId}}}} ({{{{eventCount}}}} event)"
entity_id = "{{{{param.personIdExternal}}}}"
{when}
"#,
        users_toml()
    )
}

#[tokio::test]
async fn respond_sets_status_details_and_entity_id_from_the_event() {
    let app = TestApp::spawn(&respond_config("")).await;
    let response = app.post_fixture("change-in-manager.xml").await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "status"), Some("201"));
    assert_eq!(
        element_text(&body, "statusDetails"),
        Some("created 5e6c2a7d-8f1b-4c39-9d0e-7a4b3c2d1e0f for user 103221 (1 event)")
    );
    // The param personIdExternal of fixtures/change-in-manager.xml.
    assert_eq!(element_text(&body, "entityId"), Some("103221"));
}

#[tokio::test]
async fn respond_behind_a_filter_leaves_other_messages_with_the_default_answer() {
    let app = TestApp::spawn(&respond_config("when = { kind = \"termination\" }")).await;
    let response = app.post_fixture("change-in-manager.xml").await;
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "status"), Some("200"));
    assert!(element_text(&body, "entityId").is_none(), "{body}");
    assert!(
        element_text(&body, "statusDetails")
            .unwrap()
            .starts_with("accepted 1 event"),
        "{body}"
    );
}
