//! `iflowd service-key <client-id>`: the JSON a Cloud Foundry service key of a Process
//! Integration Runtime instance holds, for one `[[oauth_clients]]` entry, with iflowd's own
//! URLs: what a monitoring tool set up for CPI is configured by pasting.
//!
//! ```json
//! {"oauth": {"clientid": "...", "clientsecret": "...", "createdate": "...",
//!            "tokenurl": "https://.../oauth/token", "url": "https://..."}}
//! ```
//!
//! `url` is `[proxy] public_url`, else the `listen` address (`https` with `[tls]`; `localhost`
//! for an unspecified address); `tokenurl` is it plus `[oauth] token_path`. `createdate` is when
//! the configuration file last changed (BTP's is when the key was made; a client's key changes
//! with the file). The secret is printed only when the configuration holds it in plain text:
//! of a `secret_hash` only the hash is known, and the key is printed without it, with a note on
//! standard error. A client with a `certificate_subject` gets `certificatedetails` with its
//! subject, as BTP shows a certificate key's; its certificate and key stay with the client.

use std::path::Path;

use anyhow::Context;
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::serve::base_url;
use crate::config::{self, Config, Env, OAuthClientConfig};

pub fn run(client_id: &str, config: Option<&Path>) -> anyhow::Result<()> {
    let loaded = config::load(config, &Env::from_process())?;
    let config = &loaded.config;
    let client = find(config, client_id)?;
    let created = config
        .source
        .as_deref()
        .and_then(|file| std::fs::metadata(file).ok()?.modified().ok())
        .map_or_else(OffsetDateTime::now_utc, OffsetDateTime::from);
    let key = service_key(config, client, created)?;
    println!("{}", serde_json::to_string_pretty(&key)?);
    if client.secret.is_none() && client.secret_hash.is_some() {
        eprintln!(
            "note: client '{}' has only a secret_hash: iflowd keeps the argon2 hash, never the secret, so the key above has no \"clientsecret\"; add \"clientsecret\": \"<the secret you hashed>\" before pasting it, or configure the secret in plain text",
            client.id
        );
    }
    if config.proxy.public_url.is_none() && config.listen.ip().is_unspecified() {
        eprintln!(
            "note: the URLs name localhost (listen is {}); set [proxy] public_url to the address a monitoring tool reaches iflowd at",
            config.listen
        );
    }
    eprintln!(
        "roles of '{}': {} (as scopes {}.<role>)",
        client.id,
        client.roles.join(", "),
        config.oauth.app_name
    );
    Ok(())
}

/// The client `id`, or an error listing the clients there are.
fn find<'a>(config: &'a Config, id: &str) -> anyhow::Result<&'a OAuthClientConfig> {
    config
        .oauth_clients
        .iter()
        .find(|c| c.id == id)
        .with_context(|| {
            let known: Vec<&str> = config.oauth_clients.iter().map(|c| c.id.as_str()).collect();
            if known.is_empty() {
                "the configuration has no [[oauth_clients]]; a service key is made for one of them"
                    .to_owned()
            } else {
                format!(
                    "there is no OAuth client '{id}'; the configuration has {}",
                    known.join(", ")
                )
            }
        })
}

/// The key of `client` as BTP shows it.
pub fn service_key(
    config: &Config,
    client: &OAuthClientConfig,
    created: OffsetDateTime,
) -> anyhow::Result<Value> {
    let url = match &config.proxy.public_url {
        Some(url) => url.as_str().to_owned(),
        None => base_url(config.listen, config.tls.is_some()),
    };
    let created = created
        .replace_nanosecond(created.millisecond() as u32 * 1_000_000)
        .unwrap_or(created)
        .format(&Rfc3339)?;
    let mut oauth = Map::new();
    oauth.insert("clientid".into(), json!(client.id));
    if let Some(secret) = &client.secret {
        oauth.insert("clientsecret".into(), json!(secret.expose_secret()));
    }
    if let Some(subject) = &client.certificate_subject {
        oauth.insert("certificatedetails".into(), json!({ "subjectdn": subject }));
    }
    oauth.insert("createdate".into(), json!(created));
    oauth.insert(
        "tokenurl".into(),
        json!(format!("{url}{}", config.oauth.token_path)),
    );
    oauth.insert("url".into(), json!(url));
    Ok(json!({ "oauth": oauth }))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn config(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_key_names_iflowds_urls_and_the_plain_secret() {
        let config = config(
            "listen = \"0.0.0.0:8443\"\n[[oauth_clients]]\nid = \"sb-mon\"\nsecret = \"s3\"\n[tls]\ncert = \"c\"\nkey = \"k\"\n",
        );
        let key = service_key(
            &config,
            &config.oauth_clients[0],
            datetime!(2026-03-01 10:15:30.123_456 UTC),
        )
        .unwrap();
        assert_eq!(
            key,
            json!({ "oauth": {
                "clientid": "sb-mon",
                "clientsecret": "s3",
                "createdate": "2026-03-01T10:15:30.123Z",
                "tokenurl": "https://localhost:8443/oauth/token",
                "url": "https://localhost:8443",
            } })
        );
    }

    #[test]
    fn the_public_url_wins_and_a_hashed_secret_is_left_out() {
        let config = config(
            "[proxy]\npublic_url = \"https://iflowd.example.com/base/\"\n[oauth]\ntoken_path = \"/token\"\n[[oauth_clients]]\nid = \"sb-mon\"\nsecret_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\"\ncertificate_subject = \"CN=collector\"\n",
        );
        let key = service_key(
            &config,
            &config.oauth_clients[0],
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap();
        let oauth = &key["oauth"];
        assert_eq!(oauth["url"], "https://iflowd.example.com/base");
        assert_eq!(oauth["tokenurl"], "https://iflowd.example.com/base/token");
        assert!(oauth.get("clientsecret").is_none(), "{key}");
        assert_eq!(oauth["certificatedetails"]["subjectdn"], "CN=collector");
        assert!(!key.to_string().contains("argon2"), "{key}");
    }
}
