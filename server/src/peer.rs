//! Who is at the other end of a request, for the logs: the socket's address, or, behind a
//! trusted reverse proxy (`--trust-proxy`), the client address that proxy added to
//! `X-Forwarded-For`. Without the flag the header is ignored: anyone can send it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// A request's peer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// Connected directly (or through a proxy that is not trusted).
    Direct(SocketAddr),
    /// Through the trusted proxy at `proxy`, for `client`.
    Proxied {
        /// The address the proxy says the request came from.
        client: IpAddr,
        /// The proxy's connection.
        proxy: SocketAddr,
    },
}

/// Whether `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyTrust {
    /// The header is ignored.
    None,
    /// One reverse proxy in front: the last entry, the one it added, is the client.
    LastHop,
}

impl Peer {
    /// The peer of a request that came on `socket` with `headers`.
    pub fn identify(socket: SocketAddr, headers: &HeaderMap, trust: ProxyTrust) -> Self {
        if trust == ProxyTrust::None {
            return Peer::Direct(socket);
        }
        // Entries a client sent come first; the trusted proxy appends the address it saw, so
        // only the last entry of the last header can be believed.
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|entry| entry.trim().parse::<IpAddr>().ok());
        match last {
            Some(client) => Peer::Proxied { client, proxy: socket },
            None => Peer::Direct(socket),
        }
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Direct(socket) => write!(f, "{socket}"),
            Peer::Proxied { client, proxy } => write!(f, "{client} via {proxy}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_header_counts_only_when_trusted_and_only_its_last_entry() {
        let proxy: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let sent = headers(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(Peer::identify(proxy, &sent, ProxyTrust::None), Peer::Direct(proxy));
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let proxied = Peer::identify(proxy, &sent, ProxyTrust::LastHop);
        assert_eq!(proxied, Peer::Proxied { client, proxy });
        assert_eq!(format!("{proxied:?}"), "203.0.113.7 via 127.0.0.1:40000");
        let two = headers(&["6.6.6.6", "2001:db8::1"]);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            Peer::identify(proxy, &two, ProxyTrust::LastHop),
            Peer::Proxied { client: v6, proxy }
        );
        let garbage = headers(&["not an address"]);
        assert_eq!(Peer::identify(proxy, &garbage, ProxyTrust::LastHop), Peer::Direct(proxy));
        assert_eq!(
            Peer::identify(proxy, &HeaderMap::new(), ProxyTrust::LastHop),
            Peer::Direct(proxy)
        );
    }
}
