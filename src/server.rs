//! Starting and stopping the loops, and the little state they share.
//!
//! Shared state is touched on binds, unbinds and housekeeping ticks, never
//! per PDU, with two bounded exceptions: an account with a `throughput`
//! limit pays one CAS per submit (its rate limiter), and a submit that asks
//! for a receipt reads one relaxed counter (the account's held receipts).

use crate::account::{AccountId, Accounts};
use crate::config::Config;
use crate::delivery::Item;
use crate::link::{InLink, OutLink, LINK_BATCHES};
use crate::metrics::Snapshot;
use crate::remote::Mail;
use crate::worker::Worker;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Per account, shared by all loops.
pub struct AccountState {
    /// Binds currently open (for `max_binds`).
    pub binds: AtomicU32,
    /// RX/TRX binds per loop: where receipts can go.
    pub receivers: Vec<AtomicU32>,
    /// Receipts waiting in loop queues (published by the loops after each pump).
    pub queued: AtomicUsize,
    /// GCRA rate limiter: theoretical arrival time in ns since `Shared::epoch`.
    pub tat_ns: AtomicU64,
}

/// What every loop can see.
pub struct Shared {
    pub config: Config,
    pub accounts: Vec<AccountState>,
    pub shutdown: AtomicBool,
    pub wakers: OnceLock<Vec<Arc<mio::Waker>>>,
    /// Each loop's inbox for the admin thread's requests (`admin::Request`:
    /// MO injection, message lookups, unbinds).
    pub admin: OnceLock<Vec<std::sync::mpsc::SyncSender<crate::admin::Request>>>,
    pub snapshots: Vec<Mutex<Snapshot>>,
    /// Failed binds per (IP, account) and per IP for unknown system_ids:
    /// (count, window start).
    pub bind_failures: Mutex<HashMap<BindFailKey, (u32, Instant)>>,
    /// The TLS listener's configuration in force (`--tls-listen`).
    pub tls: Option<crate::tls::TlsShared>,
    /// Connections open across all loops (for --max-connections).
    pub connections: AtomicUsize,
    pub epoch: Instant,
    pub start_unix_ms: u64,
    /// The leading field of this run's message ids (`msgid::start_field`).
    pub id_start: u64,
    /// The cluster's side of this node (`--nats`); None for a single node.
    pub cluster: Option<crate::cluster::ClusterShared>,
    /// Loops that have finished their shutdown.
    pub stopped: AtomicUsize,
    /// The receipt journal (`--journal`), committed by every loop.
    pub journal: Option<Mutex<crate::journal::Writer>>,
    /// New jids are `(jid_base + n) << LOOP_BITS | loop`: above every jid
    /// recovered from the journal.
    pub jid_base: u64,
    /// Loop 0 holds pending messages of an earlier run, recovered from the
    /// journal: ids of another start are looked up there.
    pub recovered_ids: AtomicBool,
    /// The account tables of the reloads (SIGHUP), in order; before the
    /// first, `config.accounts` is in force. The current one is read by
    /// every PDU without a lock or a reference count; old ones stay until
    /// exit (a few KiB per reload).
    reloads: Vec<OnceLock<Accounts>>,
    /// Reloads done: 0 means `config.accounts`, n means `reloads[n - 1]`.
    reloads_done: AtomicUsize,
    reload_lock: Mutex<()>,
}

/// Reloads allowed before a restart is needed.
pub const MAX_RELOADS: usize = 256;
/// Accounts a reload can add beyond those at start (their shared state is
/// allocated up front).
pub const ACCOUNT_HEADROOM: usize = 1024;

/// Failed binds are counted in windows of this length.
pub const BIND_FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// What failed binds are counted against. A wrong password counts against
/// the account from that IP only, so one account's typo behind a NAT does
/// not lock out the other accounts there; unknown system_ids count against
/// the IP (a search for accounts).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BindFailKey {
    Account(IpAddr, AccountId),
    UnknownSystemId(IpAddr),
}

