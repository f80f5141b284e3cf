//! The address iflowd names in the WSDL's `soap:address` and the monitoring API's links: the
//! request's own (Host, the connection's scheme), forwarded headers only from `[proxy] trusted`
//! peers, or `[proxy] public_url`. Over real sockets, since trust goes by the peer address.

use crate::common::{PASSWORD, TestApp, USER, users_toml};

/// The WSDL's `soap:address`, fetched with `headers`.
async fn soap_address(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let mut request = app
        .client
        .get(app.url("/cxf/isc/events?wsdl"))
        .basic_auth(USER, Some(PASSWORD));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let wsdl = request.send().await.unwrap().text().await.unwrap();
    let start = wsdl
        .find("<soap:address location=\"")
        .expect("soap:address")
        + 24;
    let end = wsdl[start..].find('"').unwrap() + start;
    wsdl[start..end].to_owned()
}

const FORWARDED: [(&str, &str); 3] = [
    ("Host", "iflowd.internal:8080"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "gw.example.com"),
];

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let app = TestApp::spawn(&format!(
        "{}\n[proxy]\ntrusted = [\"10.0.0.0/8\"]\n",
        users_toml()
    ))
    .await;
    assert_eq!(
        soap_address(&app, &FORWARDED).await,
        "http://iflowd.internal:8080/cxf/isc/events"
    );
}

#[tokio::test]
async fn forwarded_headers_from_a_trusted_proxy_name_the_outside_address() {
    let app = TestApp::spawn(&format!(
        "{}\n[proxy]\ntrusted = [\"127.0.0.1\"]\n",
        users_toml()
    ))
    .await;
    assert_eq!(
        soap_address(&app, &FORWARDED).await,
        "https://gw.example.com/cxf/isc/events"
    );
    // The monitoring API's links too.
    let json = app.api("ServiceEndpoints").await;
    let url = json["d"]["results"][0]["Url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("http://{}/", app.address)),
        "{url}"
    );
}

#[tokio::test]
async fn a_forged_host_is_not_repeated() {
    let app = TestApp::spawn_default().await;
    let address = soap_address(&app, &[("Host", "evil.example/\"><x")]).await;
    assert_eq!(address, format!("http://{}/cxf/isc/events", app.address));
}

#[tokio::test]
async fn the_public_url_is_the_only_address_named() {
    let app = TestApp::spawn(&format!(
        "{}\n[proxy]\npublic_url = \"https://sfsf-gw.example.com/iflowd/\"\ntrusted = [\"127.0.0.1\"]\n",
        users_toml()
    ))
    .await;
    assert_eq!(
        soap_address(&app, &FORWARDED).await,
        "https://sfsf-gw.example.com/iflowd/cxf/isc/events"
    );
    let json = app.api("ServiceEndpoints").await;
    assert_eq!(
        json["d"]["results"][0]["Url"],
        "https://sfsf-gw.example.com/iflowd/cxf/isc/events"
    );
}
