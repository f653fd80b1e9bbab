//! The byte tap of the rusmppc interop tests: every connection records
//! the raw bytes both ways, so a failure can show what rusmppc sent and
//! what the server answered, in hex.
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

#[derive(Default, Debug)]
pub struct TapLog {
    /// Bytes rusmppc wrote (client -> server).
    sent: Vec<u8>,
    /// Bytes rusmppc read (server -> client).
    recv: Vec<u8>,
    /// The server closed its side (a read returned 0 bytes).
    eof: bool,
    /// A read or write failed (e.g. connection reset).
    io_error: Option<String>,
}

#[derive(Clone, Default, Debug)]
pub struct TapHandle(pub Arc<Mutex<TapLog>>);

impl TapHandle {
    pub fn sent(&self) -> Vec<u8> {
        self.0.lock().unwrap().sent.clone()
    }
    pub fn recv(&self) -> Vec<u8> {
        self.0.lock().unwrap().recv.clone()
    }
    pub fn eof(&self) -> bool {
        self.0.lock().unwrap().eof
    }
    pub fn io_error(&self) -> Option<String> {
        self.0.lock().unwrap().io_error.clone()
    }
    /// Both directions, PDU by PDU, in hex (for failure messages).
    pub fn dump(&self) -> String {
        let l = self.0.lock().unwrap();
        let mut s = String::from("\n--- rusmppc sent:\n");
        for p in split_pdus(&l.sent) {
            s += &hex(p);
            s.push('\n');
        }
        s += "--- server answered:\n";
        for p in split_pdus(&l.recv) {
            s += &hex(p);
            s.push('\n');
        }
        s += &format!("--- eof: {}, io error: {:?}\n", l.eof, l.io_error);
        s
    }
}

/// A TcpStream that records everything that passes through it.
pub struct Tap {
    pub inner: TcpStream,
    pub log: TapHandle,
}

impl AsyncRead for Tap {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut me.inner).poll_read(cx, buf);
        let mut l = me.log.0.lock().unwrap();
        match &r {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                if new.is_empty() && buf.remaining() > 0 {
                    l.eof = true;
                } else {
                    l.recv.extend_from_slice(new);
                }
            }
            Poll::Ready(Err(e)) => l.io_error = Some(e.to_string()),
            Poll::Pending => {}
        }
        r
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.inner).poll_write(cx, buf);
        let mut l = me.log.0.lock().unwrap();
        match &r {
            Poll::Ready(Ok(n)) => l.sent.extend_from_slice(&buf[..*n]),
            Poll::Ready(Err(e)) => l.io_error = Some(e.to_string()),
            Poll::Pending => {}
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Splits a byte stream into whole PDUs (by command_length).
pub fn split_pdus(mut b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if n < 16 || n > b.len() {
            out.push(b);
            break;
        }
        out.push(&b[..n]);
        b = &b[n..];
    }
    out
}

/// (command_id, command_status, sequence_number) of every PDU in `b`.
pub fn headers(b: &[u8]) -> Vec<(u32, u32, u32)> {
    split_pdus(b)
        .into_iter()
        .filter(|p| p.len() >= 16)
        .map(|p| {
            let w = |i: usize| u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
            (w(4), w(8), w(12))
        })
        .collect()
}
