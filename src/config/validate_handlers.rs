//! `[handlers.*]` at load time: `${VAR}` expansion and the checks that make a broken handler stop
//! start-up. Every message names the handler and the key.

use std::collections::BTreeMap;

use super::env::EnvVars;
use super::expand::EnvString;
use super::handlers::{
    ExecConfig, FaultConfig, FaultMode, ForwardAuth, ForwardConfig, HandlerConfig,
};

/// Expands `${VAR}` in every setting that allows it. Returns one error per reference that
/// cannot be expanded (a variable that is not set, a malformed `${`), each naming the key.
pub fn expand_env(handlers: &mut BTreeMap<String, HandlerConfig>, vars: &EnvVars) -> Vec<String> {
    let mut errors = Vec::new();
    let mut expand = |key: String, value: &mut EnvString| {
        if let Err(e) = value.expand(vars) {
            errors.push(format!("{key}: {e}"));
        }
    };
    for (name, handler) in handlers.iter_mut() {
        match handler {
            HandlerConfig::Forward(forward) => {
                for (header, value) in &mut forward.headers {
                    expand(format!("handlers.{name}.headers.{header}"), value);
                }
                match &mut forward.auth {
                    Some(ForwardAuth::Basic { user, password }) => {
                        expand(format!("handlers.{name}.auth.user"), user);
                        expand(format!("handlers.{name}.auth.password"), password);
                    }
                    Some(ForwardAuth::Bearer { token }) => {
                        expand(format!("handlers.{name}.auth.token"), token);
                    }
                    None => {}
                }
            }
            HandlerConfig::Nats(nats) => nats.expand(name, &mut expand),
            HandlerConfig::Exec(exec) => {
                for (var, value) in &mut exec.env {
                    expand(format!("handlers.{name}.env.{var}"), value);
                }
            }
            _ => {}
        }
    }
    errors
}

pub fn validate_handlers(handlers: &BTreeMap<String, HandlerConfig>, errors: &mut Vec<String>) {
    for (name, handler) in handlers {
        let key = format!("handlers.{name}");
        match handler {
            HandlerConfig::Log(_) => {}
            HandlerConfig::Jsonl(jsonl) => {
                if jsonl.path.as_os_str().is_empty() {
                    errors.push(format!("{key}.path must not be empty"));
                }
            }
            HandlerConfig::Forward(forward) => validate_forward(&key, forward, errors),
            HandlerConfig::Nats(nats) => nats.validate(&key, errors),
            HandlerConfig::Exec(exec) => validate_exec(&key, exec, errors),
            HandlerConfig::Fault(fault) => validate_fault(&key, fault, errors),
            HandlerConfig::Respond(respond) => {
                if respond.status.is_none()
                    && respond.status_details.is_none()
                    && respond.entity_id.is_none()
                {
                    errors.push(format!(
                        "{key} (respond) sets nothing: give status, status_details or entity_id"
                    ));
                }
            }
        }
        if let Some(when) = handler.when()
            && let Some(empty) = when
                .key
                .iter()
                .chain(&when.param)
                .find(|(k, _)| k.is_empty())
        {
            errors.push(format!(
                "{key}.when has an empty key or param name (value {:?})",
                empty.1
            ));
        }
    }
}

fn validate_forward(key: &str, forward: &ForwardConfig, errors: &mut Vec<String>) {
    let url = &forward.url;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        errors.push(format!(
            "{key}.url '{url}' is not an http:// or https:// URL with a host"
        ));
    }
    for (name, value) in &forward.headers {
        let Ok(header) = http::HeaderName::from_bytes(name.as_bytes()) else {
            errors.push(format!(
                "{key}.headers: '{name}' is not a valid header name"
            ));
            continue;
        };
        if http::HeaderValue::from_str(value.expose()).is_err() {
            errors.push(format!(
                "{key}.headers.{name}: the value is not a valid header value (control characters or non-ASCII)"
            ));
        }
        if header == http::header::AUTHORIZATION && forward.auth.is_some() {
            errors.push(format!(
                "{key}: set either auth or an Authorization header, not both"
            ));
        }
    }
    if forward.timeout_ms == 0 {
        errors.push(format!("{key}.timeout_ms must be greater than 0"));
    }
    if forward.retries > 10 {
        errors.push(format!(
            "{key}.retries is {}; at most 10 further attempts are allowed (the sender waits for them)",
            forward.retries
        ));
    }
    if forward.backoff_ms > forward.max_backoff_ms {
        errors.push(format!(
            "{key}.backoff_ms ({}) is larger than max_backoff_ms ({})",
            forward.backoff_ms, forward.max_backoff_ms
        ));
    }
}

fn validate_exec(key: &str, exec: &ExecConfig, errors: &mut Vec<String>) {
    match exec.command.first() {
        None => errors.push(format!(
            "{key}.command is empty: give the program and its arguments, e.g. [\"/usr/local/bin/on-event\"]"
        )),
        Some(program) if program.trim().is_empty() => {
            errors.push(format!("{key}.command[0] (the program) is empty"));
        }
        // A program given as a path must exist when iflowd starts; checked here so that
        // `check-config` refuses what `serve` would (a bare name is looked up on PATH per run).
        Some(program) if program.contains('/') => match std::fs::metadata(program) {
            Err(e) => errors.push(format!("{key}.command[0] '{program}' cannot be used: {e}")),
            Ok(metadata) if !metadata.is_file() => {
                errors.push(format!("{key}.command[0] '{program}' is not a file"));
            }
            Ok(_) => {}
        },
        Some(_) => {}
    }
    if let Some(dir) = &exec.working_dir
        && !dir.is_dir()
    {
        errors.push(format!(
            "{key}.working_dir '{}' is not a directory",
            dir.display()
        ));
    }
    if exec.timeout_ms == 0 {
        errors.push(format!("{key}.timeout_ms must be greater than 0"));
    }
    if let Some(var) = exec
        .env
        .keys()
        .find(|v| v.is_empty() || v.contains(['=', '\0']))
    {
        errors.push(format!(
            "{key}.env: {var:?} is not an environment variable name"
        ));
    }
}

fn validate_fault(key: &str, fault: &FaultConfig, errors: &mut Vec<String>) {
    if let Some(percent) = fault.percent
        && !(0.0..=100.0).contains(&percent)
    {
        errors.push(format!(
            "{key}.percent is {percent}; it must be between 0 and 100"
        ));
    }
    if fault.mode == FaultMode::Delay && fault.delay_ms == 0 {
        errors.push(format!(
            "{key}: mode \"delay\" needs delay_ms greater than 0"
        ));
    }
    if fault.mode != FaultMode::ErrorResponse
        && (fault.error_code.is_some() || fault.error_message.is_some())
    {
        errors.push(format!(
            "{key}: error_code and error_message only apply to mode \"error-response\""
        ));
    }
}
