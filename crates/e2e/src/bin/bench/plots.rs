//! `bench --plots`: the summary at the top of BENCHMARKS.md and the plots
//! `docs/bench/setup.svg` (setup timings) and `docs/bench/soak.svg` (the
//! steady soak over time), drawn from the numbers the file already holds:
//! the main run's results table, the soak's per-sample tables, the
//! hostile and quality sections. Every bench run that writes BENCHMARKS.md
//! calls [`refresh`] afterwards, so summary and plots follow the latest
//! numbers; `--plots` alone redraws them without measuring anything.

use std::path::Path;

use e2e::Result;

use crate::svg::{Anchor, Area, Stroke, Svg, OURS, THEIRS};

const BEGIN: &str = "<!-- summary -->";
const END: &str = "<!-- /summary -->";
const SETUP_SVG: &str = "docs/bench/setup.svg";
const SOAK_SVG: &str = "docs/bench/soak.svg";

/// `bench --plots`: refreshes the workspace's BENCHMARKS.md.
pub(crate) fn main() -> Result<()> {
    refresh(&testhost::workspace_root().join("BENCHMARKS.md"))
}

/// Writes `section` into BENCHMARKS.md between the markers `begin` and
/// `end`: in place of the old one, else before the heading `before` (if
/// the file has it), else at the end. Then redraws the summary and plots.
pub(crate) fn write_section(begin: &str, end: &str, section: &str, before: Option<&str>, what: &str) -> Result<()> {
    let path = testhost::workspace_root().join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let block = format!("{begin}\n{section}{end}\n");
    let new = match (old.find(begin), old.find(end), before.and_then(|h| old.find(h))) {
        (Some(a), Some(b), _) if a < b => format!("{}{block}{}", &old[..a], old[b + end.len()..].trim_start_matches('\n')),
        (_, _, Some(i)) => format!("{}{block}\n{}", &old[..i], &old[i..]),
        _ => format!("{}\n{block}", old.trim_end_matches('\n')),
    };
    std::fs::write(&path, new)?;
    eprintln!("bench: wrote the {what} section of {}", path.display());
    refresh(&path)
}

/// Writes the plots from the file at `path` (a BENCHMARKS.md at the
/// workspace root) and rewrites its summary; the rest stays as it is.
pub(crate) fn refresh(path: &Path) -> Result<()> {
    let md = std::fs::read_to_string(path)?;
    let root = testhost::workspace_root();
    std::fs::create_dir_all(root.join("docs/bench"))?;
    let setup = setup_svg(&md);
    if let Some(svg) = &setup {
        std::fs::write(root.join(SETUP_SVG), svg)?;
        eprintln!("bench: wrote {SETUP_SVG}");
    }
    let soak = soak_svg(&md);
    if let Some(svg) = &soak {
        std::fs::write(root.join(SOAK_SVG), svg)?;
        eprintln!("bench: wrote {SOAK_SVG}");
    }
    let new = with_summary(&md, &summary(&md, setup.is_some(), soak.is_some()));
    if new != md {
        std::fs::write(path, new)?;
        eprintln!("bench: wrote the summary of {}", path.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading the file back

/// Median, min and max of one page's runs, as a table cell shows them.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stat {
    med: f64,
    lo: f64,
    hi: f64,
}

/// `29 ms (19–33)`, `0.8 MB (0.8–0.8)`, `614`, `2 ms, 1/5 failed`; none
/// for `—` or `failed (3/3)`.
fn stat(cell: &str) -> Option<Stat> {
    let med: f64 = cell
        .split_whitespace()
        .next()?
        .trim_end_matches(',')
        .parse()
        .ok()?;
    let range = cell
        .find('(')
        .and_then(|a| cell[a + 1..].find(')').map(|b| &cell[a + 1..a + 1 + b]));
    let (lo, hi) = range
        .and_then(|r| r.split_once('–'))
        .and_then(|(l, h)| Some((l.trim().parse().ok()?, h.trim().parse().ok()?)))
        .unwrap_or((med, med));
    Some(Stat { med, lo, hi })
}

/// A row's ratio cell: `0.31`, `∞ (theirs 0)`; none for `n/a`.
fn ratio(cell: &str) -> Option<f64> {
    if cell.starts_with('∞') {
        return Some(f64::INFINITY);
    }
    cell.split_whitespace().next()?.parse().ok()
}

/// The cells of a markdown table row (none for other lines and the rule
/// under the header).
fn cells(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    let c: Vec<&str> = inner.split('|').map(str::trim).collect();
    (!c.iter().all(|x| x.chars().all(|ch| ch == '-' || ch == ':'))).then_some(c)
}

/// The text from a line starting with `heading` to the next heading of
/// the same or a higher level, or to `stop`.
fn section<'a>(md: &'a str, heading: &str) -> Option<&'a str> {
    let start = md
        .find(&format!("\n{heading}\n"))
        .map(|i| i + 1)
        .or_else(|| md.starts_with(heading).then_some(0))?;
    let level = heading.chars().take_while(|c| *c == '#').count();
    let body = &md[start + heading.len()..];
    let end = body
        .match_indices("\n#")
        .find(|(i, _)| body[i + 1..].chars().take_while(|c| *c == '#').count() <= level)
        .map_or(body.len(), |(i, _)| i);
    Some(&md[start..start + heading.len() + end])
}

