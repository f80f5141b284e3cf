//! `iflowd cert`: a self-signed certificate and key for a sandbox HTTPS listener.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

pub fn run(hosts: &[String], out: &Path, force: bool) -> anyhow::Result<()> {
    if hosts.iter().any(|h| h.trim().is_empty()) {
        bail!("--host must not be empty");
    }
    let files = crate::tls::self_signed(hosts).context("cannot generate the certificate")?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let cert = out.join("cert.pem");
    let key = out.join("key.pem");
    if !force {
        for path in [&cert, &key] {
            if path.exists() {
                bail!("{} exists; pass --force to replace it", path.display());
            }
        }
    }
    write(&cert, files.cert_pem.as_bytes(), 0o644)?;
    write(&key, files.key_pem.as_bytes(), 0o600)?;
    println!(
        "wrote {} and {} (self-signed, ECDSA P-256) for {}",
        cert.display(),
        key.display(),
        hosts.join(", ")
    );
    println!("add to the configuration:");
    println!("  [tls]");
    println!("  cert = {:?}", absolute(&cert).display().to_string());
    println!("  key = {:?}", absolute(&key).display().to_string());
    println!(
        "clients trust it by trusting the certificate itself, e.g. curl --cacert {} or iflowd send --cacert {}",
        cert.display(),
        cert.display()
    );
    if committable(&key) {
        eprintln!(
            "warning: {} is a private key inside a git work tree, and git does not ignore it: \
             add it (or {}/) to .gitignore so that it is never committed",
            key.display(),
            out.display()
        );
    }
    Ok(())
}

/// Whether git would offer to commit `path`: it is inside a work tree and no ignore rule covers
/// it. git itself answers (its ignore rules have many sources); without git, or outside a work
/// tree, the answer is no.
fn committable(path: &Path) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    // `git check-ignore` exits 0 when ignored, 1 when not, 128 outside a work tree.
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["check-ignore", "--quiet", "--"])
        .arg(name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.code() == Some(1))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn write(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
