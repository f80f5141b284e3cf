//! `[proxy]`: how iflowd names itself when senders reach it through a reverse proxy or a tunnel.
//!
//! The name matters where iflowd writes its own address into an answer: the WSDL's
//! `soap:address` and the monitoring API's links. Forwarded headers (`X-Forwarded-Proto`,
//! `X-Forwarded-Host`) are anyone's to write, so they are believed only from the proxies listed
//! here, recognised by the connection's peer address; `public_url` fixes the address outright.
//! Both are checked as the file is read, so an error names the key and line.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, de};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// The URL senders use to reach iflowd (`https://iflowd.example.com`, or with a path prefix
    /// the proxy adds). When set, it is the only address iflowd names, whatever the request says.
    pub public_url: Option<PublicUrl>,
    /// Peer addresses (`10.0.0.7`) or ranges (`10.0.0.0/8`) of reverse proxies whose
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` are believed. From anyone else they are ignored.
    pub trusted: Vec<TrustedProxy>,
}

impl ProxyConfig {
    /// Whether a connection from `peer` comes from a trusted proxy.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`.
        let peer = peer.to_canonical();
        self.trusted.iter().any(|proxy| proxy.0.contains(&peer))
    }

    /// The path of `public_url` without its trailing `/` (`/iflowd`), or `""`: what a proxy adds
    /// before iflowd's own paths, for the links a browser follows (the monitor's).
    pub fn path_prefix(&self) -> &str {
        self.public_url.as_ref().map_or("", PublicUrl::path)
    }
}

/// An `http` or `https` URL with a host, without credentials, query or fragment, kept without
/// its trailing `/` so that paths can be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path after the host (`/iflowd`), or `""` when there is none.
    pub fn path(&self) -> &str {
        let after_scheme = self.0.find("://").map_or(0, |i| i + 3);
        self.0[after_scheme..]
            .find('/')
            .map_or("", |i| &self.0[after_scheme + i..])
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("'{text}' is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("'{text}' must start with http:// or https://"));
        }
        if url.host().is_none() {
            return Err(format!("'{text}' has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("'{text}' must not carry credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("'{text}' must not have a query or a fragment"));
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }
}

impl<'de> Deserialize<'de> for PublicUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// An address or CIDR range of trusted proxies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxy(IpNet);

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        text.parse::<IpNet>()
            .map(|net| net.trunc())
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map(Self)
            .map_err(|_| {
                format!("'{text}' is neither an IP address nor a CIDR range such as 10.0.0.0/8")
            })
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for TrustedProxy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> ProxyConfig {
        ProxyConfig {
            public_url: None,
            trusted: list.iter().map(|p| p.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn addresses_and_ranges_are_trusted_and_nothing_else() {
        let config = proxies(&["10.1.0.0/16", "192.0.2.7", "2001:db8::/32"]);
        for peer in ["10.1.200.3", "192.0.2.7", "::ffff:10.1.0.1", "2001:db8::1"] {
            assert!(config.trusts(peer.parse().unwrap()), "{peer}");
        }
        for peer in ["10.2.0.1", "192.0.2.8", "127.0.0.1", "2001:db9::1"] {
            assert!(!config.trusts(peer.parse().unwrap()), "{peer}");
        }
        assert!(!ProxyConfig::default().trusts("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn a_proxy_that_is_no_address_is_refused_by_name() {
        let error = "proxy.example.com".parse::<TrustedProxy>().unwrap_err();
        assert!(error.contains("'proxy.example.com' is neither"), "{error}");
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        // Host bits are dropped, as the range means.
        assert_eq!(
            "10.1.2.3/8".parse::<TrustedProxy>().unwrap().to_string(),
            "10.0.0.0/8"
        );
    }

    #[test]
    fn a_public_url_is_kept_without_its_trailing_slash() {
        let url: PublicUrl = "https://gw.example.com/iflowd/".parse().unwrap();
        assert_eq!(url.as_str(), "https://gw.example.com/iflowd");
        let url: PublicUrl = "https://gw.example.com".parse().unwrap();
        assert_eq!(url.as_str(), "https://gw.example.com");
        let url: PublicUrl = "http://GW.example.com:8080".parse().unwrap();
        assert_eq!(url.as_str(), "http://gw.example.com:8080");
    }

    #[test]
    fn the_path_prefix_is_the_public_urls_path_without_its_slash() {
        let prefix = |url: &str| {
            let proxy = ProxyConfig {
                public_url: Some(url.parse().unwrap()),
                ..ProxyConfig::default()
            };
            proxy.path_prefix().to_owned()
        };
        assert_eq!(prefix("https://sfsf.example.com"), "");
        assert_eq!(prefix("https://sfsf.example.com/"), "");
        assert_eq!(prefix("https://sfsf.example.com:8443/iflowd/"), "/iflowd");
        assert_eq!(prefix("http://10.0.0.7/a/b"), "/a/b");
        assert_eq!(ProxyConfig::default().path_prefix(), "");
    }

    #[test]
    fn a_public_url_that_cannot_be_an_address_is_refused() {
        for (text, says) in [
            ("gw.example.com", "is not a URL"),
            ("ftp://gw.example.com", "http:// or https://"),
            ("https://user:pw@gw.example.com", "credentials"),
            ("https://gw.example.com/?a=b", "query"),
            ("https://gw.example.com/#top", "fragment"),
        ] {
            let error = text.parse::<PublicUrl>().unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    /// The example documents `[proxy]` commented out; uncommented, it must be valid.
    #[test]
    fn the_examples_commented_proxy_block_is_valid_configuration() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("iflowd.example.toml");
        let example = std::fs::read_to_string(path).unwrap();
        let start = example.find("# [proxy]\n").expect("a [proxy] block");
        let block: String = example[start..]
            .lines()
            .take_while(|l| l.starts_with('#'))
            .filter(|l| !l.starts_with("# #"))
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let config: super::super::Config = toml::from_str(&block).unwrap();
        let proxy = config.proxy;
        assert_eq!(
            proxy.public_url.as_ref().unwrap().as_str(),
            "https://iflowd.example.com"
        );
        assert!(proxy.trusts("10.20.30.40".parse().unwrap()));
    }
}
