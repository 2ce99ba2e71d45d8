//! What went wrong with a connection, in words a person can act on, and whether trying again
//! soon can help. Pure: it reads errors and close frames, it opens nothing.
//!
//! Three kinds of trouble:
//! - transient (the network, a server restarting or full): back off and retry;
//! - the server's setup (its certificate, its routes): nothing changes in seconds, so retry only
//!   slowly, and say what the operator or the user must fix;
//! - this client's request (a refused token or document id): retrying the same request cannot
//!   help; stop and say how to fix it.

use std::fmt;
use std::time::Duration;

use rustls::CertificateError;
use tokio_tungstenite::tungstenite;

use crate::connect::ConnectError;

/// How long a client waits between attempts after a problem of [`Retry::Slowly`].
pub const SLOW_RETRY: Duration = Duration::from_secs(60);

/// What a client should do after a [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Transient: retry with the usual growing backoff.
    Backoff,
    /// The server's setup: retry every [`SLOW_RETRY`] (a renewed certificate or a fixed proxy
    /// is picked up without a restart), never fast.
    Slowly,
    /// This client's request is refused: do not retry.
    Never,
}

/// One connection problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The certificate does not chain to a root this client trusts.
    UntrustedCertificate {
        /// The server's host name.
        host: String,
    },
    /// The certificate is valid, but for other names.
    WrongHost {
        /// The host name connected to.
        host: String,
        /// The names the certificate holds (empty when rustls did not say).
        presented: Vec<String>,
    },
    /// The certificate has expired.
    ExpiredCertificate {
        /// The server's host name.
        host: String,
    },
    /// The certificate is refused for another reason (not valid yet, revoked, bad signature …).
    BadCertificate {
        /// The server's host name.
        host: String,
        /// rustls's reason.
        detail: String,
    },
    /// A `wss://` URL, but the server answered without TLS.
    NotTls {
        /// The server's host name.
        host: String,
    },
    /// The TLS handshake failed for another reason (no common protocol, an alert …).
    Tls {
        /// The server's host name.
        host: String,
        /// rustls's reason.
        detail: String,
    },
    /// The host name does not resolve.
    UnknownHost {
        /// The host name.
        host: String,
        /// The resolver's reason.
        detail: String,
    },
    /// Nothing listens at the address.
    Refused {
        /// `IP:PORT`.
        addr: String,
    },
    /// The address cannot be reached (no route, network down …).
    Unreachable {
        /// `IP:PORT`.
        addr: String,
        /// The system's reason.
        detail: String,
    },
    /// The attempt took too long.
    TimedOut {
        /// The host name.
        host: String,
    },
    /// The server (or a proxy in front of it) answered the upgrade with an HTTP status.
    Http {
        /// The status code.
        status: u16,
        /// The first line of the answer's body, if any.
        body: String,
    },
    /// The server closed the connection because it is shutting down or restarting (1001).
    GoingAway,
    /// The server refused access: a y-protocols permission-denied message or a policy close
    /// (1008), with its reason.
    Denied {
        /// The server's reason.
        reason: String,
    },
    /// The server closed the connection for another reason.
    Closed {
        /// The websocket close code.
        code: u16,
        /// The server's reason (may be empty).
        reason: String,
    },
    /// The connection failed or dropped otherwise (reset, protocol error, malformed frame).
    Lost {
        /// What happened.
        detail: String,
    },
}

