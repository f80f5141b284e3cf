//! `iflowd send`: plays SuccessFactors against any endpoint (iflowd or a real CPI).
//!
//! Posts each file as a SOAP `ExternalEvent` call with Basic credentials, or fetches an OAuth
//! token first the way the ISC Event Connector does (client credentials in a Basic header, or
//! with `--token-auth body` in the form body like its "validate connection" check) and posts
//! with `Authorization: Bearer`. Prints one line per post (status, the acknowledgement or fault,
//! timing, the message id, and "duplicate of <id>" when iflowd answered it as a duplicate) and a
//! summary; succeeds when every post was acknowledged.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Env;
use crate::http::{DUPLICATE_OF_HEADER, MESSAGE_ID_HEADER};
use crate::soap::answer::{Answer, read_answer};
use crate::soap::rewrite::with_external_event_id;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The endpoint URL, e.g. https://localhost:8443/cxf/isc/events.
    #[arg(long)]
    url: String,
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
    /// Fetch one token and reuse it until shortly before it expires, instead of one per post.
    #[arg(long)]
    reuse_token: bool,
    /// Trust only this PEM certificate (or CA bundle) for HTTPS, e.g. the cert.pem of `iflowd cert`.
    #[arg(long, conflicts_with = "insecure")]
    cacert: Option<PathBuf>,
    /// Do not verify the server's certificate (sandboxes only).
    #[arg(long)]
    insecure: bool,
    /// Send every file this many times.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Give every post a new externalEventId, so repeats are new deliveries instead of
    /// duplicates (which iflowd, like CPI's idempotent process, answers without processing).
    #[arg(long)]
    fresh_ids: bool,
    /// Posts in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Send as SOAP 1.2 (application/soap+xml) instead of SOAP 1.1 (text/xml).
    #[arg(long)]
    soap12: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Print only the summary.
    #[arg(long)]
    quiet: bool,
    /// The envelopes to post (e.g. fixtures/change-in-manager.xml).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TokenAuth {
    Header,
    Body,
}

enum Credentials {
    None,
    Basic { user: String, password: String },
    OAuth(OAuth),
}

struct OAuth {
    token_url: String,
    client_id: String,
    client_secret: String,
    style: TokenAuth,
    /// With `--reuse-token`: the token and when to fetch a new one.
    cached: Option<tokio::sync::Mutex<Option<(String, Instant)>>>,
}

/// How one post went.
struct Report {
    acknowledged: bool,
    elapsed: Duration,
    line: String,
}

/// Basic or OAuth, as the arguments say, with the password or secret from the command line, the
/// environment or the terminal.
fn credentials(args: &SendArgs) -> anyhow::Result<Credentials> {
    let env = Env::from_process();
    Ok(match (&args.user, &args.token_url) {
        (Some(user), _) => Credentials::Basic {
            user: user.clone(),
            password: secret(
                args.password.as_deref(),
                env.send_password.as_ref(),
                "--password",
                "IFLOWD_SEND_PASSWORD",
                &format!("password for '{user}': "),
            )?,
        },
        (None, Some(token_url)) => {
            let client_id = args.client_id.clone().unwrap_or_default();
            Credentials::OAuth(OAuth {
                token_url: token_url.clone(),
                client_secret: secret(
                    args.client_secret.as_deref(),
                    env.send_client_secret.as_ref(),
                    "--client-secret",
                    "IFLOWD_SEND_CLIENT_SECRET",
                    &format!("client secret for '{client_id}': "),
                )?,
                client_id,
                style: args.token_auth,
                cached: args.reuse_token.then(|| tokio::sync::Mutex::new(None)),
            })
        }
        (None, None) => Credentials::None,
    })
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

pub fn run(args: SendArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.repeat > 0, "--repeat must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(send(args))
}

async fn send(args: SendArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for path in &args.files {
        let body =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if args.fresh_ids && with_external_event_id(&body, "probe").is_none() {
            anyhow::bail!(
                "--fresh-ids: {} has no externalEventId iflowd send can replace (it reads UTF-8 envelopes only); send it without --fresh-ids",
                path.display()
            );
        }
        files.push((path.display().to_string(), bytes::Bytes::from(body)));
    }
    let client = http_client(&args)?;
    let credentials = credentials(&args)?;
    // No charset parameter: each file's byte order mark or XML declaration says how it is
    // encoded (RFC 7303), so a Latin-1 or UTF-16 envelope is sent as it is, not relabelled.
    let content_type = if args.soap12 {
        "application/soap+xml"
    } else {
        "text/xml"
    };
    let total = files.len() * args.repeat;
    let fresh_ids = args.fresh_ids;
    let shared = Arc::new((client, credentials, files, args.url.clone(), content_type));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..args.concurrency.min(total) {
        let (shared, next, tx) = (Arc::clone(&shared), Arc::clone(&next), tx.clone());
        tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    break;
                }
                let (client, credentials, files, url, content_type) = &*shared;
                let (name, body) = &files[index % files.len()];
                let body = if fresh_ids {
                    let id = format!("iflowd-send-{:032x}", rand::random::<u128>());
                    with_external_event_id(body, &id)
                        .map_or_else(|| body.clone(), bytes::Bytes::from)
                } else {
                    body.clone()
                };
                let report = post(client, credentials, url, content_type, body).await;
                let line = format!("[{}/{total}] {name} {}", index + 1, report.line);
                if tx.send(Report { line, ..report }).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut latencies = Vec::with_capacity(total);
    let mut failed = 0;
    while let Some(report) = rx.recv().await {
        if !args.quiet || !report.acknowledged {
            println!("{}", report.line);
        }
        if !report.acknowledged {
            failed += 1;
        }
        latencies.push(report.elapsed);
    }
    let wall = started.elapsed();
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{total} post{}: {} acknowledged, {failed} not, in {:.2} s ({:.1} posts/s); latency min {:.1} ms, median {:.1} ms, max {:.1} ms",
        if total == 1 { "" } else { "s" },
        total - failed,
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64().max(1e-9),
        latencies.first().map_or(0.0, |d| ms(*d)),
        latencies.get(latencies.len() / 2).map_or(0.0, |d| ms(*d)),
        latencies.last().map_or(0.0, |d| ms(*d)),
    );
    if failed > 0 {
        bail!("{failed} of {total} posts were not acknowledged");
    }
    Ok(())
}

