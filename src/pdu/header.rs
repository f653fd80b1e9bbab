//! The 16-octet PDU header, command ids and command statuses (SMPP v3.4 §3.2, §5.1).
//!
//! `CommandId` and `CommandStatus` are newtypes over `u32` rather than closed
//! enums: an unknown id must still be carried to the point where we answer it
//! with `generic_nack`, and vendor statuses (`0x400`-`0x4FF`) are legal.

/// Length of the PDU header; also the minimum legal `command_length`.
pub const HEADER_LEN: usize = 16;

/// The bit that marks a response `command_id`.
pub const RESPONSE_BIT: u32 = 0x8000_0000;

/// `command_id` (§5.1.2.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u32);

macro_rules! command_ids {
    ($($name:ident = $val:expr, $text:expr;)*) => {
        impl CommandId {
            $(pub const $name: CommandId = CommandId($val);)*

            /// Every command id defined by SMPP v3.4.
            pub const ALL: &'static [CommandId] = &[$(CommandId::$name),*];

            /// The spec's name (`"submit_sm"`), or `None` for an id 3.4 does not define.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

command_ids! {
    GENERIC_NACK = 0x8000_0000, "generic_nack";
    BIND_RECEIVER = 0x0000_0001, "bind_receiver";
    BIND_RECEIVER_RESP = 0x8000_0001, "bind_receiver_resp";
    BIND_TRANSMITTER = 0x0000_0002, "bind_transmitter";
    BIND_TRANSMITTER_RESP = 0x8000_0002, "bind_transmitter_resp";
    QUERY_SM = 0x0000_0003, "query_sm";
    QUERY_SM_RESP = 0x8000_0003, "query_sm_resp";
    SUBMIT_SM = 0x0000_0004, "submit_sm";
    SUBMIT_SM_RESP = 0x8000_0004, "submit_sm_resp";
    DELIVER_SM = 0x0000_0005, "deliver_sm";
    DELIVER_SM_RESP = 0x8000_0005, "deliver_sm_resp";
    UNBIND = 0x0000_0006, "unbind";
    UNBIND_RESP = 0x8000_0006, "unbind_resp";
    REPLACE_SM = 0x0000_0007, "replace_sm";
    REPLACE_SM_RESP = 0x8000_0007, "replace_sm_resp";
    CANCEL_SM = 0x0000_0008, "cancel_sm";
    CANCEL_SM_RESP = 0x8000_0008, "cancel_sm_resp";
    BIND_TRANSCEIVER = 0x0000_0009, "bind_transceiver";
    BIND_TRANSCEIVER_RESP = 0x8000_0009, "bind_transceiver_resp";
    OUTBIND = 0x0000_000B, "outbind";
    ENQUIRE_LINK = 0x0000_0015, "enquire_link";
    ENQUIRE_LINK_RESP = 0x8000_0015, "enquire_link_resp";
    SUBMIT_MULTI = 0x0000_0021, "submit_multi";
    SUBMIT_MULTI_RESP = 0x8000_0021, "submit_multi_resp";
    ALERT_NOTIFICATION = 0x0000_0102, "alert_notification";
    DATA_SM = 0x0000_0103, "data_sm";
    DATA_SM_RESP = 0x8000_0103, "data_sm_resp";
}

impl CommandId {
    pub fn is_response(self) -> bool {
        self.0 & RESPONSE_BIT != 0
    }

    /// The id of the response to this request (`generic_nack` for requests
    /// that have none: outbind and alert_notification, and unknown ids).
    pub fn response(self) -> CommandId {
        match self {
            CommandId::OUTBIND | CommandId::ALERT_NOTIFICATION => CommandId::GENERIC_NACK,
            id if id.is_response() => CommandId::GENERIC_NACK,
            id if id.name().is_some() => CommandId(id.0 | RESPONSE_BIT),
            _ => CommandId::GENERIC_NACK,
        }
    }

    pub fn is_known(self) -> bool {
        self.name().is_some()
    }
}

impl std::fmt::Debug for CommandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "CommandId({:#010x})", self.0),
        }
    }
}

