//! `--trace DIR`: where the main thread's time goes in the cost scenario.
//!
//! `Performance.getMetrics` gives totals (script, style, layout, task);
//! this says which work they are made of. Each window's Chromium is
//! started with startup tracing (`--trace-startup…`: no DevTools events
//! needed), the bench puts `performance.mark`s around the measured 20 s,
//! and the trace's events on the page's main thread between the marks are
//! summed by name as self time (an event's duration minus that of the
//! events nested in it). The marks also tell which process and thread is
//! the page's renderer main thread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e::{Error, Result};
use serde_json::Value;

/// Trace categories: tasks, the DevTools timeline (script, style, layout,
/// paint, commit), user timing (our marks) and V8 execution.
const CATEGORIES: &str = "toplevel,devtools.timeline,blink.user_timing,v8.execute";
/// How long Chromium traces from its start; the file is written then.
const TRACE_SECS: u64 = 50;

pub const START: &str = "bench-cost-start";
pub const END: &str = "bench-cost-end";

/// The Chromium switches that trace into `file` (categories: `CATEGORIES`,
/// or `BENCH_TRACE_CATEGORIES` from the environment).
pub fn switches(file: &Path) -> Vec<String> {
    let cats = std::env::var("BENCH_TRACE_CATEGORIES").unwrap_or_else(|_| CATEGORIES.to_string());
    vec![
        format!("--trace-startup={cats}"),
        format!("--trace-startup-file={}", file.display()),
        format!("--trace-startup-duration={TRACE_SECS}"),
        "--trace-startup-format=json".to_string(),
    ]
}

/// The trace file for one window of one run.
pub fn file(dir: &Path, side: &str, window: &str, run: usize) -> PathBuf {
    dir.join(format!("cost-{side}-{window}-run{run}.json"))
}

/// Waits until Chromium has written a complete trace (the tracing period
/// is over and the file parses).
pub fn wait(file: &Path) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(TRACE_SECS + 40);
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                return Ok(v);
            }
        }
        if Instant::now() > deadline {
            return Err(Error(format!("no complete trace in {}", file.display())));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// (name, ms, count), largest first.
pub type Totals = Vec<(String, f64, usize)>;

/// What the main thread did between the marks: self time by event name;
/// top-level tasks by where they were posted (`src_func`: e.g.
/// `ScheduledActionSendBeginMainFrame` is a frame, `DOMTimer` a timer);
/// the total of top-level tasks in ms.
pub fn summarize(trace: &Value) -> Result<(Totals, Totals, f64)> {
    let events = trace.get("traceEvents").and_then(Value::as_array).or_else(|| trace.as_array());
    let events = events.ok_or_else(|| Error::new("trace without events"))?;
    let mark = |name: &str| {
        events.iter().find(|e| e["name"].as_str() == Some(name) && e["cat"].as_str().is_some_and(|c| c.contains("blink.user_timing")))
    };
    let (Some(start), Some(end)) = (mark(START), mark(END)) else {
        return Err(Error::new("the trace has no bench marks"));
    };
    let (pid, tid) = (start["pid"].clone(), start["tid"].clone());
    let (t0, t1) = (start["ts"].as_f64().unwrap_or(0.0), end["ts"].as_f64().unwrap_or(0.0));
    // Complete events ('X') of the main thread inside the window, outermost
    // first among equal start times.
    let mut xs: Vec<(f64, f64, &str, Option<&str>)> = events
        .iter()
        .filter(|e| e["pid"] == pid && e["tid"] == tid && e["ph"].as_str() == Some("X"))
        .filter_map(|e| Some((e["ts"].as_f64()?, e["dur"].as_f64().unwrap_or(0.0), e["name"].as_str()?, e["args"]["src_func"].as_str())))
        .filter(|(ts, ..)| *ts >= t0 && *ts <= t1)
        .collect();
    xs.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut by_name: HashMap<&str, (f64, usize)> = HashMap::new();
    let mut by_source: HashMap<&str, (f64, usize)> = HashMap::new();
    let mut top_level = 0.0;
    // The enclosing events: (end, name).
    let mut stack: Vec<(f64, &str)> = Vec::new();
    for (ts, dur, name, src) in xs {
        while stack.last().is_some_and(|(end, _)| *end <= ts) {
            stack.pop();
        }
        // Self time: an event's time counts for it, not for its parent.
        match stack.last() {
            Some((_, parent)) => by_name.entry(parent).or_default().0 -= dur,
            None => {
                top_level += dur;
                let e = by_source.entry(src.unwrap_or(name)).or_default();
                e.0 += dur;
                e.1 += 1;
            }
        }
        let e = by_name.entry(name).or_default();
        e.0 += dur;
        e.1 += 1;
        stack.push((ts + dur, name));
    }
    let sorted = |m: HashMap<&str, (f64, usize)>| {
        let mut v: Totals = m.into_iter().map(|(n, (us, c))| (n.to_string(), us / 1000.0, c)).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    };
    Ok((sorted(by_name), sorted(by_source), top_level / 1000.0))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn self_time_between_the_marks_on_the_marked_thread() {
        let x = |ts: f64, dur: f64, name: &str, tid: u32, src: &str| {
            json!({ "ph": "X", "pid": 1, "tid": tid, "ts": ts, "dur": dur, "name": name, "args": { "src_func": src } })
        };
        let mark = |ts: f64, name: &str| json!({ "ph": "R", "pid": 1, "tid": 7, "ts": ts, "name": name, "cat": "blink.user_timing" });
        let trace = json!({ "traceEvents": [
            x(0.0, 5000.0, "RunTask", 7, "DOMTimer"), // before the start mark
            mark(10_000.0, super::START),
            x(11_000.0, 3000.0, "RunTask", 7, "ScheduledActionSendBeginMainFrame"),
            x(11_500.0, 1000.0, "Layout", 7, ""),
            x(11_600.0, 500.0, "Paint", 7, ""),
            x(20_000.0, 1000.0, "RunTask", 7, "DOMTimer"),
            x(20_000.0, 9000.0, "RunTask", 8, "DOMTimer"), // another thread
            mark(30_000.0, super::END),
        ]});
        let (names, sources, total) = super::summarize(&trace).expect("summary");
        let get = |l: &super::Totals, n: &str| l.iter().find(|e| e.0 == n).map(|e| (e.1, e.2));
        assert_eq!(total, 4.0);
        assert_eq!(get(&names, "RunTask"), Some((3.0, 2)), "3 ms of 4 are its own");
        assert_eq!(get(&names, "Layout"), Some((0.5, 1)));
        assert_eq!(get(&names, "Paint"), Some((0.5, 1)));
        assert_eq!(get(&sources, "ScheduledActionSendBeginMainFrame"), Some((3.0, 1)));
        assert_eq!(get(&sources, "DOMTimer"), Some((1.0, 1)));
    }
}
