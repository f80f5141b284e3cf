use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::*;

/// Loads `text` as if it were the file `dir/iflowd.toml`.
fn load_text(text: &str, env: &Env) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iflowd.toml");
    std::fs::write(&path, text).unwrap();
    load(Some(&path), env)
}

fn error_of(text: &str) -> String {
    match load_text(text, &Env::default()) {
        Ok(_) => panic!("expected a configuration error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn no_file_gives_one_endpoint_one_user_and_a_generated_password() {
    let loaded = load(None, &Env::default()).unwrap();
    let config = &loaded.config;
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.endpoints.len(), 1);
    assert_eq!(
        endpoint_path(config.endpoints[0].adapter, &config.endpoints[0].address),
        "/cxf/isc/events"
    );
    assert_eq!(config.endpoints[0].handlers, ["log"]);
    assert_eq!(config.users.len(), 1);
    assert_eq!(config.users[0].name, "isc");
    assert_eq!(
        config.users[0].roles,
        [
            "ESBMessaging.send",
            "MonitoringDataRead",
            "MessagePayloadsRead",
            "HealthCheckMonitoringDataRead",
            "MessageReplay"
        ]
    );
    assert_eq!(config.data_dir, std::path::Path::new("iflowd-data"));
    assert!(config.store.enabled && config.store.payloads);
    assert_eq!(config.store.duplicate_window_days, 90);
    assert_eq!(config.store.duplicate_wait_ms, 30_000);
    let generated = loaded.generated_password.expect("a password is generated");
    assert!(generated.expose_secret().len() >= 20);
    assert_eq!(
        config.users[0]
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned()),
        Some(generated.expose_secret().to_owned())
    );
    let again = load(None, &Env::default())
        .unwrap()
        .generated_password
        .unwrap();
    assert_ne!(
        again.expose_secret(),
        generated.expose_secret(),
        "random each time"
    );
}

#[test]
fn the_environment_overrides_listen_user_and_password() {
    let env = Env {
        listen: Some("0.0.0.0:9999".into()),
        user: Some("sfsf".into()),
        password: Some(SecretString::from("pw")),
        ..Env::default()
    };
    let loaded = load(None, &env).unwrap();
    assert_eq!(loaded.config.listen.to_string(), "0.0.0.0:9999");
    assert_eq!(loaded.config.users[0].name, "sfsf");
    assert!(
        loaded.generated_password.is_none(),
        "nothing to print when the password is given"
    );

    let bad = Env {
        listen: Some("localhost".into()),
        ..Env::default()
    };
    let error = load(None, &bad).unwrap_err().to_string();
    assert!(
        error.starts_with("IFLOWD_LISTEN: 'localhost' is not an address"),
        "{error}"
    );
}

#[test]
fn environment_credentials_do_not_override_configured_users_but_warn() {
    let env = Env {
        password: Some(SecretString::from("pw")),
        ..Env::default()
    };
    let loaded = load_text("[[users]]\nname = \"a\"\npassword = \"b\"\n", &env).unwrap();
    assert_eq!(loaded.config.users.len(), 1);
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("IFLOWD_PASSWORD"));
}

#[test]
fn unknown_keys_name_the_key_and_the_file() {
    for (text, key) in [
        ("lisen = \"127.0.0.1:1\"\n", "lisen"),
        ("[limits]\nmax_body = 1\n", "max_body"),
        (
            "[[users]]\nname = \"a\"\npassword = \"b\"\nrole = [\"x\"]\n",
            "role",
        ),
        (
            "[[endpoints]]\nname = \"a\"\naddress = \"/a\"\nhandler = [\"log\"]\n",
            "handler",
        ),
        (
            "[handlers.archive]\ntype = \"jsonl\"\npath = \"x\"\nflush = true\n",
            "flush",
        ),
        ("[events]\nmanager_change = []\n", "manager_change"),
    ] {
        let error = error_of(text);
        assert!(error.contains("iflowd.toml: "), "names the file: {error}");
        assert!(
            error.contains(&format!("unknown field `{key}`")),
            "names the key: {error}"
        );
    }
}

#[test]
fn bad_values_are_explained() {
    let cases = [
        ("listen = \"nowhere\"\n", "listen"),
        (
            "[[endpoints]]\nname = \"a\"\nadapter = \"rest\"\naddress = \"/a\"\n",
            "unknown variant `rest`",
        ),
        (
            "[handlers.x]\ntype = \"jsonx\"\n",
            "unknown variant `jsonx`",
        ),
        ("[handlers.x]\ntype = \"jsonl\"\n", "missing field `path`"),
        (
            "[limits]\nmax_body_bytes = 0\n",
            "limits.max_body_bytes must be greater than 0",
        ),
    ];
    for (text, expected) in cases {
        let error = error_of(text);
        assert!(
            error.contains(expected),
            "expected {expected:?} in: {error}"
        );
    }
}