/// `command_status` (§5.1.3, Table 5-2). Unknown values are kept as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CommandStatus(pub u32);

macro_rules! statuses {
    ($($name:ident = $val:expr;)*) => {
        #[allow(non_upper_case_globals)]
        impl CommandStatus {
            $(pub const $name: CommandStatus = CommandStatus($val);)*

            /// Every status named by SMPP v3.4 (plus the v5.0 names the user's
            /// interface document lists).
            pub const ALL: &'static [CommandStatus] = &[$(CommandStatus::$name),*];

            /// The spec's name (`"ESME_RINVMSGLEN"`), or `None`.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    ESME_ROK = 0x0000_0000;
    ESME_RINVMSGLEN = 0x0000_0001;
    ESME_RINVCMDLEN = 0x0000_0002;
    ESME_RINVCMDID = 0x0000_0003;
    ESME_RINVBNDSTS = 0x0000_0004;
    ESME_RALYBND = 0x0000_0005;
    ESME_RINVPRTFLG = 0x0000_0006;
    ESME_RINVREGDLVFLG = 0x0000_0007;
    ESME_RSYSERR = 0x0000_0008;
    ESME_RINVSRCADR = 0x0000_000A;
    ESME_RINVDSTADR = 0x0000_000B;
    ESME_RINVMSGID = 0x0000_000C;
    ESME_RBINDFAIL = 0x0000_000D;
    ESME_RINVPASWD = 0x0000_000E;
    ESME_RINVSYSID = 0x0000_000F;
    ESME_RCANCELFAIL = 0x0000_0011;
    ESME_RREPLACEFAIL = 0x0000_0013;
    ESME_RMSGQFUL = 0x0000_0014;
    ESME_RINVSERTYP = 0x0000_0015;
    ESME_RINVNUMDESTS = 0x0000_0033;
    ESME_RINVDLNAME = 0x0000_0034;
    ESME_RINVDESTFLAG = 0x0000_0040;
    ESME_RINVSUBREP = 0x0000_0042;
    ESME_RINVESMCLASS = 0x0000_0043;
    ESME_RCNTSUBDL = 0x0000_0044;
    ESME_RSUBMITFAIL = 0x0000_0045;
    ESME_RINVSRCTON = 0x0000_0048;
    ESME_RINVSRCNPI = 0x0000_0049;
    ESME_RINVDSTTON = 0x0000_0050;
    ESME_RINVDSTNPI = 0x0000_0051;
    ESME_RINVSYSTYP = 0x0000_0053;
    ESME_RINVREPFLAG = 0x0000_0054;
    ESME_RINVNUMMSGS = 0x0000_0055;
    ESME_RTHROTTLED = 0x0000_0058;
    ESME_RINVSCHED = 0x0000_0061;
    ESME_RINVEXPIRY = 0x0000_0062;
    ESME_RINVDFTMSGID = 0x0000_0063;
    ESME_RX_T_APPN = 0x0000_0064;
    ESME_RX_P_APPN = 0x0000_0065;
    ESME_RX_R_APPN = 0x0000_0066;
    ESME_RQUERYFAIL = 0x0000_0067;
    ESME_RINVOPTPARSTREAM = 0x0000_00C0;
    ESME_ROPTPARNOTALLWD = 0x0000_00C1;
    ESME_RINVPARLEN = 0x0000_00C2;
    ESME_RMISSINGOPTPARAM = 0x0000_00C3;
    ESME_RINVOPTPARAMVAL = 0x0000_00C4;
    ESME_RDELIVERYFAILURE = 0x0000_00FE;
    ESME_RUNKNOWNERR = 0x0000_00FF;
    // v5.0 values that the user's interface document names.
    ESME_RINVDCS = 0x0000_0104;
    ESME_RINVSRCADDRSUBUNIT = 0x0000_0105;
    ESME_RINVDSTADDRSUBUNIT = 0x0000_0106;
    ESME_RINVBCASTAREAFMT = 0x0000_0109;
    ESME_RINVBCAST_REP = 0x0000_0110;
    ESME_RINVBCASTCHANIND = 0x0000_0112;
}

impl CommandStatus {
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Debug for CommandStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "CommandStatus({:#010x})", self.0),
        }
    }
}

