//! Helpers shared by the unit tests of several modules.

/// Seeded xorshift64* so randomised tests reproduce from their seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// [`Rng::below`] for indices and lengths.
    pub fn index(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A receipt as the receipt and journal tests use it: DELIVRD, text
/// "hello world", no expiry.
pub fn receipt() -> crate::receipt::Receipt {
    use crate::receipt::{Addr, Receipt};
    Receipt::new(
        crate::account::AccountId(0),
        *b"0123456789a0100000000001",
        Addr::new(1, 1, b"447700900002"),
        Addr::new(5, 0, b"Shop"),
        1_715_005_320, // 2024-05-06 14:22:00 UTC
        crate::dlr::Stat::Delivrd,
        b"hello world",
        i64::MAX,
    )
}

/// One loop's SMPP logic without sockets: a [`LoopState`], its sessions in
/// a plain list (slot = index), and a clock moved by hand. Frames go in
/// through the same functions the loop calls; what the server wrote is read
/// back from each session's write buffer.
///
/// [`LoopState`]: crate::loop_state::LoopState
pub struct Harness {
    pub shared: crate::server::Shared,
    pub st: crate::loop_state::LoopState,
    pub sessions: Sessions,
    /// Each session's read buffer: a partial frame waits there, as in the loop.
    rx: Vec<crate::buf::RingBuf>,
    /// Sessions a timer closed (their slot).
    pub closed: Vec<usize>,
    /// What `bind` read past the bind response, returned by the next `out`.
    pending: Vec<Vec<Out>>,
}

/// The harness's sessions, as delivery sees them.
#[derive(Default)]
pub struct Sessions {
    pub list: Vec<crate::conn::Session>,
}

impl crate::delivery::Sessions for Sessions {
    fn get(&mut self, key: crate::conn::ConnKey) -> Option<&mut crate::conn::Session> {
        self.list
            .get_mut(key.slot as usize)
            .filter(|s| s.key == key && !s.closed)
    }
    fn wrote(&mut self, _key: crate::conn::ConnKey, _receipt: bool) {}
}

/// One PDU the server wrote.
#[derive(Debug)]
pub struct Out {
    pub id: crate::pdu::CommandId,
    pub status: crate::pdu::CommandStatus,
    pub seq: u32,
    pub frame: Vec<u8>,
}

impl Out {
    pub fn pdu(&self) -> crate::pdu::Pdu<'_> {
        match crate::pdu::decode(&self.frame) {
            Ok(p) => p,
            Err(e) => panic!("the server wrote an undecodable PDU: {e:?}"),
        }
    }
}

/// The test account of every harness.
pub const SYSTEM_ID: &[u8] = b"esme";
pub const PASSWORD: &[u8] = b"secret";

impl Harness {
    /// A one-loop server configured by `args` (flags after the defaults:
    /// 127.0.0.1:0, one loop, account esme:secret).
    pub fn new(args: &[&str]) -> Harness {
        use clap::Parser;
        let mut all = vec![
            "smsc",
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "1",
            "--account",
            "esme:secret",
        ];
        all.extend_from_slice(args);
        let config = match crate::config::Config::from_args(crate::config::Args::parse_from(all)) {
            Ok(c) => c,
            Err(e) => panic!("harness config: {e}"),
        };
        let shared = crate::server::Shared::new(config);
        let mut st = crate::loop_state::LoopState::new(0, &shared);
        st.clock.tick = 1;
        Harness {
            shared,
            st,
            sessions: Sessions::default(),
            rx: Vec::new(),
            closed: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// A new connection (not bound); returns its slot.
    pub fn connect(&mut self) -> usize {
        let slot = self.sessions.list.len();
        let key = crate::conn::ConnKey {
            slot: slot as u32,
            gen: 1,
        };
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 40_000 + slot as u16));
        let s = crate::conn::Session::new(
            key,
            peer,
            self.st.clock.tick,
            crate::buf::RingBuf::new(4096, self.shared.config.max_write_buffer_bytes),
        );
        crate::session::arm_session_init(&mut self.st, &s);
        self.sessions.list.push(s);
        self.rx.push(crate::buf::RingBuf::new(4096, 1 << 20));
        self.pending.push(Vec::new());
        slot
    }

    pub fn session(&mut self, slot: usize) -> &mut crate::conn::Session {
        match self.sessions.list.get_mut(slot) {
            Some(s) => s,
            None => panic!("no session {slot}"),
        }
    }

    /// Feeds raw octets to session `slot` as the loop does after a read
    /// (framing included), then runs the end-of-iteration pump.
    pub fn feed(&mut self, slot: usize, bytes: &[u8]) {
        let mut scratch = vec![0u8; self.shared.config.max_pdu_bytes as usize];
        let (Some(s), Some(rx)) = (self.sessions.list.get_mut(slot), self.rx.get_mut(slot)) else {
            panic!("no session {slot}");
        };
        assert!(rx.extend_from_slice(bytes), "read buffer full");
        crate::session::process_frames(&mut self.st, &self.shared, rx, s, &mut scratch);
        self.end_iteration();
    }

    /// Sends one PDU from the ESME on session `slot`.
    pub fn send(&mut self, slot: usize, seq: u32, body: crate::pdu::Body<'_>) {
        self.send_with(slot, seq, crate::pdu::CommandStatus::ESME_ROK, body);
    }

