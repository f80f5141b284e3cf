//! The `IFLOWD_*` environment overrides, captured once.

use secrecy::SecretString;

/// The environment variables iflowd reads. Tests construct this directly, so no test depends on
/// (or changes) the process environment.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `IFLOWD_LISTEN`: overrides `listen`.
    pub listen: Option<String>,
    /// `IFLOWD_USER`: the built-in user's name (when the file defines no `[[users]]`).
    pub user: Option<String>,
    /// `IFLOWD_PASSWORD`: the built-in user's password; generated when absent.
    pub password: Option<SecretString>,
    /// `IFLOWD_LOG`: a tracing filter, overrides `[log] level`.
    pub log: Option<String>,
    /// `IFLOWD_CONFIG`: the configuration file when `--config` is not given.
    pub config: Option<String>,
}

impl Env {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            listen: var("IFLOWD_LISTEN"),
            user: var("IFLOWD_USER"),
            password: var("IFLOWD_PASSWORD").map(SecretString::from),
            log: var("IFLOWD_LOG"),
            config: var("IFLOWD_CONFIG"),
        }
    }
}
