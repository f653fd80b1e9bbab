//! Asking another loop about a message it holds: query_sm, cancel_sm and
//! replace_sm of a message accepted on another loop of this server (the id
//! names the loop), and cancel_sm by source and destination, which every
//! loop answers for its own messages.
//!
//! The request frame itself travels (on links of its own, not behind the
//! receipts), the owner answers it with its own handlers as if the session
//! were its own, and the response frame travels back to be written to the
//! session that asked. An answer that does not come within the response
//! timer (a loop far behind, a full link) is given up: the session gets the
//! operation's failure status, and a late answer is dropped. Rare by
//! nature: it may allocate.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::account::AccountId;
use crate::conn::ConnKey;
use crate::link::Batch;
use crate::pdu::{CommandId, CommandStatus as S};
use slab::Slab;

/// What travels between loops on the management links.
pub enum Mail {
    /// Answer `frame` (a query_sm, cancel_sm or replace_sm of account
    /// `account`) from your store and send the response back to loop `from`.
    Ask {
        from: usize,
        token: u64,
        account: AccountId,
        frame: Vec<u8>,
    },
    /// The response frame to ask `token`.
    Answer { token: u64, frame: Vec<u8> },
    /// How the MO delivery of one of your messages ended.
    Outcome(crate::delivery::MoOutcome),
    /// Message `origin` (loop, store sequence) was cancelled or expired:
    /// take its MO deliver_sm out of your queues if it waits there.
    Withdraw((u8, u64)),
}

/// A request waiting for other loops' answers.
struct Outstanding {
    token: u64,
    key: ConnKey,
    seq: u32,
    resp: CommandId,
    /// Answers still expected.
    waiting: usize,
    /// The answer to write (one loop asked), or the best so far (cancel by
    /// source and destination: OK if any loop cancelled something).
    answer: Option<Vec<u8>>,
    /// `answer` came from another loop, which counted it in its metrics.
    answer_counted: bool,
    /// The status when nobody succeeded or the time is up.
    fail: S,
    deadline: u64,
    /// Instead of `fail`: this request, to be handled here after all (a
    /// submit_sm with replace_if_present that no other loop could apply).
    fallback: Option<Vec<u8>>,
}

/// A response ready for a session of this loop: write `frame` to `key`;
/// or, with `resubmit`, handle request `frame` of `key` here after all.
/// `counted`: the loop that made the response counted it already (the
/// writer must not count it again).
pub struct Ready {
    pub key: ConnKey,
    pub frame: Vec<u8>,
    pub resubmit: bool,
    pub counted: bool,
}

#[derive(Default)]
pub struct Remote {
    outstanding: Slab<Outstanding>,
    next_token: u64,
    /// Mail for each other loop, shipped by the loop at the end of the
    /// iteration.
    pub outbox: Vec<Batch<Mail>>,
    /// Mail that arrived, to be handled this iteration.
    pub inbox: Vec<Mail>,
    /// Questions for other nodes of the cluster: (node, token, account,
    /// frame), sent through the broker by `cluster::bridge`.
    pub to_nodes: Vec<(u16, u64, AccountId, Vec<u8>)>,
}

/// A target "loop" at or above this is node `n - NODE_BASE` of the cluster.
pub const NODE_BASE: usize = 1 << 20;

impl Remote {
    pub fn new(threads: usize) -> Remote {
        Remote {
            outbox: (0..threads).map(|_| Vec::new()).collect(),
            ..Remote::default()
        }
    }