    pub fn send_with(
        &mut self,
        slot: usize,
        seq: u32,
        status: crate::pdu::CommandStatus,
        body: crate::pdu::Body<'_>,
    ) {
        let frame = match crate::pdu::Pdu::with_status(seq, status, body).to_vec() {
            Ok(f) => f,
            Err(e) => panic!("test PDU does not encode: {e:?}"),
        };
        self.feed(slot, &frame);
    }

    /// Binds session `slot` as `t` with the test account; panics unless OK.
    pub fn bind(&mut self, slot: usize, t: crate::account::BindType) {
        self.bind_as(slot, t, SYSTEM_ID, PASSWORD);
    }

    /// Binds session `slot` as `t` with account `system_id`; panics unless OK.
    pub fn bind_as(
        &mut self,
        slot: usize,
        t: crate::account::BindType,
        system_id: &[u8],
        password: &[u8],
    ) {
        let b = crate::pdu::Bind {
            system_id,
            password,
            interface_version: 0x34,
            ..Default::default()
        };
        use crate::account::BindType;
        let body = match t {
            BindType::Transmitter => crate::pdu::Body::BindTransmitter(b),
            BindType::Receiver => crate::pdu::Body::BindReceiver(b),
            BindType::Transceiver => crate::pdu::Body::BindTransceiver(b),
        };
        self.send(slot, 1, body);
        let mut out = self.out(slot);
        assert!(!out.is_empty(), "no bind response");
        let resp = out.remove(0);
        assert!(resp.id.is_response(), "{resp:?}");
        assert_eq!(resp.status, crate::pdu::CommandStatus::ESME_ROK);
        // Deliveries held for the account may follow in the same write.
        if let Some(p) = self.pending.get_mut(slot) {
            *p = out;
        }
    }

    /// Keeps `out` to be returned first by the next `out(slot)`.
    pub fn pending_push(&mut self, slot: usize, out: Vec<Out>) {
        if let Some(p) = self.pending.get_mut(slot) {
            p.extend(out);
        }
    }

    /// What the server wrote to session `slot` since the last call.
    pub fn out(&mut self, slot: usize) -> Vec<Out> {
        let mut out = self
            .pending
            .get_mut(slot)
            .map(std::mem::take)
            .unwrap_or_default();
        let s = self.session(slot);
        let (a, b) = s.tx.as_slices();
        let mut bytes = a.to_vec();
        bytes.extend_from_slice(b);
        let n = s.tx.len();
        s.tx.consume(n);
        let mut rest = &bytes[..];
        while rest.len() >= 16 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            assert!(
                len >= 16 && len <= rest.len(),
                "torn PDU in the write buffer"
            );
            let Some(h) = crate::pdu::Header::peek(&rest[..len]) else {
                panic!("bad header");
            };
            out.push(Out {
                id: h.command_id,
                status: h.command_status,
                seq: h.sequence_number,
                frame: rest[..len].to_vec(),
            });
            rest = &rest[len..];
        }
        assert!(rest.is_empty(), "partial PDU left in the write buffer");
        out
    }

    /// Moves the clock `n` ticks (10 ms each) and fires what fell due, as
    /// the loop does: session timers to their session, delayed receipts to
    /// delivery; then the end-of-iteration pump.
    pub fn advance(&mut self, n: u64) {
        use crate::clock::Kind;
        // Unix time follows the ticks (100 per second), as housekeeping's would.
        let before = self.st.clock.tick / 100;
        self.st.clock.tick += n;
        self.st.clock.unix += (self.st.clock.tick / 100 - before) as i64;
        self.st.arm_deferred();
        let mut fired = Vec::new();
        self.st.clock.fire(&mut fired);
        for key in fired {
            match key.kind {
                Kind::Receipt => self.st.delivery.on_delayed(key.slot as usize, key.gen),
                Kind::Message => crate::manage::on_message_due(
                    &mut self.st,
                    &self.shared,
                    key.slot as usize,
                    key.gen,
                ),
                Kind::LateResponse => {
                    if let Some(late) = self.st.accept.late.try_remove(key.slot as usize) {
                        if let Some(s) = self.sessions.list.get_mut(late.key.slot as usize) {
                            crate::session::respond::respond_accepted(
                                &mut self.st.m,
                                s,
                                late.seq,
                                &late.id,
                                late.data_sm,
                            );
                        }
                    }
                }
                kind => {
                    let idx = key.slot as usize;
                    let Some(s) = self.sessions.list.get_mut(idx) else {
                        continue;
                    };
                    if s.key.gen != key.gen || s.closed {
                        continue;
                    }
                    if crate::session::on_timer(&mut self.st, &self.shared, s, kind) {
                        s.closed = true;
                        crate::session::end(&mut self.st, &self.shared, s);
                        self.closed.push(idx);
                    }
                }
            }
        }
        self.end_iteration();
    }

    /// Closes session `slot` as the loop does when its socket goes.
    pub fn close(&mut self, slot: usize) {
        let Some(s) = self.sessions.list.get_mut(slot) else {
            panic!("no session {slot}");
        };
        s.closed = true;
        crate::session::end(&mut self.st, &self.shared, s);
        self.end_iteration();
    }

    /// What the loop does at the end of an iteration: queue fresh
    /// receipts, pump the dirty accounts.
    pub fn end_iteration(&mut self) {
        crate::manage::settle_outcomes(&mut self.st, &self.shared);
        self.st.delivery.route_fresh(&self.shared);
        self.st.delivery.pump_dirty(
            &mut self.sessions,
            &mut self.st.clock,
            &mut self.st.m,
            &self.shared,
        );
    }
}