/// Between `<!-- NAME -->` and `<!-- /NAME -->`.
fn marked<'a>(md: &'a str, name: &str) -> Option<&'a str> {
    let (b, e) = (format!("<!-- {name} -->"), format!("<!-- /{name} -->"));
    let a = md.find(&b)? + b.len();
    Some(&md[a..a + md[a..].find(&e)?])
}

/// One row of the main run's results table.
struct Result1 {
    scenario: String,
    label: String,
    ours: Option<Stat>,
    theirs: Option<Stat>,
    ratio: Option<f64>,
    missed: bool,
}

fn results(md: &str) -> Vec<Result1> {
    let Some(sec) = section(md, "## Results") else {
        return Vec::new();
    };
    sec.lines()
        .filter_map(cells)
        .filter(|c| c.len() == 6 && c[0] != "Scenario")
        .map(|c| Result1 {
            scenario: c[0].to_string(),
            label: c[1].to_string(),
            ours: stat(c[2]),
            theirs: stat(c[3]),
            ratio: ratio(c[4]),
            missed: c[5].contains("MISSED"),
        })
        .collect()
}

/// The metrics of the setup plot: the label's prefix in the table, the
/// plot's column title.
const SETUP_METRICS: [(&str, &str); 4] = [
    ("t_offer:", "t_offer: command → offer"),
    ("t_answer:", "t_answer: command → answer"),
    ("t_connected:", "t_connected: answer → connected"),
    ("t_media:", "t_media: answer → video both ways"),
];

/// `(N run(s) per page and scenario)` of the main run's command line.
fn runs_of(md: &str) -> Option<u32> {
    let i = md.find(" run(s) per page and scenario")?;
    md[..i].rsplit('(').next()?.trim().parse().ok()
}

/// A list item's value: `- Date: X` → `X`.
fn item<'a>(md: &'a str, key: &str) -> Option<&'a str> {
    md.lines()
        .find_map(|l| l.strip_prefix(&format!("- {key}: ")))
}

// ---------------------------------------------------------------------------
// The setup plot

/// A log axis over `[lo, hi]` (powers of ten around the values).
struct LogAxis {
    lo: f64,
    hi: f64,
}

impl LogAxis {
    fn around(values: impl Iterator<Item = f64>) -> LogAxis {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
        for v in values.filter(|v| v.is_finite() && *v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            return LogAxis {
                lo: 1.0,
                hi: 1000.0,
            };
        }
        let (lo, hi) = (
            10f64.powf(lo.log10().floor()),
            10f64.powf(hi.log10().ceil()),
        );
        LogAxis {
            lo,
            hi: if hi <= lo { lo * 10.0 } else { hi },
        }
    }

    fn x(&self, a: Area, v: f64) -> f64 {
        let v = v.clamp(self.lo, self.hi);
        a.x + a.w * (v / self.lo).log10() / (self.hi / self.lo).log10()
    }

    /// Ticks, with whether each is labelled: every power of ten, and 2
    /// and 5 times them over two decades or less (labelled over one).
    fn ticks(&self) -> Vec<(f64, bool)> {
        let decades = (self.hi / self.lo).log10().round() as i32;
        let mut t = Vec::new();
        let mut p = self.lo;
        while p <= self.hi * 1.0001 {
            t.push((p, true));
            if decades <= 2 {
                t.extend([2.0 * p, 5.0 * p].into_iter().filter(|v| *v < self.hi).map(|v| (v, decades <= 1)));
            }
            p *= 10.0;
        }
        t
    }
}

fn ms_label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{} s", v / 1000.0)
    } else {
        format!("{v} ms")
    }
}

/// One column of the setup plot: a title and, per row, ours, theirs and
/// the ratio (with whether a target was missed).
struct Column<'a> {
    title: &'a str,
    cells: Vec<Option<&'a Result1>>,
}

