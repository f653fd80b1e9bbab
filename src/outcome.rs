//! The outcome model: what happens to each accepted message, so ESME
//! developers can exercise their failure handling.
//!
//! Spec string (comma separated, any order), e.g.
//! `delay=100ms..2s,undeliv=0.1,expired=0.02,enroute,prefix:4479=REJECTD,prefix:4470=ESME_RTHROTTLED,prefix:4471=late:2s`
//! - `delay=D` or `delay=A..B`: time from submit to the final receipt (uniform in the range).
//! - `undeliv|expired|rejectd|unknown|deleted|acceptd=P`: share of messages with that final state.
//!   The rest are DELIVRD.
//! - `enroute`: an intermediate ENROUTE receipt right after submit for messages asking for a receipt.
//! - `prefix:DIGITS=STAT`: destinations starting with DIGITS always end in STAT (a 7-letter word).
//! - `prefix:DIGITS=ESME_Rxxx`: submits to them are refused with that status.
//! - `prefix:DIGITS=late:D`: their submit_sm_resp is held back for D.

use crate::dlr::Stat;
use crate::pdu::CommandStatus;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub enum PrefixAction {
    Final(Stat),
    Refuse(CommandStatus),
    LateResponse(Duration),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PrefixRule {
    pub prefix: Vec<u8>,
    pub action: PrefixAction,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct OutcomeModel {
    pub delay_min: Duration,
    pub delay_max: Duration,
    /// (state, cumulative share) in the order given; the remainder is DELIVRD.
    pub shares: Vec<(Stat, f64)>,
    pub enroute: bool,
    pub prefixes: Vec<PrefixRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeParseError(pub String);

impl std::fmt::Display for OutcomeParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the model decided for one message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fate {
    pub stat: Stat,
    pub delay: Duration,
}

impl OutcomeModel {
    pub fn parse(spec: &str) -> Result<OutcomeModel, OutcomeParseError> {
        let mut m = OutcomeModel::default();
        let mut total = 0.0;
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let err = |why: &str| OutcomeParseError(format!("{item:?}: {why}"));
            if item == "enroute" {
                m.enroute = true;
                continue;
            }
            let (key, val) = item
                .split_once('=')
                .ok_or_else(|| err("expected key=value"))?;
            if let Some(prefix) = key.strip_prefix("prefix:") {
                if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
                    return Err(err("prefix must be digits"));
                }
                let action = if let Some(d) = val.strip_prefix("late:") {
                    PrefixAction::LateResponse(
                        crate::config::parse_duration(d).map_err(|e| err(&e))?,
                    )
                } else if let Some(st) = Stat::from_str_ci(val.as_bytes()) {
                    PrefixAction::Final(st)
                } else if let Some(cs) = status_by_name(val) {
                    PrefixAction::Refuse(cs)
                } else {
                    return Err(err(
                        "expected a state (DELIVRD, UNDELIV, ...), ESME_Rxxx or late:DURATION",
                    ));
                };
                m.prefixes.push(PrefixRule {
                    prefix: prefix.as_bytes().to_vec(),
                    action,
                });
                continue;
            }
            if key == "delay" {
                let (a, b) = match val.split_once("..") {
                    Some((a, b)) => (a, b),
                    None => (val, val),
                };
                m.delay_min = crate::config::parse_duration(a).map_err(|e| err(&e))?;
                m.delay_max = crate::config::parse_duration(b).map_err(|e| err(&e))?;
                if m.delay_max < m.delay_min {
                    return Err(err("delay range upper bound below lower bound"));
                }
                continue;
            }
            let stat = Stat::from_str_ci(key.as_bytes())
                .filter(|s| !matches!(s, Stat::Delivrd | Stat::Enroute))
                .ok_or_else(|| err("unknown key (delay, enroute, prefix:, undeliv, expired, rejectd, unknown, deleted, acceptd)"))?;
            let p: f64 = val
                .parse()
                .map_err(|_| err("share must be a number 0..1"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(err("share must be within 0..1"));
            }
            total += p;
            if total > 1.0 + 1e-9 {
                return Err(err("shares add up to more than 1"));
            }
            m.shares.push((stat, total));
        }
        Ok(m)
    }

    /// The rule for a destination, if any (first match wins).
    pub fn rule_for(&self, destination_addr: &[u8]) -> Option<&PrefixAction> {
        if self.prefixes.is_empty() {
            return None;
        }
        let d = destination_addr
            .strip_prefix(b"+")
            .unwrap_or(destination_addr);
        self.prefixes
            .iter()
            .find(|r| d.starts_with(&r.prefix))
            .map(|r| &r.action)
    }

    /// Decides a message's fate from two uniform random numbers in [0,1).
    pub fn decide(&self, destination_addr: &[u8], r_state: f64, r_delay: f64) -> Fate {
        let delay = if self.delay_max > self.delay_min {
            self.delay_min + (self.delay_max - self.delay_min).mul_f64(r_delay)
        } else {
            self.delay_min
        };
        if let Some(PrefixAction::Final(stat)) = self.rule_for(destination_addr) {
            return Fate { stat: *stat, delay };
        }
        let stat = self
            .shares
            .iter()
            .find(|(_, cum)| r_state < *cum)
            .map(|(s, _)| *s)
            .unwrap_or(Stat::Delivrd);
        Fate { stat, delay }
    }

    /// True when every message is delivered at once (the fast path).
    pub fn is_trivial(&self) -> bool {
        self.shares.is_empty()
            && self.prefixes.is_empty()
            && self.delay_max.is_zero()
            && !self.enroute
    }
}

/// `ESME_RTHROTTLED` or a short form like `throttled` / `rthrottled`.
pub fn status_by_name(s: &str) -> Option<CommandStatus> {
    let up = s.to_ascii_uppercase();
    CommandStatus::ALL.iter().copied().find(|c| {
        c.name().is_some_and(|n| {
            n == up || n.strip_prefix("ESME_R") == Some(&up) || n.strip_prefix("ESME_") == Some(&up)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_spec() {
        let m = OutcomeModel::parse(
            "delay=100ms..2s, undeliv=0.1, expired=0.2, enroute, prefix:4479=REJECTD, prefix:4470=throttled, prefix:4471=late:2s",
        )
        .unwrap();
        assert_eq!(m.delay_min, Duration::from_millis(100));
        assert_eq!(m.delay_max, Duration::from_secs(2));
        assert!(m.enroute);
        assert_eq!(
            m.rule_for(b"447900"),
            Some(&PrefixAction::Final(Stat::Rejectd))
        );
        assert_eq!(
            m.rule_for(b"+447000"),
            Some(&PrefixAction::Refuse(CommandStatus::ESME_RTHROTTLED))
        );
        assert_eq!(
            m.rule_for(b"4471"),
            Some(&PrefixAction::LateResponse(Duration::from_secs(2)))
        );
        assert_eq!(m.rule_for(b"4412"), None);
        // Shares are cumulative: [0,0.1) UNDELIV, [0.1,0.3) EXPIRED, rest DELIVRD.
        assert_eq!(m.decide(b"1", 0.05, 0.0).stat, Stat::Undeliv);
        assert_eq!(m.decide(b"1", 0.25, 0.0).stat, Stat::Expired);
        assert_eq!(m.decide(b"1", 0.5, 0.0).stat, Stat::Delivrd);
        assert_eq!(m.decide(b"4479", 0.05, 1.0).stat, Stat::Rejectd);
        assert_eq!(m.decide(b"1", 0.5, 0.5).delay, Duration::from_millis(1050));
        assert!(!m.is_trivial());
        assert!(OutcomeModel::parse("").unwrap().is_trivial());
    }

    #[test]
    fn rejects_bad_specs() {
        assert!(OutcomeModel::parse("undeliv=2").is_err());
        assert!(OutcomeModel::parse("undeliv=0.7,expired=0.7").is_err());
        assert!(OutcomeModel::parse("bogus=1").is_err());
        assert!(OutcomeModel::parse("prefix:44=NOPE").is_err());
        assert!(OutcomeModel::parse("delay=2s..1s").is_err());
        assert!(OutcomeModel::parse("prefix:ab=UNDELIV").is_err());
    }
}
