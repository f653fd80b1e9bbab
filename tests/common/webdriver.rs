//! A headless chromium driven over W3C WebDriver: chromedriver started on a
//! free port, spoken to with raw HTTP and serde_json (no client crate).
//! Dropping the [`Browser`] ends the session and stops chromedriver (and
//! the browser under it) by its process id.
use super::http::{call, call_within};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    profile: PathBuf,
}

/// Flags that work in a container as root, with nothing phoning home.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1050",
];

impl Browser {
    /// Starts chromedriver and a browser session (provisioning them first).
    pub fn start() -> Browser {
        let b = super::provision::chromium();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        // Its own process group (the browser joins it): stopped as one.
        let driver = Command::new(&b.driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", b.driver.display()));
        let profile =
            std::env::temp_dir().join(format!("smsc-chromium-{}-{}", std::process::id(), port));
        let _ = std::fs::remove_dir_all(&profile);
        let mut me = Browser {
            driver,
            addr,
            session: String::new(),
            profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args: Vec<String> = FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", me.profile.display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": b.chromium, "args": args},
        }}});
        let v = me.cmd("POST", "/session", Some(caps));
        me.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        me
    }

    /// One WebDriver command; its `value` (panics on a WebDriver error).
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let r = call(self.addr, method, path, None, body.as_bytes());
        let v: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}: {}", r.body));
        if r.status != 200 {
            panic!("WebDriver {method} {path}: {} {}", r.status, v["value"]);
        }
        v.get("value").cloned().unwrap_or(Value::Null)
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", &self.s("/url"), Some(json!({ "url": url })));
    }

    /// Runs `script` in the page; its return value.
    pub fn eval(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    /// The text of the element `css` selects ("" if there is none).
    pub fn text(&self, css: &str) -> String {
        let q = serde_json::to_string(css).unwrap();
        let v = self.eval(&format!(
            "const e = document.querySelector({q}); return e ? e.textContent : '';"
        ));
        v.as_str().unwrap_or("").to_string()
    }

    fn element(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    /// Clicks the element `css` selects, as a user would.
    pub fn click(&self, css: &str) {
        let e = self.element(css);
        self.cmd(
            "POST",
            &self.s(&format!("/element/{e}/click")),
            Some(json!({})),
        );
    }

    /// Replaces the value of input `css` by typing `text`.
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.cmd(
            "POST",
            &self.s(&format!("/element/{e}/clear")),
            Some(json!({})),
        );
        self.cmd(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            Some(json!({ "text": text })),
        );
    }

    /// Waits until `f` holds, polling every 100 ms; panics with `what`.
    pub fn wait_for(&self, what: &str, t: Duration, mut f: impl FnMut(&Browser) -> bool) {
        let deadline = Instant::now() + t;
        while !f(self) {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; page status: {:?}",
                    self.text("#status")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd("GET", &self.s("/screenshot"), None);
        base64(v.as_str().expect("screenshot is base64"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let limit = Duration::from_secs(5);
            let _ = call_within(self.addr, "DELETE", &self.s(""), None, b"", limit);
        }
        // chromedriver and the browser under it, started by this test:
        // stopped by the group of the one process id it started.
        let pgid = self.driver.id() as i32;
        // SAFETY: kill(2) on a process group this test created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64 (the screenshot), ignoring anything else.
fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
