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
