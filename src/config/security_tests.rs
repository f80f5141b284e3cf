//! `[[oauth_clients]]`, `[oauth]`, `[tls]` and the certificate keys: defaults, the documented
//! example, and every validation message.

use std::path::Path;

use super::*;

fn load_text(text: &str) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iflowd.toml");
    std::fs::write(&path, text).unwrap();
    // The example's forward takes its API key from the environment.
    let env = Env {
        vars: [("HR_API_KEY", "k")].into_iter().collect(),
        ..Env::default()
    };
    load(Some(&path), &env)
}

const CLIENT: &str = "[[oauth_clients]]\nid = \"sb\"\nsecret = \"s\"\n";

#[test]
fn oauth_and_tls_defaults() {
    let config = load_text(CLIENT).unwrap().config;
    assert_eq!(config.data_dir, Path::new("iflowd-data"));
    assert_eq!(config.oauth.token_path, "/oauth/token");
    assert_eq!(config.oauth.app_name, "iflowd");
    assert!(config.oauth.signing_key.is_none());
    assert_eq!(config.oauth_clients[0].roles, ["ESBMessaging.send"]);
    assert_eq!(config.oauth_clients[0].token_lifetime_s, 3600);
    assert!(config.tls.is_none());

    let tls = load_text("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n")
        .unwrap()
        .config
        .tls
        .unwrap();
    assert_eq!(tls.client_auth, ClientAuth::Optional);
    assert_eq!(tls.handshake_timeout_ms, 10_000);
    assert!(tls.client_ca.is_none() && tls.http_listen.is_none());
}

/// The example documents `[tls]` commented out (its files do not exist); uncommented, the block
/// must be valid configuration with the documented names.
#[test]
fn the_examples_commented_tls_block_is_valid_configuration() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("iflowd.example.toml");
    let example = std::fs::read_to_string(path).unwrap();
    let start = example.find("# [tls]\n").expect("a [tls] block");
    let block: String = example[start..]
        .lines()
        .filter(|l| !l.starts_with("# #"))
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let text = example[..start].to_owned() + &block + "\n";
    let config = load_text(&text).unwrap().config;
    let tls = config.tls.expect("[tls]");
    assert_eq!(tls.cert, Path::new("tls/cert.pem"));
    assert_eq!(tls.client_auth, ClientAuth::Optional);
    assert_eq!(config.oauth_clients[0].id, "sb-isc-connector");
}

