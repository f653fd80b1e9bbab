//! MO injection for people testing their ESMEs: `POST /mo` with a JSON
//! body becomes a message to the account owning `to`, routed like any MO.
//! The HTTP thread parses and checks the body, hands it to a loop over a
//! bounded channel (and its waker), and waits a bounded time for the id.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::dlr::Stat;
use crate::loop_state::LoopState;
use crate::msgid::MessageId;
use crate::pdu::{self, Sm};
use crate::server::Shared;
use crate::store::MessageState;
use crate::submit;
use serde::Deserialize;
use std::time::Duration;

use std::sync::mpsc;

/// The JSON body of `POST /mo`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Body {
    from: String,
    to: String,
    /// The text; sent as GSM 7-bit (data_coding 0) when every character
    /// has one, else as UCS2 (data_coding 8).
    text: Option<String>,
    /// Or the octets in hex, with `data_coding`.
    hex: Option<String>,
    data_coding: Option<u8>,
    esm_class: Option<u8>,
    /// Optional TLVs: `[{"tag": 516, "hex": "0042"}]`.
    tlvs: Option<Vec<TlvJson>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TlvJson {
    tag: u16,
    hex: String,
}

/// A checked request, ready for a loop.
#[derive(Clone, Debug, PartialEq)]
pub struct MoRequest {
    pub from: String,
    pub to: String,
    pub data_coding: u8,
    pub esm_class: u8,
    /// short_message (at most 254 octets; longer content goes in a
    /// message_payload TLV).
    pub short_message: Vec<u8>,
    /// Raw TLVs.
    pub tlvs: Vec<u8>,
}

/// A request on its way to a loop, with where its answer goes.
pub struct Inject {
    pub req: MoRequest,
    pub reply: mpsc::Sender<Result<String, String>>,
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return Err("hex has an odd number of digits".into());
    }
    // (An odd length also refuses the journal's "-" for none.)
    crate::receipt::unhex(s).ok_or_else(|| format!("not hex: {s:?}"))
}

/// TON/NPI for an address: international ISDN for digits (a leading `+`
/// allowed), alphanumeric otherwise.
pub fn ton_npi(addr: &str) -> (u8, u8) {
    let d = addr.strip_prefix('+').unwrap_or(addr);
    if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) {
        (1, 1)
    } else {
        (5, 0)
    }
}

/// Parses and checks a `POST /mo` body. Err: the reason for a 400.
pub fn parse(body: &[u8]) -> Result<MoRequest, String> {
    let b: Body = serde_json::from_slice(body).map_err(|e| format!("bad JSON: {e}"))?;
    if b.from.is_empty() || b.from.len() > 20 {
        return Err("from must be 1-20 characters".into());
    }
    if b.to.is_empty() || b.to.len() > 20 {
        return Err("to must be 1-20 characters".into());
    }
    let (data_coding, content) = match (b.text, b.hex) {
        (Some(t), None) => match crate::text::gsm7::encode_unpacked_to_vec(&t) {
            Ok(g) => (b.data_coding.unwrap_or(0), g),
            Err(_) => (8, crate::text::ucs2::encode_to_vec(&t)),
        },
        (None, Some(h)) => (b.data_coding.unwrap_or(4), unhex(&h)?),
        _ => return Err("give one of text or hex".into()),
    };
    let mut tlvs = Vec::new();
    for t in b.tlvs.unwrap_or_default() {
        let v = unhex(&t.hex)?;
        let len = u16::try_from(v.len()).map_err(|_| "a TLV value is too long".to_string())?;
        tlvs.extend_from_slice(&t.tag.to_be_bytes());
        tlvs.extend_from_slice(&len.to_be_bytes());
        tlvs.extend_from_slice(&v);
    }
    // Content over 254 octets travels as message_payload (§5.3.2.32).
    let short_message = if content.len() > 254 {
        let len = u16::try_from(content.len()).map_err(|_| "content is too long".to_string())?;
        tlvs.extend_from_slice(&crate::pdu::Tag::MESSAGE_PAYLOAD.0.to_be_bytes());
        tlvs.extend_from_slice(&len.to_be_bytes());
        tlvs.extend_from_slice(&content);
        Vec::new()
    } else {
        content
    };
    Ok(MoRequest {
        from: b.from,
        to: b.to,
        data_coding,
        esm_class: b.esm_class.unwrap_or(0),
        short_message,
        tlvs,
    })
}

