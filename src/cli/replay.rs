//! `iflowd replay`: runs stored messages again through a running server's monitoring API.
//!
//! Each message is replayed (`POST .../Replay`: a new message linked to the original) or, with
//! `--retry`, queued again itself (`POST .../Retry`, ESCALATED messages only). The messages are
//! named, or chosen with `--all --status S [--endpoint E]` from `MessageProcessingLogs` (every
//! page is read before the first is replayed, so the replays never join the list). Credentials
//! as `iflowd send` takes them; the user needs `MonitoringDataRead` and `MessageReplay`. Prints
//! one line per message (the new id for a replay); fails when any could not be run.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

use super::client::{ClientArgs, Credentials, error_chain};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The server's base URL, e.g. http://localhost:8080.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    client: ClientArgs,
    /// Every message with the status `--status` (optionally of `--endpoint`).
    #[arg(long, requires = "status", conflicts_with = "ids")]
    all: bool,
    /// With `--all`: the status of the messages, e.g. ESCALATED.
    #[arg(long, requires = "all")]
    status: Option<String>,
    /// With `--all`: only this endpoint's (IntegrationFlowName) messages.
    #[arg(long, requires = "all")]
    endpoint: Option<String>,
    /// Queue ESCALATED messages again themselves (their attempts go on) instead of replaying
    /// them as new messages.
    #[arg(long)]
    retry: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// The messages (MessageGuid) to run again.
    #[arg(required_unless_present = "all")]
    ids: Vec<String>,
}

/// The server's API, and how to call it.
struct Api {
    client: reqwest::Client,
    credentials: Credentials,
    base: String,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(replay(args))
}

async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let api = Api {
        client: args.client.http_client(
            Duration::from_secs(args.timeout),
            concat!("iflowd-replay/", env!("CARGO_PKG_VERSION")),
        )?,
        credentials: args.client.credentials(false)?,
        base: format!("{}/api/v1", args.url.trim_end_matches('/')),
    };
    let ids = match &args.status {
        Some(status) if args.all => api.matching(status, args.endpoint.as_deref()).await?,
        _ => args.ids.clone(),
    };
    let operation = if args.retry { "Retry" } else { "Replay" };
    let mut failed = 0;
    for id in &ids {
        match api.call(id, operation).await {
            Ok(new) if args.retry => println!("{id} queued again ({new})"),
            Ok(new) => println!("{id} -> {new}"),
            Err(error) => {
                eprintln!("{id}: {error:#}");
                failed += 1;
            }
        }
    }
    let done = ids.len() - failed;
    let verb = if args.retry { "retried" } else { "replayed" };
    println!(
        "{done} of {} message{} {verb}",
        ids.len(),
        plural(ids.len())
    );
    if failed > 0 {
        bail!("{failed} of {} messages could not be {verb}", ids.len());
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An OData string literal: quoted, quotes doubled.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Api {
    /// GETs `url` with the credentials: the JSON of a 200, else the server's error.
    async fn get(&self, url: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let mut url = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let request = self.client.get(url.as_str());
        let request = self.credentials.apply(&self.client, request).await?;
        answer(request, url.as_str()).await
    }

    /// The ids of every message with `status` (and of `endpoint`), every page read.
    async fn matching(&self, status: &str, endpoint: Option<&str>) -> anyhow::Result<Vec<String>> {
        let mut filter = format!("Status eq {}", literal(&status.to_ascii_uppercase()));
        if let Some(endpoint) = endpoint {
            filter.push_str(&format!(
                " and IntegrationFlowName eq {}",
                literal(endpoint)
            ));
        }
        let first = format!("{}/MessageProcessingLogs", self.base);
        let query = vec![
            ("$filter", filter),
            ("$select", "MessageGuid".to_owned()),
            ("$orderby", "LogStart".to_owned()),
            ("$format", "json".to_owned()),
        ];
        let mut ids = Vec::new();
        let mut page = self.get(&first, &query).await?;
        loop {
            let results = page["d"]["results"]
                .as_array()
                .context("the server's answer has no d.results")?;
            ids.extend(
                results
                    .iter()
                    .filter_map(|e| e["MessageGuid"].as_str().map(str::to_owned)),
            );
            let Some(next) = page["d"]["__next"].as_str().map(str::to_owned) else {
                return Ok(ids);
            };
            page = self.get(&next, &[]).await?;
        }
    }

    /// POSTs `operation` (`Replay` or `Retry`) for message `id`: the id in the answer.
    async fn call(&self, id: &str, operation: &str) -> anyhow::Result<String> {
        let url = format!(
            "{}/MessageProcessingLogs({})/{operation}",
            self.base,
            literal(id)
        );
        let request = self.client.post(&url);
        let request = self.credentials.apply(&self.client, request).await?;
        let json = answer(request, &url).await?;
        json["d"]["MessageGuid"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("{url} answered no MessageGuid: {json}"))
    }
}

/// Sends `request`: the JSON of a success, else an error with the server's message.
async fn answer(request: reqwest::RequestBuilder, url: &str) -> anyhow::Result<Value> {
    let response = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {}", error_chain(&e)))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let json: Option<Value> = serde_json::from_str(&text).ok();
    if !status.is_success() {
        let message = json
            .as_ref()
            .and_then(|j| j["error"]["message"]["value"].as_str())
            .map_or_else(|| text.trim().to_owned(), str::to_owned);
        bail!("{status}: {message}");
    }
    json.with_context(|| format!("{url} did not answer JSON: {text}"))
}
