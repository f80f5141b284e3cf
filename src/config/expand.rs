//! `${VAR}` in settings that hold secrets (header values, downstream credentials, `exec`
//! variables), so the secrets can stay out of the file.
//!
//! Expansion happens once, when the configuration loads, from the [`Env`] captured at start-up;
//! handlers only ever see the result.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::env::EnvVars;

/// A setting in which `${NAME}` is replaced by the environment variable `NAME` when the
/// configuration loads (`$${` is a literal `${`). Treated as a secret: never printed or logged.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct EnvString(SecretString);

impl EnvString {
    /// The text, expanded once [`crate::config::load`] has run.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Expands the text in place. A variable that is not set is an error, for `iflowd serve`
    /// and `iflowd check-config` alike: a check that passes means the server starts.
    pub(super) fn expand(&mut self, vars: &EnvVars) -> Result<(), String> {
        self.0 = SecretString::from(expand(self.expose(), vars)?);
        Ok(())
    }
}

impl From<&str> for EnvString {
    fn from(text: &str) -> Self {
        Self(SecretString::from(text))
    }
}

impl std::fmt::Debug for EnvString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvString([redacted])")
    }
}

/// Replaces every `${NAME}` in `text`. An error message says what is wrong without repeating the
/// text, which may hold a secret.
fn expand(text: &str, vars: &EnvVars) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            out.push_str("${");
            rest = escaped;
        } else if let Some(open) = after.strip_prefix('{') {
            let end = open
                .find('}')
                .ok_or("'${' without a closing '}' (write '$${' for a literal '${')")?;
            let name = &open[..end];
            let valid = name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
            if name.is_empty() || !valid {
                return Err(format!(
                    "'${{{name}}}' is not a variable name (letters, digits and '_')"
                ));
            }
            let value = vars
                .get(name)
                .ok_or_else(|| format!("the environment variable {name} is not set"))?;
            out.push_str(value);
            rest = &open[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> EnvVars {
        [("HR_API_KEY", "k-123"), ("EMPTY", "")]
            .into_iter()
            .collect()
    }

    #[test]
    fn variables_expand_and_everything_else_stays() {
        let text = expand("Bearer ${HR_API_KEY}; $5 $${x} ${EMPTY}.", &vars()).unwrap();
        assert_eq!(text, "Bearer k-123; $5 ${x} .");
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        assert_eq!(
            expand("a${NOPE}b", &vars()).unwrap_err(),
            "the environment variable NOPE is not set"
        );
    }

    #[test]
    fn broken_references_are_errors() {
        assert!(
            expand("${HR_API_KEY", &vars())
                .unwrap_err()
                .contains("closing")
        );
        assert!(
            expand("${1X}", &vars())
                .unwrap_err()
                .contains("not a variable name")
        );
        assert!(expand("${}", &vars()).is_err());
    }
}
