//! The minimal responder: the "speed of light" an SMSC could reach on this
//! machine. It answers everything at once and parses only what it must:
//! the header of every PDU, and of a submit_sm only the fields up to
//! registered_delivery (plus the two addresses it swaps into the receipt).
//!
//! - bind_* -> bind_*_resp OK (any credentials);
//! - submit_sm -> submit_sm_resp with a counter-based 10-hex-digit
//!   message_id and, if registered_delivery & 1, a deliver_sm receipt
//!   (esm_class 0x04, the Appendix B text, receipted_message_id and
//!   message_state TLVs) written in the same batch as the response;
//! - enquire_link, unbind -> their responses; responses are swallowed;
//!   anything else -> generic_nack ESME_RINVCMDID.
//!
//! Each thread has its own mio `Poll`; thread 0 accepts and deals
//! connections round robin to the threads. All responses produced from one
//! read go out in one `write`. Receipts for a submit on a transmitter bind
//! go to a receiver (or transceiver) bind of the same thread, round robin
//! per read batch, in one write too; with no such bind on the thread they
//! go back on the submitting connection.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use smsc::pdu::{check_frame, CommandId, CommandStatus, Frame, HEADER_LEN};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
const READ_BUF: usize = 256 * 1024;
/// Stop reading a connection while this much output is unsent.
const MAX_PENDING_WRITE: usize = 4 << 20;
const SYSTEM_ID: &[u8] = b"responder";

/// What the responder did, summed over its threads.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct ResponderStats {
    pub connections: u64,
    pub binds: u64,
    pub submits: u64,
    pub receipts: u64,
    pub deliver_sm_resps: u64,
    pub enquire_links: u64,
}

impl ResponderStats {
    fn add(&mut self, o: &ResponderStats) {
        self.connections += o.connections;
        self.binds += o.binds;
        self.submits += o.submits;
        self.receipts += o.receipts;
        self.deliver_sm_resps += o.deliver_sm_resps;
        self.enquire_links += o.enquire_links;
    }
}

struct Conn {
    stream: TcpStream,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    wbuf: Vec<u8>,
    wpos: usize,
    writable: bool,
    /// Reading was paused by backpressure; resume once output drains.
    read_pending: bool,
    closing: bool,
    role: Role,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Unbound,
    Tx,
    Rx,
    Trx,
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[inline]
fn header(out: &mut Vec<u8>, len: usize, id: u32, status: u32, seq: u32) {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&(len as u32).to_be_bytes());
    h[4..8].copy_from_slice(&id.to_be_bytes());
    h[8..12].copy_from_slice(&status.to_be_bytes());
    h[12..].copy_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&h);
}

/// The fields of a submit_sm the receipt needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubmitScan<'a> {
    pub source: (u8, u8, &'a [u8]),
    pub dest: (u8, u8, &'a [u8]),
    pub registered_delivery: u8,
}

fn cstr<'a>(b: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = b.get(*pos..)?;
    let n = rest.iter().position(|&c| c == 0)?;
    *pos += n + 1;
    rest.get(..n)
}

fn byte(b: &[u8], pos: &mut usize) -> Option<u8> {
    let v = *b.get(*pos)?;
    *pos += 1;
    Some(v)
}

/// Walks a submit_sm body up to registered_delivery.
pub fn scan_submit(body: &[u8]) -> Option<SubmitScan<'_>> {
    let mut p = 0;
    cstr(body, &mut p)?; // service_type
    let ston = byte(body, &mut p)?;
    let snpi = byte(body, &mut p)?;
    let src = cstr(body, &mut p)?;
    let dton = byte(body, &mut p)?;
    let dnpi = byte(body, &mut p)?;
    let dst = cstr(body, &mut p)?;
    p += 3; // esm_class, protocol_id, priority_flag
    cstr(body, &mut p)?; // schedule_delivery_time
    cstr(body, &mut p)?; // validity_period
    let rd = byte(body, &mut p)?;
    Some(SubmitScan {
        source: (ston, snpi, src),
        dest: (dton, dnpi, dst),
        registered_delivery: rd,
    })
}

