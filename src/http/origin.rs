//! The address this server has in its clients' eyes, for the answers that name it: the WSDL's
//! `soap:address` and the monitoring API's links.
//!
//! In order: `[proxy] public_url` when set; else the connection's scheme (`https` on TLS) and the
//! request's `Host` (or HTTP/2 `:authority`), each replaced by `X-Forwarded-Proto` /
//! `X-Forwarded-Host` only when the connection comes from a `[proxy] trusted` address (the last
//! value of each, the one that proxy wrote); else the address the connection reached. Only a
//! well-formed `host[:port]` is ever repeated, and only `http` or `https`.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::uri::Authority;
use axum::http::{HeaderMap, Uri, header};

use super::ConnectionInfo;
use crate::config::ProxyConfig;

/// `scheme://host[:port]` (plus the path prefix of a `public_url`), without a trailing `/`.
pub(super) fn origin(
    proxy: &ProxyConfig,
    headers: &HeaderMap,
    uri: &Uri,
    connection: &ConnectionInfo,
) -> String {
    if let Some(url) = &proxy.public_url {
        return url.as_str().to_owned();
    }
    let trusted = connection.peer.is_some_and(|peer| proxy.trusts(peer.ip()));
    let forwarded = |name: &str| trusted.then(|| last_value(headers, name)).flatten();
    let scheme = forwarded("x-forwarded-proto")
        .and_then(scheme)
        .unwrap_or(if connection.secure { "https" } else { "http" });
    let host = forwarded("x-forwarded-host")
        .and_then(authority)
        .or_else(|| last_value(headers, header::HOST.as_str()).and_then(authority))
        .or_else(|| uri.authority().map(Authority::to_string))
        .or_else(|| connection.local.map(|address| address.to_string()))
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{host}")
}

/// The URL the client used to reach `uri`'s path, for the WSDL's `soap:address`.
pub(super) fn endpoint_url(
    proxy: &ProxyConfig,
    headers: &HeaderMap,
    uri: &Uri,
    connection: &ConnectionInfo,
) -> String {
    format!("{}{}", origin(proxy, headers, uri, connection), uri.path())
}

/// The address a request came from, for the audit log: the peer's, or, from a `[proxy]
/// trusted` peer, the last `X-Forwarded-For` value when it is an IP address (the client as that
/// proxy saw it).
pub(super) fn client_address(
    proxy: &ProxyConfig,
    headers: &HeaderMap,
    connection: &ConnectionInfo,
) -> Option<String> {
    let peer = connection.peer?;
    let forwarded = proxy
        .trusts(peer.ip())
        .then(|| last_value(headers, "x-forwarded-for"))
        .flatten()
        .and_then(|value| value.parse::<IpAddr>().ok());
    Some(forwarded.map_or_else(|| peer.ip().to_string(), |ip| ip.to_string()))
}

/// The last of a header's comma-separated values: the one the nearest hop wrote.
fn last_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    Some(value.rsplit(',').next().unwrap_or(value).trim())
}

fn scheme(value: &str) -> Option<&'static str> {
    if value.eq_ignore_ascii_case("https") {
        Some("https")
    } else if value.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// `host[:port]`, if `value` is one (no credentials, no path, nothing XML or a URL could be