impl Shared {
    pub fn new(config: Config) -> Shared {
        let threads = config.threads;
        let accounts = (0..config.accounts.len() + ACCOUNT_HEADROOM)
            .map(|_| AccountState {
                binds: AtomicU32::new(0),
                receivers: (0..threads).map(|_| AtomicU32::new(0)).collect(),
                queued: AtomicUsize::new(0),
                tat_ns: AtomicU64::new(0),
            })
            .collect();
        let now_ms = crate::clock::unix_ms;
        let mut start_unix_ms = now_ms();
        if config.node_id != 0 {
            // Ids carry the start second: wait for the next one, so a
            // restart of this node never reuses it.
            let next = (start_unix_ms / 1000 + 1) * 1000;
            std::thread::sleep(Duration::from_millis(next.saturating_sub(start_unix_ms)));
            start_unix_ms = now_ms().max(next);
        }
        let id_start = crate::msgid::start_field(start_unix_ms, config.node_id);
        let cluster = config
            .nats
            .as_ref()
            .map(|_| crate::cluster::ClusterShared::new(&config, id_start));
        let tls = config.tls.as_ref().map(crate::tls::TlsShared::new);
        Shared {
            tls,
            reloads: (0..MAX_RELOADS).map(|_| OnceLock::new()).collect(),
            reloads_done: AtomicUsize::new(0),
            reload_lock: Mutex::new(()),
            snapshots: (0..threads)
                .map(|_| Mutex::new(Snapshot::default()))
                .collect(),
            config,
            accounts,
            shutdown: AtomicBool::new(false),
            wakers: OnceLock::new(),
            admin: OnceLock::new(),
            bind_failures: Mutex::new(HashMap::new()),
            connections: AtomicUsize::new(0),
            epoch: Instant::now(),
            start_unix_ms,
            id_start,
            cluster,
            stopped: AtomicUsize::new(0),
            journal: None,
            jid_base: 1,
            recovered_ids: AtomicBool::new(false),
        }
    }

    /// Commits one loop's journal batch; false (and the batch kept) if the
    /// write failed or the lock is poisoned.
    pub fn commit_journal(&self, batch: &mut crate::journal::Batch) -> bool {
        let Some(j) = &self.journal else {
            return true;
        };
        match j.lock() {
            Ok(mut w) => w.commit(batch).is_ok(),
            Err(_) => false,
        }
    }

    /// The accounts in force (the latest reload).
    #[inline]
    pub fn accounts(&self) -> &Accounts {
        match self.reloads_done.load(Ordering::Acquire) {
            0 => &self.config.accounts,
            n => self
                .reloads
                .get(n - 1)
                .and_then(OnceLock::get)
                .unwrap_or(&self.config.accounts),
        }
    }

    /// Changes with every reload (loops compare it once per iteration).
    #[inline]
    pub fn accounts_version(&self) -> usize {
        self.reloads_done.load(Ordering::Acquire)
    }

    /// Reads the accounts file again and puts it in force: existing
    /// accounts keep their ids and take the new settings (password, binds,
    /// limits; sessions already bound stay), new ones can bind at once, and
    /// removed ones cannot bind any more (their sessions are unbound).
    /// Returns a summary for the log, or why nothing changed.
    pub fn reload_accounts(&self) -> Result<String, String> {
        let _one_at_a_time = self
            .reload_lock
            .lock()
            .map_err(|_| "reload lock poisoned")?;
        let done = self.reloads_done.load(Ordering::Acquire);
        let slot = self
            .reloads
            .get(done)
            .ok_or_else(|| format!("{MAX_RELOADS} reloads done: restart to reload again"))?;
        let list = self.config.reread_accounts().map_err(|e| e.to_string())?;
        let old = self.accounts();
        let merged = old.merged(list).map_err(|e| e.to_string())?;
        if merged.len() > self.accounts.len() {
            return Err(format!(
                "{} accounts exceed the {} this run can hold: restart to add more",
                merged.len(),
                self.accounts.len()
            ));
        }
        let live = |a: &Accounts| a.iter().filter(|x| !x.removed).count();
        let added = merged.len() - old.len();
        let removed = merged
            .iter()
            .filter(|a| a.removed && old.get(a.id).is_some_and(|o| !o.removed))
            .count();
        let summary = format!(
            "{} accounts in force ({added} added, {removed} removed, was {})",
            live(&merged),
            live(old)
        );
        slot.set(merged)
            .map_err(|_| "accounts slot already used".to_string())?;
        self.reloads_done.store(done + 1, Ordering::Release);
        for i in 0..self.config.threads {
            self.wake(i);
        }
        Ok(summary)
    }

    pub fn account(&self, id: AccountId) -> Option<&AccountState> {
        self.accounts.get(id.index())
    }

    pub fn wake(&self, worker: usize) {
        if let Some(w) = self.wakers.get().and_then(|v| v.get(worker)) {
            let _ = w.wake();
        }
    }