/// The decoded header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    pub command_length: u32,
    pub command_id: CommandId,
    pub command_status: CommandStatus,
    pub sequence_number: u32,
}

impl Header {
    /// Reads a header from the first 16 octets of `buf`, if present.
    pub fn peek(buf: &[u8]) -> Option<Header> {
        Some(Header {
            command_length: be32(buf, 0)?,
            command_id: CommandId(be32(buf, 4)?),
            command_status: CommandStatus(be32(buf, 8)?),
            sequence_number: be32(buf, 12)?,
        })
    }

    pub fn write(&self, out: &mut [u8; HEADER_LEN]) {
        let [a, b, c, d] = [
            self.command_length.to_be_bytes(),
            self.command_id.0.to_be_bytes(),
            self.command_status.0.to_be_bytes(),
            self.sequence_number.to_be_bytes(),
        ];
        *out = [
            a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1],
            d[2], d[3],
        ];
    }
}

/// Big-endian u32 at `off`, or None when `buf` is too short.
#[inline]
pub fn be32(buf: &[u8], off: usize) -> Option<u32> {
    let b = buf.get(off..off.checked_add(4)?)?;
    let arr: [u8; 4] = b.try_into().ok()?;
    Some(u32::from_be_bytes(arr))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn response_ids() {
        assert_eq!(CommandId::SUBMIT_SM.response(), CommandId::SUBMIT_SM_RESP);
        assert_eq!(CommandId::BIND_TRANSCEIVER.response().0, 0x8000_0009);
        assert_eq!(CommandId::OUTBIND.response(), CommandId::GENERIC_NACK);
        assert_eq!(CommandId(0x1234).response(), CommandId::GENERIC_NACK);
        assert_eq!(
            CommandId::SUBMIT_SM_RESP.response(),
            CommandId::GENERIC_NACK
        );
        assert!(CommandId::DELIVER_SM_RESP.is_response());
        assert!(!CommandId::DELIVER_SM.is_response());
    }

    #[test]
    fn names_match_spec_values() {
        assert_eq!(CommandId(0x0000_0021).name(), Some("submit_multi"));
        assert_eq!(CommandId(0x8000_0103).name(), Some("data_sm_resp"));
        assert_eq!(CommandStatus(0x58).name(), Some("ESME_RTHROTTLED"));
        assert_eq!(CommandStatus(0xC0).name(), Some("ESME_RINVOPTPARSTREAM"));
        assert_eq!(CommandStatus(0x0E).name(), Some("ESME_RINVPASWD"));
        assert_eq!(CommandStatus(0x400).name(), None);
        assert_eq!(CommandId::ALL.len(), 27);
        // No two constants share a value.
        let mut ids: Vec<u32> = CommandId::ALL.iter().map(|c| c.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CommandId::ALL.len());
        let mut st: Vec<u32> = CommandStatus::ALL.iter().map(|c| c.0).collect();
        st.sort_unstable();
        st.dedup();
        assert_eq!(st.len(), CommandStatus::ALL.len());
    }

    #[test]
    fn header_peek_and_write() {
        let bytes = [0, 0, 0, 0x10, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 7];
        let h = Header::peek(&bytes).unwrap();
        assert_eq!(h.command_length, 16);
        assert_eq!(h.command_id, CommandId::ENQUIRE_LINK);
        assert_eq!(h.sequence_number, 7);
        let mut out = [0u8; 16];
        h.write(&mut out);
        assert_eq!(out, bytes);
        assert!(Header::peek(&bytes[..15]).is_none());
    }
}