/// bent by).
fn authority(value: &str) -> Option<String> {
    let parsed = Authority::from_str(value).ok()?;
    let port_fits = match value.rsplit_once(':') {
        Some((_, port)) if !port.contains(']') => port.parse::<u16>().is_ok(),
        _ => true,
    };
    (port_fits && !value.contains('@')).then(|| parsed.as_str().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn from(peer: &str) -> ConnectionInfo {
        ConnectionInfo {
            peer: Some(peer.parse::<SocketAddr>().unwrap()),
            local: Some("192.0.2.1:8080".parse().unwrap()),
            ..ConnectionInfo::default()
        }
    }

    fn trusting(list: &[&str]) -> ProxyConfig {
        ProxyConfig {
            public_url: None,
            trusted: list.iter().map(|p| p.parse().unwrap()).collect(),
        }
    }

    const FORWARDED: [(&str, &str); 3] = [
        ("host", "internal:8080"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "gw.example.com"),
    ];

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let uri = Uri::from_static("/cxf/a");
        let proxy = trusting(&["10.0.0.0/8"]);
        let h = headers(&FORWARDED);
        assert_eq!(
            origin(&proxy, &h, &uri, &from("10.0.0.5:4000")),
            "https://gw.example.com"
        );
        assert_eq!(
            origin(&proxy, &h, &uri, &from("203.0.113.9:4000")),
            "http://internal:8080"
        );
        // In process (no peer), nothing is trusted.
        assert_eq!(
            origin(&proxy, &h, &uri, &ConnectionInfo::default()),
            "http://internal:8080"
        );
    }

    #[test]
    fn the_client_address_is_forwarded_only_by_a_trusted_proxy() {
        let headers = headers(&[("x-forwarded-for", "203.0.113.7, 198.51.100.2")]);
        let proxy = trusting(&["10.0.0.1"]);
        let address = |peer| client_address(&proxy, &headers, &from(peer));
        assert_eq!(address("10.0.0.1:4000").as_deref(), Some("198.51.100.2"));
        assert_eq!(address("10.0.0.9:4000").as_deref(), Some("10.0.0.9"));
        let bogus = self::headers(&[("x-forwarded-for", "<script>")]);
        let connection = from("10.0.0.1:4000");
        assert_eq!(
            client_address(&proxy, &bogus, &connection).as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn the_public_url_wins_over_everything() {
        let proxy = ProxyConfig {
            public_url: Some("https://sfsf.example.com/iflowd/".parse().unwrap()),
            ..trusting(&["10.0.0.0/8"])
        };
        let uri = Uri::from_static("/cxf/isc/events");
        assert_eq!(
            endpoint_url(&proxy, &headers(&FORWARDED), &uri, &from("10.0.0.5:1")),
            "https://sfsf.example.com/iflowd/cxf/isc/events"
        );
    }

    #[test]
    fn the_last_forwarded_value_is_the_proxys_own() {
        let proxy = trusting(&["127.0.0.1"]);
        let h = headers(&[
            ("x-forwarded-proto", "http, https"),
            ("x-forwarded-host", "evil.example, gw.example.com"),
        ]);
        assert_eq!(
            origin(&proxy, &h, &Uri::from_static("/"), &from("127.0.0.1:1")),
            "https://gw.example.com"
        );
    }

    #[test]
    fn malformed_values_are_never_repeated() {
        let proxy = trusting(&["127.0.0.1"]);
        let uri = Uri::from_static("/");
        for bad in [
            "evil.example/\"><x",
            "user@evil.example",
            "a b",
            "",
            "evil.example:99999999",
        ] {
            let h = headers(&[("x-forwarded-host", bad), ("host", bad)]);
            assert_eq!(
                origin(&proxy, &h, &uri, &from("127.0.0.1:1")),
                "http://192.0.2.1:8080",
                "{bad:?}"
            );
        }
        let h = headers(&[("x-forwarded-proto", "javascript"), ("host", "ok:1")]);
        assert_eq!(
            origin(&proxy, &h, &uri, &from("127.0.0.1:1")),
            "http://ok:1"
        );
    }

    #[test]
    fn without_a_host_header_the_uri_authority_of_http2_is_used() {
        let uri = Uri::from_static("https://h2.example.com:8443/cxf/a");
        let secure = ConnectionInfo {
            secure: true,
            ..from("203.0.113.9:1")
        };
        assert_eq!(
            origin(&ProxyConfig::default(), &HeaderMap::new(), &uri, &secure),
            "https://h2.example.com:8443"
        );
    }
}
