//! One ESME connection: the transport (TCP or TLS), its two ring buffers
//! and its session.

use crate::account::{AccountId, BindType};
use crate::buf::RingBuf;
use crate::tls::ClientNames;
use crate::transport::Transport;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Slab slot + generation: a stale timer or event for a reused slot is
/// recognised and ignored.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ConnKey {
    pub slot: u32,
    pub gen: u32,
}

/// The session states of §2.2, plus the server-initiated unbind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    /// Connected, not bound.
    Open,
    /// Bound as transmitter, receiver or transceiver.
    Bound(BindType),
    /// The server sent unbind and waits for unbind_resp.
    Unbinding,
    /// Closing: no more input is processed; pending output is flushed.
    Closing,
}

/// A deliver_sm waiting for its deliver_sm_resp.
#[derive(Clone, Copy, Debug)]
pub struct Inflight {
    pub seq: u32,
    pub sent_tick: u64,
    /// Key of the receipt in the loop's receipt store.
    pub receipt: u32,
}

/// Everything about a connection except its socket and read buffer, so
/// the PDU handlers can borrow it while a frame borrows the read buffer.
pub struct Session {
    pub key: ConnKey,
    pub peer: SocketAddr,
    pub tx: RingBuf,
    pub state: State,
    pub account: Option<AccountId>,
    /// interface_version >= 0x34: TLVs may be sent.
    pub v34: bool,
    /// Tick of the last PDU received (enquire_link timer).
    pub last_rx: u64,
    /// Tick of the last PDU other than enquire_link(_resp) (inactivity timer).
    pub last_traffic: u64,
    next_seq: u32,
    /// Our enquire_link waiting for its response: (seq, sent tick).
    pub enquire_pending: Option<(u32, u64)>,
    /// Our unbind waiting for its response.
    pub unbind_pending: Option<(u32, u64)>,
    /// Receipts sent and not yet acknowledged (the window).
    pub inflight: VecDeque<Inflight>,
    /// A response-check timer is armed.
    pub resp_timer_armed: bool,
    /// Reading stopped because `tx` is over the high watermark.
    pub read_paused: bool,
    /// Close once `tx` is flushed.
    pub close_after_flush: bool,
    /// Already on the loop's flush list this iteration.
    pub in_flush_list: bool,
    /// Readable in this iteration and not read yet: a receipt for it waits
    /// for that read, so its answers and the receipt leave in one write.
    pub read_pending: bool,
    /// On the loop's list of connections holding output for that read.
    pub in_held_list: bool,
    /// Already on the loop's close list.
    pub closed: bool,
    /// Registered as a receiver in the loop's account table.
    pub receiving: bool,
    /// WRITABLE interest is registered (output blocked on a full socket).
    pub write_interest: bool,
    /// The connection came over the TLS listener (set before any PDU).
    pub tls: bool,
    /// The names of the client certificate verified in the handshake.
    pub client_cert: Option<Box<ClientNames>>,
    /// The bind's address_range: only MO messages to destinations it
    /// matches come to this session (receipts always do).
    pub range: Option<Box<regex::bytes::Regex>>,
    /// The peer closed its side (an event said so): read to the end.
    pub hup: bool,
    /// From a `--proxy-protocol-from` source: a PROXY protocol header
    /// comes first; `peer` is the balancer's address until it has.
    pub proxy_pending: bool,
    /// The balancer the session came through, when its PROXY header named
    /// the client (`peer`).
    pub via: Option<SocketAddr>,
    /// PDUs read from and written to this session (the admin API).
    pub pdus_rx: u64,
    pub pdus_tx: u64,
    /// Unix second of the bind; 0 before it.
    pub bound_at: u32,
}

impl Session {
    pub fn new(key: ConnKey, peer: SocketAddr, tick: u64, tx: RingBuf) -> Session {
        Session {
            key,
            peer,
            tx,
            state: State::Open,
            account: None,
            v34: true,
            last_rx: tick,
            last_traffic: tick,
            next_seq: 0,
            enquire_pending: None,
            unbind_pending: None,
            inflight: VecDeque::new(),
            resp_timer_armed: false,
            read_paused: false,
            close_after_flush: false,
            in_flush_list: false,
            read_pending: false,
            in_held_list: false,
            closed: false,
            receiving: false,
            write_interest: false,
            tls: false,
            client_cert: None,
            range: None,
            hup: false,
            proxy_pending: false,
            via: None,
            pdus_rx: 0,
            pdus_tx: 0,
            bound_at: 0,
        }
    }

    /// Sequence numbers for PDUs the server originates: 1..=0x7FFFFFFF.
    pub fn next_seq(&mut self) -> u32 {
        self.next_seq = if self.next_seq >= 0x7FFF_FFFF {
            1
        } else {
            self.next_seq + 1
        };
        self.next_seq
    }

    pub fn bind_type(&self) -> Option<BindType> {
        match self.state {
            State::Bound(t) => Some(t),
            _ => None,
        }
    }

    /// The peer closed or reset the connection: close now, nothing to flush.
    pub fn closed_by_peer(&mut self) {
        self.state = State::Closing;
        self.close_after_flush = false;
    }

    /// Whether an MO message to `dest` may come to this session.
    #[inline]
    pub fn admits(&self, dest: &[u8]) -> bool {
        self.range.as_ref().is_none_or(|re| re.is_match(dest))
    }

    pub fn is_bound(&self) -> bool {
        matches!(self.state, State::Bound(_))
    }
}

pub struct Conn {
    pub io: Transport,
    pub rx: RingBuf,
    pub s: Session,
}
