//! The console page in a real browser: Debian's chromium, headless, driven
//! over WebDriver (chromedriver), against the real server. It loads the
//! page, runs a short load, checks that the numbers on the page move,
//! looks a message up by its id, sends an MO through the form (a bound
//! ESME receives it) and unbinds a session with its button.
//!
//! chromium and chromedriver are installed by the test on first use
//! (`provision::chromium`, apt); if they cannot be had the test fails with
//! one line saying why. The screenshot taken under load is written to
//! `target/tmp/console.png`, and to `docs/img/console.png` with
//! `SMSC_SCREENSHOT=docs`.
mod common;

use common::webdriver::Browser;
use common::{sm, Esme};
use smsc::pdu::{self, Body, CommandId as C, CommandStatus as S, Sm};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A number shown on the page ("1,234" -> 1234; "–" -> None).
fn number(text: &str) -> Option<f64> {
    let t: String = text.chars().filter(|c| *c != ',').collect();
    t.trim().parse().ok()
}

/// Submits (asking for receipts, answering them) on one bind until
/// `stop` or `limit` messages; the ids accepted go to `ids`.
fn load(
    addr: std::net::SocketAddr,
    system_id: &'static str,
    bind: C,
    limit: usize,
    pace: Duration,
    stop: Arc<AtomicBool>,
    ids: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut e = Esme::connect(addr);
        assert_eq!(e.bind(bind, system_id, "secret").status(), S::ESME_ROK);
        let mut n = 0;
        while n < limit && !stop.load(Ordering::Relaxed) {
            let g = e.submit(Sm {
                destination_addr: b"447700900777",
                ..sm(b"load from the browser test", 1)
            });
            if let Body::SubmitSmResp(r) = g.pdu().body {
                if let Ok(mut v) = ids.lock() {
                    if v.len() < 16 {
                        v.push(String::from_utf8_lossy(r.message_id).into_owned());
                    }
                }
            }
            n += 1;
            std::thread::sleep(pace);
        }
        // Receipts still coming are answered before the unbind.
        while let Some(g) = e.recv_timeout(Duration::from_millis(300)) {
            e.auto_answer(&g);
        }
        n
    })
}

