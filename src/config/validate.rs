//! Checks that need the whole configuration: names that must be unique, references that must
//! resolve, secrets that must parse. Each message names the key.

use std::collections::HashMap;

use super::validate_handlers::validate_handlers;
use super::{Adapter, Config, EndpointConfig};

/// The request path an endpoint answers on: the adapter prefix plus the address, without a
/// trailing `/` or `/*`. HTTPS addresses are case-insensitive, so they are compared lowercased.
pub fn endpoint_path(adapter: Adapter, address: &str) -> String {
    let trimmed = address
        .strip_suffix("/*")
        .unwrap_or(address)
        .trim_end_matches('/');
    let prefix = match adapter {
        Adapter::Soap => "/cxf",
        Adapter::Https => "/http",
    };
    let path = format!("{prefix}{trimmed}");
    match adapter {
        Adapter::Soap => path,
        Adapter::Https => path.to_ascii_lowercase(),
    }
}

/// Every problem of `config`, each naming its key: a user fixing a file sees them all at once,
/// not one per attempt. Empty when the configuration is valid.
pub fn validate(config: &Config) -> Vec<String> {
    let mut errors = Vec::new();
    validate_limits(config, &mut errors);
    validate_store(config, &mut errors);
    validate_users(config, &mut errors);
    validate_endpoints(config, &mut errors);
    validate_handlers(&config.handlers, &mut errors);
    validate_events(config, &mut errors);
    super::queue::validate_queue(config, &mut errors);
    super::validate_security::validate(config, &mut errors);
    super::deployment::validate(config, &mut errors);
    errors
}

fn validate_limits(config: &Config, errors: &mut Vec<String>) {
    let limits = &config.limits;
    for (key, value) in [
        ("max_body_bytes", limits.max_body_bytes as u64),
        ("header_read_timeout_ms", limits.header_read_timeout_ms),
        ("body_read_timeout_ms", limits.body_read_timeout_ms),
        ("shutdown_timeout_ms", limits.shutdown_timeout_ms),
        ("max_connections", limits.max_connections as u64),
        ("drain_max_bytes", limits.drain_max_bytes),
        ("drain_timeout_ms", limits.drain_timeout_ms),
    ] {
        if value == 0 {
            errors.push(format!("limits.{key} must be greater than 0"));
        }
    }
}

/// The longest `[store] duplicate_wait_ms`: senders give up long before (ISC's own timeout is not
/// public; CPI's HTTP timeouts are minutes).
const MAX_DUPLICATE_WAIT_MS: u64 = 600_000;

fn validate_store(config: &Config, errors: &mut Vec<String>) {
    if config.data_dir.as_os_str().is_empty() {
        errors.push("data_dir must not be empty".to_owned());
    }
    let store = &config.store;
    for (key, value) in [
        ("retention_days", Some(store.retention_days)),
        ("payload_retention_days", Some(store.payload_retention_days)),
        ("duplicate_window_days", Some(store.duplicate_window_days)),
        ("max_size_mb", store.max_size_mb),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key, value?)))
    {
        if value == 0 {
            errors.push(format!("store.{key} must be at least 1"));
        }
    }
    if store.duplicate_wait_ms > MAX_DUPLICATE_WAIT_MS {
        errors.push(format!(
            "store.duplicate_wait_ms ({}) must be at most {MAX_DUPLICATE_WAIT_MS} (10 minutes): a waiting copy holds its sender's connection",
            store.duplicate_wait_ms
        ));
    }
    if let Some(url) = &store.url
        && let Err(e) = crate::store::check_url(url.expose())
    {
        // The url is not repeated: it may hold a password.
        errors.push(format!("store.url {e}"));
    }
    if store.pool_size == 0 {
        errors.push("store.pool_size must be at least 1".to_owned());
    }
    if store.url.is_some() && store.max_size_mb.is_some() {
        errors.push(
            "store.max_size_mb bounds the SQLite file; with store.url, size the database server's disk and let retention_days bound the log".to_owned(),
        );
    }
    if store.url.is_none() && store.ca.is_some() {
        errors.push("store.ca is for a PostgreSQL store's TLS: it needs store.url".to_owned());
    }
    if store.retention_days < store.duplicate_window_days {
        errors.push(format!(
            "store.retention_days ({}) must be at least store.duplicate_window_days ({}): duplicates are found in the log",
            store.retention_days, store.duplicate_window_days
        ));
    }
}