impl Problem {
    /// What a failed connection attempt means.
    pub fn from_connect(error: &ConnectError) -> Self {
        match error {
            ConnectError::Url { reason, url } => {
                Problem::Lost { detail: format!("{url}: {reason}") }
            }
            ConnectError::Dns { host, source } => {
                Problem::UnknownHost { host: host.clone(), detail: source.to_string() }
            }
            ConnectError::Tcp { addr, source } => match source.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    Problem::Refused { addr: addr.to_string() }
                }
                _ => Problem::Unreachable { addr: addr.to_string(), detail: source.to_string() },
            },
            ConnectError::Handshake { host, source } => from_handshake(host, source),
            ConnectError::TimedOut { host, .. } => Problem::TimedOut { host: host.clone() },
        }
    }

    /// What a close frame from the server means.
    pub fn from_close(code: u16, reason: &str) -> Self {
        match code {
            1001 => Problem::GoingAway,
            1008 => Problem::Denied {
                reason: if reason.is_empty() { "closed by policy".into() } else { reason.into() },
            },
            _ => Problem::Closed { code, reason: reason.to_owned() },
        }
    }

    /// Whether and how soon to try again.
    pub fn retry(&self) -> Retry {
        match self {
            Problem::UntrustedCertificate { .. }
            | Problem::WrongHost { .. }
            | Problem::ExpiredCertificate { .. }
            | Problem::BadCertificate { .. }
            | Problem::NotTls { .. }
            | Problem::Tls { .. } => Retry::Slowly,
            Problem::Http { status, .. } => match status {
                // The request itself (document id, token) is what the server refuses.
                400 | 401 | 403 => Retry::Never,
                // Timeouts and rate limits pass.
                408 | 429 => Retry::Backoff,
                // Another 4xx: a route or proxy setup that the operator must change.
                400..=499 => Retry::Slowly,
                _ => Retry::Backoff,
            },
            Problem::Denied { .. } => Retry::Never,
            Problem::UnknownHost { .. }
            | Problem::Refused { .. }
            | Problem::Unreachable { .. }
            | Problem::TimedOut { .. }
            | Problem::GoingAway
            | Problem::Closed { .. }
            | Problem::Lost { .. } => Retry::Backoff,
        }
    }

    /// A few words for a status bar ("certificate not trusted", "connection refused").
    pub fn summary(&self) -> String {
        match self {
            Problem::UntrustedCertificate { .. } => "certificate not trusted".into(),
            Problem::WrongHost { .. } => "certificate for another host".into(),
            Problem::ExpiredCertificate { .. } => "certificate expired".into(),
            Problem::BadCertificate { .. } => "certificate refused".into(),
            Problem::NotTls { .. } => "server does not speak TLS".into(),
            Problem::Tls { .. } => "TLS handshake failed".into(),
            Problem::UnknownHost { host, .. } => format!("unknown host {host}"),
            Problem::Refused { .. } => "connection refused".into(),
            Problem::Unreachable { .. } => "server unreachable".into(),
            Problem::TimedOut { .. } => "no answer".into(),
            Problem::Http { status, .. } => match status {
                400 => "bad document id (HTTP 400)".into(),
                401 | 403 => format!("token refused (HTTP {status})"),
                404 => "nothing at this URL (HTTP 404)".into(),
                503 => "server full or unavailable (HTTP 503)".into(),
                _ => format!("server answered HTTP {status}"),
            },
            Problem::GoingAway => "server restarting".into(),
            Problem::Denied { reason } => reason.clone(),
            Problem::Closed { code, .. } => format!("closed by server ({code})"),
            Problem::Lost { .. } => "connection lost".into(),
        }
    }
}

/// The full sentence: what is wrong, and how to fix it when there is something to do.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UntrustedCertificate { host } => write!(
                f,
                "the certificate of {host} is not signed by an authority this computer trusts: \
                 pass the server's CA with --ca-cert FILE (or SSL_CERT_FILE), or give the server \
                 a certificate from a public CA"
            ),
            Problem::WrongHost { host, presented } if presented.is_empty() => write!(
                f,
                "the certificate of {host} is for another host name: connect with a name it \
                 holds, or give the server a certificate for {host}"
            ),
            Problem::WrongHost { host, presented } => write!(
                f,
                "the certificate of {host} is for {}, not {host}: connect with one of those \
                 names, or give the server a certificate for {host}",
                presented.join(", ")
            ),
            Problem::ExpiredCertificate { host } => write!(
                f,
                "the certificate of {host} has expired: the server's operator must renew it \
                 (tandem-server picks up renewed files without a restart); if it has not, check \
                 this computer's clock"
            ),
            Problem::BadCertificate { host, detail } => {
                write!(f, "the certificate of {host} is refused: {detail}")
            }
            Problem::NotTls { host } => write!(
                f,
                "{host} does not speak TLS on this port: use ws:// instead of wss://, or the \
                 server's TLS port"
            ),
            Problem::Tls { host, detail } => write!(f, "TLS with {host} failed: {detail}"),
            Problem::UnknownHost { host, detail } => write!(
                f,
                "cannot find the server {host} ({detail}): check the host name and the network"
            ),
            Problem::Refused { addr } => write!(
                f,
                "nothing accepts connections at {addr}: is the server running, on this port?"
            ),
            Problem::Unreachable { addr, detail } => {
                write!(f, "cannot reach {addr} ({detail}): check the network")
            }
            Problem::TimedOut { host } => {
                write!(f, "{host} did not answer in time: check the network and the server")
            }
            Problem::Http { status, body } => {
                let said = if body.is_empty() { String::new() } else { format!(" ({body})") };
                match status {
                    400 => write!(f, "the server refused the document id{said}"),
                    401 | 403 => write!(
                        f,
                        "the server refused the token (HTTP {status}){said}: pass a valid --token"
                    ),
                    404 => write!(
                        f,
                        "nothing answers websockets at this URL (HTTP 404){said}: check the URL, \
                         and that a proxy in front forwards websocket upgrades"
                    ),
                    503 => write!(
                        f,
                        "the server is full or unavailable (HTTP 503){said}; retrying with backoff"
                    ),
                    _ => write!(f, "the server answered the upgrade with HTTP {status}{said}"),
                }
            }
            Problem::GoingAway => {
                write!(f, "the server is going away (shutting down or restarting); reconnecting")
            }
            Problem::Denied { reason } if reason.contains("token") => {
                write!(f, "access refused: {reason} (pass a valid --token)")
            }
            Problem::Denied { reason } => write!(f, "access refused: {reason}"),
            Problem::Closed { code, reason } if reason.is_empty() => {
                write!(f, "the server closed the connection ({code})")
            }
            Problem::Closed { code, reason } => {
                write!(f, "the server closed the connection ({code}): {reason}")
            }
            Problem::Lost { detail } => write!(f, "connection lost: {detail}"),
        }
    }
}

