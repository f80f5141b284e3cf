//! Certificates for TLS tests, made in a temporary directory: the server certificate the way
//! `iflowd cert` makes it, a client CA, and client certificates signed by it (or by a CA the
//! server does not trust). The server certificate and client certificates can also have the RSA
//! key in `keys/` (rcgen, on ring, makes only ECDSA and Ed25519 keys); it is there in two PEM
//! forms: PKCS#8 and the older PKCS#1 (`BEGIN RSA PRIVATE KEY`) of `openssl genrsa`.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

pub struct Pki {
    pub dir: tempfile::TempDir,
    /// The server's self-signed certificate (also what clients trust) and key.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// The CA iflowd trusts for client certificates.
    pub client_ca: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
    rogue_ca: CertifiedIssuer<'static, KeyPair>,
}

/// A 2048-bit RSA key, PKCS#8 and PKCS#1.
const RSA_PKCS8: &str = include_str!("keys/rsa2048.pkcs8.pem");
const RSA_PKCS1: &str = include_str!("keys/rsa2048.pkcs1.pem");

impl Pki {
    /// The server certificate as `iflowd cert` makes it (ECDSA P-256).
    pub fn new() -> Self {
        let server = iflowd::tls::self_signed(&["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server certificate");
        Self::with_server(&server.cert_pem, &server.key_pem)
    }

    /// A self-signed server certificate for the RSA key, whose key file is PKCS#1 PEM.
    pub fn rsa() -> Self {
        let params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let cert = params.self_signed(&rsa_key()).unwrap();
        Self::with_server(&cert.pem(), RSA_PKCS1)
    }

    fn with_server(cert_pem: &str, key_pem: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let server_cert = dir.path().join("cert.pem");
        let server_key = dir.path().join("key.pem");
        std::fs::write(&server_cert, cert_pem).unwrap();
        std::fs::write(&server_key, key_pem).unwrap();
        let trusted = make_ca("iflowd test client CA");
        let client_ca = dir.path().join("client-ca.pem");
        std::fs::write(&client_ca, trusted.pem()).unwrap();
        Self {
            dir,
            server_cert,
            server_key,
            client_ca,
            ca: trusted,
            rogue_ca: make_ca("somebody else's CA"),
        }
    }

    /// `[tls]` with the server certificate, client certificates from the client CA
    /// (`client_auth` = "optional" or "required"), or none when `client_auth` is `None`.
    pub fn tls_toml(&self, client_auth: Option<&str>) -> String {
        let mut text = format!(
            "\n[tls]\ncert = {:?}\nkey = {:?}\n",
            self.server_cert.display().to_string(),
            self.server_key.display().to_string()
        );
        if let Some(mode) = client_auth {
            text.push_str(&format!(
                "client_ca = {:?}\nclient_auth = \"{mode}\"\n",
                self.client_ca.display().to_string()
            ));
        }
        text
    }

    /// The server certificate, for a client to trust.
    pub fn server_certificate(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(&std::fs::read(&self.server_cert).unwrap()).unwrap()
    }

    /// A client certificate `CN=<cn>, O=ACME Corp` signed by the trusted client CA, as a reqwest
    /// identity (certificate and key PEM).
    pub fn client_identity(&self, cn: &str) -> reqwest::Identity {
        identity(cn, KeyPair::generate().unwrap(), &self.ca)
    }

    /// The same with the RSA key.
    pub fn rsa_client_identity(&self, cn: &str) -> reqwest::Identity {
        identity(cn, rsa_key(), &self.ca)
    }

    /// The same, signed by a CA the server does not trust.
    pub fn rogue_identity(&self, cn: &str) -> reqwest::Identity {
        identity(cn, KeyPair::generate().unwrap(), &self.rogue_ca)
    }

    /// A client certificate like [`Pki::client_identity`]'s, written as PEM files in the PKI's
    /// directory: (certificate, key), for clients that take files (NATS).
    pub fn client_files(&self, cn: &str) -> (PathBuf, PathBuf) {
        let (cert_pem, key_pem) = signed(cn, KeyPair::generate().unwrap(), &self.ca);
        let cert = self.dir.path().join(format!("{cn}.pem"));
        let key = self.dir.path().join(format!("{cn}-key.pem"));
        std::fs::write(&cert, cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        (cert, key)
    }

    /// A client trusting the server certificate, optionally presenting `identity`.
    pub fn client(&self, identity: Option<reqwest::Identity>) -> reqwest::Client {
        let mut builder = iflowd::tls::client_builder().tls_certs_only([self.server_certificate()]);
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        builder.build().expect("client")
    }
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn rsa_key() -> KeyPair {
    KeyPair::from_pem(RSA_PKCS8).expect("RSA key")
}

fn identity(
    cn: &str,
    key: KeyPair,
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> reqwest::Identity {
    let (cert, key) = signed(cn, key, issuer);
    reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap()
}

/// A client certificate `CN=<cn>, O=ACME Corp` for `key`, signed by `issuer`: certificate and
/// key, PEM.
fn signed(cn: &str, key: KeyPair, issuer: &CertifiedIssuer<'static, KeyPair>) -> (String, String) {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "ACME Corp");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}
