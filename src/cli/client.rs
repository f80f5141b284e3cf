//! How the commands that call a server (`iflowd send`, `iflowd replay`) reach it: Basic or OAuth
//! client credentials (the password or secret from the command line, the environment or the
//! terminal), and the TLS trust of the HTTP client.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Env;

/// The credential and TLS flags both commands take.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Basic user.
    #[arg(long, conflicts_with_all = ["token_url", "client_id", "client_secret"])]
    user: Option<String>,
    /// Basic password; without it, IFLOWD_SEND_PASSWORD, else asked on the terminal.
    #[arg(long, requires = "user")]
    password: Option<String>,
    /// OAuth token endpoint (client credentials grant), e.g. https://localhost:8443/oauth/token.
    #[arg(long, requires = "client_id")]
    token_url: Option<String>,
    /// OAuth client id.
    #[arg(long, requires = "token_url")]
    client_id: Option<String>,
    /// OAuth client secret; without it, IFLOWD_SEND_CLIENT_SECRET, else asked on the terminal.
    #[arg(long, requires = "token_url")]
    client_secret: Option<String>,
    /// How the client credentials reach the token endpoint: `header` (Basic, as ISC does at run
    /// time) or `body` (client_id/client_secret form fields, as ISC's "validate connection").
    #[arg(long, value_enum, default_value_t = TokenAuth::Header)]
    token_auth: TokenAuth,
    /// Trust only this PEM certificate (or CA bundle) for HTTPS, e.g. the cert.pem of `iflowd cert`.
    #[arg(long, conflicts_with = "insecure")]
    cacert: Option<PathBuf>,
    /// Do not verify the server's certificate (sandboxes only).
    #[arg(long)]
    insecure: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum TokenAuth {
    Header,
    Body,
}

pub(super) enum Credentials {
    None,
    Basic { user: String, password: String },
    OAuth(OAuth),
}

pub(super) struct OAuth {
    token_url: String,
    client_id: String,
    client_secret: String,
    style: TokenAuth,
    /// With `--reuse-token`: the token and when to fetch a new one.
    cached: Option<tokio::sync::Mutex<Option<(String, Instant)>>>,
}

impl ClientArgs {
    /// Basic or OAuth, as the arguments say, with the password or secret from the command line,
    /// the environment or the terminal; `reuse_token` keeps one token until shortly before it
    /// expires.
    pub(super) fn credentials(&self, reuse_token: bool) -> anyhow::Result<Credentials> {
        let env = Env::from_process();
        Ok(match (&self.user, &self.token_url) {
            (Some(user), _) => Credentials::Basic {
                user: user.clone(),
                password: secret(
                    self.password.as_deref(),
                    env.send_password.as_ref(),
                    "--password",
                    "IFLOWD_SEND_PASSWORD",
                    &format!("password for '{user}': "),
                )?,
            },
            (None, Some(token_url)) => {
                let client_id = self.client_id.clone().unwrap_or_default();
                Credentials::OAuth(OAuth {
                    token_url: token_url.clone(),
                    client_secret: secret(
                        self.client_secret.as_deref(),
                        env.send_client_secret.as_ref(),
                        "--client-secret",
                        "IFLOWD_SEND_CLIENT_SECRET",
                        &format!("client secret for '{client_id}': "),
                    )?,
                    client_id,
                    style: self.token_auth,
                    cached: reuse_token.then(|| tokio::sync::Mutex::new(None)),
                })
            }
            (None, None) => Credentials::None,
        })
    }

    /// The HTTP client: `timeout` for each request, the trust `--cacert`/`--insecure` ask for.
    pub(super) fn http_client(
        &self,
        timeout: Duration,
        agent: &str,
    ) -> anyhow::Result<reqwest::Client> {
        let mut builder = crate::tls::client_builder()
            .timeout(timeout)
            .user_agent(agent);
        if let Some(path) = &self.cacert {
            let pem =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("{} holds no PEM certificate", path.display()))?;
            anyhow::ensure!(
                !certs.is_empty(),
                "{} holds no PEM certificate",
                path.display()
            );
            builder = builder.tls_certs_only(certs);
        }
        if self.insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        builder.build().context("cannot build the HTTP client")
    }
}

/// A credential from the command line, else from the environment, else typed on the terminal
/// without echo (rpassword reads the terminal itself, so piped standard input does not matter).
fn secret(
    given: Option<&str>,
    from_env: Option<&SecretString>,
    flag: &str,
    var: &str,
    prompt: &str,
) -> anyhow::Result<String> {
    if let Some(given) = given {
        return Ok(given.to_owned());
    }
    if let Some(value) = from_env {
        return Ok(value.expose_secret().to_owned());
    }
    rpassword::prompt_password(prompt).map_err(|e| {
        anyhow::anyhow!("give {flag}, set {var}, or run on a terminal to be asked ({e})")
    })
}

impl Credentials {
    /// `request` with these credentials: Basic, or a Bearer token (fetched if need be).
    pub(super) async fn apply(
        &self,
        client: &reqwest::Client,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::RequestBuilder> {
        Ok(match self {
            Self::None => request,
            Self::Basic { user, password } => request.basic_auth(user, Some(password)),
            Self::OAuth(oauth) => {
                let (token, _) = oauth.token(client).await?;
                request.bearer_auth(token)
            }
        })
    }
}

impl OAuth {
    /// A token, and whether it was fetched just now.
    pub(super) async fn token(&self, client: &reqwest::Client) -> anyhow::Result<(String, bool)> {
        let Some(cached) = &self.cached else {
            return self.fetch(client).await.map(|(token, _)| (token, true));
        };
        let mut cached = cached.lock().await;
        if let Some((token, renew_at)) = &*cached
            && Instant::now() < *renew_at
        {
            return Ok((token.clone(), false));
        }
        let (token, expires_in) = self.fetch(client).await?;
        let margin = expires_in.saturating_sub(30).max(expires_in / 2);
        *cached = Some((token.clone(), Instant::now() + Duration::from_secs(margin)));
        Ok((token, true))
    }

    async fn fetch(&self, client: &reqwest::Client) -> anyhow::Result<(String, u64)> {
        let mut form = vec![("grant_type", "client_credentials")];
        let mut request = client.post(&self.token_url);
        match self.style {
            TokenAuth::Header => {
                request = request.basic_auth(&self.client_id, Some(&self.client_secret));
            }
            TokenAuth::Body => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", &self.client_secret));
            }
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}: {}", self.token_url, error_chain(&e)))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{} answered {status}: {}", self.token_url, text.trim());
        }
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} did not answer JSON: {text}", self.token_url))?;
        let token = json["access_token"]
            .as_str()
            .with_context(|| format!("{} answered no access_token: {text}", self.token_url))?;
        let expires_in = json["expires_in"].as_u64().unwrap_or(0);
        Ok((token.to_owned(), expires_in))
    }
}

/// An error with its causes, which is where reqwest says what went wrong with TLS.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
