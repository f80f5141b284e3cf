//! The command line: `iflowd serve`, `check-config`, `parse`, `messages`, `hash-password`,
//! `healthcheck`, `cert`, `send`, `service-key`, `replay`.

mod cert;
mod client;
mod healthcheck;
mod messages;
mod parse;
mod replay;
mod send;
mod serve;
mod service_key;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, Env};

#[derive(Debug, Parser)]
#[command(
    name = "iflowd",
    version,
    about = "Receive SuccessFactors ISC events like an SAP Cloud Integration iFlow endpoint"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default when no command is given).
    Serve {
        /// TOML configuration; without one, iflowd runs on its built-in defaults.
        #[arg(long, short, env = "IFLOWD_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate a configuration file without starting anything.
    CheckConfig { file: PathBuf },
    /// Print the typed events of a SOAP envelope as JSON, the shape handlers emit.
    Parse {
        /// The envelope (a file with the request body).
        file: PathBuf,
        /// Use this configuration's [events] type strings.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the latest entries of the message log as a table (`--follow` to keep printing
    /// them), or one entry in full (`messages show <MessageGuid>`).
    Messages(messages::MessagesArgs),
    /// Read a password from standard input and print an argon2 hash for `password_hash`.
    HashPassword,
    /// Exit 0 when the server on IFLOWD_LISTEN answers /health (for container health checks).
    Healthcheck {
        /// Check this URL instead, e.g. http://127.0.0.1:8080/health.
        #[arg(long)]
        url: Option<String>,
    },
    /// Write a self-signed certificate and key (DIR/cert.pem, DIR/key.pem) for [tls].
    Cert {
        /// A DNS name or IP address the certificate is for; repeat for more.
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
        /// The directory to write into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Post envelopes to an endpoint like SuccessFactors does (Basic, or OAuth client
    /// credentials then Bearer); exits 0 when every post was acknowledged.
    Send(send::SendArgs),
    /// Print the service key (the JSON of a BTP Process Integration Runtime key) of an OAuth
    /// client, with iflowd's URLs, for a monitoring tool to be configured with.
    ServiceKey {
        /// The client's id (`[[oauth_clients]] id`).
        client_id: String,
        /// The configuration that defines it.
        #[arg(long, short, env = "IFLOWD_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run stored messages again through a running server: replay them as new messages, or
    /// (--retry) queue ESCALATED ones again; prints the new ids.
    Replay(replay::ReplayArgs),
}

/// Runs the command line; `main` only calls this.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve { config: None }) {
        Command::Serve { config } => serve::run(config),
        Command::CheckConfig { file } => check_config(&file),
        Command::Parse { file, config } => parse::run(&file, config.as_deref()),
        Command::Messages(args) => messages::run(args),
        Command::HashPassword => hash_password(),
        Command::Healthcheck { url } => healthcheck::run(url.as_deref()),
        Command::Cert { hosts, out, force } => cert::run(&hosts, &out, force),
        Command::Send(args) => send::run(args),
        Command::ServiceKey { client_id, config } => {
            service_key::run(&client_id, config.as_deref())
        }
        Command::Replay(args) => replay::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("iflowd: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Validates `file` exactly as `iflowd serve` does before it binds its port (the same loading,
/// `${VAR}` expansion and checks, then the `[tls]` files read and parsed), without creating
/// anything: "ok" means `serve` starts with this file in this environment.
fn check_config(file: &std::path::Path) -> anyhow::Result<()> {
    let loaded = config::load(Some(file), &Env::from_process())?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let config = &loaded.config;
    if let Some(tls) = &config.tls {
        crate::tls::server_config(tls).with_context(|| file.display().to_string())?;
    }
    println!(
        "{}: ok ({} endpoint{}, {} user{}, {} handler{})",
        file.display(),
        config.endpoints.len(),
        plural(config.endpoints.len()),
        config.users.len(),
        plural(config.users.len()),
        config.handlers.len(),
        plural(config.handlers.len()),
    );
    if !config.oauth_clients.is_empty() || config.tls.is_some() {
        println!(
            "  {} OAuth client{}, {}",
            config.oauth_clients.len(),
            plural(config.oauth_clients.len()),
            if config.tls.is_some() {
                "HTTPS"
            } else {
                "plain HTTP"
            }
        );
    }
    Ok(())
}

fn hash_password() -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    let hash = crate::auth::hash_password(password).map_err(anyhow::Error::msg)?;
    println!("{hash}");
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