#[test]
fn cross_references_and_duplicates_are_checked() {
    let user = "[[users]]\nname = \"isc\"\npassword = \"p\"\n";
    let cases = [
        (
            "[[endpoints]]\nname = \"a\"\naddress = \"/a\"\nhandlers = [\"log\", \"archive\"]\n".to_owned(),
            "endpoints[0].handlers names 'archive', which is neither built in nor defined as [handlers.archive]",
        ),
        (
            "[[endpoints]]\nname = \"a\"\naddress = \"/a\"\n[[endpoints]]\nname = \"a\"\naddress = \"/b\"\n".to_owned(),
            "endpoints[1].name 'a' is already used by endpoints[0]",
        ),
        (
            "[[endpoints]]\nname = \"a\"\naddress = \"/x/\"\n[[endpoints]]\nname = \"b\"\naddress = \"/x\"\n".to_owned(),
            "both answer /cxf/x",
        ),
        (
            "[[endpoints]]\nname = \"a\"\nadapter = \"https\"\naddress = \"/X\"\n[[endpoints]]\nname = \"b\"\nadapter = \"https\"\naddress = \"/x/*\"\n".to_owned(),
            "both answer /http/x",
        ),
        ("[[endpoints]]\nname = \"a\"\naddress = \"a\"\n".to_owned(), "endpoints[0].address 'a' must start with '/'"),
        (format!("{user}{user}"), "users[1].name 'isc' is already used by users[0]"),
        ("[[users]]\nname = \"a:b\"\npassword = \"p\"\n".to_owned(), "users[0].name 'a:b' contains ':'"),
        ("[[users]]\nname = \"a\"\n".to_owned(), "users[0] ('a') needs a password or a password_hash"),
        (
            "[[users]]\nname = \"a\"\npassword = \"p\"\npassword_hash = \"h\"\n".to_owned(),
            "sets both password and password_hash",
        ),
        (
            "[[users]]\nname = \"a\"\npassword_hash = \"not-a-hash\"\n".to_owned(),
            "users[0].password_hash of 'a' is not an argon2 PHC string",
        ),
        (
            "[events]\nhire = [\"T\"]\ntermination = [\"T\"]\n".to_owned(),
            "events.termination lists 'T', which events.hire lists too",
        ),
    ];
    for (text, expected) in cases {
        let error = error_of(&text);
        assert!(
            error.contains(expected),
            "expected {expected:?} in: {error}"
        );
    }
}

#[test]
fn the_example_configuration_is_valid_and_shows_the_documented_names() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("iflowd.example.toml");
    let loaded = load(Some(&path), &Env::default()).unwrap();
    let config = &loaded.config;
    assert_eq!(config.endpoints[0].name, "ISC_ChangeInManager");
    assert_eq!(config.endpoints[0].handlers, ["log", "archive"]);
    assert!(matches!(
        config.handlers.get("archive"),
        Some(HandlerConfig::Jsonl(_))
    ));
    assert_eq!(config.limits.max_body_bytes, 1_048_576);
    assert!(loaded.generated_password.is_none());
}

#[test]
fn endpoint_paths_follow_the_adapter() {
    assert_eq!(
        endpoint_path(Adapter::Soap, "/isc/events/"),
        "/cxf/isc/events"
    );
    assert_eq!(
        endpoint_path(Adapter::Https, "/ISC/Events/*"),
        "/http/isc/events"
    );
}

#[test]
fn the_store_settings_are_checked_against_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iflowd.toml");
    for (text, expected) in [
        (
            "[store]\nretention_days = 0\n",
            "store.retention_days must be at least 1",
        ),
        (
            "[store]\nretention_days = 30\n",
            "store.retention_days (30) must be at least store.duplicate_window_days (90)",
        ),
        (
            "[store]\nduplicate_wait_ms = 600001\n",
            "store.duplicate_wait_ms (600001) must be at most 600000 (10 minutes)",
        ),
        (
            "[store]\nmax_size_mb = 0\n",
            "store.max_size_mb must be at least 1",
        ),
        ("data_dir = \"\"\n", "data_dir must not be empty"),
        ("[store]\npayload = false\n", "unknown field `payload`"),
    ] {
        std::fs::write(&path, text).unwrap();
        let error = load(Some(&path), &Env::default()).unwrap_err().to_string();
        assert!(error.contains(expected), "{text}: {error}");
        assert!(error.contains("iflowd.toml"), "{error}");
    }
}

#[test]
fn every_problem_is_reported_at_once_each_naming_its_key() {
    let error = error_of(
        "[limits]\nmax_body_bytes = 0\n\n[[users]]\nname = \"a:b\"\npassword = \"x\"\n\n[[endpoints]]\nname = \"E\"\naddress = \"e\"\nhandlers = [\"missing\"]\n",
    );
    let (_, problems) = error.split_once(": ").unwrap();
    assert_eq!(
        problems,
        "4 problems:\n  \
         - limits.max_body_bytes must be greater than 0\n  \
         - users[0].name 'a:b' contains ':', which Basic authentication cannot carry in a user name\n  \
         - endpoints[0].address 'e' must start with '/'\n  \
         - endpoints[0].handlers names 'missing', which is neither built in nor defined as [handlers.missing]"
    );
}