/// An MO message injected by an operator (`POST /mo`, `inject.rs`): stored
/// as a message of the account owning `to` (which can query it), and
/// delivered to that account like any MO message. Err: why it was refused.
pub fn inject_mo(
    st: &mut LoopState,
    shared: &Shared,
    req: &MoRequest,
) -> Result<MessageId, String> {
    let accounts = shared.accounts();
    let b = accounts
        .routes
        .owner(req.to.as_bytes())
        .ok_or_else(|| format!("no account owns {:?} (see numbers = and --route)", req.to))?;
    let acct = accounts.get(b).ok_or("the owning account is gone")?;
    let tlvs = pdu::Tlvs::parse(&req.tlvs).map_err(|e| format!("tlvs: {e:?}"))?;
    let (sto, snpi) = ton_npi(&req.from);
    let (dto, dnpi) = ton_npi(&req.to);
    let sm = Sm {
        source_addr_ton: sto,
        source_addr_npi: snpi,
        source_addr: req.from.as_bytes(),
        dest_addr_ton: dto,
        dest_addr_npi: dnpi,
        destination_addr: req.to.as_bytes(),
        esm_class: req.esm_class,
        data_coding: req.data_coding,
        short_message: &req.short_message,
        tlvs,
        ..Sm::default()
    };
    let now = st.clock.unix;
    let info = submit::validate(&sm, st.accept.zero_means(), now).map_err(|e| format!("{e:?}"))?;
    let Some(mseq) = st.store.admit(
        b,
        now,
        (sto, snpi, sm.source_addr),
        MessageState::Enroute,
        0,
    ) else {
        st.m.submit_store_full += 1;
        return Err("ESME_RMSGQFUL: the message store is full".into());
    };
    let id = st.accept.id_of(mseq);
    let ek = crate::events::key(st.id as u8, mseq);
    st.delivery.events.record(
        ek,
        st.clock.micros,
        crate::events::Kind::Accepted,
        req.to.as_bytes(),
    );
    crate::accept::hold(
        st,
        shared,
        acct,
        &sm,
        &info,
        mseq,
        id,
        None,
        Stat::Delivrd,
        Duration::ZERO,
        Some(b),
    );
    st.m.mo_injected += 1;
    Ok(id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_gsm_or_ucs2_and_long_content_a_payload() {
        let r =
            parse(br#"{"from":"447700900001","to":"447912345678","text":"Hi @ home"}"#).unwrap();
        assert_eq!((r.data_coding, r.short_message.len()), (0, 9));
        let r = parse(r#"{"from":"Shop","to":"4479","text":"Привет"}"#.as_bytes()).unwrap();
        assert_eq!((r.data_coding, r.short_message.len()), (8, 12));
        let long = format!(r#"{{"from":"1","to":"2","hex":"{}"}}"#, "ab".repeat(300));
        let r = parse(long.as_bytes()).unwrap();
        assert!(r.short_message.is_empty());
        assert_eq!(r.tlvs.len(), 4 + 300);
        assert_eq!(ton_npi("+4479"), (1, 1));
        assert_eq!(ton_npi("Shop"), (5, 0));
    }

    #[test]
    fn bad_bodies_say_why() {
        for (body, why) in [
            (&b"{"[..], "bad JSON"),
            (br#"{"from":"1","to":"2"}"#, "one of text or hex"),
            (
                br#"{"from":"1","to":"2","text":"a","hex":"00"}"#,
                "one of text or hex",
            ),
            (br#"{"from":"1","to":"2","hex":"0"}"#, "odd"),
            (br#"{"from":"","to":"2","text":"a"}"#, "from must"),
            (br#"{"from":"1","to":"2","text":"a","extra":1}"#, "bad JSON"),
        ] {
            let e = parse(body).unwrap_err();
            assert!(e.contains(why), "{e} for {}", String::from_utf8_lossy(body));
        }
    }
}
