//! `cargo xtask bench [--runs N] [--scenario ID[,ID…]] [--smoke] [--out FILE] [--trace DIR] [--list]`:
//! our page and the deployed page (`@deltachat/calls-webapp`) measured side
//! by side in one run. Not part of the test suite.
//!
//! Sets up, builds the page, fetches the deployed page, then runs the
//! benchmark binary (`crates/e2e/src/bin/bench`) in release mode with
//! `CALLS_DIST` and `CALLS_INTEROP_PAGE` set. A run of every scenario writes
//! `BENCHMARKS.md` at the workspace root; `--smoke` (= `--runs 1 --scenario
//! none`) checks the harness in well under a minute. `--soak [MINUTES]
//! [--flap GAP/PERIOD] [--path relayed|direct] [--every SECONDS]` runs one long call per page
//! instead and writes its own section of `BENCHMARKS.md`; so does `--hostile [--runs N]
//! [--attack ID[,ID…]]`, a peer that misbehaves against each page, and
//! `--quality [--runs N] [--profile IDS] [--window SECONDS]`, call quality
//! on shaped paths, with the dip's plot in `docs/bench/`. Each run that
//! writes `BENCHMARKS.md` redraws its summary and the plots
//! `docs/bench/setup.svg` and `docs/bench/soak.svg`; `--plots` only does
//! that, from the numbers already in the file: no setup, no build, no
//! browser, seconds.

use crate::{cargo, dist, Result};

pub(crate) fn run(args: &[String]) -> Result {
    if args.iter().any(|a| a == "--plots") {
        let mut c = cargo();
        c.args(["run", "--quiet", "--release", "--package", "e2e", "--bin", "bench", "--"]).args(args);
        return crate::run(&mut c);
    }
    crate::setup::run()?;
    crate::pack::build_all()?;
    let theirs = crate::interop::deployed_page()?;
    let mut c = cargo();
    c.args(["run", "--quiet", "--release", "--package", "e2e", "--bin", "bench", "--"]).args(args);
    c.env("CALLS_DIST", dist()).env("CALLS_INTEROP_PAGE", theirs);
    crate::run(&mut c)
}
