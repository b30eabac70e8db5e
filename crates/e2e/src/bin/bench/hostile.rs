//! `bench --hostile [--runs N] [--attack ID[,ID…]]`: what a stranger's
//! software on the other end costs each page (PROTOCOL.md section 5a).
//! For each attack of `e2e::hostile` and each page (ours, the deployed
//! one), N runs: the hostile peer (`/hostile.html`) in one Chromium, the
//! page in another, a call (the page answers in the messenger, or calls
//! for the callee's offers), the attack, then: did the call survive as
//! both people perceive it, the event loop's worst lag during it, the
//! peak RSS of the page's renderer process (sampled every 50 ms from
//! `/proc`, whatever the JS heap says), and uncaught errors and
//! unhandled rejections. Writes its own section of BENCHMARKS.md (a run of
//! some attacks only, `--attack`, writes `target/bench/HOSTILE-partial.md`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{sleep, JoinHandle};
use std::time::{Duration, Instant};

use e2e::hostile::{self, Attack};
use e2e::{err, Browser, Error, Page, Result, Server};
use serde_json::json;

use crate::{first_line, machine, utc_now, Side};

pub(crate) struct HostileOpts {
    runs: usize,
    attacks: Vec<Attack>,
}

impl HostileOpts {
    /// `--hostile`, `--runs N` (default 2), `--attack ID[,ID…]`.
    pub(crate) fn parse(args: &[String]) -> Result<Option<HostileOpts>> {
        if !args.iter().any(|a| a == "--hostile") {
            return Ok(None);
        }
        let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
        let runs = match value("--runs") {
            None => 2,
            Some(n) => n.parse().ok().filter(|n| (1..=20).contains(n)).ok_or_else(|| Error::new("--runs: 1 to 20"))?,
        };
        let attacks = match value("--attack") {
            None => Attack::ALL.to_vec(),
            Some(list) => list
                .split(',')
                .map(|id| {
                    Attack::ALL.into_iter().find(|a| a.id() == id).ok_or_else(|| {
                        let known: Vec<&str> = Attack::ALL.iter().map(|a| a.id()).collect();
                        Error(format!("unknown attack {id}; known: {}", known.join(", ")))
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        };
        Ok(Some(HostileOpts { runs, attacks }))
    }
}

/// One run of one attack against one page.
#[derive(Default)]
struct Outcome {
    /// `None`: survived; else why not.
    failed: Option<String>,
    /// The worst event-loop lag during the attack and after (ms); `None`
    /// when the page no longer answered to tell.
    lag_ms: Option<f64>,
    /// The page's renderer process: the largest RSS sampled (MB).
    rss_mb: f64,
    /// Before the attack (MB).
    rss_before_mb: f64,
    errors: Option<u64>,
    /// Messages of the attack the page received on its channel.
    got: Option<u64>,
}

/// The renderer processes of a browser (one window each: the page's).
fn renderer_pids(b: &Browser) -> Result<Vec<u32>> {
    let info = b.call("SystemInfo.getProcessInfo", json!({}))?;
    Ok(info["processInfo"]
        .as_array()
        .map(|l| l.iter().filter(|p| p["type"] == "renderer").filter_map(|p| p["id"].as_u64()).map(|id| id as u32).collect())
        .unwrap_or_default())
}

/// VmRSS of a process in MB (0 once it is gone).
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Samples the largest RSS of `pids` every 50 ms until dropped.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<Mutex<f64>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    fn start(pids: Vec<u32>) -> Result<Sampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(Mutex::new(0.0f64));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::Builder::new().name("rss".into()).spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let now = pids.iter().map(|&pid| rss_mb(pid)).fold(0.0, f64::max);
                if let Ok(mut m) = p.lock() {
                    *m = m.max(now);
                }
                sleep(Duration::from_millis(50));
            }
        })?;
        Ok(Sampler { stop, peak, thread: Some(thread) })
    }

    fn peak(&self) -> f64 {
        self.peak.lock().map(|m| *m).unwrap_or(f64::NAN)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The page is in the call: ours shows it, theirs has its connection up.
fn in_call(p: &Page, side: Side) -> Result<()> {
    let js = match side {
        Side::Ours => "document.documentElement.dataset.phase === 'in-call'",
        Side::Theirs => "window.__host.callPc().connectionState === 'connected'",
    };
    p.wait_for(js, e2e::T).map(|_| ())
}

/// Waits until the page got `n` messages on `label`, or none came for 2 s
/// (a page without that channel never gets them), or 20 s passed; fails
/// only when the page stops answering. Returns how many it got.
fn received(p: &Page, label: &str, n: u64) -> Result<u64> {
    let js = format!("window.__watch.msgs.{label} || 0");
    let start = Instant::now();
    let (mut last, mut since) = (0, Instant::now());
    loop {
        let got = p.eval(&js)?.as_u64().unwrap_or(0);
        if got != last {
            (last, since) = (got, Instant::now());
        }
        if got >= n || since.elapsed() > Duration::from_secs(2) || start.elapsed() > e2e::T {
            return Ok(got);
        }
        sleep(Duration::from_millis(200));
    }
}

fn run_once(server: &Server, side: Side, attack: Attack, out: &mut Outcome) -> Result<()> {
    let page_browser = Browser::launch()?;
    let peer_browser = Browser::launch()?;
    let path = match side {
        Side::Ours => "/call.html",
        Side::Theirs => "/theirs.html",
    };
    let page = hostile::open_target(&page_browser, server, &format!("{} (under attack)", side.label()), path)?;
    let peer = hostile::open_peer(&peer_browser, server)?;
    let pids = renderer_pids(&page_browser)?;
    out.rss_before_mb = pids.iter().map(|&p| rss_mb(p)).fold(0.0, f64::max);
    let sampler = Sampler::start(pids)?;
    // The offer's shape is part of the call; so the call's failure is the
    // attack's.
    let set_up = hostile::call(&peer, &page, attack).and_then(|_| {
        in_call(&page, side)?;
        e2e::wait_seen_and_heard(&page)?;
        e2e::wait_seen_and_heard(&peer)
    });
    if let Err(e) = set_up {
        if attack != Attack::OfferShape {
            return Err(Error(format!("the call before the attack: {}", first_line(&e))));
        }
        out.failed = Some(format!("no call: {}", first_line(&e)));
        out.rss_mb = sampler.peak();
        return Ok(());
    }
    hostile::reset_lag(&page)?;
    hostile::start(&peer, attack)?;
    let mut failed = None;
    if let Some(label) = attack.label() {
        match received(&page, label, attack.messages()) {
            Ok(got) => out.got = Some(got),
            Err(e) => failed = Some(first_line(&e)),
        }
    }
    if failed.is_none() {
        if let Err(e) = hostile::finish(&peer) {
            failed = Some(first_line(&e));
        }
    }
    if attack == Attack::Restarts {
        // The newest waiting restart offer may be taken 10 s later.
        sleep(Duration::from_millis(11_500));
    } else {
        sleep(Duration::from_secs(1));
    }
    if failed.is_none() {
        let alive = hostile::answers(&page).and_then(|took| {
            if took > Duration::from_secs(5) {
                return err(format!("answered an evaluation only after {took:?}"));
            }
            in_call(&page, side)?;
            e2e::wait_seen_and_heard(&page).map_err(|e| Error(format!("the page's person: {}", first_line(&e))))?;
            e2e::wait_seen_and_heard(&peer).map_err(|e| Error(format!("the peer's person: {}", first_line(&e))))
        });
        failed = alive.err().map(|e| first_line(&e));
    }
    if let Ok(w) = hostile::watched(&page) {
        out.lag_ms = w["lag"].as_f64();
        out.errors = Some(w["errors"].as_u64().unwrap_or(0) + w["rejections"].as_u64().unwrap_or(0));
    }
    out.rss_mb = sampler.peak();
    out.failed = failed.map(|f| if f.contains("no reply") { "stopped answering: an evaluation got no reply within 15 s".into() } else { f });
    Ok(())
}

pub(crate) fn run(o: &HostileOpts, args: &[String], chromium: &str) -> Result<()> {
    let server = Server::start()?;
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut rows: Vec<(Attack, Side, Vec<Outcome>)> = Vec::new();
    for &attack in &o.attacks {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for run in 0..o.runs {
            let order = if run % 2 == 0 { [Side::Ours, Side::Theirs] } else { [Side::Theirs, Side::Ours] };
            for side in order {
                let t = Instant::now();
                let mut out = Outcome::default();
                if let Err(e) = run_once(&server, side, attack, &mut out) {
                    out.failed = Some(format!("run did not complete: {}", first_line(&e)));
                }
                eprintln!(
                    "[{}] run {}/{} {:6} {:5.1} s  survived={} lag={} rss={:.0} MB (before {:.0}) errors={} received={}",
                    attack.id(),
                    run + 1,
                    o.runs,
                    side.label(),
                    t.elapsed().as_secs_f64(),
                    out.failed.as_deref().map_or("yes".to_string(), |f| format!("NO ({f})")),
                    out.lag_ms.map_or("?".into(), |l| format!("{l:.0} ms")),
                    out.rss_mb,
                    out.rss_before_mb,
                    out.errors.map_or("?".into(), |e| e.to_string()),
                    out.got.map_or("-".into(), |g| g.to_string())
                );
                match side {
                    Side::Ours => ours.push(out),
                    Side::Theirs => theirs.push(out),
                }
            }
        }
        rows.push((attack, Side::Ours, ours));
        rows.push((attack, Side::Theirs, theirs));
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let section = report(o, args, &rows, chromium, (&load_before, &load_after), started.elapsed());
    println!("{section}");
    if o.attacks.len() == Attack::ALL.len() {
        return write_section(&section);
    }
    // Some attacks only: BENCHMARKS.md keeps the table of the full run.
    let path = testhost::workspace_root().join("target/bench/HOSTILE-partial.md");
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(&path, &section)?;
    eprintln!("bench: wrote {} (BENCHMARKS.md is written by a run of every attack)", path.display());
    Ok(())
}

fn report(o: &HostileOpts, args: &[String], rows: &[(Attack, Side, Vec<Outcome>)], chromium: &str, load: (&str, &str), took: Duration) -> String {
    let three = |l: &str| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let mut s = String::from("## Hostile peer: what a stranger's software costs each page\n\n");
    s += &format!("- Command: `cargo xtask bench {}` ({} run(s) per attack and page)\n", args.join(" "), o.runs);
    s += &format!("- Date: {}; took {:.1} min; {}; {chromium}\n", utc_now(), took.as_secs_f64() / 60.0, machine());
    s += &format!("- Load average (1, 5, 15 min) at start: {}; at the end: {}\n", three(load.0), three(load.1));
    let ours = testhost::dist_dir().join("index.html");
    let size = std::fs::metadata(&ours).map(|m| m.len()).unwrap_or(0);
    s += &format!(
        "- Pages: ours = `{}` ({size} B, release build); theirs = `@deltachat/calls-webapp` 0.12.1-beta-debug\n\n",
        ours.display()
    );
    s += "The hostile peer (`/hostile.html`, `crates/testhost/src/hostile-peer.js`) runs in a headless Chromium of its \
          own and the page under attack in another (ours: `dist/index.html`, the release build; theirs: the deployed \
          page), so the page's renderer is a process of its own. The page answers the peer's call in the messenger \
          (`#acceptCall=`), or, for the callee's offers, calls. Once both people see and hear each other the attack \
          runs; then the page has up to 20 s to take in the attack's messages. *Survived*: afterwards the page answers \
          an evaluation within 5 s, is still in the call (ours: its screen; theirs: its connection), and both people \
          see a moving picture and hear sound of the other (`e2e::wait_seen_and_heard`, 20 s bound). *Lag*: the \
          longest a 20 ms timer in the page was late, from the attack's start until the end (blank: the page did \
          not answer to tell). *Peak RSS*: the largest VmRSS of the page's renderer process, sampled every 50 ms \
          from `/proc` from load to the end (the process, not only its JS heap). *Errors*: uncaught errors and \
          unhandled rejections in the page. Values per run, in run order.\n\n";
    s += "| Attack | Page | Survived | Worst event-loop lag | Renderer peak RSS | Uncaught errors |\n|---|---|---|---|---|---|\n";
    for (attack, side, outs) in rows {
        let ok = outs.iter().filter(|o| o.failed.is_none()).count();
        let lags: Vec<String> = outs.iter().map(|o| o.lag_ms.map_or("—".into(), |l| format!("{l:.0} ms"))).collect();
        let rss: Vec<String> = outs.iter().map(|o| format!("{:.0} MB", o.rss_mb)).collect();
        let errs: Vec<String> = outs.iter().map(|o| o.errors.map_or("—".into(), |e| e.to_string())).collect();
        s += &format!(
            "| {} | {} | {ok}/{} | {} | {} | {} |\n",
            attack.title(),
            side.label(),
            outs.len(),
            lags.join(", "),
            rss.join(", "),
            errs.join(", ")
        );
    }
    s += READING;
    let mut got = String::new();
    for (attack, side, outs) in rows {
        let n: Vec<String> = outs.iter().filter_map(|o| o.got).map(|g| g.to_string()).collect();
        if !n.is_empty() && outs.iter().any(|o| o.got.is_some_and(|g| g < attack.messages())) {
            got += &format!("- `{}` {}: the page received {} of the {} messages sent\n", attack.id(), side.label(), n.join(", "), attack.messages());
        }
    }
    if !got.is_empty() {
        s += "\nMessages that did not arrive (the page has no such channel, or stopped taking them):\n\n";
        s += &got;
    }
    let mut why = String::new();
    for (attack, side, outs) in rows {
        for (i, o) in outs.iter().enumerate() {
            if let Some(f) = &o.failed {
                why += &format!("- `{}` {} run {}: {f}\n", attack.id(), side.label(), i + 1);
            }
        }
    }
    if !why.is_empty() {
        s += "\nWhy a run did not survive:\n\n";
        s += &why;
    }
    s
}

/// What the rows can and cannot say, whatever the numbers of a run.
const READING: &str = "
Reading it:

- The deployed page negotiates channels 1 and 3 only: messages on channel 5 (the restart storm, the \
callee's offers) never reach its script, so its rows for those attacks measure a call going on beside \
traffic it cannot see, not how it would take it.
- Survival is the test suite's to hold for ours (`crates/e2e/tests/hostile.rs`, with the page's own \
counters); here it is recorded for both pages.
- Lag and memory depend on the machine's load (above): compare each attack with the quiet call of \
the same page and run, and the orders of magnitude (a renderer of gigabytes, a page that no longer \
answers) rather than tens of ms.
";

const BEGIN: &str = "<!-- hostile -->";
const END: &str = "<!-- /hostile -->";

/// Replaces (or appends) the hostile section of BENCHMARKS.md, between
/// markers. It goes at the end, after the soak's sections, which the main
/// bench run keeps (`soak::kept`).
fn write_section(section: &str) -> Result<()> {
    crate::plots::write_section(BEGIN, END, section, None, "hostile")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let a = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(HostileOpts::parse(&a("--runs 3")).unwrap().is_none());
        let o = HostileOpts::parse(&a("--hostile")).unwrap().unwrap();
        assert_eq!((o.runs, o.attacks.len(), o.attacks[0]), (2, Attack::ALL.len(), Attack::Quiet));
        let o = HostileOpts::parse(&a("--hostile --runs 1 --attack candidates,junk")).unwrap().unwrap();
        assert_eq!((o.runs, o.attacks), (1, vec![Attack::Candidates, Attack::Junk]));
        assert!(HostileOpts::parse(&a("--hostile --attack nope")).is_err());
    }
}