    pub fn wake_all_but(&self, me: usize) {
        for i in 0..self.config.threads {
            if i != me {
                self.wake(i);
            }
        }
    }

    /// True when `key` has failed `--bind-fail-limit` binds within the window.
    pub fn bind_blocked(&self, key: BindFailKey, now: Instant) -> bool {
        let limit = self.config.bind_fail_limit;
        if limit == 0 {
            return false;
        }
        let Ok(map) = self.bind_failures.lock() else {
            return false;
        };
        matches!(map.get(&key), Some((n, since)) if *n >= limit && now.duration_since(*since) < BIND_FAILURE_WINDOW)
    }

    pub fn record_bind_failure(&self, key: BindFailKey, now: Instant) {
        if self.config.bind_fail_limit == 0 {
            return;
        }
        let Ok(mut map) = self.bind_failures.lock() else {
            return;
        };
        if map.len() > 100_000 {
            // Bounded memory under a distributed attack: forget old windows.
            map.retain(|_, (_, since)| now.duration_since(*since) < BIND_FAILURE_WINDOW);
        }
        let e = map.entry(key).or_insert((0, now));
        if now.duration_since(e.1) >= BIND_FAILURE_WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }

    /// GCRA: admits one submit for an account limited to `rate` per second
    /// with a burst of one second's worth. Lock-free.
    pub fn admit(&self, id: AccountId, rate: u32, now: Instant) -> bool {
        let Some(a) = self.account(id) else {
            return true;
        };
        if rate == 0 {
            return true;
        }
        let now_ns = now.duration_since(self.epoch).as_nanos() as u64;
        let interval = 1_000_000_000 / u64::from(rate);
        let burst = 1_000_000_000u64;
        let mut tat = a.tat_ns.load(Ordering::Relaxed);
        loop {
            let base = tat.max(now_ns);
            let new_tat = base + interval;
            if new_tat.saturating_sub(now_ns) > burst {
                return false;
            }
            match a
                .tat_ns
                .compare_exchange_weak(tat, new_tat, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(t) => tat = t,
            }
        }
    }

    /// Hands an injected MO message to loop `to` (round-robin by the
    /// caller) and waits up to `wait` for its id. Err: why not.
    pub fn inject(
        &self,
        to: usize,
        req: crate::inject::MoRequest,
        wait: Duration,
    ) -> Result<String, String> {
        let (reply, answer) = std::sync::mpsc::channel();
        let to = to % self.config.threads.max(1);
        let r = crate::admin::Request::Mo(crate::inject::Inject { req, reply });
        crate::admin::ask(self, to, r)?;
        answer
            .recv_timeout(wait)
            .map_err(|_| "no answer from the server loop in time".to_string())?
    }

    /// All loops' snapshots merged.
    pub fn snapshot(&self) -> Snapshot {
        let mut total = Snapshot::default();
        for s in &self.snapshots {
            if let Ok(s) = s.lock() {
                total.merge(&s);
            }
        }
        total
    }
}

