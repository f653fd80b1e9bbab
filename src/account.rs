//! ESME accounts: credentials, allowed bind types, bind limits, source IP
//! allow-lists and per-account message settings.
//!
//! Accounts file format (INI-like, one section per system_id):
//! ```text
//! # comment
//! [movider]
//! password = 1111
//! binds = tx, rx, trx          # allowed bind types (default: all)
//! max_binds = 8                # concurrent binds, 0 = unlimited (default)
//! allow_ips = 127.0.0.1, 10.0.0.0/8   # default: any
//! throughput = 500             # submits/s, 0 = unlimited (default: --throughput)
//! receipt_queue = 100000       # receipts held while no receiver is bound
//! outcomes = undeliv=0.1,delay=1s     # outcome model (default: --outcomes)
//! tls = required               # binds only over TLS (default: optional)
//! client_cert = required       # binds only with a client certificate naming it
//! ```

use crate::outcome::OutcomeModel;
use std::collections::HashMap;
use std::net::IpAddr;

/// Index of an account in [`Accounts`]; stable for the life of the process.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct AccountId(pub u32);

impl AccountId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The three bind types.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum BindType {
    Transmitter,
    Receiver,
    Transceiver,
}

impl BindType {
    pub fn can_submit(self) -> bool {
        !matches!(self, BindType::Receiver)
    }
    pub fn can_receive(self) -> bool {
        !matches!(self, BindType::Transmitter)
    }
    pub fn name(self) -> &'static str {
        match self {
            BindType::Transmitter => "tx",
            BindType::Receiver => "rx",
            BindType::Transceiver => "trx",
        }
    }
}

/// An IPv4/IPv6 network in CIDR form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let maxp = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|&p| p <= maxp)?,
            None => maxp,
        };
        Some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // Treat IPv4-mapped IPv6 peers as IPv4.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Server-wide defaults for per-account settings.
#[derive(Clone, Debug)]
pub struct Defaults {
    pub receipt_queue: usize,
    pub throughput: u32,
    pub outcomes: OutcomeModel,
}

#[derive(Clone, Debug)]
pub struct Account {
    pub id: AccountId,
    pub system_id: String,
    pub password: String,
    pub allow_tx: bool,
    pub allow_rx: bool,
    pub allow_trx: bool,
    pub max_binds: u32,
    pub allow_ips: Vec<Cidr>,
    pub throughput: u32,
    pub receipt_queue: usize,
    pub outcomes: OutcomeModel,
    /// `tls = required`: a bind that did not come over TLS is refused.
    pub tls_required: bool,
    /// `client_cert = required`: a bind is refused unless the connection's
    /// verified client certificate names the system_id (subject CN or a
    /// DNS SAN). Implies TLS.
    pub client_cert_required: bool,
    /// Destination prefixes this account owns: messages to them are
    /// delivered to it as MO deliver_sm (`numbers =`, `--route`).
    pub numbers: Vec<String>,
    /// Gone from the accounts file at a reload: kept so that its id still
    /// names it (queued receipts, counters), but it cannot bind.
    pub removed: bool,
}

impl Account {
    pub fn new(system_id: &str, password: &str, d: &Defaults) -> Account {
        Account {
            id: AccountId(0),
            system_id: system_id.to_string(),
            password: password.to_string(),
            allow_tx: true,
            allow_rx: true,
            allow_trx: true,
            max_binds: 0,
            allow_ips: Vec::new(),
            throughput: d.throughput,
            receipt_queue: d.receipt_queue,
            outcomes: d.outcomes.clone(),
            tls_required: false,
            client_cert_required: false,
            numbers: Vec::new(),
            removed: false,
        }
    }