/// Rows of dot-and-whisker cells under column titles, sharing the row
/// labels on the left; returns the height used.
fn grid(
    s: &mut Svg,
    top: f64,
    label_w: f64,
    col_w: f64,
    labels: &[String],
    cols: &[Column],
) -> f64 {
    let (row_h, title_h, plot_w) = (30.0, 22.0, col_w - 62.0);
    let rows_top = top + title_h;
    for (i, l) in labels.iter().enumerate() {
        let y = rows_top + i as f64 * row_h;
        if i % 2 == 0 {
            s.rect(
                Area {
                    x: 8.0,
                    y,
                    w: label_w + col_w * cols.len() as f64 - 8.0,
                    h: row_h,
                },
                "#f4f4f4",
                None,
            );
        }
        s.text(label_w - 10.0, y + row_h / 2.0 + 4.0, Anchor::End, "", l);
    }
    let bottom = rows_top + labels.len() as f64 * row_h;
    for (k, c) in cols.iter().enumerate() {
        let a = Area {
            x: label_w + k as f64 * col_w + 6.0,
            y: rows_top,
            w: plot_w,
            h: bottom - rows_top,
        };
        s.text(
            a.x,
            top + 12.0,
            Anchor::Start,
            "font-weight=\"bold\"",
            c.title,
        );
        let axis = LogAxis::around(
            c.cells
                .iter()
                .flatten()
                .flat_map(|r| [r.ours, r.theirs])
                .flatten()
                .flat_map(|st| [st.lo, st.hi]),
        );
        for (t, labelled) in axis.ticks() {
            let x = axis.x(a, t);
            s.line(x, a.y, x, a.bottom(), Stroke::new(if labelled { "#d0d0d0" } else { "#ececec" }, 1.0));
            if !labelled {
                continue;
            }
            s.text(
                x,
                a.bottom() + 14.0,
                Anchor::Middle,
                "fill=\"#555\" font-size=\"10\"",
                &ms_label(t),
            );
        }
        s.line(
            a.x,
            a.bottom(),
            a.right(),
            a.bottom(),
            Stroke::new("#999", 1.0),
        );
        for (i, cell) in c.cells.iter().enumerate() {
            let Some(r) = cell else { continue };
            let y = rows_top + i as f64 * row_h + row_h / 2.0;
            for (st, color, dy) in [(r.ours, OURS, -6.0), (r.theirs, THEIRS, 6.0)] {
                let Some(st) = st else { continue };
                let (x0, x1) = (axis.x(a, st.lo), axis.x(a, st.hi));
                let stroke = Stroke::new(color, 1.5);
                s.line(x0, y + dy, x1, y + dy, stroke);
                s.line(x0, y + dy - 3.0, x0, y + dy + 3.0, stroke);
                s.line(x1, y + dy - 3.0, x1, y + dy + 3.0, stroke);
                s.circle(axis.x(a, st.med), y + dy, 4.0, color);
            }
            if let Some(q) = r.ratio {
                let t = if q.is_infinite() {
                    "×∞".to_string()
                } else {
                    format!("×{q:.2}")
                };
                let style = if r.missed {
                    "fill=\"#b00000\" font-weight=\"bold\""
                } else {
                    "fill=\"#333\""
                };
                s.text(a.right() + 6.0, y + 4.0, Anchor::Start, style, &t);
            }
        }
    }
    bottom - top + 20.0
}

