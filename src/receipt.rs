//! Delivery receipts: the fixed-size record kept in queues (no heap per
//! receipt), its encoding as a deliver_sm, and the spool file format.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::account::AccountId;
use crate::dlr::{self, Stat};
use crate::msgid::{self, MessageId};
#[cfg(test)]
use crate::pdu::{self, Body, Sm, TlvBuf};
use crate::pdu::{CommandId, CommandStatus, EncodeError, Tag, Writer};
use crate::smpp_time;

/// An SMPP address (TON, NPI, up to 20 characters) stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Addr {
    pub ton: u8,
    pub npi: u8,
    len: u8,
    bytes: [u8; 20],
}

impl Addr {
    /// Longer input is truncated (the codec never yields more than 20).
    pub fn new(ton: u8, npi: u8, s: &[u8]) -> Addr {
        let s = s.get(..20).unwrap_or(s);
        Addr {
            ton,
            npi,
            len: s.len() as u8,
            bytes: padded20(s),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The address in its fixed-size buffer (zero after its length), for
    /// copies of a constant size.
    #[inline]
    pub fn padded(&self) -> (&[u8; 20], usize) {
        (&self.bytes, usize::from(self.len))
    }

    /// [`Addr::new`] in place, for a record already where it is stored.
    #[inline]
    pub fn set(&mut self, ton: u8, npi: u8, s: &[u8]) {
        let s = s.get(..20).unwrap_or(s);
        self.bytes = padded20(s);
        self.ton = ton;
        self.npi = npi;
        self.len = s.len() as u8;
    }
}

/// `s` (at most 20 octets) zero-padded to 20, composed in registers from
/// two overlapping loads. A `memcpy` of the length into a zeroed array,
/// read back at once by the wider moves that copy the address into its
/// record, cannot be store-forwarded: that stall was a third of the cycles
/// of holding an MO message.
#[inline]
fn padded20(s: &[u8]) -> [u8; 20] {
    #[inline(always)]
    fn le<const W: usize>(b: Option<&[u8; W]>) -> u128 {
        let mut v = [0u8; 16];
        if let Some(d) = v.first_chunk_mut::<W>() {
            *d = b.copied().unwrap_or([0; W]);
        }
        u128::from_le_bytes(v)
    }
    let n = s.len();
    let at = |i: usize| u128::from(s.get(i).copied().unwrap_or(0)) << (8 * i);
    // Octets 0..16 in `lo`, 16..20 in `hi`; the overlap of the two loads
    // holds the same octets in the same places, so OR joins them.
    let (lo, hi) = match n {
        0 => (0, 0),
        1..=3 => (at(0) | at(n / 2) | at(n - 1), 0),
        4..=7 => {
            let tail = s.get(n - 4..).and_then(|t| t.first_chunk::<4>());
            (le(s.first_chunk::<4>()) | le(tail) << (8 * (n - 4)), 0)
        }
        8..=16 => {
            let tail = s.get(n - 8..).and_then(|t| t.first_chunk::<8>());
            (le(s.first_chunk::<8>()) | le(tail) << (8 * (n - 8)), 0)
        }
        _ => {
            let tail = s.get(n - 4..).and_then(|t| t.first_chunk::<4>());
            (
                le(s.first_chunk::<16>()),
                (le(tail) as u32) >> (8 * (20 - n.min(20))),
            )
        }
    };
    let mut out = [0u8; 20];
    let (a, b) = out.split_at_mut(16);
    a.copy_from_slice(&lo.to_le_bytes());
    b.copy_from_slice(&hi.to_le_bytes());
    out
}

/// One receipt waiting to be delivered, in flight, or delayed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Receipt {
    pub account: AccountId,
    pub message_id: MessageId,
    /// Receipt source = the message's destination.
    pub source: Addr,
    /// Receipt destination = the message's source.
    pub dest: Addr,
    pub submit_unix: i64,
    pub done_unix: i64,
    pub stat: Stat,
    pub err: u16,
    text: [u8; dlr::TEXT_LEN],
    text_len: u8,
    /// Delivery attempts made so far.
    pub attempts: u8,
    /// (slot, generation) of the session that submitted the message on
    /// this loop, tried first when it receives; never valid on another
    /// loop or after a restart (cleared on forwarding, not spooled).
    pub prefer: Option<(u32, u32)>,
    /// Unix time after which the receipt is dropped as expired.
    pub expires_unix: i64,
    /// Its name in the journal (`--journal`); 0 when not journaled.
    pub jid: u64,
}

impl Receipt {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        account: AccountId,
        message_id: MessageId,
        source: Addr,
        dest: Addr,
        submit_unix: i64,
        stat: Stat,
        text: &[u8],
        expires_unix: i64,
    ) -> Receipt {
        let mut t = [0u8; dlr::TEXT_LEN];
        let n = text.len().min(dlr::TEXT_LEN);
        if let (Some(d), Some(s)) = (t.get_mut(..n), text.get(..n)) {
            d.copy_from_slice(s);
        }
        Receipt {
            account,
            message_id,
            source,
            dest,
            submit_unix,
            done_unix: submit_unix,
            stat,
            err: if matches!(stat, Stat::Delivrd | Stat::Enroute | Stat::Acceptd) {
                0
            } else {
                1
            },
            text: t,
            text_len: n as u8,
            attempts: 0,
            prefer: None,
            expires_unix,
            jid: 0,
        }
    }

