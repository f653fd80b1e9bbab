//! Real processes for the cluster tests: a nats-server with JetStream on a
//! temporary directory and an ephemeral port, smsc nodes joined to it, and
//! HAProxy in TCP mode in front of them. Each is stopped by its PID when
//! its handle drops (also when the test panics).
use super::binary::spawn_smsc;
use super::provision;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

static NEXT_DIR: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A fresh directory under the target dir's scratch space.
pub fn temp_dir(what: &str) -> PathBuf {
    let n = NEXT_DIR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cluster")
        .join(format!("{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `nats-server -js`, stopped by PID on drop.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        Self::start_on(None)
    }

    /// On `port` (one a node was already told to use), or a free one.
    pub fn start_on(port: Option<u16>) -> NatsServer {
        let dir = temp_dir("nats");
        let (child, port) = Self::spawn(&dir, port);
        NatsServer {
            child: Some(child),
            port,
            dir,
        }
    }

    /// Started with `-p -1` (a free port) the first time, then on that port
    /// again; the port from its "Listening for client connections" line.
    fn spawn(dir: &std::path::Path, port: Option<u16>) -> (Child, u16) {
        let nats = provision::nats();
        let port_arg = port.map_or("-1".to_string(), |p| p.to_string());
        let mut child = Command::new(&nats.server)
            .args(["-a", "127.0.0.1", "-p", &port_arg, "-js", "-sd"])
            .arg(dir.join("store"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nats-server");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut port = None;
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                port = rest.trim().rsplit(':').next().and_then(|p| p.parse().ok());
            }
            if line.contains("Server is ready") {
                break;
            }
        }
        // The rest of its log is drained so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nats-server did not report its port");
        };
        (child, port)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILL by PID (the broker going away).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The same server again: same port, same store.
    pub fn restart(&mut self) {
        self.stop();
        let (child, _) = Self::spawn(&self.dir, Some(self.port));
        self.child = Some(child);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nothing listens on (for a broker started later).
///
/// Below the kernel's ephemeral range (32768-60999 by default), which an
/// outgoing connection of another test may take as its source port between
/// now and the server's start (nats-server could not listen on it then).
pub fn free_port() -> u16 {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
    (0..2000u64)
        .map(|i| {
            20_000 + (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 7_919) % 12_000) as u16
        })
        .find(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// An smsc node (the real binary), stopped by PID on drop.
pub struct Node {
    pub child: Option<Child>,
    pub addr: SocketAddr,
    pub http: Option<SocketAddr>,
    pub log: Receiver<String>,
}

/// Starts node `id` on `nats` with the accounts `esme:secret` (and `extra`).
pub fn node(nats: &str, id: u16, extra: &[&str]) -> Node {
    let id = id.to_string();
    let mut args = vec![
        "--nats",
        nats,
        "--node-id",
        &id,
        "--threads",
        "1",
        "--shutdown-grace",
        "300ms",
        "--admin-listen",
        "127.0.0.1:0",
    ];
    if !extra.contains(&"--accounts") {
        args.extend(["--account", "esme:secret"]);
    }
    args.extend_from_slice(extra);
    let (child, addr, log) = spawn_smsc(&args, None);
    let http = super::binary::admin_addr(&log);
    Node {
        child: Some(child),
        addr,
        http,
        log,
    }
}

/// A nats-server and nodes 1..=N on it (node i with `args[i - 1]`), each
/// connected to the broker before this returns.
pub fn cluster<const N: usize>(args: [&[&str]; N]) -> (NatsServer, [Node; N]) {
    let nats = NatsServer::start();
    let url = nats.url();
    let mut id = 0u16;
    let nodes = args.map(|a| {
        id += 1;
        node(&url, id, a)
    });
    for n in &nodes {
        n.wait_connected();
    }
    (nats, nodes)
}

impl Node {
    /// Waits until the node's broker connection is up (its metrics say so).
    pub fn wait_connected(&self) {
        assert!(
            super::eventually(Duration::from_secs(10), || self
                .metric("smsc_cluster_connected")
                == 1),
            "node never connected to NATS"
        );
    }

    /// SIGKILL by PID: the node dies with whatever it holds.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM by PID and wait (a graceful stop).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            super::binary::signal(&c, "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A metric's value from GET /metrics (0 when absent).
    pub fn metric(&self, name: &str) -> u64 {
        let text = http(
            self.http.expect("metrics listener"),
            "GET /metrics HTTP/1.0\r\n\r\n",
        );
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// POST /mo with a JSON body; the whole HTTP answer.
    pub fn post_mo(&self, body: &str) -> String {
        http(
            self.http.expect("metrics listener"),
            &format!(
                "POST /mo HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.0 request; the whole answer.
pub fn http(addr: SocketAddr, req: &str) -> String {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}

/// HAProxy in TCP mode on a free loopback port, round-robin over `backends`.
pub struct Haproxy {
    child: Option<Child>,
    pub addr: SocketAddr,
    dir: PathBuf,
}

impl Haproxy {
    pub fn start(backends: &[SocketAddr]) -> Haproxy {
        Haproxy::start_with(backends, "check inter 500ms")
    }

    /// HAProxy with `opts` on every `server` line (`send-proxy-v2`,
    /// `source 127.0.0.3`, checks...).
    pub fn start_with(backends: &[SocketAddr], opts: &str) -> Haproxy {
        let bin = provision::haproxy();
        let dir = temp_dir("haproxy");
        // A port the kernel just gave out and took back: free for HAProxy.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut cfg = format!(
            "global\n  maxconn 1000\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 1h\n  timeout server 1h\nfrontend smpp\n  bind {addr}\n  default_backend nodes\nbackend nodes\n  balance roundrobin\n"
        );
        for (i, b) in backends.iter().enumerate() {
            cfg.push_str(&format!("  server n{i} {b} {opts}\n"));
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let child = Command::new(bin)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn haproxy");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "haproxy is not listening on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Haproxy {
            child: Some(child),
            addr,
            dir,
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// examples/delivery_service.py (nats-py) as a child process, stopped by
/// PID on drop; started when it says it is ready.
pub struct DeliveryService {
    child: Option<Child>,
}

impl DeliveryService {
    pub fn start(nats: &str, args: &[&str]) -> DeliveryService {
        let py = &provision::nats().python;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/delivery_service.py");
        let mut child = Command::new(py)
            .arg(script)
            .args(["--nats", nats])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the delivery service");
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = matches!(out.next(), Some(Ok(l)) if l.contains("ready"));
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the delivery service did not start");
        }
        DeliveryService { child: Some(child) }
    }

    /// One inbound MO on smsc.mo (the script's `mo` command).
    pub fn send_mo(nats: &str, from: &str, to: &str, text: &str) {
        let py = &provision::nats().python;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/delivery_service.py");
        let ok = Command::new(py)
            .arg(script)
            .args([
                "--nats", nats, "mo", "--from", from, "--to", to, "--text", text,
            ])
            .status()
            .expect("run the delivery service's mo command")
            .success();
        assert!(ok, "smsc.mo publish failed");
    }
}

impl Drop for DeliveryService {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
