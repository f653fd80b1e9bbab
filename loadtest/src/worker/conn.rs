//! One ESME connection and its socket I/O: reads into the thread's shared
//! buffer, writes from the connection's own (small, growing) buffer.
//!
//! Memory per connection is kept small so thousands of binds fit in one
//! process: the 256 KiB read buffer belongs to the thread; a connection
//! keeps only the partial frame a read ended in (usually nothing), its
//! pending output, and its window of send slots (32 bytes per slot).

use super::{Worker, MAX_PDU};
use mio::net::TcpStream;
use smsc::pdu::{check_frame, Frame};
use std::io::{self, Read, Write};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Role {
    Tx,
    Rx,
    Trx,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum State {
    Connecting,
    Binding,
    Bound,
    Unbinding,
    Closed,
}

/// What an outstanding request is.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(super) enum Req {
    /// A submit_sm (or an `enquire` of `--mix`): it takes window room.
    #[default]
    Msg,
    /// `--query-share`: a query_sm beside the messages.
    Query,
    /// `--enquire-share`: an enquire_link beside the messages.
    Ping,
}

/// An outstanding request, indexed by its sequence number.
#[derive(Clone, Copy, Default)]
pub(super) struct Slot {
    pub seq: u32,
    pub receipt: bool,
    pub measured: bool,
    pub req: Req,
    pub intended: u64,
    pub sent: u64,
    /// ESME-to-ESME mode: the message's tag (0: not tracked).
    pub tag: u64,
}

/// The message a connection is in the middle of (long messages span parts).
#[derive(Clone, Copy)]
pub(super) struct Current {
    pub kind: crate::templates::Kind,
    pub next_part: u8,
    pub receipt: bool,
    pub concat_ref: u8,
}

pub(super) struct Conn {
    pub stream: TcpStream,
    pub role: Role,
    pub state: State,
    pub connected: bool,
    pub writable: bool,
    /// In the thread's list of connections to flush.
    pub dirty: bool,
    /// In the thread's list of windows to refill (closed loop) or of
    /// spare binds (open loop).
    pub queued: bool,
    /// `wbuf` holds only deliver_sm_resp waiting for the next write (or
    /// `held_until`, filed in the thread's wheel): a writable event alone
    /// does not flush it.
    pub held: bool,
    pub held_until: u64,
    /// The start of a frame the last read ended in.
    pub partial: Vec<u8>,
    pub wbuf: Vec<u8>,
    pub wpos: usize,
    pub next_seq: u32,
    pub slots: Vec<Slot>,
    pub mask: u32,
    /// Requests awaiting their response (messages and the mix beside them).
    pub outstanding: u32,
    /// Messages that hold window room: until their response, or in
    /// ESME-to-ESME mode until their MO (and receipt) too.
    pub busy: u32,
    /// Bound as the MO receiver (`--mo-system-id`): never submits.
    pub mo: bool,
    pub cur: Option<Current>,
    /// `--tls`: rustls between the socket and the frames.
    pub tls: Option<Box<rustls::ClientConnection>>,
}

impl Conn {
    pub fn new(stream: TcpStream, role: Role, window: u32, mo: bool) -> Conn {
        // Twice the window: a free sequence slot is found in a step or two.
        let cap = (window.max(1) as usize * 2).next_power_of_two();
        Conn {
            stream,
            role,
            state: State::Connecting,
            connected: false,
            writable: false,
            dirty: false,
            queued: false,
            held: false,
            held_until: 0,
            partial: Vec::new(),
            wbuf: Vec::new(),
            wpos: 0,
            next_seq: 1,
            slots: vec![Slot::default(); cap],
            mask: cap as u32 - 1,
            outstanding: 0,
            busy: 0,
            mo,
            cur: None,
            tls: None,
        }
    }

