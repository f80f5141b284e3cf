use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};
use secrecy::SecretString;

use super::*;

fn user(name: &str, password: Option<&str>, hash: Option<String>, roles: &[&str]) -> UserConfig {
    UserConfig {
        name: name.to_owned(),
        password: password.map(SecretString::from),
        password_hash: hash,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        certificate_subject: None,
    }
}

fn headers(authorization: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
    headers
}

fn basic(user: &str, password: &str) -> HeaderMap {
    headers(&format!(
        "Basic {}",
        STANDARD.encode(format!("{user}:{password}"))
    ))
}

fn authenticator() -> Authenticator {
    Authenticator::new(&[
        user("isc", Some("pa:ss:word"), None, &["ESBMessaging.send"]),
        user("reader", Some("r"), None, &["MonitoringDataRead"]),
        user(
            "hashed",
            None,
            Some(hash_password("argon-secret").unwrap()),
            &["ESBMessaging.send"],
        ),
    ])
}

#[tokio::test]
async fn a_password_may_contain_colons_and_roles_come_with_the_user() {
    let principal = authenticator()
        .authenticate(&basic("isc", "pa:ss:word"))
        .await
        .unwrap();
    assert_eq!(principal.name, "isc");
    assert!(principal.has_role("ESBMessaging.send"));
    assert!(!principal.has_role("MonitoringDataRead"));
}

#[tokio::test]
async fn wrong_unknown_missing_and_malformed_credentials_are_told_apart() {
    let auth = authenticator();
    assert_eq!(
        auth.authenticate(&HeaderMap::new()).await.unwrap_err(),
        AuthError::Missing
    );
    assert_eq!(
        auth.authenticate(&basic("isc", "pa:ss")).await.unwrap_err(),
        AuthError::Invalid
    );
    assert_eq!(
        auth.authenticate(&basic("nobody", "x")).await.unwrap_err(),
        AuthError::Invalid
    );
    assert_eq!(
        auth.authenticate(&basic("isc", "")).await.unwrap_err(),
        AuthError::Invalid
    );
    assert_eq!(
        auth.authenticate(&headers("Basic !!!")).await.unwrap_err(),
        AuthError::Malformed
    );
    let no_colon = format!("Basic {}", STANDARD.encode("isc"));
    assert_eq!(
        auth.authenticate(&headers(&no_colon)).await.unwrap_err(),
        AuthError::Malformed
    );
    assert_eq!(
        auth.authenticate(&headers("Bearer abc.def.ghi"))
            .await
            .unwrap_err(),
        AuthError::UnsupportedScheme
    );
}