/// What a failed TLS or websocket handshake means.
fn from_handshake(host: &str, error: &tungstenite::Error) -> Problem {
    let host = host.to_owned();
    match error {
        tungstenite::Error::Http(response) => {
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).lines().next().unwrap_or("").trim().to_owned())
                .unwrap_or_default();
            Problem::Http { status: response.status().as_u16(), body }
        }
        tungstenite::Error::Tls(tungstenite::error::TlsError::Rustls(error)) => {
            from_rustls(host, error)
        }
        tungstenite::Error::Tls(error) => Problem::Tls { host, detail: error.to_string() },
        tungstenite::Error::Io(io) => {
            match io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(error) => from_rustls(host, error),
                None => Problem::Lost { detail: io.to_string() },
            }
        }
        other => Problem::Lost { detail: other.to_string() },
    }
}

fn from_rustls(host: String, error: &rustls::Error) -> Problem {
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                Problem::UntrustedCertificate { host }
            }
            CertificateError::NotValidForName => Problem::WrongHost { host, presented: Vec::new() },
            CertificateError::NotValidForNameContext { presented, .. } => Problem::WrongHost {
                host,
                presented: presented.iter().map(|name| bare_name(name)).collect(),
            },
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                Problem::ExpiredCertificate { host }
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                Problem::BadCertificate {
                    host,
                    detail: "it is not valid yet (is this computer's clock right?)".into(),
                }
            }
            other => Problem::BadCertificate { host, detail: other.to_string() },
        },
        // What came back is not a TLS record: a plain HTTP server on this port.
        rustls::Error::InvalidMessage(_) => Problem::NotTls { host },
        other => Problem::Tls { host, detail: other.to_string() },
    }
}

