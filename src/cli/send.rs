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
use clap::Args;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use super::client::{ClientArgs, Credentials, error_chain};
use crate::http::{DUPLICATE_OF_HEADER, MESSAGE_ID_HEADER};
use crate::soap::answer::{Answer, read_answer};
use crate::soap::rewrite::with_external_event_id;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The endpoint URL, e.g. https://localhost:8443/cxf/isc/events.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    client: ClientArgs,
    /// Fetch one token and reuse it until shortly before it expires, instead of one per post.
    #[arg(long)]
    reuse_token: bool,
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

/// How one post went.
struct Report {
    acknowledged: bool,
    elapsed: Duration,
    line: String,
}

pub fn run(args: SendArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.repeat > 0, "--repeat must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(send(args))
}

async fn send(args: SendArgs) -> anyhow::Result<()> {
    let files = read_files(&args)?;
    let client = args.client.http_client(
        Duration::from_secs(args.timeout),
        concat!("iflowd-send/", env!("CARGO_PKG_VERSION")),
    )?;
    let credentials = args.client.credentials(args.reuse_token)?;
    // No charset parameter: each file's byte order mark or XML declaration says how it is
    // encoded (RFC 7303), so a Latin-1 or UTF-16 envelope is sent as it is, not relabelled.
    let content_type = if args.soap12 {
        "application/soap+xml"
    } else {
        "text/xml"
    };
    let total = files.len() * args.repeat;
    let posts = Arc::new(Posts {
        client,
        credentials,
        files,
        url: args.url.clone(),
        content_type,
        fresh_ids: args.fresh_ids,
        total,
        next: AtomicUsize::new(0),
    });
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..args.concurrency.min(total) {
        tokio::spawn(Arc::clone(&posts).worker(tx.clone()));
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
    println!("{}", summary(total, failed, started.elapsed(), latencies));
    if failed > 0 {
        bail!("{failed} of {total} posts were not acknowledged");
    }
    Ok(())
}

/// Every file named, read once; with `--fresh-ids`, each must have an id `send` can replace.
fn read_files(args: &SendArgs) -> anyhow::Result<Vec<(String, bytes::Bytes)>> {
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
    Ok(files)
}

/// What the concurrent posters share: the client, the files, and the next post to make.
struct Posts {
    client: reqwest::Client,
    credentials: Credentials,
    files: Vec<(String, bytes::Bytes)>,
    url: String,
    content_type: &'static str,
    fresh_ids: bool,
    total: usize,
    next: AtomicUsize,
}

impl Posts {
    /// One poster: takes the next post until all are made, reporting each on `tx`.
    async fn worker(self: Arc<Self>, tx: tokio::sync::mpsc::UnboundedSender<Report>) {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.total {
                break;
            }
            let (name, body) = &self.files[index % self.files.len()];
            let body = if self.fresh_ids {
                let id = format!("iflowd-send-{:032x}", rand::random::<u128>());
                with_external_event_id(body, &id).map_or_else(|| body.clone(), bytes::Bytes::from)
            } else {
                body.clone()
            };
            let report = post(
                &self.client,
                &self.credentials,
                &self.url,
                self.content_type,
                body,
            )
            .await;
            let line = format!("[{}/{}] {name} {}", index + 1, self.total, report.line);
            if tx.send(Report { line, ..report }).is_err() {
                break;
            }
        }
    }
}

/// The closing line: counts, rate and latency.
fn summary(total: usize, failed: usize, wall: Duration, mut latencies: Vec<Duration>) -> String {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{total} post{}: {} acknowledged, {failed} not, in {:.2} s ({:.1} posts/s); latency min {:.1} ms, median {:.1} ms, max {:.1} ms",
        if total == 1 { "" } else { "s" },
        total - failed,
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64().max(1e-9),
        latencies.first().map_or(0.0, |d| ms(*d)),
        latencies.get(latencies.len() / 2).map_or(0.0, |d| ms(*d)),
        latencies.last().map_or(0.0, |d| ms(*d)),
    )
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