fn setup_svg(md: &str) -> Option<String> {
    let rows = results(md);
    let call_scenarios: Vec<String> = rows
        .iter()
        .filter(|r| r.label.starts_with("t_offer:"))
        .map(|r| r.scenario.clone())
        .collect();
    let ready = rows.iter().find(|r| r.label.starts_with("ready:"));
    if call_scenarios.is_empty() && ready.is_none() {
        return None;
    }
    let (label_w, col_w) = (340.0, 245.0);
    let w = label_w + 4.0 * col_w + 10.0;
    let find = |sc: &str, prefix: &str| {
        rows.iter()
            .find(|r| r.scenario == sc && r.label.starts_with(prefix))
    };
    let cols: Vec<Column> = SETUP_METRICS
        .iter()
        .map(|(prefix, title)| Column {
            title,
            cells: call_scenarios.iter().map(|sc| find(sc, prefix)).collect(),
        })
        .collect();
    let h = 96.0
        + 22.0
        + call_scenarios.len() as f64 * 30.0
        + 20.0
        + if ready.is_some() {
            30.0 + 22.0 + 30.0 + 20.0
        } else {
            0.0
        }
        + 10.0;
    let mut s = Svg::new(w, h);
    let runs = runs_of(md)
        .map(|n| format!(", {n} runs per page"))
        .unwrap_or_default();
    s.text(
        16.0,
        24.0,
        Anchor::Start,
        "font-size=\"15\"",
        &format!("Call setup: ours against the deployed page{runs} (log scale)"),
    );
    s.legend_dot(16.0, 48.0, OURS, "ours: median (dot), min–max (whisker)");
    s.legend_dot(300.0, 48.0, THEIRS, "theirs (the deployed page)");
    s.text(
        520.0,
        52.0,
        Anchor::Start,
        "fill=\"#333\"",
        "×r: ours/theirs of the medians (below 1: ours faster);",
    );
    s.text(
        880.0,
        52.0,
        Anchor::Start,
        "fill=\"#b00000\" font-weight=\"bold\"",
        "red: target missed",
    );
    s.text(
        16.0,
        72.0,
        Anchor::Start,
        "fill=\"#555\"",
        "Command: #startCall or #acceptCall= set (Desktop's flow) or the page opened with it; answer: #onAnswer= set on the caller.",
    );
    let mut y = 96.0;
    if !call_scenarios.is_empty() {
        y += grid(&mut s, y, label_w, col_w, &call_scenarios, &cols);
    }
    if let Some(r) = ready {
        y += 10.0;
        let col = Column {
            title: "ready: navigation → Answer button shown, ICE servers asked for",
            cells: vec![Some(r)],
        };
        grid(
            &mut s,
            y,
            label_w,
            col_w * 2.0,
            std::slice::from_ref(&r.scenario),
            &[col],
        );
    }
    Some(s.finish())
}

// ---------------------------------------------------------------------------
// The soak plot

/// The per-sample table of one soak section: column names, and per
/// window (`ours caller`, …) its rows of values (NaN for `–`).
struct SoakTable {
    title: String,
    every: f64,
    columns: Vec<String>,
    windows: Vec<(String, Vec<Vec<f64>>)>,
}

fn soak_table(md: &str, variant: &str) -> Option<SoakTable> {
    let sec = marked(md, &format!("soak: {variant}"))?;
    let title = sec
        .lines()
        .find_map(|l| l.strip_prefix("### "))?
        .to_string();
    let every = sec
        .find("--every ")
        .and_then(|i| {
            sec[i + 8..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(60.0);
    let at = sec.find("| window | t (min) |")?;
    let mut lines = sec[at..].lines();
    let columns: Vec<String> = cells(lines.next()?)?
        .iter()
        .skip(2)
        .map(|c| c.to_string())
        .collect();
    let mut windows: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
    for l in lines {
        let Some(c) = cells(l) else {
            if l.trim().is_empty() || l.starts_with("|-") {
                continue;
            }
            break;
        };
        if c.len() != columns.len() + 2 {
            continue;
        }
        let row: Vec<f64> = c[1..]
            .iter()
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect();
        match windows.iter_mut().find(|(w, _)| w == c[0]) {
            Some((_, v)) => v.push(row),
            None => windows.push((c[0].to_string(), vec![row])),
        }
    }
    (!windows.is_empty()).then_some(SoakTable {
        title,
        every,
        columns,
        windows,
    })
}

/// The soak variants in the file, in order.
fn soak_variants(md: &str) -> Vec<&str> {
    md.lines()
        .filter_map(|l| l.strip_prefix("<!-- soak: ")?.strip_suffix(" -->"))
        .collect()
}

/// The variant plotted: the steady one when there is one, else the first.
fn soak_plotted(md: &str) -> Option<SoakTable> {
    let v = soak_variants(md);
    let pick = v.iter().find(|x| **x == "steady").or(v.first())?;
    soak_table(md, pick)
}

fn soak_svg(md: &str) -> Option<String> {
    let t = soak_plotted(md)?;
    let wanted = [
        "JS heap after GC",
        "DOM nodes",
        "main-thread busy",
        "renderer CPU",
    ];
    let panels: Vec<(usize, &String)> = wanted
        .iter()
        .filter_map(|w| t.columns.iter().enumerate().find(|(_, c)| c.starts_with(w)))
        .collect();
    if panels.is_empty() {
        return None;
    }
    let (pw, ph, left, gapx, top, gapy) = (440.0, 170.0, 70.0, 90.0, 112.0, 62.0);
    let w = left + 2.0 * pw + gapx + 40.0;
    let rows = panels.len().div_ceil(2) as f64;
    let h = top + rows * (ph + gapy);
    let mut s = Svg::new(w, h);
    s.text(
        left,
        24.0,
        Anchor::Start,
        "font-size=\"15\"",
        &format!("{}: each window, sampled every {} s", t.title, t.every),
    );
    let styles: Vec<(String, Stroke)> = t
        .windows
        .iter()
        .map(|(name, _)| {
            let color = if name.starts_with("ours") {
                OURS
            } else {
                THEIRS
            };
            let st = Stroke::new(color, 2.0);
            (
                name.clone(),
                if name.ends_with("callee") {
                    st.dashed("6,4")
                } else {
                    st
                },
            )
        })
        .collect();
    for (i, (name, st)) in styles.iter().enumerate() {
        s.legend(left + i as f64 * 170.0, 52.0, *st, name);
    }
    s.text(
        left,
        78.0,
        Anchor::Start,
        "fill=\"#555\"",
        "Flat lines: nothing grows. Busy time and CPU are per sample period; heap after a forced GC.",
    );
    let minutes = t
        .windows
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|r| r[0]))
        .fold(0.0, f64::max);
    let step = crate::svg::nice(minutes.max(1.0) / 6.0);
    let xmax = (minutes.max(1.0) / step).ceil() * step;
    for (k, (col, label)) in panels.iter().enumerate() {
        let a = Area {
            x: left + (k % 2) as f64 * (pw + gapx),
            y: top + (k / 2) as f64 * (ph + gapy),
            w: pw,
            h: ph,
        };
        let series: Vec<Vec<f64>> = t
            .windows
            .iter()
            .map(|(_, rows)| rows.iter().map(|r| r[col + 1]).collect())
            .collect();
        let times: Vec<Vec<f64>> = t
            .windows
            .iter()
            .map(|(_, rows)| rows.iter().map(|r| r[0]).collect())
            .collect();
        let ymax = crate::svg::nice(
            series
                .iter()
                .flatten()
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max)
                * 1.05,
        );
        let label = label.replace("(ms)", &format!("(ms per {} s)", t.every));
        s.panel(a, &label, ymax, 4);
        let ticks = (0..)
            .map(|i| f64::from(i) * step)
            .take_while(|m| *m <= xmax + 1e-9);
        s.x_labels(
            a,
            ticks.map(|m| (a.x + a.w * m / xmax, format!("{m:.0} min"))),
        );
        for ((v, ts), (_, st)) in series.iter().zip(&times).zip(&styles) {
            s.series(v, |i| a.x + a.w * ts[i] / xmax, |y| a.y_of(y, ymax), 1, *st);
        }
    }
    Some(s.finish())
}