#[tokio::test]
async fn the_scheme_is_case_insensitive_and_padding_optional() {
    let auth = authenticator();
    let encoded = STANDARD.encode("reader:r");
    assert!(
        auth.authenticate(&headers(&format!("basic {encoded}")))
            .await
            .is_ok()
    );
    let unpadded = encoded.trim_end_matches('=');
    assert!(
        auth.authenticate(&headers(&format!("BASIC {unpadded}")))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn argon2_hashed_passwords_verify_and_repeat_calls_hit_the_cache() {
    let auth = authenticator();
    assert!(
        auth.authenticate(&basic("hashed", "argon-secret"))
            .await
            .is_ok()
    );
    assert!(
        auth.verified
            .contains(&secret_cache_key("hashed", "argon-secret"))
    );
    assert!(
        auth.authenticate(&basic("hashed", "argon-secret"))
            .await
            .is_ok()
    );
    assert_eq!(
        auth.authenticate(&basic("hashed", "wrong"))
            .await
            .unwrap_err(),
        AuthError::Invalid
    );
    assert!(
        !auth.verified.contains(&secret_cache_key("hashed", "wrong")),
        "failures are not cached"
    );
}

#[test]
fn hashes_are_argon2id_phc_strings() {
    let hash = hash_password("x").unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert_ne!(hash, hash_password("x").unwrap(), "salted");
}

fn secret_cache_key(name: &str, password: &str) -> [u8; 32] {
    secret::cache_key(name, password)
}

#[test]
fn distinguished_names_match_whatever_the_order_case_and_spacing() {
    let a = DistinguishedName::parse("CN=sfsf-client, O=ACME Corp, C=DE").unwrap();
    let b = DistinguishedName::parse("c=de,o=acme corp,cn=SFSF-Client").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_string(), "CN=sfsf-client, O=ACME Corp, C=DE");
    let escaped = DistinguishedName::parse(r"CN=Doe\, John, O=ACME").unwrap();
    assert_ne!(escaped, DistinguishedName::parse("CN=Doe, O=ACME").unwrap());
    let emailed = DistinguishedName::parse("E=a@b.c, CN=x").unwrap();
    assert_eq!(
        emailed,
        DistinguishedName::parse("emailAddress=a@b.c,CN=x").unwrap()
    );
    for bad in ["", "CN", "CN=x,,O=y", "=x", "C N=x"] {
        assert!(DistinguishedName::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn tokens_carry_the_clients_roles_as_scopes_of_this_app_only() {
    let tokens = TokenService::new("it-rt!b1", &[7u8; 32]);
    let scopes = vec![
        tokens.scope_of("ESBMessaging.send"),
        "other-app.MonitoringDataRead".to_owned(),
    ];
    let issued = tokens.issue("sb-client", scopes, 60).unwrap();
    assert_eq!(issued.expires_in, 60);
    let claims = tokens.verify(&issued.access_token).unwrap();
    assert_eq!(claims.client_id, "sb-client");
    assert!(claims.roles.contains("ESBMessaging.send"));
    assert!(
        !claims.roles.contains("MonitoringDataRead"),
        "another app's scope grants nothing"
    );

    let other_key = TokenService::new("it-rt!b1", &[8u8; 32]);
    assert_eq!(
        other_key.verify(&issued.access_token).unwrap_err(),
        TokenError::BadSignature
    );
    assert_eq!(tokens.verify("a.b").unwrap_err(), TokenError::Malformed);
}

/// The HS256 backend (ring's HMAC behind jsonwebtoken) gives RFC 7515's example signature
/// (appendix A.1), verifies it, and refuses it altered or under another algorithm.
#[test]
fn hs256_matches_the_rfc_7515_example() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, crypto};

    let _installs_the_backend = TokenService::new("iflowd", &[1u8; 32]);
    let key = URL_SAFE_NO_PAD
        .decode(
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
        )
        .unwrap();
    let input = concat!(
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    );
    let expected = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let signature = crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(&key),
        Algorithm::HS256,
    )
    .unwrap();
    assert_eq!(signature, expected);
    let decoding = DecodingKey::from_secret(&key);
    assert!(crypto::verify(expected, input.as_bytes(), &decoding, Algorithm::HS256).unwrap());
    let altered = input.replace("eyJpc3MiOiJqb2Ui", "eyJpc3MiOiJqb2Ki");
    assert!(!crypto::verify(expected, altered.as_bytes(), &decoding, Algorithm::HS256).unwrap());
    assert!(crypto::verify(expected, input.as_bytes(), &decoding, Algorithm::HS512).is_err());
}

#[tokio::test]
async fn bearer_tokens_authenticate_through_the_same_entry_point_as_basic() {
    let tokens = TokenService::new("iflowd", &[1u8; 32]);
    let token = tokens
        .issue("sb", vec![tokens.scope_of("MonitoringDataRead")], 60)
        .unwrap()
        .access_token;
    let auth = authenticator().with_tokens(tokens);
    let principal = auth
        .authenticate(&headers(&format!("Bearer {token}")))
        .await
        .unwrap();
    assert_eq!(principal.name, "sb");
    assert!(principal.has_role("MonitoringDataRead"));
    let error = auth
        .authenticate(&headers("Bearer x.y.z"))
        .await
        .unwrap_err();
    assert!(error.is_bearer(), "{error:?}");
    assert!(!AuthError::Invalid.is_bearer());
}

#[test]
fn the_signing_key_is_generated_once_and_then_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = signing_key::load_or_create(None, &data).unwrap();
    assert_eq!(first.len(), 32);
    let second = signing_key::load_or_create(None, &data).unwrap();
    assert_eq!(first, second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join(signing_key::KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the key: {mode:o}");
    }
    std::fs::write(data.join(signing_key::KEY_FILE), "not base64!").unwrap();
    let error = signing_key::load_or_create(None, &data).unwrap_err();
    assert!(error.to_string().contains("oauth-signing.key"), "{error}");
    let configured = SecretString::from("k".repeat(40));
    assert_eq!(
        signing_key::load_or_create(Some(&configured), &data).unwrap(),
        vec![b'k'; 40]
    );
}
