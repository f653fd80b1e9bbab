//! Hostile input over a real socket: random frames with every command id,
//! random bodies and lying lengths, bound and unbound. The server must
//! answer what it can, close what it must, and keep serving everyone else.
mod common;
use common::*;
use smsc::pdu::{Body, CommandId, CommandStatus as S};
use std::io::Write;
use std::time::Duration;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_frames_never_take_the_server_down() {
    let srv = server(&["--bind-fail-limit", "0"]);
    let a = srv.local_addr();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for round in 0..40 {
        // Half the rounds on a bound session, half unbound.
        let mut e = if round % 2 == 0 {
            Esme::bound(a, CommandId::BIND_TRANSCEIVER)
        } else {
            Esme::connect(a)
        };
        let mut burst = Vec::new();
        for _ in 0..50 {
            let id = if rng.next() % 8 == 0 {
                rng.next() as u32
            } else {
                let all = CommandId::ALL;
                all[(rng.next() as usize) % all.len()].0
            };
            let body_len = (rng.next() % 120) as usize;
            // Mostly honest lengths, sometimes a lie (short, long, huge).
            let len = match rng.next() % 10 {
                0 => (rng.next() % 16) as u32,
                1 => (16 + body_len + (rng.next() % 8) as usize) as u32,
                2 => rng.next() as u32,
                _ => (16 + body_len) as u32,
            };
            burst.extend_from_slice(&len.to_be_bytes());
            burst.extend_from_slice(&id.to_be_bytes());
            burst.extend_from_slice(&(rng.next() as u32 % 3).to_be_bytes());
            burst.extend_from_slice(&(rng.next() as u32).to_be_bytes());
            for _ in 0..body_len {
                // NULs often, so C-strings end sometimes.
                let b = rng.next() as u8;
                burst.push(if b < 64 { 0 } else { b });
            }
        }
        let _ = e.stream.write_all(&burst);
        // Drain whatever comes back until the server closes or goes quiet.
        while let Some(g) = e.recv_timeout(Duration::from_millis(50)) {
            // Everything the server sends must itself be well-formed.
            let _ = g.pdu();
        }
    }
    // Still serving: a fresh session binds, submits and gets its receipt.
    let mut ok = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
    assert_eq!(ok.submit(sm(b"after the storm", 1)).status(), S::ESME_ROK);
    let d = ok.recv_id(CommandId::DELIVER_SM);
    assert!(matches!(d.pdu().body, Body::DeliverSm(_)));
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || {
        let c = s.snapshot().counters;
        c.frame_ex > 0 && c.decode_ex > 0
    }));
    srv.stop();
}
