//! Recognising a delivery receipt and finding the message id it reports.

use smsc::pdu::Sm;

/// esm_class message type bits (2..5) = 0001: SMSC delivery receipt (§5.2.12).
#[inline]
pub fn is_receipt(esm_class: u8) -> bool {
    esm_class & 0x3C == 0x04
}

/// The message id a receipt reports: the receipted_message_id TLV, else the
/// `id:` field of the text (`id:XXXX sub:...`, Appendix B).
pub fn receipt_id<'a>(sm: &Sm<'a>) -> Option<&'a [u8]> {
    if let Some(id) = sm.tlvs.receipted_message_id() {
        return Some(id);
    }
    let text = if sm.short_message.is_empty() {
        sm.tlvs.message_payload()?
    } else {
        sm.short_message
    };
    text_id(text)
}

/// The `id:` field of a receipt text (case-insensitive key, value up to the
/// next space).
pub fn text_id(text: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i + 3 <= text.len() {
        let at_word = i == 0 || text.get(i - 1) == Some(&b' ');
        if at_word
            && text
                .get(i..i + 3)
                .is_some_and(|k| k.eq_ignore_ascii_case(b"id:"))
        {
            let rest = text.get(i + 3..)?;
            let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
            let id = rest.get(..end)?;
            return (!id.is_empty()).then_some(id);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use smsc::pdu::{Tag, TlvBuf};

    const TEXT: &[u8] = b"id:4f2a91c07e sub:001 dlvrd:001 submit date:2405061422 done date:2405061423 stat:DELIVRD err:000 text:hello";

    #[test]
    fn text_field() {
        assert_eq!(text_id(TEXT), Some(&b"4f2a91c07e"[..]));
        assert_eq!(text_id(b"ID:77"), Some(&b"77"[..]));
        assert_eq!(text_id(b"stat:DELIVRD id:9 err:0"), Some(&b"9"[..]));
        assert_eq!(text_id(b"msgid:9 x"), None);
        assert_eq!(text_id(b"id: sub:001"), None);
        assert_eq!(text_id(b""), None);
    }

    #[test]
    fn tlv_wins_over_text() {
        let mut t = TlvBuf::new();
        t.push_cstr(Tag::RECEIPTED_MESSAGE_ID, b"ABC");
        let sm = Sm {
            esm_class: 4,
            short_message: TEXT,
            tlvs: t.as_tlvs(),
            ..Sm::default()
        };
        assert!(is_receipt(sm.esm_class));
        assert_eq!(receipt_id(&sm), Some(&b"ABC"[..]));
        let sm = Sm {
            esm_class: 4,
            short_message: TEXT,
            ..Sm::default()
        };
        assert_eq!(receipt_id(&sm), Some(&b"4f2a91c07e"[..]));
        assert!(!is_receipt(0));
        assert!(!is_receipt(0x40));
        assert!(is_receipt(0x44));
    }
}