/// The message id for counter `n` of thread `thread`: 10 hex digits.
#[inline]
pub fn message_id(thread: usize, n: u64) -> [u8; 10] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let v = ((thread as u64 & 0xF) << 36) | (n & 0xF_FFFF_FFFF);
    let mut out = [0u8; 10];
    for (i, o) in out.iter_mut().enumerate() {
        *o = HEX[((v >> (36 - 4 * i)) & 0xF) as usize];
    }
    out
}

/// Appends a receipt deliver_sm for message `id` (sent from `s.dest` to `s.source`).
pub fn write_receipt(out: &mut Vec<u8>, seq: u32, id: &[u8], s: &SubmitScan<'_>, date: &[u8; 10]) {
    let start = out.len();
    header(out, 0, CommandId::DELIVER_SM.0, 0, seq);
    out.push(0); // service_type
    out.push(s.dest.0);
    out.push(s.dest.1);
    out.extend_from_slice(s.dest.2);
    out.push(0);
    out.push(s.source.0);
    out.push(s.source.1);
    out.extend_from_slice(s.source.2);
    out.push(0);
    // esm_class receipt, protocol_id, priority, schedule "", validity "",
    // registered_delivery, replace_if_present, data_coding, sm_default_msg_id.
    out.extend_from_slice(&[0x04, 0, 0, 0, 0, 0, 0, 0, 0]);
    let len_at = out.len();
    out.push(0);
    out.extend_from_slice(b"id:");
    out.extend_from_slice(id);
    out.extend_from_slice(b" sub:001 dlvrd:001 submit date:");
    out.extend_from_slice(date);
    out.extend_from_slice(b" done date:");
    out.extend_from_slice(date);
    out.extend_from_slice(b" stat:DELIVRD err:000 text:");
    let sm_len = out.len() - len_at - 1;
    out[len_at] = sm_len as u8;
    // receipted_message_id (C-string) and message_state DELIVERED (2).
    out.extend_from_slice(&[0x00, 0x1E]);
    out.extend_from_slice(&(id.len() as u16 + 1).to_be_bytes());
    out.extend_from_slice(id);
    out.push(0);
    out.extend_from_slice(&[0x04, 0x27, 0x00, 0x01, 0x02]);
    let total = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&total.to_be_bytes());
}

struct Loop {
    idx: usize,
    poll: Poll,
    conns: Slab<Conn>,
    listener: Option<TcpListener>,
    peers: Vec<(Sender<TcpStream>, Arc<Waker>)>,
    inbox: Receiver<TcpStream>,
    next_peer: usize,
    ids: u64,
    date: [u8; 10],
    date_unix: i64,
    stats: ResponderStats,
    /// Connections bound as receiver or transceiver.
    receivers: Vec<usize>,
    rr: usize,
    /// Sequence numbers of the receipts this thread sends.
    dseq: u32,
    /// Receipts of one batch for another connection.
    xbuf: Vec<u8>,
}

impl Loop {
    fn refresh_date(&mut self) {
        let now = crate::sys::unix_now();
        if now != self.date_unix {
            self.date_unix = now;
            self.date = crate::sys::smpp_date(now);
        }
    }

    fn add_conn(&mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        let c = entry.insert(Conn {
            stream,
            rbuf: vec![0; READ_BUF],
            rstart: 0,
            rend: 0,
            wbuf: Vec::with_capacity(64 * 1024),
            wpos: 0,
            writable: true,
            read_pending: false,
            closing: false,
            role: Role::Unbound,
        });
        if self
            .poll
            .registry()
            .register(
                &mut c.stream,
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            self.conns.remove(key);
            return;
        }
        self.stats.connections += 1;
        // Data may already be waiting.
        self.on_readable(key);
    }