    pub fn text(&self) -> &[u8] {
        self.text.get(..usize::from(self.text_len)).unwrap_or(&[])
    }

    /// The text in its fixed-size buffer, for copies of a constant size.
    #[inline]
    pub fn text_padded(&self) -> (&[u8; dlr::TEXT_LEN], usize) {
        (&self.text, usize::from(self.text_len))
    }

    /// Writes the text in place: `f` fills the buffer and returns its length.
    #[inline]
    pub fn set_text(&mut self, f: impl FnOnce(&mut [u8; dlr::TEXT_LEN]) -> usize) {
        self.text = [0; dlr::TEXT_LEN];
        self.text_len = f(&mut self.text).min(dlr::TEXT_LEN) as u8;
    }

    /// Encodes this receipt as a deliver_sm into `out` (at least
    /// [`MAX_PDU_LEN`] octets). TLVs are sent only to SMPP 3.4+ binds.
    pub fn encode(
        &self,
        sequence_number: u32,
        with_tlvs: bool,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        self.encode_cached(sequence_number, with_tlvs, &mut DateCache::default(), out)
    }

    /// [`Receipt::encode`] for the hot path: the receipt text and the TLVs
    /// are written straight into `out` (no intermediate buffer), and the
    /// dates come from a per-loop cache (receipts of one minute share them).
    pub fn encode_cached(
        &self,
        sequence_number: u32,
        with_tlvs: bool,
        dates: &mut DateCache,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let text = dlr::Receipt {
            id: &self.message_id,
            sub: 1,
            dlvrd: u16::from(self.stat == Stat::Delivrd),
            submit_date: dates.digits(self.submit_unix),
            done_date: dates.digits(self.done_unix),
            stat: self.stat,
            err: self.err,
            text: self.text(),
        };
        let text_len = text.encoded_len();
        let sm_length = u8::try_from(text_len)
            .map_err(|_| EncodeError::ShortMessageTooLong { len: text_len })?;
        let src = self.source.as_bytes();
        let dst = self.dest.as_bytes();
        let tlv_len = if with_tlvs {
            4 + msgid::LEN + 1 + 5 + if self.err != 0 { 7 } else { 0 }
        } else {
            0
        };
        // header, service_type NUL, ton npi src NUL, ton npi dst NUL,
        // 3 octets, 2 empty times, 4 octets, sm_length
        let len =
            16 + 1 + 2 + src.len() + 1 + 2 + dst.len() + 1 + 3 + 2 + 4 + 1 + text_len + tlv_len;
        let dst_buf = out
            .get_mut(..len)
            .ok_or(EncodeError::OutputTooSmall { need: len })?;
        let (head, rest) = dst_buf.split_at_mut(len - text_len - tlv_len);
        let mut w = Writer::new(head);
        w.u32(len as u32);
        w.u32(CommandId::DELIVER_SM.0);
        w.u32(0);
        w.u32(sequence_number);
        w.u8(0); // service_type
        w.u8(self.source.ton);
        w.u8(self.source.npi);
        w.cstr(src);
        w.u8(self.dest.ton);
        w.u8(self.dest.npi);
        w.cstr(dst);
        w.u8(if self.stat == Stat::Enroute {
            0x20
        } else {
            0x04
        });
        w.bytes(&[0, 0, 0, 0, 0, 0, 0, 0]); // protocol_id, priority, 2 NUL times, rd, rip, dc, default id
        w.u8(sm_length);
        if w.overflowed() || w.pos() != head.len() {
            return Err(EncodeError::OutputTooSmall { need: len });
        }
        let (text_buf, tlv_buf) = rest.split_at_mut(text_len);
        if text.write(text_buf) != Ok(text_len) {
            return Err(EncodeError::OutputTooSmall { need: len });
        }
        if with_tlvs {
            let mut w = Writer::new(tlv_buf);
            w.bytes(&Tag::RECEIPTED_MESSAGE_ID.0.to_be_bytes());
            w.bytes(&((msgid::LEN + 1) as u16).to_be_bytes());
            w.cstr(&self.message_id);
            w.bytes(&Tag::MESSAGE_STATE.0.to_be_bytes());
            w.bytes(&[0, 1, self.stat.message_state()]);
            if self.err != 0 {
                // network type 3 = GSM, then the error code.
                let [a, b] = self.err.to_be_bytes();
                w.bytes(&Tag::NETWORK_ERROR_CODE.0.to_be_bytes());
                w.bytes(&[0, 3, 3, a, b]);
            }
            if w.overflowed() || w.pos() != tlv_len {
                return Err(EncodeError::OutputTooSmall { need: len });
            }
        }
        Ok(len)
    }