#[test]
fn bad_oauth_tls_and_certificate_settings_are_explained() {
    let user = "[[users]]\nname = \"isc\"\npassword = \"p\"\n";
    let cases: Vec<(String, &str)> = vec![
        (
            "[[oauth_clients]]\nid = \"a:b\"\nsecret = \"s\"\n".into(),
            "oauth_clients[0].id 'a:b' may not contain ':'",
        ),
        (format!("{CLIENT}{CLIENT}"), "oauth_clients[1].id 'sb' is already used"),
        (
            format!("{user}[[oauth_clients]]\nid = \"isc\"\nsecret = \"s\"\n"),
            "oauth_clients[0].id 'isc' is also the name of users[0]",
        ),
        (
            "[[oauth_clients]]\nid = \"sb\"\n".into(),
            "oauth_clients[0] ('sb') needs a secret, a secret_hash or a certificate_subject",
        ),
        (
            "[[oauth_clients]]\nid = \"sb\"\ncertificate_subject = \"CN=x\"\n".into(),
            "oauth_clients[0].certificate_subject needs client certificates: set [tls] client_ca",
        ),
        (
            format!(
                "[[users]]\nname = \"c\"\ncertificate_subject = \"CN=x, O=y\"\n[[oauth_clients]]\nid = \"sb\"\ncertificate_subject = \"o=Y,cn=X\"\n{TLS_WITH_CA}"
            ),
            "oauth_clients[0].certificate_subject 'o=Y,cn=X' is also the certificate_subject of users[0]",
        ),
        (
            "[[oauth_clients]]\nid = \"sb\"\nsecret = \"s\"\nsecret_hash = \"x\"\n".into(),
            "sets both secret and secret_hash",
        ),
        (
            "[[oauth_clients]]\nid = \"sb\"\nsecret_hash = \"nope\"\n".into(),
            "oauth_clients[0].secret_hash of 'sb' is not an argon2 PHC string",
        ),
        (
            format!("{CLIENT}roles = []\n"),
            "oauth_clients[0].roles of 'sb' must name at least one role",
        ),
        (
            format!("{CLIENT}token_lifetime_s = 0\n"),
            "oauth_clients[0].token_lifetime_s must be between 1 and 86400",
        ),
        (
            format!("{CLIENT}token_lifetime_s = 86401\n"),
            "token_lifetime_s must be between 1 and 86400",
        ),
        (
            "[oauth]\ntoken_path = \"oauth/token\"\n".into(),
            "oauth.token_path 'oauth/token' must start with '/'",
        ),
        (
            "[oauth]\ntoken_path = \"/cxf/token\"\n".into(),
            "would hide /health or endpoints",
        ),
        (
            "[oauth]\napp_name = \"my app\"\n".into(),
            "oauth.app_name 'my app' must not be empty or contain spaces",
        ),
        (
            "[oauth]\nsigning_key = \"short\"\n".into(),
            "oauth.signing_key must be at least 32 bytes",
        ),
        (
            "[tls]\ncert = \"c\"\nkey = \"k\"\nclient_auth = \"required\"\n".into(),
            "tls.client_auth = \"required\" needs tls.client_ca",
        ),
        (
            "[tls]\ncert = \"c\"\nkey = \"k\"\nclient_auth = \"sometimes\"\n".into(),
            "unknown variant `sometimes`",
        ),
        (
            "listen = \"127.0.0.1:8443\"\n[tls]\ncert = \"c\"\nkey = \"k\"\nhttp_listen = \"127.0.0.1:8443\"\n"
                .into(),
            "tls.http_listen 127.0.0.1:8443 is the same address as listen",
        ),
        (
            "[[users]]\nname = \"c\"\ncertificate_subject = \"CN=x\"\n".into(),
            "users[0].certificate_subject needs client certificates: set [tls] client_ca",
        ),
        (
            "[[users]]\nname = \"c\"\ncertificate_subject = \"CN\"\n[tls]\ncert = \"c\"\nkey = \"k\"\nclient_ca = \"ca\"\n".into(),
            "users[0].certificate_subject: 'CN': 'CN' is not TYPE=value",
        ),
        (
            "[[endpoints]]\nname = \"e\"\naddress = \"/e\"\nclient_certificates = [\"CN=x\"]\n".into(),
            "endpoints[0].client_certificates[0] needs client certificates: set [tls] client_ca",
        ),
        ("data_dir = \"\"\n".into(), "data_dir must not be empty"),
    ];
    for (text, expected) in cases {
        let error = match load_text(&text) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(e) => e.to_string(),
        };
        assert!(
            error.contains(expected),
            "expected {expected:?} in: {error}"
        );
    }
}

const TLS_WITH_CA: &str = "[tls]\ncert = \"c\"\nkey = \"k\"\nclient_ca = \"ca\"\n";

#[test]
fn a_client_may_authenticate_by_certificate_alone() {
    let text = format!(
        "[[oauth_clients]]\nid = \"sb-x509\"\ncertificate_subject = \"CN=collector, O=ACME\"\nroles = [\"MonitoringDataRead\"]\n{TLS_WITH_CA}"
    );
    let config = load_text(&text).unwrap().config;
    let client = &config.oauth_clients[0];
    assert!(client.secret.is_none() && client.secret_hash.is_none());
    assert_eq!(
        client.certificate_subject.as_deref(),
        Some("CN=collector, O=ACME")
    );
}

#[test]
fn a_user_may_authenticate_by_certificate_alone() {
    let text = "[[users]]\nname = \"c\"\ncertificate_subject = \"CN=x, O=y\"\n[tls]\ncert = \"c\"\nkey = \"k\"\nclient_ca = \"ca\"\n";
    let config = load_text(text).unwrap().config;
    assert!(config.users[0].password.is_none());
}
