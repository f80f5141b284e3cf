//! The certificates and keys iflowd holds, described as CPI's keystore describes its entries:
//! what the monitoring API's `KeystoreEntries` lists and what the certificate-expiry metric
//! watches.
//!
//! Read once at start-up from what the configuration names: the `[tls]` certificate chain (the
//! leaf, whose key iflowd holds, is alias `server`, type `KeyPair`; the certificates above it
//! `server_chain_1`, `server_chain_2`, ...), each certificate of `[tls] client_ca`
//! (`client_ca_1`, ...), and the OAuth token signing key (`oauth_signing_key`, type `SecretKey`),
//! which is described by its SHA-256 fingerprint only. Nothing secret leaves here: certificates
//! are public, and of the signing key only the fingerprint (which, like any token it signed,
//! does not give the key away) is kept.

use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::auth::TokenService;
use crate::config::Config;

/// What a keystore entry holds (CPI's `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    /// A certificate with its private key, which iflowd holds.
    KeyPair,
    /// A certificate only (a chain certificate, a trusted CA).
    Certificate,
    /// A symmetric key.
    SecretKey,
}

impl EntryType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyPair => "KeyPair",
            Self::Certificate => "Certificate",
            Self::SecretKey => "SecretKey",
        }
    }
}

/// One entry. Certificates have every field; the signing key only alias, type, key type and
/// size, fingerprint and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreEntry {
    pub alias: String,
    pub kind: EntryType,
    /// `RSA`, `EC`, `HMAC`...
    pub key_type: Option<String>,
    /// In bits.
    pub key_size: Option<u32>,
    pub signature_algorithm: Option<String>,
    /// The certificate's serial number, in decimal.
    pub serial: Option<String>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub not_before: Option<OffsetDateTime>,
    pub not_after: Option<OffsetDateTime>,
    /// SHA-256 of the DER certificate (of the key bytes for the signing key), lowercase hex.
    pub fingerprint_sha256: String,
    /// When the file it came from last changed (for a configured signing key: the start).
    pub modified: OffsetDateTime,
}

/// Why the keystore could not be read, naming the key and the file.
#[derive(Debug, thiserror::Error)]
#[error("{key} {path}: {message}")]
pub struct KeystoreError {
    pub key: &'static str,
    pub path: PathBuf,
    pub message: String,
}

/// The entries, in the order described in the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Keystore {
    entries: Vec<KeystoreEntry>,
}

impl Keystore {
    /// Reads the `[tls]` files of `config` and describes the signing key of `tokens` (there are
    /// tokens when OAuth clients are configured). `started` stands in for the time of things
    /// that have no file.
    pub fn read(
        config: &Config,
        tokens: Option<&TokenService>,
        started: OffsetDateTime,
    ) -> Result<Self, KeystoreError> {
        let mut entries = Vec::new();
        if let Some(tls) = &config.tls {
            let chain = certificates("tls.cert", &tls.cert)?;
            for (i, der) in chain.iter().enumerate() {
                let (alias, kind) = match i {
                    0 => ("server".to_owned(), EntryType::KeyPair),
                    n => (format!("server_chain_{n}"), EntryType::Certificate),
                };
                entries.push(describe("tls.cert", &tls.cert, alias, kind, der)?);
            }
            if let Some(ca) = &tls.client_ca {
                for (i, der) in certificates("tls.client_ca", ca)?.iter().enumerate() {
                    let alias = format!("client_ca_{}", i + 1);
                    entries.push(describe(
                        "tls.client_ca",
                        ca,
                        alias,
                        EntryType::Certificate,
                        der,
                    )?);
                }
            }
        }
        if let Some(tokens) = tokens {
            let modified = match &config.oauth.signing_key {
                Some(_) => started,
                None => modified(&config.data_dir.join(crate::auth::signing_key::KEY_FILE))
                    .unwrap_or(started),
            };
            entries.push(KeystoreEntry {
                alias: "oauth_signing_key".to_owned(),
                kind: EntryType::SecretKey,
                key_type: Some("HMAC".to_owned()),
                key_size: Some(tokens.key_bits()),
                signature_algorithm: Some("HS256".to_owned()),
                serial: None,
                subject: None,
                issuer: None,
                not_before: None,
                not_after: None,
                fingerprint_sha256: tokens.fingerprint().to_owned(),
                modified,
            });
        }
        Ok(Self { entries })
    }

    pub fn entries(&self) -> &[KeystoreEntry] {
        &self.entries
    }
}

