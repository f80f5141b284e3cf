//! Checks of `[[oauth_clients]]`, `[oauth]`, `[tls]` and the certificate keys of users and
//! endpoints. Each message names the key.

use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::{ClientAuth, Config};
use crate::auth::DistinguishedName;

/// The shortest accepted `oauth.signing_key`: HS256 wants at least as many bytes as its output.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;
/// The longest token lifetime: a day. XSUAA's default is twelve hours.
const MAX_TOKEN_LIFETIME_S: u64 = 86_400;

pub fn validate(config: &Config, errors: &mut Vec<String>) {
    validate_oauth_clients(config, errors);
    validate_oauth(config, errors);
    validate_certificates(config, errors);
    validate_tls(config, errors);
}

fn validate_oauth_clients(config: &Config, errors: &mut Vec<String>) {
    let mut seen = HashMap::new();
    for (i, client) in config.oauth_clients.iter().enumerate() {
        let key = format!("oauth_clients[{i}]");
        let id = &client.id;
        if id.trim().is_empty() {
            errors.push(format!("{key}.id must not be empty"));
        }
        if id.contains(':') || id.chars().any(char::is_whitespace) {
            errors.push(format!(
                "{key}.id '{id}' may not contain ':' or spaces (it is also a Basic user name)"
            ));
        }
        if let Some(first) = seen.insert(id.as_str(), i) {
            errors.push(format!(
                "{key}.id '{id}' is already used by oauth_clients[{first}]"
            ));
        }
        if let Some(j) = config.users.iter().position(|u| &u.name == id) {
            errors.push(format!(
                "{key}.id '{id}' is also the name of users[{j}]; a Basic login could not tell them apart"
            ));
        }
        match (&client.secret, &client.secret_hash) {
            (Some(_), Some(_)) => errors.push(format!(
                "{key} ('{id}') sets both secret and secret_hash; keep one"
            )),
            (None, None) if client.certificate_subject.is_none() => errors.push(format!(
                "{key} ('{id}') needs a secret, a secret_hash or a certificate_subject"
            )),
            (None, None) => {}
            (Some(secret), None) if secret.expose_secret().is_empty() => {
                errors.push(format!("{key}.secret of '{id}' must not be empty"));
            }
            (None, Some(hash)) => {
                if let Err(e) = argon2::PasswordHash::new(hash) {
                    errors.push(format!("{key}.secret_hash of '{id}' is not an argon2 PHC string ({e}); make one with `iflowd hash-password`"));
                }
            }
            (Some(_), None) => {}
        }
        if client.roles.is_empty() {
            errors.push(format!("{key}.roles of '{id}' must name at least one role"));
        }
        if let Some(role) = client
            .roles
            .iter()
            .find(|r| r.trim().is_empty() || r.chars().any(char::is_whitespace))
        {
            errors.push(format!(
                "{key}.roles contains {role:?}; roles become OAuth scopes, which cannot be empty or contain spaces"
            ));
        }
        if client.token_lifetime_s == 0 || client.token_lifetime_s > MAX_TOKEN_LIFETIME_S {
            errors.push(format!(
                "{key}.token_lifetime_s must be between 1 and {MAX_TOKEN_LIFETIME_S} seconds"
            ));
        }
    }
}

fn validate_oauth(config: &Config, errors: &mut Vec<String>) {
    let oauth = &config.oauth;
    if let Err(error) = check_token_path(&oauth.token_path) {
        errors.push(format!("oauth.token_path '{}' {error}", oauth.token_path));
    }
    let app = &oauth.app_name;
    if app.is_empty() || app.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.push(format!(
            "oauth.app_name '{app}' must not be empty or contain spaces (it prefixes every scope)"
        ));
    }
    if let Some(key) = &oauth.signing_key
        && key.expose_secret().len() < MIN_SIGNING_KEY_BYTES
    {
        errors.push(format!(
            "oauth.signing_key must be at least {MIN_SIGNING_KEY_BYTES} bytes long; leave it out to have one generated in data_dir"
        ));
    }
}

/// What is wrong with `oauth.token_path`, as the rest of a sentence naming the key.
fn check_token_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') || path.len() < 2 {
        return Err("must start with '/' and name a path");
    }
    if path
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '?' | '#' | '%' | '{' | '}' | '*' | ':'))
    {
        return Err("may not contain spaces, '?', '#', '%', '{', '}', '*' or ':'");
    }
    let lower = path.to_ascii_lowercase();
    if lower == "/health"
        || lower.starts_with("/cxf/")
        || lower.starts_with("/http/")
        || lower == "/cxf"
        || lower == "/http"
    {
        return Err("would hide /health or endpoints under /cxf/ and /http/; choose another path");
    }
    Ok(())
}

fn validate_certificates(config: &Config, errors: &mut Vec<String>) {
    let client_ca = config.tls.as_ref().and_then(|t| t.client_ca.as_ref());
    // Each subject names one user or client: the key of the one that had it first.
    let mut subjects: HashMap<DistinguishedName, String> = HashMap::new();
    let users = config
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("users[{i}]"), &u.certificate_subject));
    let clients = config
        .oauth_clients
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("oauth_clients[{i}]"), &c.certificate_subject));
    for (owner, subject) in users.chain(clients) {
        let Some(subject) = subject else {
            continue;
        };
        let key = format!("{owner}.certificate_subject");
        match DistinguishedName::parse(subject) {
            Err(e) => errors.push(format!("{key}: {e}")),
            Ok(dn) => {
                if let Some(first) = subjects.get(&dn) {
                    errors.push(format!(
                        "{key} '{subject}' is also the certificate_subject of {first}"
                    ));
                } else {
                    subjects.insert(dn, owner);
                }
            }
        }
        if client_ca.is_none() {
            errors.push(format!(
                "{key} needs client certificates: set [tls] client_ca"
            ));
        }
    }
    for (i, endpoint) in config.endpoints.iter().enumerate() {
        for (j, subject) in endpoint.client_certificates.iter().enumerate() {
            let key = format!("endpoints[{i}].client_certificates[{j}]");
            if let Err(e) = DistinguishedName::parse(subject) {
                errors.push(format!("{key}: {e}"));
            }
            if client_ca.is_none() {
                errors.push(format!(
                    "{key} needs client certificates: set [tls] client_ca"
                ));
            }
        }
    }
}

fn validate_tls(config: &Config, errors: &mut Vec<String>) {
    let Some(tls) = &config.tls else {
        return;
    };
    for (key, path) in [("cert", &tls.cert), ("key", &tls.key)] {
        if path.as_os_str().is_empty() {
            errors.push(format!("tls.{key} must name a PEM file"));
        }
    }
    if tls.client_auth == ClientAuth::Required && tls.client_ca.is_none() {
        errors.push(
            "tls.client_auth = \"required\" needs tls.client_ca, the CA that signs client certificates"
                .to_owned(),
        );
    }
    if tls.http_listen == Some(config.listen) && config.listen.port() != 0 {
        errors.push(format!(
            "tls.http_listen {} is the same address as listen, which serves HTTPS",
            config.listen
        ));
    }
    if tls.handshake_timeout_ms == 0 {
        errors.push("tls.handshake_timeout_ms must be greater than 0".to_owned());
    }
}
