//! Who may call, the WSDL, and what the handler chain does to the answer.

use crate::common::{
    OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, TestApp, USER, element_text, failing_archive_config,
    fixture, users_toml,
};

const ENDPOINT: &str = "/cxf/isc/events";

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_with_a_basic_challenge() {
    let app = TestApp::spawn_default().await;
    let anonymous = app
        .client
        .post(app.url(ENDPOINT))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    let wrong = app
        .client
        .post(app.url(ENDPOINT))
        .basic_auth(USER, Some("s3cret"))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    for response in [anonymous, wrong] {
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Basic realm="iflowd""#
        );
        assert!(
            !response
                .headers()
                .contains_key("sap_messageprocessinglogid"),
            "no message for strangers"
        );
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "unauthorized");
    }
}

#[tokio::test]
async fn a_user_without_the_endpoints_role_gets_403_naming_the_role() {
    let app = TestApp::spawn_default().await;
    let response = app
        .client
        .post(app.url(ENDPOINT))
        .basic_auth(OUTSIDER, Some(OUTSIDER_PASSWORD))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        error["error"]["message"],
        "user 'outsider' does not have the role 'ESBMessaging.send' that endpoint 'ISC_Events' requires"
    );
}

#[tokio::test]
async fn custom_roles_restrict_endpoints_to_some_callers() {
    let config = format!(
        "{}\n[[endpoints]]\nname = \"Restricted\"\naddress = \"/restricted\"\nrole = \"SomethingElse\"\n",
        users_toml()
    );
    let app = TestApp::spawn(&config).await;
    let as_user = |user: &'static str, password: &'static str| {
        app.client
            .post(app.url("/cxf/restricted"))
            .basic_auth(user, Some(password))
            .header("Content-Type", "text/xml")
            .body(fixture("hire.xml"))
            .send()
    };
    assert_eq!(as_user(USER, PASSWORD).await.unwrap().status(), 403);
    assert_eq!(
        as_user(OUTSIDER, OUTSIDER_PASSWORD).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn the_wsdl_needs_credentials_and_points_back_at_the_url_used() {
    let app = TestApp::spawn_default().await;
    let anonymous = app
        .client
        .get(app.url("/cxf/isc/events?wsdl"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let response = app
        .client
        .get(app.url("/cxf/isc/events?wsdl"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Host", "isc-gateway.example.com:8443")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    let wsdl = response.text().await.unwrap();
    // The Host used; X-Forwarded-Proto counts only from a trusted proxy (public_address.rs).
    assert!(wsdl.contains(
        r#"<soap:address location="http://isc-gateway.example.com:8443/cxf/isc/events"/>"#
    ));
    assert!(wsdl.contains(r#"<wsdl:operation name="ExternalEvent">"#));
    assert!(wsdl.contains(
        r#"<xs:element name="ExternalEventResponse" type="tns:externalEventResponse"/>"#
    ));

    let upper = app
        .client
        .get(app.url("/cxf/isc/events?WSDL"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let wsdl = upper.text().await.unwrap();
    assert!(
        wsdl.contains(&format!(
            r#"location="http://{}/cxf/isc/events""#,
            app.address
        )),
        "the Host used"
    );
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let app = TestApp::spawn_default().await;
    let response = app
        .client
        .get(app.url(ENDPOINT))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST, GET");
    let put = app.client.put(app.url(ENDPOINT)).send().await.unwrap();
    assert_eq!(put.status(), 405);
}

#[tokio::test]
async fn the_jsonl_archive_holds_every_event_once_the_answer_is_sent() {
    let config = format!(
        r#"{}
[[endpoints]]
name = "ISC_ChangeInManager"
address = "/isc/change-in-manager"
handlers = ["log", "archive"]

[handlers.archive]
type = "jsonl"
path = "{{dir}}/events.jsonl"
"#,
        users_toml()
    );
    let app = TestApp::spawn(&config).await;
    let response = app
        .post_soap("/cxf/isc/change-in-manager", fixture("multiple-events.xml"))
        .await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .unwrap()
        .to_owned();

    let text = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert_eq!(line["messageId"], id.as_str());
        assert_eq!(line["endpoint"], "ISC_ChangeInManager");
        assert_eq!(line["sender"], USER);
        assert_eq!(line["kind"], "change_in_manager");
        assert_eq!(
            line["externalEventId"],
            "77aa88bb-99cc-4ddd-8eee-ff0011223344"
        );
    }
    assert_eq!(lines[1]["data"]["userId"], "600002");
}

#[tokio::test]
async fn a_handler_failure_is_a_server_fault_naming_only_the_message_id() {
    let app = TestApp::spawn(&failing_archive_config("soap", "")).await;
    let response = app.post_soap("/cxf/broken", fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
    let id = response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "faultcode"), Some("soap:Server"));
    assert_eq!(
        element_text(&body, "faultstring"),
        Some(
            format!(
                "An internal server error occured: The MPL ID for the failed message is : {id}"
            )
            .as_str()
        )
    );
    assert!(!body.contains("/dev/full"), "no internals: {body}");
}

#[tokio::test]
async fn an_https_adapter_endpoint_answers_case_insensitively_and_fails_in_plain_text() {
    let app = TestApp::spawn(&failing_archive_config("https", "")).await;
    let response = app.post_soap("/http/BROKEN/sub", fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let id = response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        response.text().await.unwrap(),
        format!("An internal server error occured: The MPL ID for the failed message is : {id}")
    );
}
