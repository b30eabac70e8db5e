//! `cargo xtask demo`: serves the demo page (Alice and Bob side by side)
//! with a local coturn when one is installed, until Ctrl-C.

use std::time::Duration;

use testhost::server::{Server, ServerConfig};
use testhost::turn::{turnserver_path, Turn};

fn main() {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => usage("--port needs a number"),
            },
            "-h" | "--help" => {
                println!("testhost [--port N]: serves http://127.0.0.1:PORT/demo (two call pages) until Ctrl-C");
                return;
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if let Err(e) = testhost::require_dist() {
        eprintln!("warning: {e}");
    }
    let turn = if turnserver_path().is_some() {
        match Turn::start() {
            Ok(t) => {
                println!("coturn on 127.0.0.1:{} (user test, password secret)", t.port());
                Some(t)
            }
            Err(e) => {
                eprintln!("coturn did not start, calls are P2P only: {e}");
                None
            }
        }
    } else {
        println!("coturn (turnserver) not installed: calls are P2P only");
        None
    };
    let demo_ice_servers = turn.as_ref().map(|t| t.ice_servers()).unwrap_or_else(|| "[]".into());
    let server = match Server::start_with(ServerConfig { port, demo_ice_servers }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot start the server: {e}");
            std::process::exit(1);
        }
    };
    println!("Serving {}", testhost::dist_dir().display());
    println!("Open {}", server.url("/demo"));
    // Runs until Ctrl-C (or any signal): coturn dies with this process
    // (see `testhost::die_with_parent`).
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("{msg}\nusage: testhost [--port N]");
    std::process::exit(2);
}
