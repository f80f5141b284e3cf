//! `iflowd serve` as a supervisor sees it: signals around start-up.

use std::process::Stdio;

use crate::common::process::{BOUND, iflowd};

/// A SIGTERM sent the moment the banner's first line is read (a supervisor that starts and
/// stops at once) is a clean stop: the handler is in place before the banner is printed. The
/// signal goes straight from this process, twenty times over, to make the window hard to miss.
#[tokio::test]
async fn serve_stops_cleanly_on_a_sigterm_sent_as_soon_as_its_banner_starts() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use tokio::io::{AsyncBufReadExt, BufReader};

    let workdir = tempfile::tempdir().unwrap();
    for _ in 0..20 {
        let mut child = iflowd()
            .arg("serve")
            .current_dir(workdir.path())
            .env("IFLOWD_LISTEN", "127.0.0.1:0")
            .env("IFLOWD_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(BOUND, lines.next_line())
            .await
            .expect("banner printed")
            .unwrap()
            .unwrap_or_default();
        assert!(first.contains("listening on"), "{first}");
        let pid = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
        kill(pid, Signal::SIGTERM).unwrap();
        let status = tokio::time::timeout(BOUND, child.wait())
            .await
            .expect("stops")
            .unwrap();
        assert!(status.success(), "{status:?}");
    }
}
