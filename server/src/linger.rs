//! Lingering close: a websocket's socket is not simply dropped when the connection ends.
//!
//! A socket closed while input from its peer is still unread is reset by the kernel (RST), and
//! a client that has not read the server's close frame by then never sees it: issue 18 found a
//! client sending a 100 MiB frame (over `--max-message-size`) seeing 1006 instead of 1009.
//! Servers that close first while their peer may still be sending (nginx's `lingering_close`)
//! therefore half-close instead: end their own side (FIN, after whatever is queued), then read
//! and discard what the peer still sends until it closes its side too, for a bounded time.
//!
//! [`Lingering`] wraps an accepted socket; the websocket upgrade arms it ([`LingerOnClose`]),
//! and dropping it then hands the socket to a task that lingers. The socket's admission slot
//! goes with it: the descriptor counts until it is really closed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// How long a closed socket may linger: enough for a client to finish sending a frame of
/// hundreds of megabytes on a fast link, or to read a close frame and answer it on a slow one.
const LINGER: Duration = Duration::from_secs(5);
/// Bytes read (and dropped) at a time while lingering.
const DISCARD_CHUNK: usize = 16 * 1024;

/// Whether a socket lingers when it is dropped; the websocket upgrade sets it.
#[derive(Debug, Clone, Default)]
pub(crate) struct LingerOnClose(Arc<AtomicBool>);

impl LingerOnClose {
    /// From now on, dropping the socket lingers.
    pub fn arm(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_armed(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What a socket must be to linger on its own task.
pub(crate) trait Socket: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Socket for S {}

/// A socket that lingers when dropped once armed; `Keep` (the admission slot) is held until
/// then.
pub(crate) struct Lingering<S: Socket, Keep: Send + Unpin + 'static> {
    io: Option<S>,
    armed: LingerOnClose,
    keep: Option<Keep>,
}

impl<S: Socket, Keep: Send + Unpin + 'static> Lingering<S, Keep> {
    /// Wraps `io`; `armed` decides at drop time; `keep` lives as long as the socket.
    pub fn new(io: S, armed: LingerOnClose, keep: Keep) -> Self {
        Self { io: Some(io), armed, keep: Some(keep) }
    }

    fn io(&mut self) -> io::Result<&mut S> {
        self.io.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl<S: Socket, Keep: Send + Unpin + 'static> Drop for Lingering<S, Keep> {
    fn drop(&mut self) {
        // Set up only when armed; other sockets close as they always did.
        if !self.armed.is_armed() {
            return;
        }
        let (Some(io), Ok(runtime)) = (self.io.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let keep = self.keep.take();
        runtime.spawn(async move {
            linger(io, LINGER).await;
            drop(keep);
        });
    }
}

/// Half-closes `io` and discards what its peer still sends until the peer closes too or
/// `limit` passes.
async fn linger<S: Socket>(mut io: S, limit: Duration) {
    let _ = tokio::time::timeout(limit, async {
        io.shutdown().await?;
        let mut discard = vec![0u8; DISCARD_CHUNK];
        while io.read(&mut discard).await? > 0 {}
        Ok::<_, io::Error>(())
    })
    .await;
}

impl<S: Socket, Keep: Send + Unpin + 'static> AsyncRead for Lingering<S, Keep> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().io()?).poll_read(cx, buf)
    }
}

impl<S: Socket, Keep: Send + Unpin + 'static> AsyncWrite for Lingering<S, Keep> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().io()?).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().io()?).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().io()?).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().io()?).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.as_ref().is_some_and(AsyncWrite::is_write_vectored)
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// The server answers "bye" and drops its socket while the client is still sending 8 MiB:
    /// the client finishes sending, then reads the answer and the end of the connection.
    async fn answer_while_the_peer_sends(armed: bool) -> io::Result<Vec<u8>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let client = tokio::spawn(async move {
            let mut tcp = TcpStream::connect(addr).await?;
            tcp.write_all(&[1]).await?;
            tcp.write_all(&vec![0u8; 8 << 20]).await?;
            let mut answer = Vec::new();
            tcp.read_to_end(&mut answer).await?;
            Ok::<_, io::Error>(answer)
        });
        let (tcp, _) = listener.accept().await?;
        let linger = LingerOnClose::default();
        if armed {
            linger.arm();
        }
        let mut server = Lingering::new(tcp, linger, ());
        let mut first = [0u8; 1];
        server.read_exact(&mut first).await?;
        server.write_all(b"bye").await?;
        drop(server);
        client.await?
    }

    #[tokio::test]
    async fn an_armed_socket_lets_its_peer_finish_and_read_the_answer() {
        assert_eq!(answer_while_the_peer_sends(true).await.unwrap(), b"bye");
    }

    #[tokio::test]
    async fn an_unarmed_socket_is_reset_under_a_sending_peer() {
        // What lingering prevents: the kernel resets a socket closed with unread input, and the
        // peer's write (or its read of the answer) fails.
        let error = answer_while_the_peer_sends(false).await.unwrap_err();
        let reset = [io::ErrorKind::ConnectionReset, io::ErrorKind::BrokenPipe];
        assert!(reset.contains(&error.kind()), "{error}");
    }
}
