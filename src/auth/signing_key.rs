//! The token signing key: from `[oauth] signing_key`, or generated once and kept in the data
//! directory so that tokens survive a restart and instances sharing the directory agree.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

/// The file name of the generated key inside `data_dir`.
pub const KEY_FILE: &str = "oauth-signing.key";

/// Why the signing key could not be had, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("OAuth signing key {path}: {message}")]
pub struct KeyError {
    pub path: PathBuf,
    pub message: String,
}

/// The configured key, or the one in `data_dir` (created with 256 random bits if missing).
pub fn load_or_create(
    configured: Option<&SecretString>,
    data_dir: &Path,
) -> Result<Vec<u8>, KeyError> {
    if let Some(key) = configured {
        return Ok(key.expose_secret().as_bytes().to_vec());
    }
    let path = data_dir.join(KEY_FILE);
    let error = |message: String| KeyError {
        path: path.clone(),
        message,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => return decode(&text).map_err(error),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(error(format!("cannot read it: {e}"))),
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| error(format!("cannot create the data directory: {e}")))?;
    let key: [u8; 32] = rand::random();
    // Written to a private temporary file, then hard-linked into place: an instance starting at
    // the same moment either wins the link or reads the winner's complete file.
    let temporary = data_dir.join(format!(".{KEY_FILE}.{}", std::process::id()));
    write_private(&temporary, URL_SAFE_NO_PAD.encode(key).as_bytes())
        .map_err(|e| error(format!("cannot write it: {e}")))?;
    let linked = std::fs::hard_link(&temporary, &path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new OAuth signing key");
            Ok(key.to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| error(format!("cannot read it: {e}")))?;
            decode(&text).map_err(error)
        }
        Err(e) => Err(error(format!("cannot create it: {e}"))),
    }
}

fn decode(text: &str) -> Result<Vec<u8>, String> {
    let key = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| "is not base64url text; delete it to have a new key generated".to_owned())?;
    if key.len() < 32 {
        return Err("holds fewer than 32 bytes; delete it to have a new key generated".to_owned());
    }
    Ok(key)
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
