//! `cargo xtask …`: everything beyond `cargo build` that this project needs,
//! in Rust so that it runs the same on every machine.
//!
//! - `setup`: installs what the build and the tests need (wasm target,
//!   pinned wasm-bindgen CLI, Chromium, coturn, binaryen), or says exactly
//!   what a person has to run where it cannot.
//! - `build`: `dist/index.html` and `dist/index-debug.html`.
//! - `package`: the npm package (folder and tarball) in `target/package/`.
//! - `test`: setup, build, then every test of the workspace (core, the
//!   packed file, the end-to-end browser tests).
//! - `demo`: setup, build, then two simulated Delta Chat windows on
//!   127.0.0.1 calling each other; `demo --core`: two real Delta Chat
//!   accounts (the pinned core, a local relay) and the reference host.
//! - `engines`: setup, build, then the engine matrix with every call made
//!   three times, and the README's engine tables from that run.
//! - `screenshots`: setup, build, then the page's phases in every engine
//!   from real calls into `docs/screenshots/`, and the README's gallery.

mod bench;
#[cfg(test)]
mod circles;
mod dccore;
mod engines;
mod fuzz;
mod b7;
mod imports;
mod interop;
mod pack;
mod package;
mod screenshots;
mod setup;
mod wasmcheck;
#[cfg(test)]
mod disttest;
#[cfg(test)]
mod thinshell;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let r = match args.first().map(String::as_str) {
        Some("setup") => setup::run(),
        Some("build") => setup::run().and_then(|()| pack::build_all()),
        Some("check-wasm") => check_wasm(rest),
        Some("deployed-page") => interop::deployed_page().map(|p| println!("{}", p.display())),
        Some("package") => setup::run().and_then(|()| pack::build_all()).and_then(|()| package::run()),
        Some("test") => test(rest),
        Some("demo") => demo(rest),
        Some("fuzz") => fuzz::seconds(rest).and_then(fuzz::run),
        Some("bench") => bench::run(rest),
        Some("screenshots") => screenshots::run(),
        Some("engines") => engines::run(rest),
        _ => {
            eprintln!("usage: cargo xtask <setup|build|package|check-wasm FILE.wasm|deployed-page|test [cargo test args]|demo [--port N | --core [--relay-only]]|fuzz [SECONDS]|screenshots|engines [--runs N]|bench [--runs N] [--scenario IDS] [--smoke] | bench --soak [MINUTES] [--flap GAP/PERIOD] | bench --quality [--runs N] | bench --plots>");
            return ExitCode::from(2);
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

fn dist() -> PathBuf {
    root().join("dist")
}

/// Runs a command to completion; a failure names the command.
fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn check_wasm(args: &[String]) -> Result {
    let path = args.first().ok_or("check-wasm needs a .wasm file")?;
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    wasmcheck::validate_for_chromium_87(&bytes)?;
    println!("{path}: valid for Chromium 87");
    Ok(())
}

/// Every test: the core's, the packed file's and the browser tests.
fn test(extra: &[String]) -> Result {
    setup::run()?;
    pack::build_all()?;
    let mut c = cargo();
    c.args(["test", "--workspace", "--exclude", "call-web"]).env("CALLS_DIST", dist());
    c.env("CALLS_INTEROP_PAGE", interop::deployed_page()?);
    c.env("DELTACHAT_RPC_SERVER", dccore::rpc_server()?);
    if !extra.is_empty() {
        c.args(extra);
    }
    run(&mut c)?;
    // A smoke run inside the 12 minutes; `cargo xtask fuzz SECONDS` runs
    // longer.
    fuzz::run(4)
}

fn demo(extra: &[String]) -> Result {
    setup::run()?;
    pack::build_all()?;
    let mut c = cargo();
    if extra.first().is_some_and(|a| a == "--core") {
        // The reference host: two real accounts on a local relay.
        c.args(["run", "--quiet", "--package", "dchost", "--bin", "dchost", "--"]).args(&extra[1..]);
        c.env("DELTACHAT_RPC_SERVER", dccore::rpc_server()?);
    } else {
        c.args(["run", "--quiet", "--package", "testhost", "--bin", "testhost", "--"]).args(extra);
    }
    run(c.env("CALLS_DIST", dist()))
}