    pub fn allows(&self, t: BindType) -> bool {
        match t {
            BindType::Transmitter => self.allow_tx,
            BindType::Receiver => self.allow_rx,
            BindType::Transceiver => self.allow_trx,
        }
    }

    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        self.allow_ips.is_empty() || self.allow_ips.iter().any(|c| c.contains(ip))
    }

    /// Compares passwords without an early exit on the first differing byte.
    pub fn password_matches(&self, given: &[u8]) -> bool {
        let want = self.password.as_bytes();
        let mut diff = (want.len() ^ given.len()) as u8;
        for (i, &w) in want.iter().enumerate() {
            diff |= w ^ given.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

/// All accounts, looked up by system_id.
#[derive(Clone, Debug)]
pub struct Accounts {
    list: Vec<Account>,
    by_id: HashMap<Vec<u8>, AccountId>,
    /// Who owns which destination prefixes (`route.rs`).
    pub routes: crate::route::Routes,
}

/// The route table of the accounts in force (removed ones own nothing).
fn routes_of(list: &[Account]) -> Result<crate::route::Routes, AccountError> {
    crate::route::Routes::build(
        list.iter()
            .filter(|a| !a.removed)
            .flat_map(|a| a.numbers.iter().map(move |n| (n.as_str(), a.id))),
    )
    .map_err(|m| AccountError::new(0, "numbers", m))
}

impl Accounts {
    pub fn new(mut list: Vec<Account>) -> Result<Accounts, AccountError> {
        let mut by_id = HashMap::new();
        for (i, a) in list.iter_mut().enumerate() {
            a.id = AccountId(i as u32);
            if by_id
                .insert(a.system_id.as_bytes().to_vec(), a.id)
                .is_some()
            {
                return Err(AccountError::new(
                    0,
                    "system_id",
                    format!("duplicate account {:?}", a.system_id),
                ));
            }
        }
        let routes = routes_of(&list)?;
        Ok(Accounts {
            list,
            by_id,
            routes,
        })
    }

    /// The account with this system_id, unless it was removed.
    pub fn by_system_id(&self, system_id: &[u8]) -> Option<&Account> {
        self.by_id
            .get(system_id)
            .and_then(|id| self.list.get(id.index()))
            .filter(|a| !a.removed)
    }

    /// The accounts of a reload: an account that already existed keeps its
    /// id, a new one gets the next free id, and one that is gone stays as
    /// `removed` so that no id ever changes meaning while the server runs.
    pub fn merged(&self, new: Vec<Account>) -> Result<Accounts, AccountError> {
        let mut list = self.list.clone();
        for a in &mut list {
            a.removed = true;
        }
        let mut by_id = self.by_id.clone();
        let mut seen = std::collections::HashSet::new();
        for mut a in new {
            if !seen.insert(a.system_id.clone()) {
                return Err(AccountError::new(
                    0,
                    "system_id",
                    format!("duplicate account {:?}", a.system_id),
                ));
            }
            match by_id.get(a.system_id.as_bytes()) {
                Some(&id) => {
                    a.id = id;
                    if let Some(slot) = list.get_mut(id.index()) {
                        *slot = a;
                    }
                }
                None => {
                    a.id = AccountId(list.len() as u32);
                    by_id.insert(a.system_id.as_bytes().to_vec(), a.id);
                    list.push(a);
                }
            }
        }
        let routes = routes_of(&list)?;
        Ok(Accounts {
            list,
            by_id,
            routes,
        })
    }

    pub fn get(&self, id: AccountId) -> Option<&Account> {
        self.list.get(id.index())
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.list.iter()
    }
}

/// A problem in an account definition, naming where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountError {
    pub file: Option<String>,
    pub line: usize,
    pub field: String,
    pub msg: String,
}

impl AccountError {
    fn new(line: usize, field: &str, msg: String) -> AccountError {
        AccountError {
            file: None,
            line,
            field: field.to_string(),
            msg,
        }
    }
    pub fn in_file(mut self, f: String) -> AccountError {
        self.file = Some(f);
        self
    }
}

impl std::fmt::Display for AccountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}:{}: {}: {}", self.line, self.field, self.msg),
            None => write!(
                f,
                "accounts line {}: {}: {}",
                self.line, self.field, self.msg
            ),
        }
    }
}

/// `SYSTEM_ID:PASSWORD` from `--account`.
pub fn parse_flag(spec: &str, d: &Defaults) -> Result<Account, String> {
    let (sid, pw) = spec.split_once(':').ok_or("expected SYSTEM_ID:PASSWORD")?;
    check_credentials(sid, pw)?;
    Ok(Account::new(sid, pw, d))
}

