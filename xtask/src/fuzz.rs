//! `cargo xtask fuzz [SECONDS]`: a bounded run of every fuzz target of
//! call-core (`crates/call-core/fuzz`, a cargo workspace of its own), for
//! CI and for a quick check by hand. Long runs: see that folder's Cargo.toml.
//!
//! - cargo-fuzz is installed if missing.
//! - The stable toolchain is used: `RUSTC_BOOTSTRAP=1` lets it accept the
//!   `-Z` flags cargo-fuzz passes for the libFuzzer instrumentation.
//! - No sanitizer (`-s none`): the core is safe Rust without `unsafe`, so
//!   AddressSanitizer would find nothing and halve the executions; panics,
//!   overflow checks and debug assertions are what catches bugs here.
//! - Builds go to `target/fuzz` under the workspace root, so they are cached
//!   between runs and kept apart from the normal (uninstrumented) builds.
//! - Two targets run at a time, one per core of the two-core machines
//!   this project is tested on: the same fuzzing per target in half the
//!   wall time of `cargo xtask test`.
//! - Each target runs in one process for the given time, from the committed
//!   seeds (`fuzz/corpus/<target>`) plus what earlier runs on this machine
//!   found (`target/fuzz/corpus/<target>`), with its dictionary if it has one.
//! - A crash fails the run and names the file with the input; reproduce it
//!   with `cargo fuzz run -s none <target> <file>` in the fuzz folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use crate::{cargo, root, Result};

/// Every target in `crates/call-core/fuzz/fuzz_targets`.
const TARGETS: [&str; 7] = ["fragment", "payload", "ice_servers", "channel", "json", "avatar", "machine"];

/// The seconds per target from the command line (default 10).
pub(crate) fn seconds(args: &[String]) -> Result<u64> {
    match args.first() {
        None => Ok(10),
        Some(s) => s.parse().map_err(|_| format!("fuzz: seconds per target expected, got {s:?}")),
    }
}

pub(crate) fn run(seconds_per_target: u64) -> Result {
    ensure_cargo_fuzz()?;
    let fuzz_dir = root().join("crates/call-core/fuzz");
    let target_dir = root().join("target/fuzz");
    let started = Instant::now();
    // One build of all targets; each `cargo fuzz run` below then only checks
    // that it is up to date.
    crate::run(&mut fuzz_cmd(&fuzz_dir, "build", &target_dir))?;
    for pair in TARGETS.chunks(2) {
        let runs: Vec<_> = pair
            .iter()
            .map(|t| {
                let (fuzz_dir, target_dir) = (fuzz_dir.clone(), target_dir.clone());
                std::thread::spawn(move || run_target(&fuzz_dir, &target_dir, t, seconds_per_target))
            })
            .collect();
        for r in runs {
            r.join().map_err(|_| "fuzz: a target's thread panicked".to_string())??;
        }
    }
    println!("fuzz: {} targets, {seconds_per_target} s each, no crash ({} s in all)", TARGETS.len(), started.elapsed().as_secs());
    Ok(())
}

/// `cargo fuzz build|run` in the fuzz workspace, with the options both take.
fn fuzz_cmd(fuzz_dir: &Path, sub: &str, target_dir: &Path) -> Command {
    let mut c = cargo();
    c.current_dir(fuzz_dir).env("RUSTC_BOOTSTRAP", "1").args(["fuzz", sub, "-s", "none", "--target-dir"]);
    c.arg(target_dir);
    c
}

fn run_target(fuzz_dir: &Path, target_dir: &Path, target: &str, seconds: u64) -> Result {
    let corpus = target_dir.join("corpus").join(target);
    let artifacts = target_dir.join("artifacts").join(target);
    for d in [&corpus, &artifacts] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let seeds = fuzz_dir.join("corpus").join(target);
    let dict = fuzz_dir.join("dict").join(format!("{target}.dict"));
    let mut c = fuzz_cmd(fuzz_dir, "run", target_dir);
    c.arg(target);
    // The first corpus folder receives new inputs; the seeds are only read.
    c.arg(&corpus);
    if seeds.is_dir() {
        c.arg(&seeds);
    }
    c.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    if dict.is_file() {
        c.arg(format!("-dict={}", dict.display()));
    }
    println!("fuzz: {target} for {seconds} s");
    let since = SystemTime::now();
    let shown = format!("{c:?}");
    let status = c.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        return Ok(());
    }
    match newest_artifact(&artifacts, since) {
        Some(file) => Err(format!(
            "fuzz target {target} crashed; input: {} (reproduce: cd {} && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --target-dir {} {target} {0})",
            file.display(),
            fuzz_dir.display(),
            target_dir.display(),
        )),
        None => Err(format!("{shown} failed ({status})")),
    }
}

/// The crash (or leak, timeout, out-of-memory) input written since `since`.
fn newest_artifact(dir: &Path, since: SystemTime) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .filter(|(t, _)| *t >= since)
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p)
}

fn ensure_cargo_fuzz() -> Result {
    let found = cargo().args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if found {
        return Ok(());
    }
    println!("fuzz: installing cargo-fuzz");
    // `--locked` builds with the dependency versions cargo-fuzz was released
    // and tested with. It fails when that lock file no longer resolves or
    // builds here (a locked dependency yanked, or one that needs a newer or
    // rejects this rustc); then a fresh resolution within cargo-fuzz's
    // semver ranges usually works, so try once more without it.
    let locked = crate::run(cargo().args(["install", "cargo-fuzz", "--locked"]));
    match locked {
        Ok(()) => Ok(()),
        Err(e) => {
            eprintln!("fuzz: {e}; retrying without --locked");
            crate::run(cargo().args(["install", "cargo-fuzz"]))
        }
    }
}