    /// A socket read, or with TLS: plaintext, reading and decrypting
    /// records until some is there (WouldBlock when the socket is empty).
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(t) = self.tls.as_mut() else {
            return self.stream.read(buf);
        };
        loop {
            match t.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if t.read_tls(&mut self.stream)? == 0 {
                return Ok(0);
            }
            if let Err(e) = t.process_new_packets() {
                let _ = t.write_tls(&mut self.stream);
                return Err(io::Error::other(e));
            }
        }
    }

    /// Writes pending output: plaintext from `wbuf` (through rustls with
    /// TLS, whose records then go out with one writev). False when the
    /// connection failed.
    fn write_out(&mut self) -> bool {
        let Some(t) = self.tls.as_mut() else {
            while self.wpos < self.wbuf.len() {
                match self.stream.write(&self.wbuf[self.wpos..]) {
                    Ok(0) => break,
                    Ok(n) => self.wpos += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable = false;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
            return true;
        };
        loop {
            if self.wpos < self.wbuf.len() {
                match t.writer().write(&self.wbuf[self.wpos..]) {
                    Ok(n) => self.wpos += n,
                    Err(_) => return false,
                }
            }
            if !t.wants_write() {
                return true;
            }
            while t.wants_write() {
                match t.write_tls(&mut self.stream) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable = false;
                        return true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
        }
    }

    /// Room for one more request beside the messages: a quarter of the
    /// slots stays free for them, so a free sequence number always exists.
    #[inline]
    pub fn room_for_extra(&self) -> bool {
        (self.outstanding as usize) < self.slots.len() * 3 / 4
    }

    /// A sequence number not in use by an outstanding submit.
    #[inline]
    pub fn alloc_seq(&mut self) -> u32 {
        loop {
            let s = self.next_seq;
            self.next_seq = if s >= 0x7FFF_FFFF { 1 } else { s + 1 };
            if self.slots[(s & self.mask) as usize].seq == 0 {
                return s;
            }
        }
    }
}

pub(super) fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[inline]
pub(super) fn mark_dirty(dirty: &mut Vec<usize>, c: &mut Conn, key: usize) {
    if !c.dirty {
        c.dirty = true;
        dirty.push(key);
    }
}

impl Worker {
    /// Reads until the socket is drained (a short read means drained),
    /// handling every complete frame; a partial one is kept for next time.
    pub(super) fn on_readable(&mut self, key: usize) {
        let mut buf = std::mem::take(&mut self.rbuf);
        let mut end = match self.conns.get_mut(key) {
            Some(c) if c.state != State::Closed && c.connected => {
                let n = c.partial.len();
                buf[..n].copy_from_slice(&c.partial);
                c.partial.clear();
                n
            }
            _ => {
                self.rbuf = buf;
                return;
            }
        };
        while let Some(c) = self.conns.get_mut(key) {
            if c.state == State::Closed {
                end = 0;
                break;
            }
            let space = buf.len() - end;
            let tls = c.tls.is_some();
            // TLS reads go through rustls (no kernel receive stamp).
            let read = match self.rx_clock {
                Some(_) if !tls => {
                    use std::os::fd::AsRawFd;
                    crate::rxtime::recv(c.stream.as_raw_fd(), &mut buf[end..])
                }
                _ => c.read_some(&mut buf[end..]).map(|n| (n, None)),
            };
            match read.map(|(n, stamp)| (n, stamp, self.rx_clock)) {
                Ok((0, ..)) => {
                    self.lost(key);
                    end = 0;
                    break;
                }
                Ok((n, stamp, rx_clock)) => {
                    end += n;
                    self.now = self.clock();
                    // Answers are timed at their arrival (--tick).
                    if let (Some(s), Some(m)) = (stamp, rx_clock) {
                        self.now = m.map(s, self.now);
                    }
                    match self.process_frames(key, &buf[..end]) {
                        Some(used) => {
                            buf.copy_within(used..end, 0);
                            end -= used;
                        }
                        None => {
                            end = 0;
                            break;
                        }
                    }
                    // A short read drained the socket (not so with TLS: a
                    // record's plaintext may be short; read to WouldBlock).
                    if n < space && !tls {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.lost(key);
                    end = 0;
                    break;
                }
            }
        }
        if let Some(c) = self.conns.get_mut(key) {
            if end > 0 {
                c.partial.extend_from_slice(&buf[..end]);
            }
            // Handshake flights and key updates rustls wants to send.
            if c.tls.as_ref().is_some_and(|t| t.wants_write()) {
                mark_dirty(&mut self.dirty, c, key);
            }
        }
        self.rbuf = buf;
    }

    /// Handles the complete frames at the start of `data`; returns how many
    /// octets they took, or `None` after a framing error (connection lost).
    fn process_frames(&mut self, key: usize, data: &[u8]) -> Option<usize> {
        let mut start = 0;
        while start < data.len() {
            match check_frame(&data[start..], MAX_PDU) {
                Ok(Frame::Complete(n)) => {
                    self.handle_frame(key, &data[start..start + n]);
                    start += n;
                }
                Ok(Frame::NeedMore(_)) => break,
                Err(_) => {
                    self.counters.conn_errors += 1;
                    self.lost(key);
                    return None;
                }
            }
        }
        Some(start)
    }

    pub(super) fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &key in &dirty {
            if let Some(c) = self.conns.get_mut(key) {
                c.dirty = false;
            }
            self.flush(key);
        }
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    pub(super) fn flush(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        // Everything goes now, held replies too.
        c.held = false;
        if !c.connected || !c.writable || c.state == State::Closed {
            return;
        }
        if !c.write_out() {
            self.lost(key);
            return;
        }
        if c.wpos == c.wbuf.len() {
            c.wbuf.clear();
            c.wpos = 0;
        } else if c.wpos > 1 << 20 {
            c.wbuf.drain(..c.wpos);
            c.wpos = 0;
        }
    }

    /// The connection is gone (peer closed, I/O error, framing error).
    pub(super) fn lost(&mut self, key: usize) {
        if let Some(c) = self.conns.get_mut(key) {
            match c.state {
                State::Connecting | State::Binding if self.in_setup => {
                    self.binds.note_error("connection closed during bind");
                }
                State::Bound | State::Binding if !self.finishing => self.counters.conn_errors += 1,
                _ => {}
            }
            c.state = State::Closed;
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
        if self.sending
            && self
                .submitters
                .iter()
                .all(|k| self.conns.get(*k).is_none_or(|c| c.state == State::Closed))
        {
            self.error
                .get_or_insert_with(|| "all submitting connections closed".into());
            self.sending = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_allocation_skips_stuck_slots() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut c = Conn::new(s, Role::Trx, 2, false);
        assert_eq!(c.slots.len(), 4);
        let a = c.alloc_seq();
        c.slots[(a & c.mask) as usize].seq = a; // stuck forever
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(c.alloc_seq());
        }
        assert!(seen.iter().all(|s| s & c.mask != a & c.mask));
        c.next_seq = 0x7FFF_FFFF;
        assert_eq!(c.alloc_seq(), 0x7FFF_FFFF);
        assert_ne!(c.alloc_seq(), 0, "never zero after wrap");
    }

    #[test]
    fn a_connection_is_small() {
        // What thousands of binds cost beyond their sockets: the struct and
        // the window's slots (the read buffer is the thread's). A slot is
        // 32 bytes since it carries the ESME-to-ESME tag.
        assert_eq!(std::mem::size_of::<Slot>(), 32);
        let per_conn = std::mem::size_of::<Conn>() + 128 * std::mem::size_of::<Slot>();
        assert!(per_conn < 5 * 1024, "{per_conn} bytes at window 64");
    }
}
