//! Who is on the other end of a request: the client's address and whether it came over https.
//! `X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the TCP peer is one of the
//! configured trusted proxies (`ZHUNONG_TRUSTED_PROXIES`); from anyone else they are ignored, so
//! a client cannot choose the address its attempts are counted against.

use axum::extract::ConnectInfo;
use http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// The client's address: the TCP peer, or, behind a trusted proxy, the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy. An entry that is not an address (a
/// port appended, `unknown`) ends the walk at the proxy: what lies left of it is the client's
/// own claim. IPv4 addresses seen as IPv6 (`::ffff:a.b.c.d`) are taken as IPv4.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |a: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *a);
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(a) => {
                let a = a.to_canonical();
                client = a;
                if !is_trusted(&a) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(client)
}

/// What a client's attempts are counted under: an IPv4 address, or an IPv6 address's /64 (one
/// subscriber's prefix, which holds more addresses than anyone could exhaust).
pub fn rate_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The peer address axum recorded for the connection.
pub fn peer_of(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip())
}

/// Whether a response should treat the request as https (`Secure` cookies, HSTS): always with
/// `ZHUNONG_SECURE_COOKIES`, else when a trusted proxy says it arrived over https.
pub fn served_over_https(
    settings: &super::config::Settings,
    extensions: &http::Extensions,
    headers: &HeaderMap,
) -> bool {
    settings.secure_cookies
        || forwarded_https(peer_of(extensions), headers, &settings.trusted_proxies)
}

/// Whether the request carries a cookie called `name` (whatever its value).
pub fn has_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| crate::i18n::cookie_value(c, name).is_some())
}

/// Whether the request reached the proxy in front over https (only a trusted proxy is believed).
pub fn forwarded_https(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> bool {
    peer.is_some_and(|p| trusted.iter().any(|t| t.to_canonical() == p.to_canonical()))
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str, proto: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h.insert("x-forwarded-proto", proto.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let h = headers("1.2.3.4, 198.51.100.7", "https");
        // A client cannot pick its own address or claim https.
        assert_eq!(client_ip(Some(stranger), &h, &[proxy]), Some(stranger));
        assert!(!forwarded_https(Some(stranger), &h, &[proxy]));
        // Behind the proxy: the right-most address the proxy saw (the first one is the client's
        // own claim and could be anything).
        assert_eq!(
            client_ip(Some(proxy), &h, &[proxy]),
            Some("198.51.100.7".parse().unwrap())
        );
        assert!(forwarded_https(Some(proxy), &h, &[proxy]));
        // Chained trusted proxies are skipped.
        let h = headers("198.51.100.7, 10.0.0.2", "http");
        let two = ["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        assert_eq!(
            client_ip(Some(proxy), &h, &two),
            Some("198.51.100.7".parse().unwrap())
        );
        // A proxy that sent no usable header: the proxy itself.
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
        assert_eq!(client_ip(None, &h, &[proxy]), None);
        // An entry that is no address stops the walk: the forged part left of it is ignored.
        let h = headers("6.6.6.6, unknown", "http");
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), Some(proxy));
        let h = headers("6.6.6.6, 198.51.100.7:4711", "http");
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), Some(proxy));
        // A dual-stack listener sees the proxy as ::ffff:10.0.0.1.
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let h = headers("198.51.100.7", "https");
        assert_eq!(
            client_ip(Some(mapped), &h, &[proxy]),
            Some("198.51.100.7".parse().unwrap())
        );
        assert!(forwarded_https(Some(mapped), &h, &[proxy]));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(rate_key(a), rate_key(b));
        assert_ne!(rate_key(a), rate_key(c));
        assert_eq!(rate_key("::ffff:1.2.3.4".parse().unwrap()), "1.2.3.4");
    }
}
