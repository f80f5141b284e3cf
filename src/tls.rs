//! HTTPS: the rustls server configuration built once from `[tls]`, and the self-signed
//! certificates `iflowd cert` writes.
//!
//! Only TLS 1.2 and 1.3 are offered (rustls has nothing older), with the ring provider, which
//! reqwest uses too (see [`client_builder`]), so one provider is in the binary: ring builds in
//! seconds, where aws-lc-rs's C library was the slowest part of a first build. With `client_ca`,
//! clients may (`optional`) or must (`required`) present a certificate that chains to it; rustls
//! verifies it during the handshake, and [`crate::server`] hands the verified certificate to the
//! HTTP layer with every request of the connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ClientAuth, TlsConfig};

/// Why TLS could not be set up, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.{key} {path}: {message}")]
    File {
        key: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("tls.client_ca {path}: {message}")]
    ClientCa { path: PathBuf, message: String },
}

/// The crypto provider of every TLS configuration iflowd builds, server and client: ring, with
/// its ECDSA (P-256, P-384), Ed25519 and RSA (PKCS#1 v1.5 and PSS) signatures and AES-GCM and
/// ChaCha20-Poly1305 suites.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A reqwest client builder whose TLS runs on [`provider`]. Every HTTP client iflowd (or a test)
/// makes starts here: reqwest is built without a provider of its own (its `rustls` feature would
/// bring aws-lc-rs), so it takes rustls's process-wide default, which this installs first. The
/// install happens once per process; later calls find ring already there.
#[allow(clippy::disallowed_methods)] // the one place allowed to (clippy.toml)
pub fn client_builder() -> reqwest::ClientBuilder {
    // Err only means a provider is installed already: ring, since nothing else installs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// Reads the certificate, key and client CA of `[tls]` and builds the server configuration:
/// TLS 1.3 and 1.2 only, ALPN `h2` and `http/1.1`, client certificates as configured.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certificates("cert", &tls.cert)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| TlsError::File {
        key: "key",
        path: tls.key.clone(),
        message: format!("no usable PEM private key ({e})"),
    })?;
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certificates("client_ca", ca)? {
                roots.add(cert).map_err(|e| TlsError::ClientCa {
                    path: ca.clone(),
                    message: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match tls.client_auth {
                ClientAuth::Optional => verifier.allow_unauthenticated(),
                ClientAuth::Required => verifier,
            }
            .build()
            .map_err(|e| TlsError::ClientCa {
                path: ca.clone(),
                message: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::File {
            key: "key",
            path: tls.key.clone(),
            message: format!("does not fit the certificate ({e})"),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certificates(
    key: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |message: String| TlsError::File {
        key,
        path: path.to_path_buf(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(format!("cannot read PEM certificates ({e})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("is not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(error("holds no PEM certificate".to_owned()));
    }
    Ok(certs)
}

/// A certificate and its private key, PEM.
pub struct CertificateFiles {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A self-signed certificate for `hosts` (DNS names or IP addresses, as subject alternative
/// names; the first is also the common name), with a new ECDSA P-256 key. Clients trust it by
/// trusting the certificate itself.
pub fn self_signed(hosts: &[String]) -> Result<CertificateFiles, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(hosts.to_vec())?;
    let mut name = rcgen::DistinguishedName::new();
    if let Some(first) = hosts.first() {
        name.push(rcgen::DnType::CommonName, first.as_str());
    }
    name.push(rcgen::DnType::OrganizationName, "iflowd sandbox");
    params.distinguished_name = name;
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(CertificateFiles {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}