fn validate_users(config: &Config, errors: &mut Vec<String>) {
    let mut seen = HashMap::new();
    for (i, user) in config.users.iter().enumerate() {
        let key = format!("users[{i}]");
        if user.name.is_empty() {
            errors.push(format!("{key}.name must not be empty"));
        }
        if user.name.contains(':') {
            errors.push(format!(
                "{key}.name '{}' contains ':', which Basic authentication cannot carry in a user name",
                user.name
            ));
        }
        if let Some(first) = seen.insert(user.name.as_str(), i) {
            errors.push(format!(
                "{key}.name '{}' is already used by users[{first}]",
                user.name
            ));
        }
        match (&user.password, &user.password_hash) {
            (Some(_), Some(_)) => errors.push(format!(
                "{key} ('{}') sets both password and password_hash; keep one",
                user.name
            )),
            (None, None) if user.certificate_subject.is_none() => errors.push(format!(
                "{key} ('{}') needs a password or a password_hash (or a certificate_subject)",
                user.name
            )),
            (None, Some(hash)) => {
                if let Err(e) = argon2::PasswordHash::new(hash) {
                    errors.push(format!("{key}.password_hash of '{}' is not an argon2 PHC string ({e}); make one with `iflowd hash-password`", user.name));
                }
            }
            (Some(_), None) | (None, None) => {}
        }
        if let Some(role) = user.roles.iter().find(|r| r.trim().is_empty()) {
            errors.push(format!("{key}.roles contains an empty role {role:?}"));
        }
    }
}

fn validate_endpoints(config: &Config, errors: &mut Vec<String>) {
    let mut names = HashMap::new();
    let mut paths: HashMap<String, &EndpointConfig> = HashMap::new();
    for (i, endpoint) in config.endpoints.iter().enumerate() {
        let key = format!("endpoints[{i}]");
        if endpoint.name.trim().is_empty() {
            errors.push(format!("{key}.name must not be empty"));
        } else if let Some(first) = names.insert(endpoint.name.as_str(), i) {
            errors.push(format!(
                "{key}.name '{}' is already used by endpoints[{first}]",
                endpoint.name
            ));
        }
        if let Err(error) = check_address(endpoint) {
            errors.push(format!("{key}.address '{}'{error}", endpoint.address));
        } else {
            let path = endpoint_path(endpoint.adapter, &endpoint.address);
            if let Some(other) = paths.insert(path.to_ascii_lowercase(), endpoint) {
                errors.push(format!(
                    "{key}.address: endpoint '{}' and endpoint '{}' both answer {path}",
                    other.name, endpoint.name
                ));
            }
        }
        if endpoint.role.trim().is_empty() {
            errors.push(format!("{key}.role must not be empty"));
        }
        for handler in &endpoint.handlers {
            if handler != "log" && !config.handlers.contains_key(handler) {
                errors.push(format!(
                    "{key}.handlers names '{handler}', which is neither built in nor defined as [handlers.{handler}]"
                ));
            }
        }
    }
}

/// What is wrong with an endpoint's address, if anything, as the rest of a sentence that starts
/// with the key and the address.
fn check_address(endpoint: &EndpointConfig) -> Result<(), &'static str> {
    let address = &endpoint.address;
    if !address.starts_with('/') {
        return Err(" must start with '/'");
    }
    if address
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '?' | '#' | '%'))
    {
        return Err(" may not contain spaces, '?', '#' or '%'");
    }
    if endpoint.adapter == Adapter::Soap && address.ends_with("/*") {
        return Err(
            ": only https addresses may end in '/*' (soap addresses always match their sub-paths)",
        );
    }
    Ok(())
}

fn validate_events(config: &Config, errors: &mut Vec<String>) {
    let events = &config.events;
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (kind, list) in [
        ("change_in_manager", &events.change_in_manager),
        ("hire", &events.hire),
        ("rehire", &events.rehire),
        ("termination", &events.termination),
    ] {
        for type_string in list {
            if let Some(other) = seen.insert(type_string, kind)
                && other != kind
            {
                errors.push(format!(
                    "events.{kind} lists '{type_string}', which events.{other} lists too"
                ));
            }
        }
    }
}