/// `alias` in hexadecimal, as CPI keys its keystore entries (`Hexalias`).
pub fn hex_alias(alias: &str) -> String {
    hex(alias.as_bytes())
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn modified(path: &Path) -> Option<OffsetDateTime> {
    let time = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(OffsetDateTime::from(time))
}

fn certificates(
    key: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, KeystoreError> {
    let error = |message: String| KeystoreError {
        key,
        path: path.to_path_buf(),
        message,
    };
    CertificateDer::pem_file_iter(path)
        .map_err(|e| error(format!("cannot read PEM certificates ({e})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("is not valid PEM ({e})")))
}

/// The entry of one DER certificate.
fn describe(
    key: &'static str,
    path: &Path,
    alias: String,
    kind: EntryType,
    der: &CertificateDer<'_>,
) -> Result<KeystoreEntry, KeystoreError> {
    let (_, certificate) = X509Certificate::from_der(der).map_err(|e| KeystoreError {
        key,
        path: path.to_path_buf(),
        message: format!("{alias} is not an X.509 certificate ({e})"),
    })?;
    let registry = x509_parser::objects::oid_registry();
    let public_key = certificate.public_key();
    let key_type = match public_key.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(_)) => "RSA".to_owned(),
        Ok(x509_parser::public_key::PublicKey::EC(_)) => "EC".to_owned(),
        _ => x509_parser::objects::oid2sn(&public_key.algorithm.algorithm, registry).map_or_else(
            |_| public_key.algorithm.algorithm.to_id_string(),
            str::to_owned,
        ),
    };
    let key_size = public_key
        .parsed()
        .ok()
        .map(|k| k.key_size())
        .filter(|size| *size > 0)
        .and_then(|size| u32::try_from(size).ok());
    let algorithm = &certificate.signature_algorithm.algorithm;
    let validity = certificate.validity();
    Ok(KeystoreEntry {
        alias,
        kind,
        key_type: Some(key_type),
        key_size,
        signature_algorithm: Some(
            x509_parser::objects::oid2sn(algorithm, registry)
                .map_or_else(|_| algorithm.to_id_string(), str::to_owned),
        ),
        serial: Some(certificate.tbs_certificate.serial.to_string()),
        subject: Some(certificate.subject().to_string()),
        issuer: Some(certificate.issuer().to_string()),
        not_before: Some(validity.not_before.to_datetime()),
        not_after: Some(validity.not_after.to_datetime()),
        fingerprint_sha256: hex(&Sha256::digest(der.as_ref())),
        modified: modified(path).unwrap_or_else(crate::clock::now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_described_like_a_cpi_keystore_entry() {
        let dir = tempfile::tempdir().unwrap();
        let made = crate::tls::self_signed(&["localhost".to_owned()]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, &made.cert_pem).unwrap();
        std::fs::write(&key, &made.key_pem).unwrap();
        let text = format!(
            "data_dir = {:?}\n[tls]\ncert = {:?}\nkey = {:?}\nclient_ca = {:?}\n",
            dir.path().display().to_string(),
            cert.display().to_string(),
            key.display().to_string(),
            cert.display().to_string(),
        );
        let config: Config = toml::from_str(&text).unwrap();
        let started = crate::clock::now();
        let tokens = TokenService::new("iflowd", &[7u8; 32]);
        let keystore = Keystore::read(&config, Some(&tokens), started).unwrap();
        let aliases: Vec<&str> = keystore
            .entries()
            .iter()
            .map(|e| e.alias.as_str())
            .collect();
        assert_eq!(aliases, ["server", "client_ca_1", "oauth_signing_key"]);
        let server = &keystore.entries()[0];
        assert_eq!(server.kind, EntryType::KeyPair);
        assert_eq!(server.key_type.as_deref(), Some("EC"));
        assert_eq!(server.key_size, Some(256));
        assert_eq!(
            server.signature_algorithm.as_deref(),
            Some("ecdsa-with-SHA256")
        );
        assert_eq!(
            server.subject.as_deref(),
            Some("CN=localhost, O=iflowd sandbox")
        );
        assert_eq!(server.subject, server.issuer, "self-signed");
        assert!(server.not_before < server.not_after);
        assert_eq!(server.fingerprint_sha256.len(), 64);
        let signing = &keystore.entries()[2];
        assert_eq!(signing.kind, EntryType::SecretKey);
        assert_eq!(signing.key_size, Some(256));
        assert_eq!(signing.not_after, None);
        assert_eq!(signing.modified, started, "no file: the start");
        assert_eq!(
            signing.fingerprint_sha256,
            hex(&Sha256::digest([7u8; 32])),
            "the fingerprint, not the key"
        );
        assert_eq!(hex_alias("server"), "736572766572");
    }
}
