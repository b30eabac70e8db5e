//! The bench's plots, drawn by hand as SVG text: one place for the
//! canvas, text (escaped), lines, polylines, boxes, axes and legends, so
//! every plot of BENCHMARKS.md looks alike. No plotting dependency.

use std::fmt::Write as _;

/// Our page's colour and the deployed page's, in every plot.
pub(crate) const OURS: &str = "#1f6fb4";
pub(crate) const THEIRS: &str = "#d0452b";

/// `&`, `<`, `>` and `"` as entities, for text and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// A coordinate: one decimal, without a trailing `.0`.
fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// 1, 2, 2.5 or 5 times a power of ten, at least `x`.
pub(crate) fn nice(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|v| *v >= x)
        .unwrap_or(10.0 * p)
}

/// A tick label: the value with up to two decimals, trailing zeros left
/// out (ticks fall on 1, 2, 2.5 or 5 times a power of ten: 2.5 must not
/// read 2).
pub(crate) fn tick_label(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A stroke: colour, width, dashes (`None`: solid).
#[derive(Clone, Copy)]
pub(crate) struct Stroke<'a> {
    pub(crate) color: &'a str,
    pub(crate) width: f64,
    pub(crate) dash: Option<&'a str>,
}

impl<'a> Stroke<'a> {
    pub(crate) const fn new(color: &'a str, width: f64) -> Self {
        Stroke {
            color,
            width,
            dash: None,
        }
    }

    pub(crate) const fn dashed(self, dash: &'a str) -> Self {
        Stroke {
            dash: Some(dash),
            ..self
        }
    }

    fn attrs(&self) -> String {
        let mut a = format!("stroke=\"{}\"", esc(self.color));
        if (self.width - 1.0).abs() > f64::EPSILON {
            a += &format!(" stroke-width=\"{}\"", n(self.width));
        }
        if let Some(d) = self.dash {
            a += &format!(" stroke-dasharray=\"{}\"", esc(d));
        }
        a
    }
}

/// Where text hangs from its point.
#[derive(Clone, Copy)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

/// A plot area: its left, top, width and height in the canvas.
#[derive(Clone, Copy)]
pub(crate) struct Area {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
}

impl Area {
    pub(crate) fn right(&self) -> f64 {
        self.x + self.w
    }

    pub(crate) fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// The y of `v` on a linear axis from 0 to `max`, clamped to the area.
    pub(crate) fn y_of(&self, v: f64, max: f64) -> f64 {
        self.bottom() - self.h * (v / max).clamp(0.0, 1.0)
    }
}

/// An SVG document being written.
pub(crate) struct Svg {
    s: String,
}

impl Svg {
    /// A white canvas of `w` × `h`, sans-serif 12 px.
    pub(crate) fn new(w: f64, h: f64) -> Svg {
        let mut s = String::new();
        let (w, h) = (n(w), n(h));
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">"
        );
        let _ = writeln!(s, "<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
        Svg { s }
    }