pub(crate) fn check_credentials(sid: &str, pw: &str) -> Result<(), String> {
    if sid.is_empty() || sid.len() > 15 || !sid.is_ascii() {
        return Err(format!("system_id {sid:?} must be 1..=15 ASCII characters"));
    }
    if pw.len() > 8 || !pw.is_ascii() {
        return Err("password must be at most 8 ASCII characters (SMPP limit)".into());
    }
    Ok(())
}

/// `required` or `optional` (the values of `tls` and `client_cert`).
fn required(val: &str) -> Result<bool, String> {
    match val.to_ascii_lowercase().as_str() {
        "required" => Ok(true),
        "optional" => Ok(false),
        _ => Err(format!("expected required or optional, not {val:?}")),
    }
}

/// Sets one account setting from its text (`key = value` of the accounts
/// file; `--config`'s `[[account]]` tables come through here too, so both
/// formats share one parser).
pub fn apply(acct: &mut Account, key: &str, val: &str) -> Result<(), String> {
    match key {
        "password" => {
            check_credentials(&acct.system_id, val)?;
            acct.password = val.to_string();
        }
        "binds" => {
            acct.allow_tx = false;
            acct.allow_rx = false;
            acct.allow_trx = false;
            for b in val.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match b.to_ascii_lowercase().as_str() {
                    "tx" | "transmitter" => acct.allow_tx = true,
                    "rx" | "receiver" => acct.allow_rx = true,
                    "trx" | "transceiver" => acct.allow_trx = true,
                    other => return Err(format!("unknown bind type {other:?} (tx, rx, trx)")),
                }
            }
        }
        "max_binds" => {
            acct.max_binds = val.parse().map_err(|_| format!("not a number: {val:?}"))?
        }
        "throughput" => {
            acct.throughput = val.parse().map_err(|_| format!("not a number: {val:?}"))?
        }
        "receipt_queue" => {
            acct.receipt_queue = val.parse().map_err(|_| format!("not a number: {val:?}"))?
        }
        "allow_ips" => {
            acct.allow_ips.clear();
            for c in val.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                acct.allow_ips
                    .push(Cidr::parse(c).ok_or_else(|| format!("bad address or CIDR {c:?}"))?);
            }
        }
        "outcomes" => acct.outcomes = OutcomeModel::parse(val).map_err(|e| e.0)?,
        "tls" => acct.tls_required = required(val)?,
        "client_cert" => acct.client_cert_required = required(val)?,
        "numbers" => {
            acct.numbers.clear();
            for n in val.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                crate::route::Routes::build([(n, AccountId(0))])?;
                acct.numbers.push(n.to_string());
            }
        }
        other => return Err(format!("unknown setting {other:?}")),
    }
    Ok(())
}

