//! The README's commands, pasted in order: the `sh` block marked `<!-- readme-test: server -->`
//! runs in one shell (the first terminal), the blocks marked `<!-- readme-test: client -->` one
//! after the other in a second shell, both in a directory that looks like the repository
//! (`fixtures/` in it). `cargo run --release --` is the built binary; the only other difference
//! from a user's paste is the port, which the README lets `IFLOWD_LISTEN` choose: the server gets
//! `127.0.0.1:0`, the client shell the address the server's banner names.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use crate::common::process::{BIN, BOUND, banner, stop_with_sigterm, url_starting};
use crate::common::{element_text, fixture};

const CARGO_RUN: &str = "cargo run --release --";

/// The `sh` blocks that follow each `<!-- readme-test: {role} -->` marker, in order.
fn blocks(readme: &str, role: &str) -> Vec<String> {
    let marker = format!("<!-- readme-test: {role} -->");
    let mut found = Vec::new();
    let mut rest = readme;
    while let Some(at) = rest.find(&marker) {
        let after = rest[at + marker.len()..].trim_start();
        let body = after
            .strip_prefix("```sh\n")
            .unwrap_or_else(|| panic!("{marker} is not followed by a ```sh block"));
        let end = body.find("\n```").expect("the block ends");
        found.push(body[..end].to_owned());
        rest = &body[end..];
    }
    found
}

/// A shell with none of the caller's `IFLOWD_*` variables, in `dir`.
fn shell(dir: &Path, script: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .kill_on_drop(true);
    for name in [
        "IFLOWD_LISTEN",
        "IFLOWD_USER",
        "IFLOWD_PASSWORD",
        "IFLOWD_CONFIG",
        "IFLOWD_LOG",
    ] {
        command.env_remove(name);
    }
    command
}

#[tokio::test]
async fn the_readme_commands_work_when_pasted_in_order() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let server_blocks = blocks(&readme, "server");
    assert_eq!(server_blocks.len(), 1, "one server block");
    let server_block = &server_blocks[0];
    let last = server_block.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(CARGO_RUN),
        "the server block ends by starting iflowd: {last}"
    );
    let client = blocks(&readme, "client").join("\n");
    assert!(client.contains("curl"), "{client}");

    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"),
        dir.path().join("fixtures"),
    )
    .unwrap();

    // The first terminal; `exec` so that the shell becomes iflowd and SIGTERM reaches it.
    let script = server_block.replace(CARGO_RUN, &format!("exec {BIN}"));
    let mut server = shell(dir.path(), &script)
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let banner = banner(&mut server).await;
    let base = url_starting(&banner, "http://127.0.0.1:");
    let listen = base.trim_start_matches("http://");

    // The second terminal.
    let output = tokio::time::timeout(
        BOUND,
        shell(dir.path(), &client.replace(CARGO_RUN, BIN))
            .env("IFLOWD_LISTEN", listen)
            .output(),
    )
    .await
    .expect("the client commands finish")
    .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{out}\n{err}");

    // The first event: acknowledged as the README shows.
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    assert!(out.contains("sap_messageprocessinglogid: "), "{out}");
    assert_eq!(element_text(&out, "status"), Some("200"), "{out}");
    // The broken envelope is in the table of `iflowd messages --status FAILED`, with its id...
    let id = out
        .lines()
        .find(|l| l.contains(" FAILED ") && l.contains(" ISC_Events "))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no FAILED entry in the table:\n{out}"));
    assert!(id.starts_with("AG") && id.len() == 28, "{id}");
    // ...which $id held for the monitoring API: the entry, its error, the body it was sent.
    assert!(out.contains(&format!("\"MessageGuid\":\"{id}\"")), "{out}");
    assert!(out.contains("\"Status\":\"FAILED\""), "{out}");
    assert!(out.contains("the request is not well-formed XML"), "{out}");
    let malformed = String::from_utf8(fixture("malformed.xml")).unwrap();
    assert!(out.contains(malformed.trim_end()), "{out}");
    assert!(!out.contains("\"error\""), "no command got an error: {out}");

    stop_with_sigterm(&mut server).await;
}