    /// One spool line: space-separated fields, byte strings in hex.
    pub fn to_spool_line(&self, system_id: &str) -> String {
        let mut v = Vec::with_capacity(192);
        self.write_spool_line(system_id, &mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    /// [`Receipt::to_spool_line`] appended to `out`, without formatting
    /// machinery or allocation (the journal writes one per receipt).
    pub fn write_spool_line(&self, system_id: &str, out: &mut Vec<u8>) {
        let hex = |out: &mut Vec<u8>, b: &[u8]| {
            push_hex(out, b);
            out.push(b' ');
        };
        let num = |out: &mut Vec<u8>, v: i64| {
            push_num(out, v);
            out.push(b' ');
        };
        hex(out, system_id.as_bytes());
        hex(out, &self.message_id);
        num(out, self.source.ton.into());
        num(out, self.source.npi.into());
        hex(out, self.source.as_bytes());
        num(out, self.dest.ton.into());
        num(out, self.dest.npi.into());
        hex(out, self.dest.as_bytes());
        num(out, self.submit_unix);
        num(out, self.done_unix);
        num(out, self.stat.message_state().into());
        num(out, self.err.into());
        hex(out, self.text());
        num(out, self.expires_unix);
        // The last field's separator becomes the line's end.
        if let Some(last) = out.last_mut() {
            *last = b'\n';
        }
    }

    /// Parses a spool line; returns the system_id and the receipt with
    /// `account` left for the caller to resolve.
    pub fn from_spool_line(line: &str) -> Option<(Vec<u8>, Receipt)> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [sid, id, st, sn, sa, dt, dn, da, sub, done, state, err, text, exp] = f.as_slice()
        else {
            return None;
        };
        let id = unhex(id)?;
        let message_id: MessageId = id.as_slice().try_into().ok()?;
        let stat = Stat::from_message_state(state.parse().ok()?)?;
        let mut r = Receipt::new(
            AccountId(0),
            message_id,
            Addr::new(st.parse().ok()?, sn.parse().ok()?, &unhex(sa)?),
            Addr::new(dt.parse().ok()?, dn.parse().ok()?, &unhex(da)?),
            sub.parse().ok()?,
            stat,
            &unhex(text)?,
            exp.parse().ok()?,
        );
        r.done_unix = done.parse().ok()?;
        r.err = err.parse().ok()?;
        Some((unhex(sid)?, r))
    }
}

/// The octets of hex text as [`push_hex`] writes it (`-` is none).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s == "-" {
        return Some(Vec::new());
    }
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Lower-case hex of every octet (`-` for none), from a 256-entry table.
pub fn push_hex(out: &mut Vec<u8>, b: &[u8]) {
    #[allow(clippy::indexing_slicing)] // evaluated at compile time
    const TABLE: [[u8; 2]; 256] = {
        let digits = b"0123456789abcdef";
        let mut t = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = [digits[i >> 4], digits[i & 15]];
            i += 1;
        }
        t
    };
    if b.is_empty() {
        out.push(b'-');
        return;
    }
    // Written into the grown buffer two octets at a time (a push per octet
    // cost a capacity check each: a third of the journal's time).
    let start = out.len();
    out.resize(start + 2 * b.len(), 0);
    if let Some(dst) = out.get_mut(start..) {
        for (d, &x) in dst.chunks_exact_mut(2).zip(b) {
            d.copy_from_slice(TABLE.get(usize::from(x)).unwrap_or(&[b'0'; 2]));
        }
    }
}

