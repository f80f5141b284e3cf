//! `[handlers.*]` at load time: `${VAR}` expansion and the checks that make a broken handler stop
//! start-up. Every message names the handler and the key.

use std::collections::BTreeMap;

use super::env::EnvVars;
use super::expand::EnvString;
use super::handlers::{
    ExecConfig, FaultConfig, FaultMode, ForwardAuth, ForwardConfig, HandlerConfig,
};

/// Expands `${VAR}` in every setting that allows it. With `missing = None` a variable that is not
/// set is an error; otherwise it becomes that text and a warning is returned.
pub fn expand_env(
    handlers: &mut BTreeMap<String, HandlerConfig>,
    vars: &EnvVars,
    missing: Option<&str>,
) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    let mut expand = |key: String, value: &mut EnvString| {
        for name in value
            .expand(vars, missing)
            .map_err(|e| format!("{key}: {e}"))?
        {
            warnings.push(format!(
                "{key} uses ${{{name}}}, which is not set: `iflowd serve` would refuse to start"
            ));
        }
        Ok::<(), String>(())
    };
    for (name, handler) in handlers.iter_mut() {
        match handler {
            HandlerConfig::Forward(forward) => {
                for (header, value) in &mut forward.headers {
                    expand(format!("handlers.{name}.headers.{header}"), value)?;
                }
                match &mut forward.auth {
                    Some(ForwardAuth::Basic { user, password }) => {
                        expand(format!("handlers.{name}.auth.user"), user)?;
                        expand(format!("handlers.{name}.auth.password"), password)?;
                    }
                    Some(ForwardAuth::Bearer { token }) => {
                        expand(format!("handlers.{name}.auth.token"), token)?;
                    }
                    None => {}
                }
            }
            HandlerConfig::Exec(exec) => {
                for (var, value) in &mut exec.env {
                    expand(format!("handlers.{name}.env.{var}"), value)?;
                }
            }
            _ => {}
        }
    }
    Ok(warnings)
}

pub fn validate_handlers(handlers: &BTreeMap<String, HandlerConfig>) -> Result<(), String> {
    for (name, handler) in handlers {
        let key = format!("handlers.{name}");
        match handler {
            HandlerConfig::Log(_) => {}
            HandlerConfig::Jsonl(jsonl) => {
                if jsonl.path.as_os_str().is_empty() {
                    return Err(format!("{key}.path must not be empty"));
                }
            }
            HandlerConfig::Forward(forward) => validate_forward(&key, forward)?,
            HandlerConfig::Exec(exec) => validate_exec(&key, exec)?,
            HandlerConfig::Fault(fault) => validate_fault(&key, fault)?,
            HandlerConfig::Respond(respond) => {
                if respond.status.is_none()
                    && respond.status_details.is_none()
                    && respond.entity_id.is_none()
                {
                    return Err(format!(
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
            return Err(format!(
                "{key}.when has an empty key or param name (value {:?})",
                empty.1
            ));
        }
    }
    Ok(())
}

fn validate_forward(key: &str, forward: &ForwardConfig) -> Result<(), String> {
    let url = &forward.url;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "{key}.url '{url}' is not an http:// or https:// URL with a host"
        ));
    }
    for (name, value) in &forward.headers {
        let header = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{key}.headers: '{name}' is not a valid header name"))?;
        if http::HeaderValue::from_str(value.expose()).is_err() {
            return Err(format!(
                "{key}.headers.{name}: the value is not a valid header value (control characters or non-ASCII)"
            ));
        }
        if header == http::header::AUTHORIZATION && forward.auth.is_some() {
            return Err(format!(
                "{key}: set either auth or an Authorization header, not both"
            ));
        }
    }
    if forward.timeout_ms == 0 {
        return Err(format!("{key}.timeout_ms must be greater than 0"));
    }
    if forward.retries > 10 {
        return Err(format!(
            "{key}.retries is {}; at most 10 further attempts are allowed (the sender waits for them)",
            forward.retries
        ));
    }
    if forward.backoff_ms > forward.max_backoff_ms {
        return Err(format!(
            "{key}.backoff_ms ({}) is larger than max_backoff_ms ({})",
            forward.backoff_ms, forward.max_backoff_ms
        ));
    }
    Ok(())
}

fn validate_exec(key: &str, exec: &ExecConfig) -> Result<(), String> {
    match exec.command.first() {
        None => {
            return Err(format!(
                "{key}.command is empty: give the program and its arguments, e.g. [\"/usr/local/bin/on-event\"]"
            ));
        }
        Some(program) if program.trim().is_empty() => {
            return Err(format!("{key}.command[0] (the program) is empty"));
        }
        Some(_) => {}
    }
    if exec.timeout_ms == 0 {
        return Err(format!("{key}.timeout_ms must be greater than 0"));
    }
    if let Some(var) = exec
        .env
        .keys()
        .find(|v| v.is_empty() || v.contains(['=', '\0']))
    {
        return Err(format!(
            "{key}.env: {var:?} is not an environment variable name"
        ));
    }
    Ok(())
}

fn validate_fault(key: &str, fault: &FaultConfig) -> Result<(), String> {
    if let Some(percent) = fault.percent
        && !(0.0..=100.0).contains(&percent)
    {
        return Err(format!(
            "{key}.percent is {percent}; it must be between 0 and 100"
        ));
    }
    if fault.mode == FaultMode::Delay && fault.delay_ms == 0 {
        return Err(format!(
            "{key}: mode \"delay\" needs delay_ms greater than 0"
        ));
    }
    if fault.mode != FaultMode::ErrorResponse
        && (fault.error_code.is_some() || fault.error_message.is_some())
    {
        return Err(format!(
            "{key}: error_code and error_message only apply to mode \"error-response\""
        ));
    }
    Ok(())
}
