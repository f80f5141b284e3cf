//! The `IFLOWD_*` environment overrides, and the variables `${VAR}` settings may name, captured
//! once.

use std::collections::BTreeMap;

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
    /// `IFLOWD_SEND_PASSWORD`: `iflowd send`'s Basic password when `--password` is not given,
    /// so it need not appear on a command line (and in `ps`).
    pub send_password: Option<SecretString>,
    /// `IFLOWD_SEND_CLIENT_SECRET`: `iflowd send`'s OAuth client secret when `--client-secret`
    /// is not given.
    pub send_client_secret: Option<SecretString>,
    /// Every variable, for `${VAR}` in handler settings (headers, credentials, `exec` env).
    pub vars: EnvVars,
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
            send_password: var("IFLOWD_SEND_PASSWORD").map(SecretString::from),
            send_client_secret: var("IFLOWD_SEND_CLIENT_SECRET").map(SecretString::from),
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }
}

/// Environment variables by name. Their values may be secrets, so `Debug` shows names only.
#[derive(Clone, Default)]
pub struct EnvVars(BTreeMap<String, String>);

impl EnvVars {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EnvVars {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl std::fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}
