//! submit_multi: the PDU's checks, then each SME destination through the
//! same decide / dispose path as a submit_sm (`mod.rs`).
use super::{count_accepted, decide, dispose, rate_limit, receipt_room, refuse_message};
use crate::conn::Session;
use crate::events::Kind as EventKind;
use crate::loop_state::LoopState;
use crate::msgid::MessageId;
use crate::outcome::PrefixAction;
use crate::pdu::{self, Body, CommandId, CommandStatus as S, Sm};
use crate::server::Shared;
use crate::session::respond::{refuse, respond};
use crate::store::MessageState;
use crate::submit;

/// submit_multi: one message id for the PDU; every SME destination that
/// passes its address checks is a message with its own receipt (carrying
/// that id); the others are listed in unsuccess_sme with their status.
/// Distribution lists are not provisioned here (ESME_RINVDLNAME).
pub fn on_submit_multi(
    st: &mut LoopState,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    m: &pdu::SubmitMulti<'_>,
) {
    let resp_id = CommandId::SUBMIT_MULTI_RESP;
    let Some(acct) = s.account.and_then(|a| shared.accounts().get(a)) else {
        return refuse(&mut st.m, s, resp_id, S::ESME_RINVBNDSTS, seq);
    };
    let a = acct.id;
    let n = m.dest_addresses.count();
    let template = Sm {
        service_type: m.service_type,
        source_addr_ton: m.source_addr_ton,
        source_addr_npi: m.source_addr_npi,
        source_addr: m.source_addr,
        // A placeholder destination: message-level checks first.
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: b"0",
        esm_class: m.esm_class,
        protocol_id: m.protocol_id,
        priority_flag: m.priority_flag,
        schedule_delivery_time: m.schedule_delivery_time,
        validity_period: m.validity_period,
        registered_delivery: m.registered_delivery,
        replace_if_present_flag: m.replace_if_present_flag,
        data_coding: m.data_coding,
        sm_default_msg_id: m.sm_default_msg_id,
        short_message: m.short_message,
        tlvs: m.tlvs,
    };
    let checked = if n == 0 || n > 254 {
        Err(S::ESME_RINVNUMDESTS)
    } else {
        rate_limit(st, shared, acct)
            .and_then(|()| submit::validate(&template, st.accept.zero_means, st.clock.unix))
            .and_then(|info| receipt_room(st, shared, acct, &info).map(|()| info))
    };
    let info = match checked {
        Ok(i) => i,
        Err(code) => return refuse_message(st, s, a, resp_id, code, seq),
    };
    let source = (m.source_addr_ton, m.source_addr_npi, m.source_addr);
    // Each destination is a message of its own in the store; the PDU's id
    // (in the response and every receipt) is that of the first accepted.
    let mut pdu_id: Option<MessageId> = None;
    let mut failed: Vec<pdu::UnsuccessSme<'_>> = Vec::new();
    for dest in m.dest_addresses.iter() {
        let (ton, npi, addr) = match dest {
            pdu::DestAddress::Sme {
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
            } => (dest_addr_ton, dest_addr_npi, destination_addr),
            pdu::DestAddress::DistributionList { dl_name } => {
                failed.push(pdu::UnsuccessSme {
                    dest_addr_ton: 0,
                    dest_addr_npi: 0,
                    destination_addr: dl_name,
                    error_status_code: S::ESME_RINVDLNAME,
                });
                continue;
            }
        };
        let code = if !submit::ton_valid(ton) {
            Some(S::ESME_RINVDSTTON)
        } else if !submit::npi_valid(npi) {
            Some(S::ESME_RINVDSTNPI)
        } else if addr.is_empty() || !submit::address_valid(ton, addr) {
            Some(S::ESME_RINVDSTADR)
        } else {
            match acct.outcomes.rule_for(addr) {
                Some(PrefixAction::Refuse(code)) => Some(*code),
                _ => None,
            }
        };
        if let Some(code) = code {
            failed.push(pdu::UnsuccessSme {
                dest_addr_ton: ton,
                dest_addr_npi: npi,
                destination_addr: addr,
                error_status_code: code,
            });
            continue;
        }
        let one = Sm {
            dest_addr_ton: ton,
            dest_addr_npi: npi,
            destination_addr: addr,
            ..template
        };
        let fate = decide(st, &shared.accounts().routes, acct, &one, &info);
        let Some(mseq) = st
            .store
            .admit(a, st.clock.unix, source, fate.state(), fate.error())
        else {
            st.m.submit_store_full += 1;
            failed.push(pdu::UnsuccessSme {
                dest_addr_ton: ton,
                dest_addr_npi: npi,
                destination_addr: addr,
                error_status_code: S::ESME_RMSGQFUL,
            });
            continue;
        };
        let own = st.accept.msgid.id_of(mseq);
        let ek = crate::events::key(st.id as u8, mseq);
        st.delivery
            .events
            .record(ek, st.clock.micros, EventKind::Accepted, addr);
        let id = *pdu_id.get_or_insert(own);
        count_accepted(st, a, info.segments);
        // The submit_multi_resp is written after the loop: queue receipts.
        dispose(st, shared, acct, &one, &info, mseq, id, s, false, fate);
    }
    let id = match pdu_id {
        Some(id) => id,
        // No destination accepted: the PDU still gets an id (a record
        // REJECTED at once), and every destination is in unsuccess_sme.
        None => match st
            .store
            .admit(a, st.clock.unix, source, MessageState::Rejected, 1)
        {
            Some(mseq) => st.accept.msgid.id_of(mseq),
            None => {
                st.m.submit_store_full += 1;
                return refuse_message(st, s, a, resp_id, S::ESME_RMSGQFUL, seq);
            }
        },
    };
    // submit_multi is rare: building its response list may allocate.
    let mut scratch = Vec::new();
    let body = match pdu::RawList::build(&failed, &mut scratch) {
        Ok(unsuccess_smes) => pdu::SubmitMultiResp {
            message_id: &id,
            unsuccess_smes,
        },
        Err(_) => return refuse(&mut st.m, s, resp_id, S::ESME_RSYSERR, seq),
    };
    respond(&mut st.m, s, seq, S::ESME_ROK, Body::SubmitMultiResp(body));
}
