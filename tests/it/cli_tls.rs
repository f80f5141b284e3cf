//! The binary with `[tls]` and OAuth clients, as a user runs it: `iflowd cert`, `iflowd serve`
//! printing its https URLs and token endpoint, `iflowd send` and `iflowd healthcheck` against it
//! (and against its TLS port, which it explains), and a clean stop on SIGTERM.

use std::process::Stdio;

use crate::common::fixtures_dir;
use crate::common::process::{banner, iflowd, run, stop_with_sigterm, url_starting};

#[tokio::test]
async fn iflowd_cert_writes_a_certificate_and_key_and_will_not_overwrite_them_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tls");
    let cert = || {
        let mut command = iflowd();
        command
            .args(["cert", "--host", "localhost", "--out"])
            .arg(&out);
        command
    };
    let (ok, stdout, err) = run(&mut cert()).await;
    assert!(ok, "{err}");
    assert!(
        stdout.contains("[tls]") && stdout.contains("cert.pem"),
        "{stdout}"
    );
    let first = std::fs::read_to_string(out.join("cert.pem")).unwrap();
    assert!(first.starts_with("-----BEGIN CERTIFICATE-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is private: {mode:o}");
    }

    let (ok, _, err) = run(&mut cert()).await;
    assert!(!ok);
    assert!(err.contains("exists; pass --force"), "{err}");
    let (ok, _, err) = run(cert().arg("--force")).await;
    assert!(ok, "{err}");
    assert_ne!(
        std::fs::read_to_string(out.join("cert.pem")).unwrap(),
        first
    );
}

/// A private key written into a git work tree is one `git add .` away from a commit: `cert`
/// warns, unless git ignores it; outside a work tree there is nothing to say.
#[tokio::test]
async fn iflowd_cert_warns_when_git_would_commit_the_key() {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let mut command = tokio::process::Command::new("git");
        command.args(args).current_dir(repo.path());
        command
    };
    let (ok, _, err) = run(&mut git(&["init", "--quiet"])).await;
    assert!(ok, "{err}");
    let cert = |force: bool| {
        let mut command = iflowd();
        command
            .args(["cert", "--host", "localhost", "--out", "tls"])
            .current_dir(repo.path());
        if force {
            command.arg("--force");
        }
        command
    };
    let (ok, _, err) = run(&mut cert(false)).await;
    assert!(ok, "{err}");
    assert!(
        err.contains("warning: tls/key.pem is a private key inside a git work tree")
            && err.contains("add it (or tls/) to .gitignore"),
        "{err}"
    );

    std::fs::write(repo.path().join(".gitignore"), "tls/\n").unwrap();
    let (ok, _, err) = run(&mut cert(true)).await;
    assert!(ok, "{err}");
    assert_eq!(err, "", "ignored: nothing to warn about");

    let elsewhere = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(iflowd()
        .args(["cert", "--host", "localhost", "--out", "tls"])
        .current_dir(elsewhere.path()))
    .await;
    assert!(ok, "{err}");
    assert_eq!(err, "", "not in a work tree: nothing to warn about");
}

#[tokio::test]
async fn serve_with_tls_and_oauth_prints_https_urls_and_the_token_endpoint_and_answers_there() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(iflowd()
        .args(["cert", "--host", "127.0.0.1", "--out"])
        .arg(dir.path()))
    .await;
    assert!(ok, "{err}");
    let config = dir.path().join("iflowd.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = "127.0.0.1:0"
data_dir = "{data}"

[[users]]
name = "isc"
password = "user-secret"

[[oauth_clients]]
id = "sb-isc-connector"
secret = "client-secret"

[tls]
cert = "{dir}/cert.pem"
key = "{dir}/key.pem"
http_listen = "127.0.0.1:0"
"#,
            data = dir.path().join("data").display(),
            dir = dir.path().display()
        ),
    )
    .unwrap();
    let (ok, out, err) = run(iflowd().arg("check-config").arg(&config)).await;
    assert!(ok, "{err}");
    assert!(out.contains("1 OAuth client, HTTPS"), "{out}");

    let mut child = iflowd()
        .args(["serve", "--config"])
        .arg(&config)
        .env("IFLOWD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let banner = banner(&mut child).await;
    let https = url_starting(&banner, "https://127.0.0.1:");
    let http = url_starting(&banner, "http://127.0.0.1:");
    assert!(
        banner.contains(&format!("OAuth token endpoint: {https}/oauth/token")),
        "{banner}"
    );
    assert!(banner.contains("curl --cacert "), "{banner}");

    let cacert = dir.path().join("cert.pem").display().to_string();
    let fixture = fixtures_dir().join("hire.xml").display().to_string();
    let (ok, out, err) = run(iflowd().args([
        "send",
        "--url",
        &format!("{https}/cxf/isc/events"),
        "--token-url",
        &format!("{https}/oauth/token"),
        "--client-id",
        "sb-isc-connector",
        "--client-secret",
        "client-secret",
        "--token-auth",
        "body",
        "--cacert",
        &cacert,
        &fixture,
    ]))
    .await;
    assert!(ok, "{out}\n{err}");
    assert!(dir.path().join("data/oauth-signing.key").exists());

    let (ok, _, err) =
        run(iflowd().args(["healthcheck", "--url", &format!("{http}/health")])).await;
    assert!(ok, "{err}");
    // Pointed at the TLS port, healthcheck says what is wrong and what to do.
    let tls_port = https.replace("https://", "http://");
    let (ok, _, err) =
        run(iflowd().args(["healthcheck", "--url", &format!("{tls_port}/health")])).await;
    assert!(!ok);
    assert!(
        err.contains("speaks TLS") && err.contains("http_listen"),
        "{err}"
    );
    let (ok, _, err) =
        run(iflowd().args(["healthcheck", "--url", &format!("{https}/health")])).await;
    assert!(!ok);
    assert!(
        err.contains("plain HTTP only") && err.contains("http_listen"),
        "{err}"
    );

    stop_with_sigterm(&mut child).await;
}