    /// Text; `extra` holds further attributes (`font-weight="bold"`, …),
    /// written as given.
    pub(crate) fn text(&mut self, x: f64, y: f64, anchor: Anchor, extra: &str, text: &str) {
        let a = match anchor {
            Anchor::Start => "",
            Anchor::Middle => " text-anchor=\"middle\"",
            Anchor::End => " text-anchor=\"end\"",
        };
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" {extra}")
        };
        let _ = writeln!(
            self.s,
            "<text x=\"{}\" y=\"{}\"{a}{extra}>{}</text>",
            n(x),
            n(y),
            esc(text)
        );
    }

    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, st: Stroke) {
        let _ = writeln!(
            self.s,
            "<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" {}/>",
            n(x1),
            n(x2),
            n(y1),
            n(y2),
            st.attrs()
        );
    }

    /// A filled box (`fill` a colour), optionally outlined.
    pub(crate) fn rect(&mut self, a: Area, fill: &str, outline: Option<Stroke>) {
        let o = outline
            .map(|st| format!(" {}", st.attrs()))
            .unwrap_or_default();
        let _ = writeln!(
            self.s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{o}/>",
            n(a.x),
            n(a.y),
            n(a.w),
            n(a.h),
            esc(fill)
        );
    }

    pub(crate) fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.s,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>",
            n(x),
            n(y),
            n(r),
            esc(fill)
        );
    }

    /// An open line through `pts` (nothing for fewer than two points).
    pub(crate) fn polyline(&mut self, pts: &[(f64, f64)], st: Stroke) {
        if pts.len() < 2 {
            return;
        }
        let p: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
            .collect();
        let _ = writeln!(
            self.s,
            "<polyline points=\"{}\" fill=\"none\" {}/>",
            p.join(" "),
            st.attrs()
        );
    }

    /// A line through the finite values of `v` at `x(i)`, `y(v)`; a gap of
    /// more than `bridge` missing values breaks it.
    pub(crate) fn series(
        &mut self,
        v: &[f64],
        x: impl Fn(usize) -> f64,
        y: impl Fn(f64) -> f64,
        bridge: usize,
        st: Stroke,
    ) {
        let mut seg: Vec<(f64, f64)> = Vec::new();
        let mut missing = 0;
        for (i, val) in v.iter().enumerate() {
            if val.is_finite() {
                seg.push((x(i), y(*val)));
                missing = 0;
            } else {
                missing += 1;
                if missing > bridge {
                    self.polyline(&seg, st);
                    seg.clear();
                }
            }
        }
        self.polyline(&seg, st);
    }

    /// A panel: its outline, a bold title above it, and a linear y axis
    /// from 0 to `max` with `ticks` grid lines and labels on the left.
    pub(crate) fn panel(&mut self, a: Area, title: &str, max: f64, ticks: u32) {
        self.rect(a, "none", Some(Stroke::new("#999", 1.0)));
        self.text(a.x, a.y - 6.0, Anchor::Start, "font-weight=\"bold\"", title);
        for i in 0..=ticks {
            let v = max * f64::from(i) / f64::from(ticks);
            let y = a.y_of(v, max);
            self.line(a.x, y, a.right(), y, Stroke::new("#e4e4e4", 1.0));
            self.text(a.x - 6.0, y + 4.0, Anchor::End, "", &tick_label(v));
        }
    }

    /// Labels under an x axis: `label(i)` at `x(i)` for each i.
    pub(crate) fn x_labels(&mut self, a: Area, at: impl IntoIterator<Item = (f64, String)>) {
        for (x, l) in at {
            self.text(x, a.bottom() + 15.0, Anchor::Middle, "fill=\"#555\"", &l);
        }
    }

    /// One legend entry: a short line in the stroke's style, then its name.
    pub(crate) fn legend(&mut self, x: f64, y: f64, st: Stroke, name: &str) {
        self.line(x, y, x + 20.0, y, st);
        self.text(x + 24.0, y + 4.0, Anchor::Start, "", name);
    }

    /// One legend entry for a marker: a dot with a whisker, then its name.
    pub(crate) fn legend_dot(&mut self, x: f64, y: f64, color: &str, name: &str) {
        self.line(x, y, x + 20.0, y, Stroke::new(color, 1.5));
        self.circle(x + 10.0, y, 4.0, color);
        self.text(x + 24.0, y + 4.0, Anchor::Start, "", name);
    }

    pub(crate) fn finish(mut self) -> String {
        self.s.push_str("</svg>\n");
        self.s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_short() {
        let mut s = Svg::new(100.0, 50.5);
        s.text(1.0, 2.25, Anchor::End, "", "a < b & \"c\"");
        s.line(0.0, 0.0, 3.0, 4.0, Stroke::new("#000", 2.0).dashed("5,4"));
        let out = s.finish();
        assert!(out.contains("width=\"100\" height=\"50.5\""), "{out}");
        assert!(
            out.contains(">a &lt; b &amp; &quot;c&quot;</text>"),
            "{out}"
        );
        assert!(out.contains("text-anchor=\"end\""), "{out}");
        assert!(
            out.contains("stroke-width=\"2\" stroke-dasharray=\"5,4\""),
            "{out}"
        );
        assert!(out.ends_with("</svg>\n"));
    }

    #[test]
    fn a_series_breaks_at_long_gaps() {
        let mut s = Svg::new(10.0, 10.0);
        let nan = f64::NAN;
        s.series(
            &[1.0, 2.0, nan, 3.0, nan, nan, nan, nan, 4.0, 5.0],
            |i| i as f64,
            |v| v,
            3,
            Stroke::new("#000", 1.0),
        );
        assert_eq!(s.finish().matches("<polyline").count(), 2);
    }

    #[test]
    fn tick_labels_keep_what_the_step_needs() {
        assert_eq!([0.0, 0.5, 2.5, 7.5, 10.0, 1500.0].map(tick_label), ["0", "0.5", "2.5", "7.5", "10", "1500"]);
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(2.2), 2.5);
        assert_eq!(nice(1900.0), 2000.0);
    }
}