// ---------------------------------------------------------------------------
// The summary

fn fmt_stat(st: Option<Stat>, unit: &str) -> String {
    match st {
        None => "—".into(),
        Some(st) if unit == "MB" => format!("{:.1} MB", st.med),
        Some(st) => format!(
            "{:.0}{}{unit}",
            st.med,
            if unit.is_empty() { "" } else { " " }
        ),
    }
}

fn fmt_ratio(q: Option<f64>) -> String {
    match q {
        Some(q) if q.is_infinite() => "∞".into(),
        Some(q) => format!("{q:.2}"),
        None => "—".into(),
    }
}

/// Thousands with a comma: 558798 → 558,798.
fn thousands(v: &str) -> String {
    let d: Vec<char> = v.chars().collect();
    let mut o = String::new();
    for (i, c) in d.iter().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(*c);
    }
    o
}

pub(crate) fn summary(md: &str, setup_plot: bool, soak_plot: bool) -> String {
    let rows = results(md);
    let mut t = String::from("| | Ours | Theirs (deployed) | Ours/theirs |\n|---|---|---|---|\n");
    let mut row = |a: &str, b: String, c: String, d: String| {
        t.push_str(&format!("| {a} | {b} | {c} | {d} |\n"))
    };
    for (prefix, title) in SETUP_METRICS {
        let rs: Vec<&Result1> = rows
            .iter()
            .filter(|r| r.label.starts_with(prefix))
            .collect();
        let qs: Vec<f64> = rs.iter().filter_map(|r| r.ratio).collect();
        if qs.is_empty() {
            continue;
        }
        let faster = qs.iter().filter(|q| **q < 1.0).count();
        let slower = qs.iter().filter(|q| **q > 1.0).count();
        let (lo, hi) = (
            qs.iter().copied().fold(f64::INFINITY, f64::min),
            qs.iter().copied().fold(0.0, f64::max),
        );
        let mut sorted = qs.clone();
        sorted.sort_by(f64::total_cmp);
        let med = sorted[sorted.len() / 2];
        row(
            &format!("Call setup, {title}"),
            format!("faster in {faster} of {} scenarios", qs.len()),
            format!("faster in {slower}"),
            format!("{lo:.2}–{hi:.2} (median {med:.2})"),
        );
    }
    let pick = |sc: &str, prefix: &str| {
        rows.iter()
            .find(|r| r.scenario == sc && r.label.starts_with(prefix))
    };
    for (sc, prefix, what, unit) in [
        (
            "Page load",
            "ready:",
            "Page load: ready (Answer shown, ICE asked for)",
            "ms",
        ),
        (
            "Page load",
            "main-thread script time",
            "Page load: script time until ready + 0.5 s",
            "ms",
        ),
        (
            "Page load",
            "JS heap",
            "Memory when idle: JS heap after GC",
            "MB",
        ),
        ("Page load", "DOM nodes", "Memory when idle: DOM nodes", ""),
        (
            "Cost of a 20 s call (per window)",
            "main-thread busy",
            "A steady 20 s call: main-thread busy time",
            "ms",
        ),
    ] {
        if let Some(r) = pick(sc, prefix) {
            row(
                what,
                fmt_stat(r.ours, unit),
                fmt_stat(r.theirs, unit),
                fmt_ratio(r.ratio),
            );
        }
    }
    let size = |who: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {who} (")))
            .and_then(cells)
            .map(|c| {
                (
                    c[1].trim_end_matches(" B").to_string(),
                    c[2].trim_end_matches(" B").to_string(),
                )
            })
    };
    if let (Some(o), Some(th)) = (size("ours"), size("theirs")) {
        let q = |a: &str, b: &str| {
            a.parse::<f64>()
                .ok()
                .zip(b.parse::<f64>().ok())
                .map(|(a, b)| format!("{:.2}", a / b))
                .unwrap_or_default()
        };
        row(
            "Page size: raw / gzip -9",
            format!("{} / {} B", thousands(&o.0), thousands(&o.1)),
            format!("{} / {} B", thousands(&th.0), thousands(&th.1)),
            format!("{} / {}", q(&o.0, &th.0), q(&o.1, &th.1)),
        );
    }
    // The soak: the plotted variant's drift of heap and nodes (the callers),
    // and over every variant whether a call was lost.
    if let Some(sec) = soak_plotted(md).and_then(|p| {
        let v = soak_variants(md);
        let pick = v
            .iter()
            .find(|x| **x == "steady")
            .or(v.first())?
            .to_string();
        Some((p, marked(md, &format!("soak: {pick}"))?))
    }) {
        let (p, text) = sec;
        let drift: Vec<Vec<&str>> = text
            .lines()
            .filter_map(cells)
            .filter(|c| c.len() > 3 && c[1].contains('→'))
            .collect();
        let cell_of = |who: &str, i: usize| {
            drift
                .iter()
                .find(|c| c[0] == who)
                .map(|c| c[i].split(" (").next().unwrap_or("").to_string())
                .unwrap_or_default()
        };
        let title = p.title.trim_start_matches("Soak: ");
        row(
            &format!("Soak, {title}: JS heap, early → late (caller)"),
            cell_of("ours caller", 1),
            cell_of("theirs caller", 1),
            "—".into(),
        );
        row(
            &format!("Soak, {title}: DOM nodes, early → late (caller)"),
            cell_of("ours caller", 2),
            cell_of("theirs caller", 2),
            "—".into(),
        );
    }
    let variants = soak_variants(md);
    if !variants.is_empty() {
        // Per page: windows that called endCall or whose media did not come
        // back after an outage, over every variant.
        let mut lost = [0u32; 2];
        for v in &variants {
            let Some(text) = marked(md, &format!("soak: {v}")) else {
                continue;
            };
            for c in text
                .lines()
                .filter_map(cells)
                .filter(|c| c.len() > 3 && c[1].contains('→'))
            {
                let n = c.len();
                let bad = c[n - 2].parse::<f64>().is_ok_and(|x| x > 0.0)
                    || c[n - 1].parse::<f64>().is_ok_and(|x| x > 0.0);
                lost[usize::from(c[0].starts_with("theirs"))] += u32::from(bad);
            }
        }
        let windows = variants.len() * 2;
        row(
            &format!(
                "Soak, all {} runs: windows that ended the call or lost media after an outage",
                variants.len()
            ),
            format!("{} of {windows}", lost[0]),
            format!("{} of {windows}", lost[1]),
            "—".into(),
        );
    }
    if let Some(h) = marked(md, "hostile") {
        let mut surv = [(0u32, 0u32); 2];
        let mut fell: Vec<String> = Vec::new();
        for c in h
            .lines()
            .filter_map(cells)
            .filter(|c| c.len() == 6 && (c[1] == "ours" || c[1] == "theirs"))
        {
            let Some((a, b)) = c[2].split_once('/') else {
                continue;
            };
            let (a, b): (u32, u32) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
            let k = usize::from(c[1] == "theirs");
            surv[k].0 += a;
            surv[k].1 += b;
            if a < b {
                fell.push(format!(
                    "{} {}",
                    c[1],
                    c[0].split(" on ").next().unwrap_or(c[0])
                ));
            }
        }
        let fell_of = |who: &str| {
            let f: Vec<&str> = fell
                .iter()
                .filter_map(|x| x.strip_prefix(who))
                .map(str::trim)
                .collect();
            if f.is_empty() {
                String::new()
            } else {
                format!(" (not: {})", f.join("; "))
            }
        };
        row(
            "Hostile peer: runs in which the call survived the attack",
            format!("{} of {}{}", surv[0].0, surv[0].1, fell_of("ours")),
            format!("{} of {}{}", surv[1].0, surv[1].1, fell_of("theirs")),
            "—".into(),
        );
    }
    if let Some(q) = marked(md, "quality") {
        let judged: Vec<Vec<&str>> = q
            .lines()
            .filter_map(cells)
            .filter(|c| c.len() == 5 && c[0] != "Profile")
            .collect();
        let called = |who: &str| -> Vec<String> {
            judged
                .iter()
                .filter(|c| c[4].contains(&format!("**{who} better**")))
                .map(|c| format!("{}: {}", c[0].split(':').next().unwrap_or(c[0]), c[1]))
                .collect()
        };
        let (o, th) = (called("ours"), called("theirs"));
        let list = |v: &[String]| {
            if v.is_empty() {
                "0".to_string()
            } else {
                format!("{} ({})", v.len(), v.join("; "))
            }
        };
        row(
            &format!("Call quality on shaped paths: differences called better{}", match q.matches(": CPU-limited (").count() {
                0 => String::new(),
                n => format!(" ({n} runs CPU-limited)"),
            }),
            list(&o),
            list(&th),
            format!(
                "{} of {} within noise or the same",
                judged.len() - o.len() - th.len(),
                judged.len()
            ),
        );
    }
    let mut s = String::from("## Summary\n\n");
    let date = item(md, "Date")
        .map(|d| d.split(';').next().unwrap_or(d))
        .unwrap_or("?");
    s.push_str(&format!(
        "Our page (`dist/index.html`) against the deployed page (`@deltachat/calls-webapp`, what Desktop ships), \
         measured side by side on the same machine, the runs interleaved. Values are medians; a ratio below 1 means \
         ours is faster or smaller. The setup timings, page load and size are from the main run ({date}); the \
         soak, hostile-peer and call-quality rows from their own runs (dated in their sections below). Where ours \
         is slower, and why, is under [Where ours is slower](#where-ours-is-slower-and-what-bounds-it). This \
         summary and the plots are redrawn from the sections below by every bench run that writes this file, and \
         by `cargo xtask bench --plots`.\n\n"
    ));
    s.push_str(&t);
    if setup_plot {
        s.push_str(&format!(
            "\n![Call setup: t_offer, t_answer, t_connected and t_media per scenario, and page load, ours against the deployed page: medians with min–max]({SETUP_SVG})\n"
        ));
    }
    if soak_plot {
        s.push_str(&format!("\n![The soak over time: JS heap, DOM nodes, main-thread busy time and renderer CPU of each window, ours and the deployed page]({SOAK_SVG})\n"));
    }
    s
}