    fn accept(&mut self) {
        loop {
            let Some(l) = &self.listener else { return };
            match l.accept() {
                Ok((s, _)) => {
                    let n = self.peers.len() + 1;
                    let target = self.next_peer % n;
                    self.next_peer = self.next_peer.wrapping_add(1);
                    if target == 0 {
                        self.add_conn(s);
                    } else if let Some((tx, waker)) = self.peers.get(target - 1) {
                        if tx.send(s).is_ok() {
                            let _ = waker.wake();
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn close(&mut self, key: usize) {
        self.receivers.retain(|k| *k != key);
        if self.conns.contains(key) {
            let mut c = self.conns.remove(key);
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }

    fn on_readable(&mut self, key: usize) {
        loop {
            let Some(c) = self.conns.get_mut(key) else {
                return;
            };
            if c.wbuf.len() - c.wpos > MAX_PENDING_WRITE {
                c.read_pending = true;
                return;
            }
            c.read_pending = false;
            crate::sys::make_read_room(&mut c.rbuf, &mut c.rstart, &mut c.rend);
            let space = c.rbuf.len() - c.rend;
            match c.stream.read(&mut c.rbuf[c.rend..]) {
                Ok(0) => {
                    self.close(key);
                    return;
                }
                Ok(n) => {
                    c.rend += n;
                    if !self.process(key) {
                        self.close(key);
                        return;
                    }
                    self.flush(key);
                    if n < space {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.close(key);
                    return;
                }
            }
        }
    }

    /// Answers every complete PDU in the read buffer; false = drop the connection.
    fn process(&mut self, key: usize) -> bool {
        let idx = self.idx;
        let date = self.date;
        let Some(c) = self.conns.get_mut(key) else {
            return false;
        };
        // Where this batch's receipts go: the connection itself, or for a
        // transmitter a receiver bind (into xbuf, moved over below).
        let mut target = None;
        if c.role == Role::Tx && !self.receivers.is_empty() {
            target = self.receivers.get(self.rr % self.receivers.len()).copied();
            self.rr = self.rr.wrapping_add(1);
        }
        self.xbuf.clear();
        let mut start = c.rstart;
        let end = c.rend;
        let mut ok = true;
        while start < end {
            let frame = match check_frame(&c.rbuf[start..end], 64 * 1024) {
                Ok(Frame::Complete(n)) => &c.rbuf[start..start + n],
                Ok(Frame::NeedMore(_)) => break,
                Err(e) => {
                    header(
                        &mut c.wbuf,
                        HEADER_LEN,
                        CommandId::GENERIC_NACK.0,
                        e.status().0,
                        e.sequence_number,
                    );
                    c.closing = true;
                    break;
                }
            };
            let n = frame.len();
            let id = be32(frame, 4);
            let seq = be32(frame, 12);
            match CommandId(id) {
                CommandId::SUBMIT_SM => {
                    self.stats.submits += 1;
                    let mid = message_id(idx, self.ids);
                    self.ids += 1;
                    // submit_sm_resp: header + 10-digit id + NUL, one copy.
                    let mut r = [0u8; HEADER_LEN + 11];
                    r[..4].copy_from_slice(&((HEADER_LEN + 11) as u32).to_be_bytes());
                    r[4..8].copy_from_slice(&CommandId::SUBMIT_SM_RESP.0.to_be_bytes());
                    r[12..16].copy_from_slice(&seq.to_be_bytes());
                    r[16..26].copy_from_slice(&mid);
                    c.wbuf.extend_from_slice(&r);
                    if let Some(s) = frame.get(HEADER_LEN..).and_then(scan_submit) {
                        if s.registered_delivery & 1 == 1 {
                            self.stats.receipts += 1;
                            // One counter per thread: unique on whichever connection it goes.
                            let dseq = self.dseq;
                            self.dseq = if dseq >= 0x7FFF_FFFF { 1 } else { dseq + 1 };
                            let out = if target.is_some() {
                                &mut self.xbuf
                            } else {
                                &mut c.wbuf
                            };
                            write_receipt(out, dseq, &mid, &s, &date);
                        }
                    }
                }
                CommandId::DELIVER_SM_RESP => self.stats.deliver_sm_resps += 1,
                CommandId::BIND_TRANSMITTER
                | CommandId::BIND_RECEIVER
                | CommandId::BIND_TRANSCEIVER => {
                    self.stats.binds += 1;
                    c.role = match CommandId(id) {
                        CommandId::BIND_TRANSMITTER => Role::Tx,
                        CommandId::BIND_RECEIVER => Role::Rx,
                        _ => Role::Trx,
                    };
                    if c.role != Role::Tx && !self.receivers.contains(&key) {
                        self.receivers.push(key);
                    }
                    let resp = id | 0x8000_0000;
                    header(&mut c.wbuf, HEADER_LEN + SYSTEM_ID.len() + 1, resp, 0, seq);
                    c.wbuf.extend_from_slice(SYSTEM_ID);
                    c.wbuf.push(0);
                }
                CommandId::ENQUIRE_LINK => {
                    self.stats.enquire_links += 1;
                    header(
                        &mut c.wbuf,
                        HEADER_LEN,
                        CommandId::ENQUIRE_LINK_RESP.0,
                        0,
                        seq,
                    );
                }
                CommandId::UNBIND => {
                    header(&mut c.wbuf, HEADER_LEN, CommandId::UNBIND_RESP.0, 0, seq);
                    c.closing = true;
                }
                other if other.is_response() => {}
                _ => header(
                    &mut c.wbuf,
                    HEADER_LEN,
                    CommandId::GENERIC_NACK.0,
                    CommandStatus::ESME_RINVCMDID.0,
                    seq,
                ),
            }
            start += n;
            if c.closing {
                break;
            }
        }
        c.rstart = start;
        if c.closing {
            // Say what we have to say, then drop the connection.
            let _ = c.stream.write_all(&c.wbuf[c.wpos..]);
            ok = false;
        }
        if let Some(t) = target.filter(|_| !self.xbuf.is_empty()) {
            if let Some(tc) = self.conns.get_mut(t) {
                tc.wbuf.extend_from_slice(&self.xbuf);
                self.flush(t);
            }
        }
        ok
    }

    fn flush(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let mut broken = false;
        while c.writable && c.wpos < c.wbuf.len() {
            match c.stream.write(&c.wbuf[c.wpos..]) {
                Ok(0) => broken = true,
                Ok(n) => c.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => broken = true,
            }
            if broken {
                break;
            }
        }
        if c.wpos == c.wbuf.len() {
            c.wbuf.clear();
            c.wpos = 0;
        } else if c.wpos > 1 << 20 {
            c.wbuf.drain(..c.wpos);
            c.wpos = 0;
        }
        let resume = c.read_pending && c.wbuf.len() - c.wpos <= MAX_PENDING_WRITE;
        if broken {
            self.close(key);
        } else if resume {
            self.on_readable(key);
        }
    }

    fn run(&mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(1024);
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = self.poll.poll(&mut events, Some(Duration::from_millis(50))) {
                if e.kind() != io::ErrorKind::Interrupted {
                    break;
                }
            }
            self.refresh_date();
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => {
                        while let Ok(s) = self.inbox.try_recv() {
                            self.add_conn(s);
                        }
                    }
                    Token(key) => {
                        if ev.is_writable() {
                            if let Some(c) = self.conns.get_mut(key) {
                                c.writable = true;
                            }
                            self.flush(key);
                        }
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            self.on_readable(key);
                        }
                    }
                }
            }
        }
    }
}

/// Serves on `listener` with `threads` loops (pinned to `cores` if given)
/// until `stop` is set; returns what it did.
pub fn serve(
    listener: std::net::TcpListener,
    threads: usize,
    cores: Option<Vec<usize>>,
    stop: Arc<AtomicBool>,
) -> io::Result<ResponderStats> {
    let threads = threads.max(1);
    listener.set_nonblocking(true)?;
    let mut loops = Vec::new();
    let mut peers = Vec::new();
    for i in 0..threads {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = channel();
        if i > 0 {
            peers.push((tx, waker));
        }
        loops.push(Loop {
            idx: i,
            poll,
            conns: Slab::new(),
            listener: None,
            peers: Vec::new(),
            inbox: rx,
            next_peer: 0,
            ids: 0,
            date: crate::sys::smpp_date(crate::sys::unix_now()),
            date_unix: 0,
            stats: ResponderStats::default(),
            receivers: Vec::new(),
            rr: 0,
            dseq: 1,
            xbuf: Vec::with_capacity(64 * 1024),
        });
    }
    let mut l = TcpListener::from_std(listener);
    loops[0]
        .poll
        .registry()
        .register(&mut l, LISTENER, Interest::READABLE)?;
    loops[0].listener = Some(l);
    loops[0].peers = peers;
    let mut handles = Vec::new();
    for (i, mut lp) in loops.into_iter().enumerate() {
        let stop = stop.clone();
        let core = cores
            .as_ref()
            .and_then(|c| c.get(i % c.len().max(1)).copied());
        handles.push(
            std::thread::Builder::new()
                .name(format!("responder-{i}"))
                .spawn(move || {
                    if let Some(core) = core {
                        if let Err(e) = crate::sys::pin_to_core(core) {
                            eprintln!("responder: cannot pin thread {i} to CPU {core}: {e}");
                        }
                    }
                    lp.run(&stop);
                    lp.stats
                })?,
        );
    }
    let mut total = ResponderStats::default();
    for h in handles {
        if let Ok(s) = h.join() {
            total.add(&s);
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smsc::pdu::{decode, Body, Pdu, Sm};

    #[test]
    fn ids_are_fixed_width_and_unique_per_thread() {
        assert_eq!(&message_id(0, 0), b"0000000000");
        assert_eq!(&message_id(0, 255), b"00000000ff");
        assert_eq!(&message_id(3, 1), b"3000000001");
        assert_ne!(message_id(1, 5), message_id(2, 5));
    }

    #[test]
    fn receipt_decodes_with_the_codec() {
        let sm = Sm {
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"12345",
            dest_addr_ton: 2,
            dest_addr_npi: 3,
            destination_addr: b"4477",
            registered_delivery: 1,
            short_message: b"hi",
            ..Sm::default()
        };
        let pdu = Pdu::new(9, Body::SubmitSm(sm)).to_vec().unwrap();
        let s = scan_submit(&pdu[HEADER_LEN..]).unwrap();
        assert_eq!(s.registered_delivery, 1);
        assert_eq!(s.source, (1, 1, &b"12345"[..]));
        assert_eq!(s.dest, (2, 3, &b"4477"[..]));
        let mut out = Vec::new();
        write_receipt(&mut out, 77, b"00000000ff", &s, b"2405061422");
        let d = decode(&out).unwrap();
        assert_eq!(d.header.sequence_number, 77);
        assert_eq!(d.header.command_length as usize, out.len());
        let Body::DeliverSm(r) = d.body else {
            panic!("{d:?}")
        };
        assert_eq!(r.esm_class, 4);
        assert_eq!(r.source_addr, b"4477");
        assert_eq!((r.dest_addr_ton, r.destination_addr), (1, &b"12345"[..]));
        assert_eq!(r.tlvs.receipted_message_id(), Some(&b"00000000ff"[..]));
        assert_eq!(r.tlvs.message_state(), Some(2));
        assert_eq!(
            r.short_message,
            &b"id:00000000ff sub:001 dlvrd:001 submit date:2405061422 done date:2405061422 stat:DELIVRD err:000 text:"[..]
        );
        assert_eq!(crate::receipt::receipt_id(&r), Some(&b"00000000ff"[..]));
        assert!(scan_submit(&pdu[HEADER_LEN..HEADER_LEN + 8]).is_none());
    }
}