    /// Sends request `frame` of session `key` (sequence `seq`, answered
    /// with `resp`, or `fail` if no answer comes by tick `deadline`) to
    /// each loop of `to`. `first`: this loop's own answer, if it has one
    /// (an OK one wins over the others' failures).
    #[allow(clippy::too_many_arguments)]
    pub fn ask(
        &mut self,
        me: usize,
        to: &[usize],
        key: ConnKey,
        account: AccountId,
        seq: u32,
        resp: CommandId,
        fail: S,
        frame: &[u8],
        deadline: u64,
        first: Option<Vec<u8>>,
    ) {
        self.next_token += 1;
        let token = self.next_token;
        let mut sent = 0;
        for &lp in to {
            if lp >= NODE_BASE {
                let node = u16::try_from(lp - NODE_BASE).unwrap_or(0);
                self.to_nodes.push((node, token, account, frame.to_vec()));
                sent += 1;
            } else if let Some(ob) = self.outbox.get_mut(lp) {
                ob.push(Mail::Ask {
                    from: me,
                    token,
                    account,
                    frame: frame.to_vec(),
                });
                sent += 1;
            }
        }
        self.outstanding.insert(Outstanding {
            token,
            key,
            seq,
            resp,
            waiting: sent,
            answer: first,
            answer_counted: false,
            fail,
            deadline,
            fallback: None,
        });
    }

    /// The request just asked: if no loop succeeds (or none answers in
    /// time), it comes back as [`Ready::resubmit`] instead of a failure.
    pub fn fall_back_to_here(&mut self, frame: Vec<u8>) {
        let token = self.next_token;
        if let Some((_, o)) = self.outstanding.iter_mut().find(|(_, o)| o.token == token) {
            o.fallback = Some(frame);
        }
    }

    /// Adds an answer that arrived; returns the response to write when it
    /// was the last one expected.
    pub fn answered(&mut self, token: u64, frame: Vec<u8>) -> Option<Ready> {
        let (idx, o) = self
            .outstanding
            .iter_mut()
            .find(|(_, o)| o.token == token)?;
        o.waiting = o.waiting.saturating_sub(1);
        let ok = is_ok(&frame);
        if o.answer.is_none() || ok {
            o.answer = Some(frame);
            o.answer_counted = true;
        }
        if o.waiting > 0 {
            return None;
        }
        let o = self.outstanding.remove(idx);
        Some(o.finish())
    }

    /// Requests whose answers did not come by `tick`: their failure responses.
    pub fn expired(&mut self, tick: u64) -> Vec<Ready> {
        let late: Vec<usize> = self
            .outstanding
            .iter()
            .filter(|(_, o)| o.deadline <= tick)
            .map(|(i, _)| i)
            .collect();
        late.into_iter()
            .map(|i| {
                let mut o = self.outstanding.remove(i);
                // Time is up: what came counts only if it succeeded.
                if !o.answer.as_deref().is_some_and(is_ok) {
                    o.answer = None;
                }
                o.finish()
            })
            .collect()
    }

    /// Requests waiting for another loop.
    pub fn waiting(&self) -> usize {
        self.outstanding.len()
    }
}

fn is_ok(frame: &[u8]) -> bool {
    crate::pdu::Header::peek(frame).is_some_and(|h| h.command_status.is_ok())
}

impl Outstanding {
    /// The response: the answer that came (an OK one if any did), else the
    /// request to handle here (`fallback`), else the failure.
    fn finish(self) -> Ready {
        let ok = self.answer.as_deref().is_some_and(is_ok);
        let counted = self.answer.is_some() && self.answer_counted;
        let (frame, resubmit, counted) = match (self.answer, self.fallback) {
            (Some(frame), _) if ok => (frame, false, counted),
            (_, Some(request)) => (request, true, false),
            (answer, None) => (
                answer.unwrap_or_else(|| failure(self.resp, self.fail, self.seq)),
                false,
                counted,
            ),
        };
        Ready {
            key: self.key,
            frame,
            resubmit,
            counted,
        }
    }
}