/// `md` with `summary` between the markers right under its title (an
/// older summary replaced).
fn with_summary(md: &str, summary: &str) -> String {
    let md = match (md.find(BEGIN), md.find(END)) {
        (Some(a), Some(b)) if a < b => format!(
            "{}{}",
            &md[..a],
            md[b + END.len()..].trim_start_matches('\n')
        ),
        _ => md.to_string(),
    };
    let (title, rest) = match md.split_once('\n') {
        Some((t, r)) if t.starts_with("# ") => (t, r.trim_start_matches('\n')),
        _ => return format!("{BEGIN}\n{summary}{END}\n\n{md}"),
    };
    format!("{title}\n\n{BEGIN}\n{summary}{END}\n\n{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD: &str = "# Benchmarks\n\n- Date: 2026-12-05 22:58 UTC; took 1 min\n- Command: `cargo xtask bench --runs 3` (3 run(s) per page and scenario)\n\n## Results\n\n\
| Scenario | Metric | Ours | Theirs | Ours/theirs | Target |\n|---|---|---|---|---|---|\n\
| No ICE servers | t_offer: `#startCall` → `startCall()` | 151 ms (134–383) | 711 ms (597–786) | 0.21 | ≤ 1.0: met |\n\
| No ICE servers | t_connected: `#onAnswer=` → both connected | 71 ms (28–93) | 56 ms (47–122) | 1.28 | ≤ 1.0: **MISSED** |\n\
| Page load | ready: Answer button shown | 110 ms (107–149) | 359 ms | 0.31 | ≤ 1.2: met |\n\
| Page load | DOM nodes when idle | 614 (614–614) | failed (3/3) | n/a | — |\n\n### File size\n\n\
| Page | Raw | gzip -9 |\n|---|---|---|\n| ours (`dist/index.html`) | 69586 B | 62900 B |\n| theirs (`dist/index.html` of the package) | 558798 B | 171461 B |\n\n\
## Soak: long calls\n\n<!-- soak: steady -->\n### Soak: steady, 2 minutes\n\n`cargo xtask bench --soak 2 --every 60`\n\n\
| window | JS heap after GC | DOM nodes | restart offers | endCall | outages without media back |\n|---|---|---|---|---|---|\n\
| ours caller | 0.99 → 1.02 MB (+2.2 %) | 614 → 614 (+0.0 %) | 0.00 | 0.00 | 0 |\n| theirs caller | 3.36 → 3.36 MB (-0.0 %) | 2734 → 2734 (+0.0 %) | 0.00 | 1.00 | 0 |\n\n\
<details><summary>per sample</summary>\n\n| window | t (min) | JS heap after GC (MB) | DOM nodes |\n|---|---|---|---|\n\
| ours caller | 0.0 | 0.96 | 614 |\n| ours caller | 1.0 | 0.97 | 614 |\n| theirs caller | 0.0 | 3.30 | 2705 |\n| theirs caller | 1.0 | – | 2705 |\n\n</details>\n<!-- /soak: steady -->\n";

    #[test]
    fn cells_are_read_back() {
        assert_eq!(
            stat("29 ms (19–33)"),
            Some(Stat {
                med: 29.0,
                lo: 19.0,
                hi: 33.0
            })
        );
        assert_eq!(
            stat("0.8 MB (0.8–0.8)"),
            Some(Stat {
                med: 0.8,
                lo: 0.8,
                hi: 0.8
            })
        );
        assert_eq!(
            stat("2 ms"),
            Some(Stat {
                med: 2.0,
                lo: 2.0,
                hi: 2.0
            })
        );
        assert_eq!(
            stat("450 ms, 1/5 failed"),
            Some(Stat {
                med: 450.0,
                lo: 450.0,
                hi: 450.0
            })
        );
        assert_eq!(stat("failed (3/3)"), None);
        assert_eq!(stat("—"), None);
        assert_eq!(ratio("∞ (theirs 0)"), Some(f64::INFINITY));
        assert_eq!(ratio("n/a"), None);
        let r = results(MD);
        assert_eq!(r.len(), 4);
        assert!(r[1].missed && !r[0].missed);
        assert_eq!(runs_of(MD), Some(3));
    }

    #[test]
    fn plots_and_summary_from_the_file() {
        let setup = setup_svg(MD).unwrap();
        assert!(
            setup.contains("No ICE servers")
                && setup.contains("×1.28")
                && setup.contains("Page load"),
            "{setup}"
        );
        let t = soak_table(MD, "steady").unwrap();
        assert_eq!(
            (t.windows.len(), t.windows[0].1.len(), t.every),
            (2, 2, 60.0)
        );
        assert!(t.windows[1].1[1][1].is_nan());
        assert!(soak_svg(MD).unwrap().contains("<polyline"));
        let s = summary(MD, true, true);
        assert!(s.contains("| Call setup, t_offer: command → offer | faster in 1 of 1 scenarios | faster in 0 | 0.21–0.21 (median 0.21) |"), "{s}");
        assert!(
            s.contains("| 69,586 / 62,900 B | 558,798 / 171,461 B | 0.12 / 0.37 |"),
            "{s}"
        );
        assert!(s.contains("0.99 → 1.02 MB"), "{s}");
        assert!(s.contains("| 0 of 2 | 1 of 2 |"), "{s}");
        // Written under the title, and replaced, not repeated, next time.
        let once = with_summary(MD, &s);
        assert!(once.starts_with("# Benchmarks\n\n<!-- summary -->\n## Summary"));
        assert_eq!(with_summary(&once, &s), once);
        assert!(once.ends_with(MD.split_once("\n\n").unwrap().1));
    }
}
