//! [`RawWebSocket`]: a websocket client written by hand over TCP, for what no websocket library
//! lets a test do: send a frame far over the server's limit, or stop reading altogether and
//! look at what arrived much later. It speaks only enough of RFC 6455 to see how the server
//! ends the connection.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Closed, TIMEOUT};

/// Opcode of a close frame.
const CLOSE: u8 = 0x8;
/// Opcode of a binary frame.
const BINARY: u8 = 0x2;
/// Bytes per write of a large frame's payload.
const CHUNK: usize = 64 * 1024;

/// A websocket connection whose bytes the test writes and reads itself.
pub struct RawWebSocket {
    stream: TcpStream,
    /// Read and not parsed yet.
    pending: Vec<u8>,
}

impl RawWebSocket {
    /// Connects to `ws://ADDR{path}` and completes the opening handshake. `recv_buffer` sets the
    /// socket's receive buffer (a small one makes a client that does not read fall behind fast).
    pub async fn connect(
        addr: SocketAddr,
        path: &str,
        recv_buffer: Option<u32>,
    ) -> anyhow::Result<Self> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let mut stream =
            socket.connect(addr).await.with_context(|| format!("connecting {addr}"))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let pending = tokio::time::timeout(TIMEOUT, read_response_head(&mut stream))
            .await
            .context("websocket handshake timed out")??;
        Ok(Self { stream, pending })
    }

    /// Sends one binary frame of `len` bytes (zeros), all of it, then reads how the server
    /// ended the connection, as a client does that reads only once its message is out. A
    /// write that fails (the server reset the connection) ends it as [`Closed::Dropped`]: that
    /// client never reads the close frame.
    pub async fn send_frame_of(&mut self, len: u64) -> Closed {
        let chunk = vec![0u8; CHUNK];
        let sent = tokio::time::timeout(TIMEOUT, async {
            self.stream.write_all(&frame_header(BINARY, len)).await?;
            let mut left = len;
            while left > 0 {
                let n = left.min(CHUNK as u64) as usize;
                self.stream.write_all(&chunk[..n]).await?;
                left -= n as u64;
            }
            Ok::<_, std::io::Error>(())
        })
        .await;
        match sent {
            Ok(Ok(())) => self.read_until_closed().await,
            Ok(Err(error)) => Closed::Dropped(format!("writing the frame: {error}")),
            Err(_) => Closed::Dropped("the server stopped taking the frame".into()),
        }
    }

    /// Reads frames until a close frame, the end of the connection or [`TIMEOUT`]; returns how
    /// the server ended it. Other frames are skipped.
    pub async fn read_until_closed(&mut self) -> Closed {
        match tokio::time::timeout(TIMEOUT, self.until_close()).await {
            Ok(Ok(closed)) => closed,
            Ok(Err(error)) => Closed::Dropped(format!("{error:#}")),
            Err(_) => Closed::Dropped("no close frame and no end of the connection".into()),
        }
    }

    async fn until_close(&mut self) -> anyhow::Result<Closed> {
        let mut buf = vec![0u8; CHUNK];
        loop {
            while let Some((opcode, payload, used)) = parse_frame(&self.pending)? {
                self.pending.drain(..used);
                if opcode == CLOSE {
                    return Ok(match payload.get(..2) {
                        Some(code) => Closed::Frame(
                            u16::from_be_bytes([code[0], code[1]]),
                            String::from_utf8_lossy(&payload[2..]).into_owned(),
                        ),
                        None => Closed::NoCode,
                    });
                }
            }
            let n = self.stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(Closed::Dropped("connection ended without a close frame".into()));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}

/// Reads the response to the upgrade request up to its blank line; returns the bytes after it
/// (frames the server sent at once). Fails unless the status is 101.
async fn read_response_head(stream: &mut TcpStream) -> anyhow::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            bail!("connection closed during the handshake: {}", String::from_utf8_lossy(&head));
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let status = String::from_utf8_lossy(&head[..end]).into_owned();
            if !status.starts_with("HTTP/1.1 101") {
                bail!("upgrade refused: {status}");
            }
            return Ok(head.split_off(end + 4));
        }
    }
}

/// A client frame's header: FIN, `opcode`, the mask bit with an all-zero key (so the payload
/// goes out as it is), and the length in its shortest form.
fn frame_header(opcode: u8, len: u64) -> Vec<u8> {
    let mut header = vec![0x80 | opcode];
    match len {
        0..=125 => header.push(0x80 | len as u8),
        126..=0xffff => {
            header.push(0x80 | 126);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            header.push(0x80 | 127);
            header.extend_from_slice(&len.to_be_bytes());
        }
    }
    header.extend_from_slice(&[0; 4]);
    header
}

/// One whole server frame at the start of `bytes`: opcode, payload and bytes used; `None` if
/// more bytes are needed.
fn parse_frame(bytes: &[u8]) -> anyhow::Result<Option<(u8, Vec<u8>, usize)>> {
    let [first, second, ..] = bytes else { return Ok(None) };
    if second & 0x80 != 0 {
        bail!("the server sent a masked frame");
    }
    let (len, start) = match second & 0x7f {
        126 => match bytes.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match bytes.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into()?), 10),
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    let end = start + usize::try_from(len)?;
    Ok(bytes.get(start..end).map(|payload| (first & 0x0f, payload.to_vec(), end)))
}