/// A header-only response `id` with `status`.
pub fn failure(id: CommandId, status: S, seq: u32) -> Vec<u8> {
    let mut out = vec![0u8; crate::pdu::HEADER_LEN];
    let n = crate::pdu::encode_header_only(id, status, seq, &mut out).unwrap_or(0);
    out.truncate(n);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const KEY: ConnKey = ConnKey { slot: 3, gen: 9 };

    fn status(frame: &[u8]) -> S {
        crate::pdu::Header::peek(frame).unwrap().command_status
    }

    #[test]
    fn one_answer_is_forwarded_and_a_late_one_dropped() {
        let mut r = Remote::new(3);
        r.ask(
            0,
            &[2],
            KEY,
            AccountId(0),
            7,
            CommandId::QUERY_SM_RESP,
            S::ESME_RQUERYFAIL,
            b"q",
            100,
            None,
        );
        assert_eq!(r.outbox[2].len(), 1);
        let Mail::Ask { token, .. } = r.outbox[2][0] else {
            panic!()
        };
        let ans = failure(CommandId::QUERY_SM_RESP, S::ESME_ROK, 7);
        let ready = r.answered(token, ans.clone()).unwrap();
        assert_eq!((ready.key, ready.frame), (KEY, ans));
        assert!(r
            .answered(token, failure(CommandId::QUERY_SM_RESP, S::ESME_ROK, 7))
            .is_none());
        assert_eq!(r.waiting(), 0);
    }

    #[test]
    fn a_broadcast_cancel_succeeds_if_any_loop_cancelled() {
        let mut r = Remote::new(3);
        r.ask(
            0,
            &[1, 2],
            KEY,
            AccountId(0),
            8,
            CommandId::CANCEL_SM_RESP,
            S::ESME_RCANCELFAIL,
            b"c",
            100,
            None,
        );
        let fail = failure(CommandId::CANCEL_SM_RESP, S::ESME_RCANCELFAIL, 8);
        let ok = failure(CommandId::CANCEL_SM_RESP, S::ESME_ROK, 8);
        assert!(r.answered(1, ok).is_none());
        let ready = r.answered(1, fail).unwrap();
        assert_eq!(status(&ready.frame), S::ESME_ROK);
    }

    #[test]
    fn no_answer_in_time_is_the_operations_failure() {
        let mut r = Remote::new(2);
        r.ask(
            0,
            &[1],
            KEY,
            AccountId(0),
            9,
            CommandId::REPLACE_SM_RESP,
            S::ESME_RREPLACEFAIL,
            b"r",
            100,
            None,
        );
        assert!(r.expired(99).is_empty());
        let late = r.expired(100);
        assert_eq!(late.len(), 1);
        assert_eq!(status(&late[0].frame), S::ESME_RREPLACEFAIL);
        assert!(r
            .answered(1, failure(CommandId::REPLACE_SM_RESP, S::ESME_ROK, 9))
            .is_none());
    }

    #[test]
    fn a_request_nobody_could_apply_comes_back_to_be_handled_here() {
        let mut r = Remote::new(3);
        let ask = |r: &mut Remote| {
            r.ask(
                0,
                &[1, 2],
                KEY,
                AccountId(0),
                5,
                CommandId::SUBMIT_SM_RESP,
                S::ESME_RREPLACEFAIL,
                b"submit",
                100,
                None,
            );
            r.fall_back_to_here(b"submit".to_vec());
        };
        // Both loops say "not here": the submit is handed back.
        ask(&mut r);
        let no = failure(CommandId::SUBMIT_SM_RESP, S::ESME_RREPLACEFAIL, 5);
        assert!(r.answered(1, no.clone()).is_none());
        let back = r.answered(1, no.clone()).unwrap();
        assert!(back.resubmit);
        assert_eq!(back.frame, b"submit");
        // One replaced it: its answer is written.
        ask(&mut r);
        assert!(r
            .answered(2, failure(CommandId::SUBMIT_SM_RESP, S::ESME_ROK, 5))
            .is_none());
        let done = r.answered(2, no.clone()).unwrap();
        assert!(!done.resubmit);
        assert_eq!(status(&done.frame), S::ESME_ROK);
        // Nobody answered in time: handed back too.
        ask(&mut r);
        let late = r.expired(100);
        assert_eq!(late.len(), 1);
        assert!(late[0].resubmit);
    }
}