#[test]
fn the_console_shows_a_live_server_and_its_forms_work() {
    let server = common::server(&[
        "--threads",
        "2",
        "--account",
        "bulk:secret",
        "--account",
        "mo:secret",
        "--route",
        "4479=mo",
        "--message-events",
        "1048576",
    ]);
    let addr = server.local_addr();
    let admin = smsc::admin::serve("127.0.0.1:0".parse().unwrap(), server.shared().clone())
        .expect("admin listener");
    let browser = Browser::start();
    browser.goto(&format!("http://{admin}/?interval=400"));
    browser.wait_for("the first refresh", Duration::from_secs(20), |b| {
        b.text("#c-conn") == "0" && b.text("#status").starts_with("live")
    });
    assert_eq!(number(&browser.text("#c-submit-total")), Some(0.0));

    // The MO receiver, bound before the load.
    let mut mo = Esme::connect(addr);
    let r = mo.bind(C::BIND_RECEIVER, "mo", "secret");
    assert_eq!(r.status(), S::ESME_ROK);

    // A short, bounded load on two accounts: one receives its receipts
    // (TRX), the other only transmits (its receipts are held).
    let stop = Arc::new(AtomicBool::new(false));
    let ids = Arc::new(Mutex::new(Vec::new()));
    let held = Arc::new(Mutex::new(Vec::new()));
    let loads = [
        load(
            addr,
            "esme",
            C::BIND_TRANSCEIVER,
            40_000,
            Duration::from_micros(200),
            stop.clone(),
            ids.clone(),
        ),
        load(
            addr,
            "bulk",
            C::BIND_TRANSMITTER,
            5_000,
            Duration::from_millis(2),
            stop.clone(),
            held.clone(),
        ),
    ];
    let started = Instant::now();
    browser.wait_for("the load on the cards", Duration::from_secs(20), |b| {
        number(&b.text("#c-conn")) >= Some(3.0)
            && number(&b.text("#c-submit")) > Some(0.0)
            && number(&b.text("#c-submit-total")) > Some(100.0)
            && number(&b.text("#c-receipts-total")) > Some(0.0)
            && number(&b.text("#c-queued")) > Some(0.0)
    });
    let first = number(&browser.text("#c-submit-total")).unwrap();
    browser.wait_for("the total to grow", Duration::from_secs(10), |b| {
        number(&b.text("#c-submit-total")) > Some(first)
    });
    browser.wait_for(
        "the accounts and sessions tables",
        Duration::from_secs(10),
        |b| {
            let accepted = b.text("#accounts tr[data-system-id='esme'] td.submit-ok");
            number(&accepted) > Some(0.0)
                && b.eval("return document.querySelectorAll('#sessions tbody tr').length")
                    .as_u64()
                    >= Some(3)
        },
    );
    // The chart has drawn points (one a second).
    browser.wait_for("the chart", Duration::from_secs(10), |b| {
        b.eval(
            "const p = document.querySelector('#chart .series-submit'); \
             return p ? p.getAttribute('points').split(' ').filter(x => x).length : 0",
        )
        .as_u64()
            >= Some(3)
    });
    // Look a message of the load up by its id, while the load goes on.
    let id = ids
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("an accepted id");
    browser.type_into("#msg-id", &id);
    browser.click("#msg-go");
    browser.wait_for("the message's record", Duration::from_secs(10), |b| {
        b.text("#msg-state") == "DELIVERED"
    });
    assert_eq!(browser.text("#msg-dst"), "447700900777");
    assert_eq!(browser.text("#msg-src"), "447700900001");
    let events = browser.text("#msg-events");
    assert!(
        events.contains("accepted")
            && events.contains("receipt_sent")
            && events.contains("receipt_acked"),
        "{events}"
    );
    browser.type_into("#mo-to", "447912345678");
    // Under load for a few seconds more: the screenshot.
    while started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let png = browser.screenshot();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{}",
        png.len()
    );
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console.png");
    std::fs::write(&tmp, &png).unwrap();
    if std::env::var("SMSC_SCREENSHOT").as_deref() == Ok("docs") {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/img/console.png");
        std::fs::write(docs, &png).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let sent: usize = loads.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(sent > 100, "{sent}");

    // An id that is not one: the reason is shown.
    browser.type_into("#msg-id", "not-an-id");
    browser.click("#msg-go");
    browser.wait_for("the lookup's error", Duration::from_secs(10), |b| {
        b.text("#msg-out").contains("not a message id")
    });

    // An MO through the form reaches the bound receiver.
    browser.type_into("#mo-to", "447912345678");
    browser.type_into("#mo-text", "hello from the browser");
    browser.click("#mo-send");
    browser.wait_for("the MO's id", Duration::from_secs(10), |b| {
        b.text("#mo-out").starts_with("sent: message id ")
    });
    let d = mo.recv_id(C::DELIVER_SM);
    match d.pdu().body {
        Body::DeliverSm(x) => {
            assert_eq!(x.short_message, b"hello from the browser");
            assert_eq!(x.destination_addr, b"447912345678");
            assert_eq!(x.source_addr, b"447700900001");
        }
        b => panic!("{b:?}"),
    }
    mo.auto_answer(&d);
    // The form put the MO's id in the lookup: its story ends DELIVERED.
    browser.wait_for("the MO's final state", Duration::from_secs(10), |b| {
        b.click("#msg-go");
        std::thread::sleep(Duration::from_millis(200));
        b.text("#msg-state") == "DELIVERED" && b.text("#msg-events").contains("acked")
    });

    // The unbind button of the MO receiver's row.
    let row = "#sessions tbody tr";
    browser.wait_for("the receiver's row", Duration::from_secs(10), |b| {
        b.eval(&format!(
            "return [...document.querySelectorAll('{row}')].some(r => r.children[1].textContent === 'mo')"
        )) == serde_json::Value::Bool(true)
    });
    // In one script: the table is redrawn at every refresh.
    let clicked = browser.eval(&format!(
        "const r = [...document.querySelectorAll('{row}')].find(r => r.children[1].textContent === 'mo'); \
         const b = r && r.querySelector('button.unbind'); if (b) b.click(); return !!b"
    ));
    assert_eq!(clicked, serde_json::Value::Bool(true));
    let u = mo.recv_id(C::UNBIND);
    mo.send(&pdu::Pdu::new(u.seq(), Body::UnbindResp));
    assert!(mo.closed_within(Duration::from_secs(5)));
    drop(browser);
    server.stop();
}
