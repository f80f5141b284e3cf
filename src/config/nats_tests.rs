//! `[handlers.*] type = "nats"`: what loads, and what stops start-up with a message naming the
//! handler and the key.

use super::*;

const ENDPOINT: &str = "[[endpoints]]\nname = \"E\"\naddress = \"/e\"\nhandlers = [\"bus\"]\n";

fn load_nats(settings: &str, env: &Env) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iflowd.toml");
    std::fs::write(
        &path,
        format!("{ENDPOINT}\n[handlers.bus]\ntype = \"nats\"\n{settings}"),
    )
    .unwrap();
    load(Some(&path), env)
}

fn problems(settings: &str) -> String {
    match load_nats(settings, &Env::default()) {
        Ok(_) => panic!("expected an error for:\n{settings}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_nats_handler_loads_with_defaults_and_expands_credentials_from_the_env() {
    let env = Env {
        vars: [("NATS_PASSWORD", "pw-1")].into_iter().collect(),
        ..Env::default()
    };
    let loaded = load_nats(
        r#"url = "nats://127.0.0.1:4222"
subject = "sf.events.{kind}"
auth = { type = "user", user = "iflowd", password = "${NATS_PASSWORD}" }
when = { kind = "hire" }
"#,
        &env,
    )
    .unwrap();
    let Some(HandlerConfig::Nats(nats)) = loaded.config.handlers.get("bus") else {
        panic!("a nats handler");
    };
    assert_eq!(nats.url.len(), 1);
    assert_eq!(nats.payload, NatsPayload::Event);
    assert_eq!(nats.connect, NatsConnect::AtStart);
    assert_eq!(
        (
            nats.timeout_ms,
            nats.retries,
            nats.backoff_ms,
            nats.max_backoff_ms
        ),
        (5_000, 2, 200, 5_000)
    );
    let Some(NatsAuth::User { password, .. }) = &nats.auth else {
        panic!("user and password");
    };
    assert_eq!(password.expose(), "pw-1");
    assert!(
        !format!("{nats:?}").contains("pw-1"),
        "secrets stay out of Debug"
    );
    assert!(nats.when.is_some());
}

#[test]
fn every_setting_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.pem");
    std::fs::write(&file, "").unwrap();
    let file = file.display();
    let seed = nkeys::KeyPair::new_user().seed().unwrap();
    for auth in [
        format!(r#"{{ type = "nkey", seed = "{seed}" }}"#),
        r#"{ type = "token", token = "t" }"#.to_owned(),
        format!(r#"{{ type = "creds", path = "{file}" }}"#),
    ] {
        let loaded = load_nats(
            &format!(
                r#"url = ["nats://a:4222", "tls://b:4222"]
subject = "sf.{{endpoint}}"
payload = "envelope"
stream = "SF_EVENTS"
auth = {auth}
tls = {{ ca = "{file}", cert = "{file}", key = "{file}" }}
connect = "background"
timeout_ms = 100
retries = 10
backoff_ms = 1
max_backoff_ms = 1
"#
            ),
            &Env::default(),
        );
        assert!(loaded.is_ok(), "{auth}: {:?}", loaded.err());
    }
}

#[test]
fn broken_settings_are_named_each() {
    let text = problems(
        r#"url = ["nats://u:secret@127.0.0.1", "http://x", "nats://"]
subject = "sf.{kind}"
payload = "envelope"
stream = "a.b"
auth = { type = "nkey", seed = "SUBAD" }
tls = { cert = "/nonexistent/cert.pem" }
timeout_ms = 0
retries = 11
backoff_ms = 6000
"#,
    );
    for expected in [
        "handlers.bus.url carries credentials; put them in auth",
        "handlers.bus.url 'http://x/' is not a nats:// or tls:// URL with a host",
        "handlers.bus.url 'nats://' is not a nats:// or tls:// URL with a host",
        "handlers.bus.subject uses {kind}, a field of one event, but payload = \"envelope\"",
        "handlers.bus.stream \"a.b\" is not a stream name",
        "handlers.bus.auth.seed is not an NKey seed",
        "handlers.bus.tls.cert '/nonexistent/cert.pem' is not a readable file",
        "handlers.bus.tls: give both cert and key",
        "handlers.bus.timeout_ms must be greater than 0",
        "handlers.bus.retries is 11; at most 10",
        "handlers.bus.backoff_ms (6000) is larger than max_backoff_ms (5000)",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    assert!(
        !text.contains("secret"),
        "the URL's password stays out: {text}"
    );

    assert!(
        problems("url = []\nsubject = \"s\"").contains("handlers.bus.url is empty"),
        "an empty list"
    );
    assert!(
        problems("url = \"nats://h\"\nsubject = \"s\"\nauth = { type = \"creds\", path = \"/nonexistent.creds\" }")
            .contains("handlers.bus.auth.path '/nonexistent.creds' is not a readable file")
    );
}

#[test]
fn an_unknown_placeholder_or_a_wildcard_subject_is_a_load_error_naming_the_handler() {
    let text = problems("url = \"nats://h\"\nsubject = \"sf.{kinds}\"");
    assert!(
        text.contains("handlers.bus: unknown subject placeholder {kinds}; expected one of"),
        "{text}"
    );
    let text = problems("url = \"nats://h\"\nsubject = \"sf.>\"");
    assert!(
        text.contains("handlers.bus: subject \"sf.>\" contains a wildcard"),
        "{text}"
    );
    let text = problems("url = \"nats://h\"\nsubject = \"s\"\nconnect = \"lazy\"");
    assert!(text.contains("unknown variant `lazy`"), "{text}");
}

#[test]
fn an_unset_variable_in_the_credentials_is_an_error() {
    let text = problems(
        "url = \"nats://h\"\nsubject = \"s\"\nauth = { type = \"token\", token = \"${NATS_TOKEN}\" }",
    );
    assert!(
        text.contains("handlers.bus.auth.token: the environment variable NATS_TOKEN is not set"),
        "{text}"
    );
}
