//! `iflowd healthcheck`: a `GET /health` over plain TCP, so a container image needs no curl.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::config::Env;

const TIMEOUT: Duration = Duration::from_secs(3);

pub fn run(url: Option<&str>) -> anyhow::Result<()> {
    let (authority, path) = match url {
        Some(url) => split_url(url)?,
        None => (local_authority(), "/health".to_owned()),
    };
    let address: SocketAddr = authority
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {authority}"))?
        .next()
        .with_context(|| format!("{authority} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .with_context(|| format!("cannot connect to {address}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    // One write, so that a TLS port reads the whole request before it answers with an alert
    // and closes; should the write still fail, whatever came back decides first.
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let sent = stream.write_all(request.as_bytes());
    let mut head = Vec::with_capacity(12);
    let read = Read::take(&mut stream, 12).read_to_end(&mut head);
    if speaks_tls(&head) {
        bail!(
            "{authority} speaks TLS (it answered plain HTTP with a TLS alert); healthcheck speaks \
             plain HTTP only: add a plain listener with [tls] http_listen and check that, \
             e.g. --url http://127.0.0.1:8081/health"
        );
    }
    sent.with_context(|| format!("cannot send the request to {authority}"))?;
    read.with_context(|| format!("no answer from {authority}"))?;
    match head.get(..5) {
        Some(b"HTTP/") if head.len() == 12 => {
            let status = String::from_utf8_lossy(&head[9..12]).into_owned();
            if status != "200" {
                bail!("{path} answered {status}");
            }
            Ok(())
        }
        _ if head.is_empty() => bail!("no answer from {authority}: it closed the connection"),
        _ => bail!("{authority} did not answer with HTTP"),
    }
}

/// A TLS record header: content type alert (21) or handshake (22), then major version 3. What a
/// TLS server sends to a client that speaks plain HTTP to it.
fn speaks_tls(head: &[u8]) -> bool {
    matches!(head, [21 | 22, 3, ..])
}

/// Where the local server listens: `IFLOWD_LISTEN`, with an unspecified address replaced by
/// loopback.
fn local_authority() -> String {
    let listen = Env::from_process()
        .listen
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    match listen.parse::<SocketAddr>() {
        Ok(mut address) => {
            if address.ip().is_unspecified() {
                address.set_ip(if address.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            address.to_string()
        }
        Err(_) => listen,
    }
}

fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    if url.starts_with("https://") {
        bail!(
            "{url}: healthcheck speaks plain HTTP only; with [tls], add a plain listener \
             ([tls] http_listen) and check that, e.g. --url http://127.0.0.1:8081/health"
        );
    }
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: only http:// URLs can be checked"))?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/"), |(a, p)| (a, p));
    let path = if path == "/" {
        "/".to_owned()
    } else {
        format!("/{path}")
    };
    Ok((authority.to_owned(), path))
}