/// Decimal digits of `v`, without the formatting machinery.
pub fn push_num(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// [`push_num`] for unsigned values.
pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    // Two digits per division, from a table.
    #[allow(clippy::indexing_slicing)] // evaluated at compile time
    const PAIRS: [[u8; 2]; 100] = {
        let mut t = [[0u8; 2]; 100];
        let mut i = 0;
        while i < 100 {
            t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
            i += 1;
        }
        t
    };
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    while n >= 100 {
        let pair = PAIRS.get((n % 100) as usize).unwrap_or(&[b'0'; 2]);
        n /= 100;
        i -= 2;
        if let Some(d) = digits.get_mut(i..i + 2) {
            d.copy_from_slice(pair);
        }
    }
    if n >= 10 {
        i -= 2;
        if let (Some(d), Some(p)) = (digits.get_mut(i..i + 2), PAIRS.get(n as usize)) {
            d.copy_from_slice(p);
        }
    } else {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + n as u8;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}

/// Receipt dates by minute: consecutive receipts almost always share them,
/// so the civil-time arithmetic runs once a minute, not twice a receipt.
#[derive(Clone, Copy, Debug, Default)]
pub struct DateCache {
    minute: Option<i64>,
    digits: [u8; 10],
}

impl DateCache {
    /// The `YYMMDDhhmm` digits of `unix` (UTC).
    pub fn digits(&mut self, unix: i64) -> [u8; 10] {
        let minute = unix.div_euclid(60);
        if self.minute != Some(minute) {
            self.minute = Some(minute);
            self.digits = smpp_time::civil_from_unix(unix).ymdhm().to_digits();
        }
        self.digits
    }
}

/// Upper bound of an encoded receipt deliver_sm.
pub const MAX_PDU_LEN: usize = 16 + 6 + 2 * (2 + 21) + 12 + 254 + 4 + msgid::LEN + 1 + 5 + 7;

/// deliver_sm_resp statuses after which a receipt is tried again later.
pub fn is_retryable(s: CommandStatus) -> bool {
    !matches!(
        s,
        CommandStatus::ESME_RX_P_APPN | CommandStatus::ESME_RX_R_APPN
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    use crate::testutil::receipt as sample;

    #[test]
    fn an_address_of_every_length_is_copied_and_zero_padded() {
        let src: Vec<u8> = (1..=25).map(|i| i * 7).collect();
        for n in 0..=25 {
            let a = Addr::new(1, 2, &src[..n]);
            let k = n.min(20);
            assert_eq!(a.as_bytes(), &src[..k], "length {n}");
            let (p, len) = a.padded();
            assert_eq!(len, k);
            assert!(p[k..].iter().all(|&b| b == 0), "length {n}: {p:?}");
            // Over a full address: nothing of it may stay behind.
            let mut b = Addr::new(9, 9, &[0xff; 20]);
            b.set(1, 2, &src[..n]);
            assert_eq!(a, b, "Addr::new and Addr::set agree at length {n}");
        }
    }

    #[test]
    fn encodes_standard_receipt() {
        let mut r = sample();
        r.done_unix += 60;
        let mut out = [0u8; MAX_PDU_LEN];
        let n = r.encode(7, true, &mut out).unwrap();
        let pdu = pdu::decode(&out[..n]).unwrap();
        assert_eq!(pdu.header.sequence_number, 7);
        let Body::DeliverSm(sm) = pdu.body else {
            panic!()
        };
        assert_eq!(sm.esm_class, 0x04);
        assert_eq!(sm.source_addr, b"447700900002");
        assert_eq!((sm.dest_addr_ton, sm.destination_addr), (5, &b"Shop"[..]));
        assert_eq!(
            sm.short_message,
            &b"id:0123456789a0100000000001 sub:001 dlvrd:001 submit date:2405061422 done date:2405061423 stat:DELIVRD err:000 text:hello world"[..]
        );
        assert_eq!(
            sm.tlvs.receipted_message_id(),
            Some(&b"0123456789a0100000000001"[..])
        );
        assert_eq!(sm.tlvs.message_state(), Some(2));
        assert_eq!(sm.tlvs.get(Tag::NETWORK_ERROR_CODE), None);
        // 3.3 bind: no TLVs.
        let n = r.encode(8, false, &mut out).unwrap();
        let Body::DeliverSm(sm) = pdu::decode(&out[..n]).unwrap().body else {
            panic!()
        };
        assert!(sm.tlvs.is_empty());
    }

    #[test]
    fn failure_receipt_carries_network_error_code() {
        let mut r = sample();
        r.stat = Stat::Undeliv;
        r.err = 1;
        let mut out = [0u8; MAX_PDU_LEN];
        let n = r.encode(1, true, &mut out).unwrap();
        let Body::DeliverSm(sm) = pdu::decode(&out[..n]).unwrap().body else {
            panic!()
        };
        assert_eq!(sm.tlvs.get(Tag::NETWORK_ERROR_CODE), Some(&[3u8, 0, 1][..]));
        assert_eq!(sm.tlvs.message_state(), Some(5));
        let p = dlr::parse(sm.short_message).unwrap();
        assert_eq!(p.stat, Some(Stat::Undeliv));
        assert_eq!(p.dlvrd, Some(0));
    }

    #[test]
    fn spool_line_round_trip() {
        let r = sample();
        let line = r.to_spool_line("movider");
        let (sid, back) = Receipt::from_spool_line(&line).unwrap();
        assert_eq!(sid, b"movider");
        assert_eq!(back, r);
        assert!(Receipt::from_spool_line("garbage").is_none());
        assert!(Receipt::from_spool_line("6d 00 1 1 - 1 1 - 0 0 2 0 - 0").is_none());
        // Empty fields, extreme numbers, an error code: written by hand.
        let mut e = Receipt::new(
            AccountId(0),
            *b"00000000000000000000000f",
            Addr::new(0, 0, b""),
            Addr::new(255, 18, b"12"),
            -1,
            Stat::Undeliv,
            b"",
            i64::MAX,
        );
        e.err = 65535;
        e.done_unix = i64::MIN + 1;
        let line = e.to_spool_line("a");
        assert_eq!(
            line,
            "61 303030303030303030303030303030303030303030303066 0 0 - 255 18 3132 \
             -1 -9223372036854775807 5 65535 - 9223372036854775807\n"
        );
        assert_eq!(Receipt::from_spool_line(&line).unwrap().1, e);
    }

    /// The direct writer gives exactly what the generic codec builds from
    /// the same fields (text in a buffer, TLVs via TlvBuf).
    #[test]
    fn direct_encoding_equals_generic_encoding() {
        for (stat, err, v34) in [
            (Stat::Delivrd, 0, true),
            (Stat::Undeliv, 7, true),
            (Stat::Enroute, 0, false),
        ] {
            let mut r = sample();
            r.stat = stat;
            r.err = err;
            let mut out = [0u8; MAX_PDU_LEN];
            let n = r.encode(42, v34, &mut out).unwrap();
            let mut text = [0u8; dlr::MAX_LEN];
            let d = smsc_date(r.submit_unix);
            let tl = dlr::Receipt {
                id: &r.message_id,
                sub: 1,
                dlvrd: u16::from(stat == Stat::Delivrd),
                submit_date: d.to_digits(),
                done_date: d.to_digits(),
                stat,
                err,
                text: r.text(),
            }
            .write(&mut text)
            .unwrap();
            let mut t = TlvBuf::new();
            if v34 {
                t.push_cstr(Tag::RECEIPTED_MESSAGE_ID, &r.message_id);
                t.push_u8(Tag::MESSAGE_STATE, stat.message_state());
                if err != 0 {
                    let [a, b] = err.to_be_bytes();
                    t.push(Tag::NETWORK_ERROR_CODE, &[3, a, b]);
                }
            }
            let sm = Sm {
                source_addr_ton: 1,
                source_addr_npi: 1,
                source_addr: b"447700900002",
                dest_addr_ton: 5,
                dest_addr_npi: 0,
                destination_addr: b"Shop",
                esm_class: if stat == Stat::Enroute { 0x20 } else { 0x04 },
                short_message: &text[..tl],
                tlvs: t.as_tlvs(),
                ..Sm::default()
            };
            let want = pdu::Pdu::new(42, Body::DeliverSm(sm)).to_vec().unwrap();
            assert_eq!(&out[..n], &want[..], "{stat:?}");
        }
    }

    fn smsc_date(unix: i64) -> dlr::Ymdhm {
        smpp_time::civil_from_unix(unix).ymdhm()
    }

    #[test]
    fn date_cache_matches_civil_time() {
        let mut c = DateCache::default();
        for t in [
            0i64,
            59,
            60,
            1_715_005_320,
            1_715_005_379,
            1_715_005_380,
            -1,
            4_102_444_800,
        ] {
            assert_eq!(c.digits(t), smsc_date(t).to_digits(), "{t}");
        }
    }

    #[test]
    fn max_len_bound_holds() {
        let mut r = sample();
        r.source = Addr::new(1, 1, &[b'9'; 20]);
        r.dest = Addr::new(1, 1, &[b'9'; 20]);
        r.stat = Stat::Undeliv;
        r.err = 999;
        let mut out = [0u8; MAX_PDU_LEN];
        assert!(r.encode(u32::MAX, true, &mut out).is_ok());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod number_tests {
    use super::*;

    #[test]
    fn digits_and_hex_match_the_formatter() {
        let mut rng = crate::testutil::Rng(7);
        let mut cases: Vec<u64> = vec![
            0,
            1,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            u64::MAX,
            1_715_005_320,
        ];
        cases.extend((0..1000).map(|_| rng.next() >> (rng.next() % 64)));
        for n in cases {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
            let mut out = Vec::new();
            push_num(&mut out, -(n as i64 & i64::MAX));
            assert_eq!(
                String::from_utf8(out).unwrap(),
                (-(n as i64 & i64::MAX)).to_string()
            );
        }
        let bytes: Vec<u8> = (0..=255).collect();
        let mut out = b"x".to_vec();
        push_hex(&mut out, &bytes);
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(out, [b"x".as_slice(), want.as_bytes()].concat());
        let mut out = Vec::new();
        push_hex(&mut out, &[]);
        assert_eq!(out, b"-");
    }
}
