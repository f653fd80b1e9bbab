//! `--config FILE` (TOML) and `--check-config`: the file's settings,
//! accounts and routes, flags over the file, errors with file, line and
//! key, a SIGHUP re-read of the file's accounts, and the example file.
mod common;
use common::*;
use smsc::config::{load, Config, LoadError};
use smsc::pdu::CommandStatus as S;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smsc-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn argv(args: &[&str]) -> Vec<OsString> {
    std::iter::once("smsc")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect()
}

/// `load` + `Config::from_loaded`, the binary's path, as one message.
fn config(args: &[&str]) -> Result<Config, String> {
    let l = load(argv(args)).map_err(|e| match e {
        LoadError::Clap(e) => e.to_string(),
        LoadError::Config(m) => m,
    })?;
    Config::from_loaded(l).map_err(|e| e.to_string())
}

fn check_config(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smsc"))
        .arg("--check-config")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const FILE: &str = r#"listen = "127.0.0.1:0"
threads = 1
session_init_timer = "7s"
window = 32
route = ["4479=b"]
max-pdu-bytes = 4096

[[account]]
system_id = "a"
password = "pa"
binds = ["tx", "trx"]
allow_ips = ["127.0.0.1", "10.0.0.0/8"]
max_binds = 3

[[account]]
system_id = "b"
password = "pb"

[routes]
4470 = "a"
"#;

#[test]
fn the_file_sets_flags_accounts_and_routes() {
    let p = temp_file("full.toml", FILE);
    let c = config(&["--config", p.to_str().unwrap()]).unwrap();
    assert_eq!(c.listen, "127.0.0.1:0".parse().unwrap());
    assert_eq!(c.threads, 1);
    assert_eq!(c.session_init_timer, Duration::from_secs(7));
    assert_eq!(c.window, 32);
    assert_eq!(c.max_pdu_bytes, 4096);
    assert!(!c.demo_account);
    let a = c.accounts.by_system_id(b"a").unwrap();
    assert!(a.password_matches(b"pa") && a.allow_tx && a.allow_trx && !a.allow_rx);
    assert_eq!(a.max_binds, 3);
    assert!(a.ip_allowed("10.1.1.1".parse().unwrap()));
    assert!(!a.ip_allowed("192.168.1.1".parse().unwrap()));
    let b = c.accounts.by_system_id(b"b").unwrap();
    // `route` (a flag) and [routes] (a table) both give numbers.
    assert_eq!(c.accounts.routes.owner(b"447912345678"), Some(b.id));
    assert_eq!(c.accounts.routes.owner(b"447012345678"), Some(a.id));
    assert_eq!(c.config_file.as_deref(), Some(p.as_path()));
}

#[test]
fn flags_override_the_file() {
    let p = temp_file("override.toml", FILE);
    let c = config(&[
        "--config",
        p.to_str().unwrap(),
        "--window",
        "9",
        "--route",
        "4471=a",
    ])
    .unwrap();
    assert_eq!(c.window, 9);
    // The file's value where no flag says otherwise.
    assert_eq!(c.session_init_timer, Duration::from_secs(7));
    // A repeatable flag on the command line replaces the file's list.
    let a = c.accounts.by_system_id(b"a").unwrap().id;
    assert_eq!(c.accounts.routes.owner(b"4471000"), Some(a));
    assert_eq!(c.accounts.routes.owner(b"447912345678"), None);
    // ... and the flag order does not matter: --config may come last.
    let c = config(&["--window", "11", "--config", p.to_str().unwrap()]).unwrap();
    assert_eq!(c.window, 11);
}

#[test]
fn errors_name_the_file_line_and_key() {
    let cases: &[(&str, &str, &str)] = &[
        // (file, line:key the message names, part of the reason)
        ("listen = \"127.0.0.1:0\"\n\nlissten = 1\n", ":3: lissten:", "unknown setting"),
        ("window = 5\nsession-init-timer = \"soon\"\n", ":2: session-init-timer:", "bad duration"),
        ("threads = 1\nwindow = 0\n", ":2: window:", "--window must be 1..=65535"),
        ("verbose = \"yes\"\n", ":1: verbose:", "true or false"),
        ("listen = [\"a\", \"b\"]\n", ":1: listen:", "not a list"),
        (
            "[[account]]\nsystem_id = \"x\"\npassword = \"1\"\nmax_binds = \"lots\"\n",
            ":4: max_binds:",
            "not a number",
        ),
        ("[[account]]\nsystem_id = \"x\"\n", ":2: password:", "missing"),
        (
            "[[account]]\nsystem_id = \"x\"\npassword = \"1\"\n[[account]]\nsystem_id = \"x\"\npassword = \"2\"\n",
            ":5: system_id:",
            "defined twice",
        ),
        (
            "[[account]]\nsystem_id = \"x\"\npassword = \"1\"\n[routes]\n4479 = \"nobody\"\n",
            ":5: 4479:",
            "no account",
        ),
        ("listen = \"127.0.0.1:0\n", ":1:", "string"),
    ];
    for (i, (text, at, why)) in cases.iter().enumerate() {
        let p = temp_file(&format!("bad{i}.toml"), text);
        let e = config(&["--config", p.to_str().unwrap()]).unwrap_err();
        let want = format!("{}{at}", p.display());
        assert!(
            e.starts_with(&want),
            "{text:?}: {e:?} should start {want:?}"
        );
        assert!(e.contains(why), "{text:?}: {e:?} should say {why:?}");
    }
}

#[test]
fn check_config_exits_0_without_listening_or_2_with_the_error() {
    let p = temp_file("check.toml", FILE);
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: a server could
    // not listen on it, a check does not try.
    let (code, out, err) = check_config(&[
        "--config",
        p.to_str().unwrap(),
        "--listen",
        "192.0.2.1:2775",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("configuration OK") && out.contains("2 account(s)"),
        "{out}"
    );
    // Errors: a route to no account, a TLS key that is not there.
    let (code, _, err) = check_config(&["--account", "a:b", "--route", "4479=zz"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--route") && err.contains("no account"),
        "{err}"
    );
    let missing = std::env::temp_dir().join("smsc-config-no-such-key.pem");
    let (code, _, err) = check_config(&[
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
        missing.to_str().unwrap(),
        "--tls-key",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--tls-cert"), "{err}");
    let (code, _, err) = check_config(&["--listen", "nowhere"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--listen"), "{err}");
}

#[test]
fn check_config_loads_the_tls_files() {
    let pki = common::tls::Pki::new("check-config");
    let flags = pki.flags();
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (code, out, err) = check_config(&args);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("TLS on"), "{out}");
    // The key of another certificate does not belong to this one.
    let other = pki.server_pair("other");
    let (code, _, err) = check_config(&[
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
        pki.server.cert_str(),
        "--tls-key",
        other.key_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--tls-key"), "{err}");
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/smsc.toml")
}

#[test]
fn the_example_file_is_valid_and_says_what_it_sets() {
    let p = example();
    let (code, out, err) = check_config(&["--config", p.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("configuration OK"), "{out}");
    let c = config(&["--config", p.to_str().unwrap()]).unwrap();
    assert_eq!(c.listen, "0.0.0.0:2775".parse().unwrap());
    assert_eq!(c.journal, smsc::journal::Mode::Write);
    assert_eq!(c.log_format, smsc::log::Format::Json);
    assert_eq!(c.admin_listen, Some("127.0.0.1:9102".parse().unwrap()));
    let m = c.accounts.by_system_id(b"movider").unwrap();
    assert_eq!((m.max_binds, m.throughput), (8, 500));
    let bulk = c.accounts.by_system_id(b"bulk").unwrap();
    assert!(bulk.allow_tx && !bulk.allow_rx && !bulk.allow_trx);
    let inbound = c.accounts.by_system_id(b"inbound").unwrap();
    assert_eq!(c.accounts.routes.owner(b"4470123"), Some(inbound.id));
    assert_eq!(c.accounts.routes.owner(b"4479123"), Some(m.id));
}

#[test]
fn sighup_rereads_the_accounts_of_the_config_file() {
    let p = temp_file(
        "sighup.toml",
        "bind-fail-limit = 0\n[[account]]\nsystem_id = \"first\"\npassword = \"one\"\n",
    );
    let (mut srv, a) = common::binary::start_smsc(&["--config", p.to_str().unwrap()]);
    let bind = |sid: &str, pw: &str| Esme::try_bind(a, sid, pw).1;
    assert_eq!(bind("first", "one"), S::ESME_ROK);
    assert_eq!(bind("second", "two"), S::ESME_RINVSYSID);
    std::fs::write(
        &p,
        "bind-fail-limit = 0\n[[account]]\nsystem_id = \"first\"\npassword = \"uno\"\n\n[[account]]\nsystem_id = \"second\"\npassword = \"two\"\n",
    )
    .unwrap();
    common::binary::signal(&srv, "HUP");
    assert!(eventually(Duration::from_secs(3), || bind("second", "two")
        == S::ESME_ROK));
    // The account that stayed took its new password.
    assert_eq!(bind("first", "uno"), S::ESME_ROK);
    assert_eq!(bind("first", "one"), S::ESME_RINVPASWD);
    // A file that no longer parses changes nothing.
    std::fs::write(&p, "[[account]]\nsystem_id = \"first\"\n").unwrap();
    common::binary::signal(&srv, "HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(bind("second", "two"), S::ESME_ROK);
    srv.kill().unwrap();
    srv.wait().unwrap();
}

/// examples/smsc.service: SIGTERM, a stop timeout above the shutdown
/// grace, restart on failure but not on a bad configuration, the state
/// directory as --spool-dir, and flags that pass --check-config.
#[test]
fn the_systemd_unit_fits_the_server() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/smsc.service"),
    )
    .unwrap();
    let get = |k: &str| -> String {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}="))
            .to_string()
    };
    assert_eq!(get("KillSignal"), "SIGTERM");
    assert_eq!(get("Restart"), "on-failure");
    assert_eq!(get("RestartPreventExitStatus"), "2");
    let stop: u64 = get("TimeoutStopSec").parse().unwrap();
    let c = config(&["--config", example().to_str().unwrap()]).unwrap();
    assert!(
        Duration::from_secs(stop) >= 2 * c.shutdown_grace + Duration::from_secs(5),
        "TimeoutStopSec={stop} against --shutdown-grace {:?}",
        c.shutdown_grace
    );
    let state = get("StateDirectory");
    let start = get("ExecStart");
    assert!(
        start.contains(&format!("--spool-dir /var/lib/{state}")),
        "{start}"
    );
    assert!(get("ExecStartPre").contains("--check-config"));
    // ExecStart's flags, with the example as the config file, check out.
    let flags: Vec<String> = start
        .split_whitespace()
        .skip(1)
        .map(|a| {
            if a == "/etc/smsc/smsc.toml" {
                example().to_str().unwrap().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (code, _, err) = check_config(&flags);
    assert_eq!(code, Some(0), "{err}");
}
