//! Runs a third-party client's script (tests/interop/) and reads what it
//! printed: one event per line, `EVENT key=value ...`, octet strings in hex.
use super::provision::Client;
use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The scripts give up on their own after 20 s; this is the hard stop.
const LIMIT: Duration = Duration::from_secs(60);

/// One line of a script's output.
#[derive(Debug)]
pub struct Event {
    pub kind: String,
    fields: HashMap<String, String>,
}

impl Event {
    pub fn get(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{} has no {key}: {self:?}", self.kind))
    }
    pub fn num(&self, key: &str) -> u64 {
        self.get(key).parse().unwrap()
    }
    /// A hex-printed octet string (`-` is empty).
    pub fn octets(&self, key: &str) -> Vec<u8> {
        let h = self.get(key);
        if h == "-" {
            return Vec::new();
        }
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }
}

/// Runs `client`'s program with `args` to its end (killed after a minute)
/// and returns its events. Fails, with the script's output, unless it
/// exited 0 and its last line is `end`.
pub fn run_script(client: &Client, args: &[&str]) -> Vec<Event> {
    let program = client.program.display();
    let mut child = Command::new(&client.program)
        .args(args)
        .envs(client.env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e})"));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > LIMIT {
            child.kill().unwrap();
            panic!("{program} {args:?} still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "{program} {args:?} failed ({status}):\n{out}\n{err}"
    );
    let events: Vec<Event> = out
        .lines()
        .map(|l| {
            let mut words = l.split(' ');
            let kind = words.next().unwrap_or_default().to_string();
            let fields = words
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Event { kind, fields }
        })
        .collect();
    assert!(
        events.last().is_some_and(|e| e.kind == "end"),
        "{program} {args:?} did not finish:\n{out}\n{err}"
    );
    events
}

/// The events of one kind, in order.
pub fn of<'a>(events: &'a [Event], kind: &str) -> Vec<&'a Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}

/// Where `e` stands in `events` (for order checks).
pub fn position(events: &[Event], e: &Event) -> usize {
    events.iter().position(|x| std::ptr::eq(x, e)).unwrap()
}