fn http_client(args: &SendArgs) -> anyhow::Result<reqwest::Client> {
    let mut builder = crate::tls::client_builder()
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!("iflowd-send/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} holds no PEM certificate", path.display()))?;
        anyhow::ensure!(
            !certs.is_empty(),
            "{} holds no PEM certificate",
            path.display()
        );
        builder = builder.tls_certs_only(certs);
    }
    if args.insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder.build().context("cannot build the HTTP client")
}

async fn post(
    client: &reqwest::Client,
    credentials: &Credentials,
    url: &str,
    content_type: &str,
    body: bytes::Bytes,
) -> Report {
    let started = Instant::now();
    let mut request = client
        .post(url)
        .header(CONTENT_TYPE, content_type)
        .header("SOAPAction", "\"\"")
        .body(body);
    let mut token_note = String::new();
    match credentials {
        Credentials::None => {}
        Credentials::Basic { user, password } => request = request.basic_auth(user, Some(password)),
        Credentials::OAuth(oauth) => {
            let fetch_started = Instant::now();
            match oauth.token(client).await {
                Ok((token, fetched)) => {
                    if fetched {
                        token_note = format!(
                            ", token {:.1} ms",
                            fetch_started.elapsed().as_secs_f64() * 1000.0
                        );
                    }
                    request = request.header(AUTHORIZATION, format!("Bearer {token}"));
                }
                Err(error) => {
                    return Report {
                        acknowledged: false,
                        elapsed: started.elapsed(),
                        line: format!("token request failed: {error:#}"),
                    };
                }
            }
        }
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            return Report {
                acknowledged: false,
                elapsed: started.elapsed(),
                line: format!("failed: {}", error_chain(&error)),
            };
        }
    };
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let message_id = header(MESSAGE_ID_HEADER);
    let duplicate_of = header(DUPLICATE_OF_HEADER);
    let text = response.text().await.unwrap_or_default();
    let elapsed = started.elapsed();
    let timing = format!("({:.1} ms{token_note})", elapsed.as_secs_f64() * 1000.0);
    let (acknowledged, what) = describe(status, &text);
    let id = message_id.map_or_else(String::new, |id| format!(" [MPL {id}]"));
    // iflowd names the original a duplicate repeats; it was not processed again.
    let duplicate = duplicate_of.map_or_else(String::new, |id| format!(", duplicate of {id}"));
    Report {
        acknowledged,
        elapsed,
        line: format!("-> {status} {timing}: {what}{id}{duplicate}"),
    }
}

/// Whether an answer acknowledges the post, and a one-line description of it.
fn describe(status: reqwest::StatusCode, text: &str) -> (bool, String) {
    if status.is_success() && text.trim().is_empty() {
        return (true, "accepted, empty answer (one-way)".to_owned());
    }
    match read_answer(text) {
        Ok(Some(answer)) => {
            let ok = status.is_success() && answer.is_success();
            let what = match &answer {
                Answer::Acknowledgement(p) => {
                    let mut parts = vec![format!(
                        "{} status={}",
                        if ok {
                            "acknowledged"
                        } else {
                            "error acknowledgement"
                        },
                        p.status.as_deref().unwrap_or("-")
                    )];
                    for (name, value) in [
                        ("statusDetails", &p.status_details),
                        ("errorCode", &p.error_code),
                        ("errorMessage", &p.error_message),
                        ("entityId", &p.entity_id),
                    ] {
                        if let Some(value) = value {
                            parts.push(format!("{name}={value:?}"));
                        }
                    }
                    parts.join(" ")
                }
                Answer::Fault { code, reason } => format!("SOAP fault {code}: {reason}"),
            };
            (ok, what)
        }
        _ => {
            let shown: String = text.trim().chars().take(300).collect();
            (false, format!("not an acknowledgement: {shown}"))
        }
    }
}

impl OAuth {
    /// A token, and whether it was fetched just now.
    async fn token(&self, client: &reqwest::Client) -> anyhow::Result<(String, bool)> {
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
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