/// Parses an accounts file (format in the module docs).
pub fn parse_file(text: &str, d: &Defaults) -> Result<Vec<Account>, AccountError> {
    let mut out: Vec<Account> = Vec::new();
    let mut has_password = true;
    let mut section_line = 0;
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            if !has_password {
                return Err(AccountError::new(
                    section_line,
                    "password",
                    "missing".into(),
                ));
            }
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| AccountError::new(ln, "section", "expected [system_id]".into()))?;
            let name = name.trim();
            check_credentials(name, "").map_err(|m| AccountError::new(ln, "system_id", m))?;
            out.push(Account::new(name, "", d));
            has_password = false;
            section_line = ln;
            continue;
        }
        let (key, val) = line.split_once('=').ok_or_else(|| {
            AccountError::new(ln, "line", "expected key = value or [system_id]".into())
        })?;
        let (key, val) = (key.trim(), val.trim());
        let acct = out.last_mut().ok_or_else(|| {
            AccountError::new(
                ln,
                key,
                "setting before the first [system_id] section".into(),
            )
        })?;
        apply(acct, key, val).map_err(|m| AccountError::new(ln, key, m))?;
        if key == "password" {
            has_password = true;
        }
    }
    if !has_password {
        return Err(AccountError::new(
            section_line,
            "password",
            "missing".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Defaults {
        Defaults {
            receipt_queue: 10,
            throughput: 0,
            outcomes: OutcomeModel::default(),
        }
    }

    #[test]
    fn parses_file() {
        let text = "# accounts\n[alpha]\npassword = pw1\nbinds = tx, trx\nmax_binds = 2\nallow_ips = 127.0.0.1, 10.0.0.0/8\nthroughput = 50\n\n[beta]\npassword=\n";
        let v = parse_file(text, &d()).unwrap();
        assert_eq!(v.len(), 2);
        let a = &v[0];
        assert_eq!(a.system_id, "alpha");
        assert!(a.allows(BindType::Transmitter) && a.allows(BindType::Transceiver));
        assert!(!a.allows(BindType::Receiver));
        assert_eq!(a.max_binds, 2);
        assert!(a.ip_allowed("10.1.2.3".parse().unwrap()));
        assert!(a.ip_allowed("127.0.0.1".parse().unwrap()));
        assert!(!a.ip_allowed("192.168.1.1".parse().unwrap()));
        assert!(a.ip_allowed("::ffff:10.9.9.9".parse().unwrap()));
        assert_eq!(a.throughput, 50);
        assert!(v[1].password_matches(b""));
        assert!(a.password_matches(b"pw1"));
        assert!(!a.password_matches(b"pw"));
        assert!(!a.password_matches(b"pw12"));
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = parse_file("[a]\npassword = x\nmax_binds = lots\n", &d()).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "max_binds"));
        let e = parse_file("[a]\nbinds = tx\n", &d()).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (1, "password"));
        let e = parse_file("password = x\n", &d()).unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_file("[a]\npassword = 123456789\n", &d()).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "password"));
        let e = parse_file("[a]\npassword = 1\nallow_ips = 10.0.0.0/33\n", &d()).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "allow_ips"));
        let e = parse_file("[a]\npassword = 1\nbinds = tx, xx\n", &d()).unwrap_err();
        assert_eq!(e.field, "binds");
        assert!(Accounts::new(vec![
            Account::new("a", "", &d()),
            Account::new("a", "", &d())
        ])
        .is_err());
    }

    #[test]
    fn tls_and_client_cert_settings() {
        let text = "[a]\npassword = 1\ntls = required\n[b]\npassword = 2\nclient_cert = Required\ntls = optional\n[c]\npassword = 3\n";
        let v = parse_file(text, &d()).unwrap();
        assert!(v[0].tls_required && !v[0].client_cert_required);
        assert!(!v[1].tls_required && v[1].client_cert_required);
        assert!(!v[2].tls_required && !v[2].client_cert_required);
        let e = parse_file("[a]\npassword = 1\ntls = yes\n", &d()).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "tls"));
    }

    #[test]
    fn cidr() {
        let c = Cidr::parse("192.168.0.0/16").unwrap();
        assert!(c.contains("192.168.44.1".parse().unwrap()));
        assert!(!c.contains("192.169.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("::1").unwrap().contains("::1".parse().unwrap()));
        assert!(Cidr::parse("nope").is_none());
    }

    #[test]
    fn a_reload_keeps_ids_adds_and_marks_removed() {
        let acc = |sid: &str, pw: &str| Account::new(sid, pw, &d());
        let old = Accounts::new(vec![
            acc("alpha", "a1"),
            acc("beta", "b1"),
            acc("gamma", "g1"),
        ])
        .unwrap();
        let new = old
            .merged(vec![
                acc("gamma", "g2"),
                acc("delta", "d1"),
                acc("alpha", "a1"),
            ])
            .unwrap();
        // Same ids for the accounts that stay, new settings taken.
        assert_eq!(new.by_system_id(b"alpha").unwrap().id, AccountId(0));
        let gamma = new.by_system_id(b"gamma").unwrap();
        assert_eq!((gamma.id, gamma.password.as_str()), (AccountId(2), "g2"));
        // A new account gets the next id; a removed one keeps its id but
        // cannot be found by name any more.
        assert_eq!(new.by_system_id(b"delta").unwrap().id, AccountId(3));
        assert!(new.by_system_id(b"beta").is_none());
        assert!(new.get(AccountId(1)).unwrap().removed);
        assert_eq!(new.len(), 4);
        // Back again: the old id, no longer removed.
        let again = new.merged(vec![acc("beta", "b2")]).unwrap();
        assert_eq!(again.by_system_id(b"beta").unwrap().id, AccountId(1));
        assert!(again.get(AccountId(0)).unwrap().removed);
        // A duplicate in the new list is refused.
        assert!(old.merged(vec![acc("x", "1"), acc("x", "2")]).is_err());
    }
}