/// A running server.
pub struct Server {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    local_addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    /// The cluster's NATS thread (`--nats`).
    broker: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds the listeners and starts one loop per thread.
    pub fn start(config: Config) -> io::Result<Server> {
        let n = config.threads;
        let (listeners, local_addr) = crate::listener::bind_all(config.listen, n)?;
        // The TLS listener: one SO_REUSEPORT socket per loop as well.
        let (tls_listeners, tls_addr) = match &config.tls {
            Some(t) => {
                let (v, a) = crate::listener::bind_all(t.listen, n)?;
                (v.into_iter().map(Some).collect(), Some(a))
            }
            None => ((0..n).map(|_| None).collect::<Vec<_>>(), None),
        };
        let mut shared = Shared::new(config);
        // The journal is read (and compacted) before any loop runs.
        let mut recovered = None;
        if let (Some(dir), true) = (
            &shared.config.spool_dir,
            shared.config.journal != crate::journal::Mode::Off,
        ) {
            let (w, rec) = crate::journal::Writer::open(dir, shared.config.journal)?;
            tracing::info!(
                "journal {}: {} receipts and messages to recover ({} unreadable records skipped)",
                w.path().display(),
                rec.entries.len(),
                rec.unreadable
            );
            shared.jid_base = (rec.max_jid >> crate::journal::LOOP_BITS) + 1;
            shared.journal = Some(Mutex::new(w));
            recovered = Some(rec);
        }
        let shared = Arc::new(shared);

        // One channel per ordered pair of loops: each has a single producer.
        let mut senders: Vec<Vec<Option<OutLink<Item>>>> =
            (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
        let mut receivers: Vec<Vec<InLink<Item>>> = (0..n).map(|_| Vec::new()).collect();
        for (src, row) in senders.iter_mut().enumerate() {
            for (dst, slot) in row.iter_mut().enumerate() {
                if src != dst {
                    let (out, inl) = crate::link::link(LINK_BATCHES);
                    *slot = Some(out);
                    if let Some(r) = receivers.get_mut(dst) {
                        r.push(inl);
                    }
                }
            }
        }

        // The same again for questions about messages another loop holds
        // (rare; never behind the receipts).
        let mut mail_out: Vec<Vec<Option<OutLink<Mail>>>> =
            (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
        let mut mail_in: Vec<Vec<InLink<Mail>>> = (0..n).map(|_| Vec::new()).collect();
        for (src, row) in mail_out.iter_mut().enumerate() {
            for (dst, slot) in row.iter_mut().enumerate() {
                if src != dst {
                    let (out, inl) = crate::link::link(LINK_BATCHES);
                    *slot = Some(out);
                    if let Some(r) = mail_in.get_mut(dst) {
                        r.push(inl);
                    }
                }
            }
        }
        let mut mails = mail_out.into_iter().zip(mail_in);

        let mut injectors = Vec::with_capacity(n);
        let mut inject_rx = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = std::sync::mpsc::sync_channel(1024);
            injectors.push(tx);
            inject_rx.push(rx);
        }
        let _ = shared.admin.set(injectors);
        let mut inject_rx = inject_rx.into_iter();

        let mut workers = Vec::with_capacity(n);
        let mut wakers = Vec::with_capacity(n);
        for (i, (((listener, tls_listener), tx), rx)) in listeners
            .into_iter()
            .zip(tls_listeners)
            .zip(senders)
            .zip(receivers)
            .enumerate()
        {
            let (mail_tx, mail_rx) = mails.next().unwrap_or_default();
            let mut w = Worker::new(
                i,
                shared.clone(),
                crate::worker::Listeners {
                    plain: listener,
                    tls: tls_listener,
                },
                tx,
                rx,
                mail_tx,
                mail_rx,
            )?;
            if let Some(r) = inject_rx.next() {
                w.set_admin(r);
            }
            wakers.push(w.waker());
            workers.push(w);
        }
        let _ = shared.wakers.set(wakers);
        if let Some(w0) = workers.first_mut() {
            if let Some(rec) = recovered {
                w0.load_journaled(rec.entries);
            }
            if let Some(dir) = &shared.config.spool_dir {
                w0.load_spool(dir);
            }
        }

        let mut threads = Vec::with_capacity(n);
        for (i, mut w) in workers.into_iter().enumerate() {
            let core = shared.config.cores.get(i).copied();
            let t = std::thread::Builder::new()
                .name(format!("smsc-loop-{i}"))
                .spawn(move || {
                    if let Some(c) = core {
                        crate::affinity::pin_to_core(c);
                    }
                    w.run();
                })?;
            threads.push(t);
        }
        let broker = crate::cluster::start(shared.clone())?;
        Ok(Server {
            shared,
            broker,
            threads,
            local_addr,
            tls_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The TLS listener's address (`--tls-listen`), if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// Reads the TLS certificate and key (and client CA) again: new
    /// handshakes use them; on failure nothing changes. None without TLS.
    pub fn reload_tls(&self) -> Option<Result<String, crate::tls::TlsError>> {
        self.shared.tls.as_ref().map(crate::tls::TlsShared::reload)
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// See [`Shared::reload_accounts`] (the binary calls it on SIGHUP).
    pub fn reload_accounts(&self) -> Result<String, String> {
        self.shared.reload_accounts()
    }

    /// Merged counters of all loops (as of their last housekeeping tick).
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// Asks every loop to unbind its sessions, spool receipts and stop.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for i in 0..self.shared.config.threads {
            self.shared.wake(i);
        }
    }

    /// Waits for the loops to finish.
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
        if let Some(t) = self.broker {
            let _ = t.join();
        }
    }

    /// Shutdown and join (tests).
    pub fn stop(self) {
        self.shutdown();
        self.join();
    }
}
