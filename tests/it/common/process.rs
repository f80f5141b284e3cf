//! The `iflowd` binary as a child process: a clean environment, a bounded run, the start-up
//! banner, and a stop on SIGTERM.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_iflowd");
/// Generous bound for a child process to do its (fast) work on a loaded CI machine.
pub const BOUND: Duration = Duration::from_secs(60);

/// A command with none of the caller's `IFLOWD_*` variables (nor the example's `HR_API_KEY`), so
/// the test sees only what it sets; killed if the test drops it.
pub fn iflowd() -> Command {
    let mut command = Command::new(BIN);
    for name in [
        "IFLOWD_LISTEN",
        "IFLOWD_USER",
        "IFLOWD_PASSWORD",
        "IFLOWD_CONFIG",
        "IFLOWD_LOG",
        "IFLOWD_SEND_PASSWORD",
        "IFLOWD_SEND_CLIENT_SECRET",
        "HR_API_KEY",
    ] {
        command.env_remove(name);
    }
    command.kill_on_drop(true);
    command
}

/// [`iflowd`] run by `wrapper` (e.g. `setsid -w`, so it has no controlling terminal), with the
/// same clean environment.
pub fn iflowd_via(wrapper: &[&str]) -> Command {
    let mut command = iflowd();
    let std = command.as_std_mut();
    let mut wrapped = Command::new(wrapper[0]);
    wrapped.args(&wrapper[1..]).arg(BIN);
    for (name, value) in std.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    wrapped.kill_on_drop(true);
    wrapped
}

/// `iflowd serve` plus `args`, started in `dir` as a user starts it there, on a port of its own
/// (`IFLOWD_LISTEN=127.0.0.1:0`): the child, once it listens, and its base URL from the banner.
pub async fn serve_in(dir: &Path, args: &[&str]) -> (Child, String) {
    let mut child = iflowd()
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("iflowd starts");
    let banner = banner(&mut child).await;
    let base = url_starting(&banner, "http://127.0.0.1:");
    (child, base)
}

/// Runs `command` to completion (within [`BOUND`]): success, standard output, standard error.
pub async fn run(command: &mut Command) -> (bool, String, String) {
    let output = tokio::time::timeout(BOUND, command.output())
        .await
        .expect("finishes")
        .expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Reads the start-up banner of `iflowd serve` from `child`'s piped standard output, up to and
/// including its ready-to-paste `curl` line.
pub async fn banner(child: &mut Child) -> String {
    let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let mut banner = Vec::new();
    tokio::time::timeout(BOUND, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.trim_start().starts_with("curl ");
            banner.push(line);
            if done {
                return;
            }
        }
        panic!(
            "the banner ended without a curl line:\n{}",
            banner.join("\n")
        );
    })
    .await
    .expect("banner printed");
    banner.join("\n")
}

/// The first word of `banner` that starts with `prefix` (a URL).
pub fn url_starting(banner: &str, prefix: &str) -> String {
    banner
        .split_whitespace()
        .find(|w| w.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} URL in:\n{banner}"))
        .to_owned()
}

/// Sends SIGTERM to `child` and asserts that it exits with success within [`BOUND`].
pub async fn stop_with_sigterm(child: &mut Child) {
    let pid = child.id().expect("running").to_string();
    let (killed, _, _) = run(Command::new("kill").args(["-TERM", &pid])).await;
    assert!(killed);
    let status = tokio::time::timeout(BOUND, child.wait())
        .await
        .expect("stops")
        .unwrap();
    assert!(status.success(), "{status:?}");
}
