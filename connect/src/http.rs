//! A small HTTP/1.1 client for tandem-server's JSON API (the version history), over the same
//! TCP and TLS steps as [`Connector::connect`], so `--ca-cert` and the errors are the same.
//! One request per connection (`Connection: close`); enough for a handful of API calls.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite;

use crate::connect::{ConnectError, Connector, open_tcp};

/// Largest API answer read (a version's text of a large document fits).
const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// An API answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

impl Connector {
    /// Sends `method path` (path with its query, starting with `/`) to the server of
    /// `server_url` (`ws://`, `wss://`, `http://` or `https://`; only its scheme, host and port
    /// count), with `body` as JSON when given, and reads the whole answer.
    pub async fn request(
        &self,
        server_url: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<HttpResponse, ConnectError> {
        let bad =
            |reason: &str| ConnectError::Url { url: server_url.to_owned(), reason: reason.into() };
        let (scheme, rest) = server_url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let tls = match scheme {
            "ws" | "http" => false,
            "wss" | "https" => true,
            _ => return Err(bad("expected ws://, wss://, http:// or https://")),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let (host, port) = split_authority(authority, if tls { 443 } else { 80 })
            .ok_or_else(|| bad("no host or a bad port"))?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nAccept: application/json\r\n"
        );
        if let Some(body) = body {
            request.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body.unwrap_or_default());
        let handshake = |source: std::io::Error| ConnectError::Handshake {
            host: host.clone(),
            source: Box::new(tungstenite::Error::Io(source)),
        };
        let attempt = async {
            let tcp = open_tcp(&host, port).await?;
            if !tls {
                return exchange(tcp, &request).await.map_err(handshake);
            }
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|_| bad("the host is not a valid TLS name"))?;
            let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(handshake)?;
            exchange(stream, &request).await.map_err(handshake)
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(ConnectError::TimedOut { host, limit: self.timeout }),
        }
    }
}

/// `host[:port]` (an IPv6 literal bracketed) into host and port.
fn split_authority(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']')?;
            (host, rest.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => default_port,
    };
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    request: &str,
) -> std::io::Result<HttpResponse> {
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    let mut response = Vec::new();
    (&mut stream).take(MAX_RESPONSE_BYTES as u64).read_to_end(&mut response).await?;
    parse_response(&response)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer"))
}

/// Status and body of a whole HTTP/1.1 answer (chunked or not).
fn parse_response(response: &[u8]) -> Option<HttpResponse> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &response[end + 4..];
    let body =
        if head.contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_vec() };
    Some(HttpResponse { status, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let rest = &body[line_end + 2..];
        match size {
            Some(size) if size > 0 && rest.len() >= size => {
                out.extend_from_slice(&rest[..size]);
                body = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        assert_eq!(split_authority("h:81", 80), Some(("h".into(), 81)));
        assert_eq!(split_authority("h", 443), Some(("h".into(), 443)));
        assert_eq!(split_authority("[::1]:9", 80), Some(("::1".into(), 9)));
        assert_eq!(split_authority("[::1]", 80), Some(("::1".into(), 80)));
        assert_eq!(split_authority("h:x", 80), None);
        assert_eq!(split_authority("", 80), None);
    }

    #[test]
    fn answers_plain_and_chunked() {
        let plain = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain), Some(HttpResponse { status: 404, body: "{}".into() }));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).map(|r| r.body), Some("abcde".into()));
        assert_eq!(parse_response(b"garbage"), None);
    }

    #[tokio::test]
    async fn a_request_reaches_a_plain_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = vec![0u8; 4096];
            let n = socket.read(&mut seen).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\n[42]")
                .await
                .unwrap();
            String::from_utf8_lossy(&seen[..n]).into_owned()
        });
        let connector = Connector::new(None).unwrap();
        let url = format!("ws://{addr}/doc");
        let answer = connector.request(&url, "POST", "/api/x", Some("{}")).await.unwrap();
        assert_eq!(answer, HttpResponse { status: 201, body: "[42]".into() });
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /api/x HTTP/1.1\r\n"), "{seen}");
        assert!(seen.ends_with("Content-Length: 2\r\n\r\n{}"), "{seen}");
    }
}
