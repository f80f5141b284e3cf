//! Reading, defaulting and validating a configuration.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;

use super::defaults::{DEFAULT_ENDPOINT_ADDRESS, DEFAULT_ENDPOINT_NAME, DEFAULT_USER};
use super::validate_handlers::expand_env;
use super::{Adapter, Config, EndpointConfig, Env, UserConfig, defaults, validate};

/// Why a configuration cannot be used, naming where it comes from (the file, or the environment
/// variable) and every problem found, each naming its key, so one run shows all there is to fix.
#[derive(Debug)]
pub struct ConfigError {
    pub origin: String,
    /// Never empty.
    pub problems: Vec<String>,
}

impl ConfigError {
    fn new(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            problems: vec![message.into()],
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{}: {one}", self.origin),
            many => {
                write!(f, "{}: {} problems:", self.origin, many.len())?;
                for problem in many {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// A validated configuration and what start-up should tell the user about it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// Set when no password was configured and one was generated: start-up prints it once.
    pub generated_password: Option<SecretString>,
    /// Things that are allowed but probably not what the user meant.
    pub warnings: Vec<String>,
}

/// Loads `path` (or only the defaults when `None`), applies `env`, expands `${VAR}` in handler
/// settings, and validates. `iflowd serve` and `iflowd check-config` both call this, so a
/// configuration the check passes is one the server starts with; a variable that is not set is
/// an error in both.
pub fn load(path: Option<&Path>, env: &Env) -> Result<Loaded, ConfigError> {
    let origin = path.map_or_else(
        || "built-in defaults".to_owned(),
        |p| p.display().to_string(),
    );
    let text = match path {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| ConfigError::new(&origin, format!("cannot read the file: {e}")))?,
        None => String::new(),
    };
    let mut config: Config = toml::from_str(&text)
        .map_err(|e| ConfigError::new(&origin, e.to_string().trim_end().to_owned()))?;

    if let Some(listen) = &env.listen {
        config.listen = listen.parse().map_err(|_| {
            ConfigError::new(
                "IFLOWD_LISTEN",
                format!("'{listen}' is not an address and port such as 127.0.0.1:8080"),
            )
        })?;
    }

    let mut problems = expand_env(&mut config.handlers, &env.vars);
    if let Some(url) = &mut config.store.url
        && let Err(e) = url.expand(&env.vars)
    {
        problems.push(format!("store.url: {e}"));
    }
    let mut warnings = Vec::new();
    let mut generated_password = None;
    if config.users.is_empty() {
        let password = env.password.clone().unwrap_or_else(|| {
            let password = random_password();
            generated_password = Some(password.clone());
            password
        });
        config.users.push(UserConfig {
            name: env.user.clone().unwrap_or_else(|| DEFAULT_USER.to_owned()),
            password: Some(password),
            password_hash: None,
            roles: defaults::default_user_roles(),
            certificate_subject: None,
        });
    } else if env.user.is_some() || env.password.is_some() {
        warnings.push(format!(
            "IFLOWD_USER and IFLOWD_PASSWORD are ignored because {origin} defines [[users]]"
        ));
    }

    if config.endpoints.is_empty() {
        config.endpoints.push(EndpointConfig {
            name: DEFAULT_ENDPOINT_NAME.to_owned(),
            adapter: Adapter::Soap,
            address: DEFAULT_ENDPOINT_ADDRESS.to_owned(),
            role: defaults::role(),
            handlers: defaults::handlers(),
            client_certificates: Vec::new(),
            must_understand: None,
            package: None,
            delivery: super::Delivery::default(),
            retry: super::RetryConfig::default(),
        });
    }

    problems.extend(validate::validate(&config));
    if !problems.is_empty() {
        return Err(ConfigError { origin, problems });
    }
    config.source = path.map(Path::to_path_buf);
    Ok(Loaded {
        config,
        source: path.map(Path::to_path_buf),
        generated_password,
        warnings,
    })
}

/// 144 random bits, URL-safe so it pastes into a curl `-u` without quoting.
fn random_password() -> SecretString {
    let bytes: [u8; 18] = rand::random();
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}