/// `other.example` out of rustls's `DnsName("other.example")` (and `10.0.0.1` out of
/// `IpAddress(10.0.0.1)`): the name as the user would type it.
fn bare_name(presented: &str) -> String {
    presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map(|inner| inner.trim_matches('"'))
        .unwrap_or(presented)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    fn handshake(source: tungstenite::Error) -> ConnectError {
        ConnectError::Handshake { host: "docs.example".into(), source: Box::new(source) }
    }

    /// A TLS failure as tokio-rustls reports it: an io::Error wrapping the rustls error.
    fn tls(error: rustls::Error) -> ConnectError {
        handshake(tungstenite::Error::Io(io::Error::new(io::ErrorKind::InvalidData, error)))
    }

    fn http(status: u16, body: &str) -> ConnectError {
        let response = tungstenite::http::Response::builder()
            .status(status)
            .body(Some(body.as_bytes().to_vec()))
            .unwrap();
        handshake(tungstenite::Error::Http(Box::new(response)))
    }

    fn classify(error: ConnectError) -> (Problem, Retry, String) {
        let problem = Problem::from_connect(&error);
        let retry = problem.retry();
        let text = problem.to_string();
        (problem, retry, text)
    }

    #[test]
    fn certificate_problems_name_the_host_say_how_to_fix_and_retry_slowly() {
        let untrusted = tls(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        let (problem, retry, text) = classify(untrusted);
        assert_eq!(problem, Problem::UntrustedCertificate { host: "docs.example".into() });
        assert_eq!(retry, Retry::Slowly);
        assert!(text.contains("docs.example") && text.contains("--ca-cert"), "{text}");
        assert_eq!(problem.summary(), "certificate not trusted");

        let wrong =
            tls(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected: rustls_pki_types::ServerName::try_from("docs.example").unwrap(),
                presented: vec!["DnsName(\"other.example\")".into()],
            }));
        let (problem, retry, text) = classify(wrong);
        let presented = vec!["other.example".to_owned()];
        assert_eq!(problem, Problem::WrongHost { host: "docs.example".into(), presented });
        assert_eq!(retry, Retry::Slowly);
        assert!(text.contains("is for other.example, not docs.example"), "{text}");

        let expired = tls(rustls::Error::InvalidCertificate(CertificateError::Expired));
        let (problem, retry, text) = classify(expired);
        assert_eq!(problem, Problem::ExpiredCertificate { host: "docs.example".into() });
        assert_eq!(retry, Retry::Slowly);
        assert!(text.contains("expired") && text.contains("renew"), "{text}");
    }

    #[test]
    fn a_plain_server_behind_wss_is_named() {
        let plain = tls(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType));
        let (problem, _, text) = classify(plain);
        assert_eq!(problem, Problem::NotTls { host: "docs.example".into() });
        assert!(text.contains("ws:// instead of wss://"), "{text}");
    }

    #[test]
    fn network_failures_back_off() {
        let dns = ConnectError::Dns {
            host: "nowhere.invalid".into(),
            source: io::Error::other("Name or service not known"),
        };
        let (problem, retry, text) = classify(dns);
        assert!(matches!(problem, Problem::UnknownHost { .. }));
        assert_eq!(retry, Retry::Backoff);
        assert!(text.contains("nowhere.invalid"), "{text}");
        assert_eq!(problem.summary(), "unknown host nowhere.invalid");

        let refused = ConnectError::Tcp {
            addr: "127.0.0.1:9".parse().unwrap(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        let (problem, retry, text) = classify(refused);
        assert_eq!(problem, Problem::Refused { addr: "127.0.0.1:9".into() });
        assert_eq!(retry, Retry::Backoff);
        assert!(text.contains("127.0.0.1:9") && text.contains("server running"), "{text}");

        let timed_out = ConnectError::TimedOut { host: "h".into(), limit: Duration::from_secs(1) };
        assert_eq!(classify(timed_out).1, Retry::Backoff);
        let reset = handshake(tungstenite::Error::Io(io::ErrorKind::ConnectionReset.into()));
        assert!(matches!(classify(reset).0, Problem::Lost { .. }));
    }

    #[test]
    fn http_statuses_on_upgrade() {
        let cases = [
            (400, Retry::Never, "document id"),
            (401, Retry::Never, "--token"),
            (403, Retry::Never, "--token"),
            (404, Retry::Slowly, "check the URL"),
            (408, Retry::Backoff, "408"),
            (429, Retry::Backoff, "429"),
            (503, Retry::Backoff, "full or unavailable"),
            (502, Retry::Backoff, "502"),
        ];
        for (status, expected_retry, words) in cases {
            let (problem, retry, text) = classify(http(status, "the body\nmore"));
            assert_eq!(problem, Problem::Http { status, body: "the body".into() });
            assert_eq!(retry, expected_retry, "{status}");
            assert!(text.contains(words) && text.contains("(the body)"), "{status}: {text}");
        }
        assert_eq!(
            Problem::Http { status: 503, body: String::new() }.summary(),
            "server full or unavailable (HTTP 503)"
        );
    }

    #[test]
    fn close_frames() {
        let away = Problem::from_close(1001, "server shutting down");
        assert_eq!(away, Problem::GoingAway);
        assert_eq!(away.retry(), Retry::Backoff);
        assert_eq!(away.summary(), "server restarting");
        let denied = Problem::from_close(1008, "a token is required");
        assert_eq!(denied.retry(), Retry::Never);
        assert_eq!(denied.summary(), "a token is required");
        assert!(denied.to_string().contains("--token"), "{denied}");
        let other = Problem::from_close(1011, "document could not be loaded");
        assert_eq!(other.retry(), Retry::Backoff);
        assert!(other.to_string().contains("document could not be loaded"));
    }
}
