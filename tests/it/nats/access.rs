//! `nats` through credentials and TLS: the server's own checks, accepting and refusing.

use super::{config, post, start_up_error};
use crate::common::TestApp;
use crate::common::nats::{Access, NatsServer};
use crate::common::pki::Pki;
use iflowd::config::Env;

#[tokio::test]
async fn user_and_password_are_accepted_and_a_wrong_password_stops_start_up() {
    let conf = r#"authorization { users = [ { user: "iflowd", password: "pw-1" } ] }"#;
    let nats = NatsServer::start_with(conf, Access::User("iflowd".into(), "pw-1".into())).await;
    nats.create_stream("SF", &["sf.>"]).await;
    let settings = "subject = \"sf.events\"\nauth = { type = \"user\", user = \"iflowd\", password = \"${NATS_PASSWORD}\" }";
    let env = |password: &str| Env {
        vars: [("NATS_PASSWORD", password)].into_iter().collect(),
        ..Env::default()
    };

    let app = TestApp::spawn_with_env(&config(&nats, settings), env("pw-1")).await;
    assert_eq!(post(&app, "hire.xml").await, 200);
    assert_eq!(nats.stream_messages("SF").await, 1);

    let error = start_up_error(&config(&nats, settings), env("wrong")).await;
    assert!(error.contains("authorization violation"), "{error}");
    assert!(
        !error.contains("wrong"),
        "no password in the error: {error}"
    );
}

#[tokio::test]
async fn an_nkey_is_accepted() {
    let nkey = nkeys::KeyPair::new_user();
    let conf = format!(
        r#"authorization {{ users = [ {{ nkey: "{}" }}, {{ user: "admin", password: "admin-pw" }} ] }}"#,
        nkey.public_key()
    );
    let nats = NatsServer::start_with(&conf, Access::User("admin".into(), "admin-pw".into())).await;
    nats.create_stream("SF", &["sf.>"]).await;
    let app = TestApp::spawn_with_env(
        &config(
            &nats,
            "subject = \"sf.events\"\nauth = { type = \"nkey\", seed = \"${NATS_SEED}\" }",
        ),
        Env {
            vars: [("NATS_SEED", nkey.seed().unwrap().as_str())]
                .into_iter()
                .collect(),
            ..Env::default()
        },
    )
    .await;
    assert_eq!(post(&app, "hire.xml").await, 200);
    assert_eq!(nats.stream_messages("SF").await, 1);
}

#[tokio::test]
async fn a_token_is_accepted_and_a_wrong_one_stops_start_up() {
    let nats = NatsServer::start_with(r#"authorization { token: "t0k3n" }"#, Access::Open).await;
    let error = start_up_error(
        &config(
            &nats,
            "subject = \"sf.events\"\nauth = { type = \"token\", token = \"nope\" }",
        ),
        Env::default(),
    )
    .await;
    assert!(error.contains("authorization violation"), "{error}");
    // The right token connects at start-up (which the wrong one could not).
    let app = TestApp::spawn(&config(
        &nats,
        "subject = \"sf.events\"\nauth = { type = \"token\", token = \"t0k3n\" }",
    ))
    .await;
    app.stop().await;
}

#[tokio::test]
async fn tls_with_a_ca_file_and_a_client_certificate() {
    let pki = Pki::new();
    let (cert, key) = pki.client_files("iflowd");
    let conf = format!(
        "tls {{ cert_file: {:?}, key_file: {:?}, ca_file: {:?}, verify: true }}",
        pki.server_cert.display().to_string(),
        pki.server_key.display().to_string(),
        pki.client_ca.display().to_string()
    );
    let nats = NatsServer::start_with(
        &conf,
        Access::Tls {
            ca: pki.server_cert.clone(),
            cert: cert.clone(),
            key: key.clone(),
        },
    )
    .await;
    nats.create_stream("SF", &["sf.>"]).await;
    let tls = format!(
        "tls = {{ ca = {:?}, cert = {:?}, key = {:?} }}",
        pki.server_cert.display().to_string(),
        cert.display().to_string(),
        key.display().to_string()
    );
    let app = TestApp::spawn(&config(&nats, &format!("subject = \"sf.events\"\n{tls}"))).await;
    assert_eq!(post(&app, "hire.xml").await, 200);
    assert_eq!(nats.read("SF").await[0].json()["kind"], "hire");

    // Without a client certificate the server refuses the handshake.
    let error = start_up_error(
        &config(
            &nats,
            &format!(
                "subject = \"sf.events\"\ntimeout_ms = 2000\ntls = {{ ca = {:?} }}",
                pki.server_cert.display().to_string()
            ),
        ),
        Env::default(),
    )
    .await;
    assert!(
        error.starts_with("handler 'to-nats': cannot connect"),
        "{error}"
    );
}

#[tokio::test]
async fn a_creds_file_that_is_not_one_stops_start_up_naming_it() {
    let nats = NatsServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("iflowd.creds");
    std::fs::write(&creds, "not a credentials file\n").unwrap();
    let error = start_up_error(
        &config(
            &nats,
            &format!(
                "subject = \"sf.events\"\nauth = {{ type = \"creds\", path = {:?} }}",
                creds.display().to_string()
            ),
        ),
        Env::default(),
    )
    .await;
    assert!(
        error.contains(&format!("auth.path {}: ", creds.display()))
            && error.contains("cannot parse user JWT"),
        "{error}"
    );
}
