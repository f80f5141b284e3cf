//! Client certificates: the subject DN a TLS client proved it holds, and DNs from configuration.
//!
//! A DN is compared as a set of `TYPE=value` pairs: attribute types case-insensitively (with the
//! usual aliases: `E`/`emailAddress`, `S`/`ST`), values case-insensitively with surrounding
//! spaces ignored, and the order of the RDNs ignored. So `CN=isc, O=ACME, C=DE` from a CPI
//! screen matches a certificate whose subject openssl prints as `C = DE, O = ACME, CN = isc`.

use std::fmt;

use x509_parser::prelude::{FromDer, X509Certificate};

/// A subject (or issuer) DN in the normalised, comparable form described in the module docs.
/// Equality looks at the normalised pairs only, never at how the DN was written.
#[derive(Debug, Clone)]
pub struct DistinguishedName {
    /// Sorted `(TYPE, lowercased value)` pairs.
    pairs: Vec<(String, String)>,
    /// As written (configuration) or as openssl-style text (certificates), for messages.
    shown: String,
}

impl DistinguishedName {
    /// Parses `CN=isc,O=ACME` (RFC 4514 text; `\,` escapes a comma inside a value).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for part in split_unescaped(text) {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("'{text}' has an empty RDN"));
            }
            let (kind, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{text}': '{part}' is not TYPE=value"))?;
            let kind = kind.trim();
            if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                return Err(format!("'{text}': '{kind}' is not an attribute type"));
            }
            pairs.push((canonical_type(kind), unescape(value.trim()).to_lowercase()));
        }
        if pairs.is_empty() {
            return Err("a DN must not be empty".to_owned());
        }
        pairs.sort();
        Ok(Self {
            pairs,
            shown: text.trim().to_owned(),
        })
    }

    fn from_x509(name: &x509_parser::x509::X509Name<'_>) -> Self {
        let registry = x509_parser::objects::oid_registry();
        let mut pairs = Vec::new();
        for rdn in name.iter() {
            for attribute in rdn.iter() {
                let oid = attribute.attr_type();
                let kind = x509_parser::objects::oid2abbrev(oid, registry)
                    .map(str::to_owned)
                    .unwrap_or_else(|_| oid.to_id_string());
                let value = attribute.as_str().unwrap_or_default();
                pairs.push((canonical_type(&kind), value.trim().to_lowercase()));
            }
        }
        pairs.sort();
        Self {
            pairs,
            shown: name.to_string(),
        }
    }
}

impl PartialEq for DistinguishedName {
    fn eq(&self, other: &Self) -> bool {
        self.pairs == other.pairs
    }
}

impl Eq for DistinguishedName {}

impl std::hash::Hash for DistinguishedName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.pairs.hash(state);
    }
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// What iflowd knows about the certificate a TLS client presented (and the handshake verified
/// against `[tls] client_ca`). Parsed once per connection.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    pub subject: DistinguishedName,
    pub issuer: DistinguishedName,
}

impl ClientCertificate {
    /// Reads the subject and issuer of a DER certificate; `None` if it does not parse (rustls
    /// has already verified it, so that does not happen in practice).
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, certificate) = X509Certificate::from_der(der).ok()?;
        Some(Self {
            subject: DistinguishedName::from_x509(certificate.subject()),
            issuer: DistinguishedName::from_x509(certificate.issuer()),
        })
    }
}

fn canonical_type(kind: &str) -> String {
    let upper = kind.to_ascii_uppercase();
    match upper.as_str() {
        "E" | "EMAIL" => "EMAILADDRESS".to_owned(),
        "S" => "ST".to_owned(),
        "STREET" => "STREET".to_owned(),
        _ => upper,
    }
}

/// Splits at commas (and `+`, multi-valued RDNs) that are not escaped with a backslash.
fn split_unescaped(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' || c == '+' || c == ';' {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if escaped {
        current.push('\\');
    }
    parts.push(current);
    parts
}

fn unescape(value: &str) -> String {
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}
