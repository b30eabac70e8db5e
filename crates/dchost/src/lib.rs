//! A reference host for the call page on the real Delta Chat core.
//!
//! It is the worked example of an integration (INTEGRATING.md): each
//! account runs in its own `deltachat-rpc-server` ([`rpc`]), and [`host`]
//! implements `window.calls` on top of it exactly as Delta Chat Desktop
//! does. [`relay`] is a local mail and TURN relay on 127.0.0.1 (dovecot,
//! a small SMTP-to-LMTP server, coturn with REST credentials announced
//! through IMAP METADATA) so that two real accounts can call each other
//! offline; the tests and `cargo xtask demo --core` use it.

pub mod host;
pub mod relay;
pub mod rpc;
pub mod smtp;

pub use host::{pair, run_until, Account, Host, What};
pub use relay::Relay;

use std::path::PathBuf;

/// The core binary: `$DELTACHAT_RPC_SERVER` (set by `cargo xtask test` and
/// `cargo xtask demo --core`), else where `cargo xtask setup` puts it.
pub fn core_binary() -> PathBuf {
    match std::env::var_os("DELTACHAT_RPC_SERVER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => testhost::workspace_root()
            .join("target/tools")
            .join(format!("deltachat-rpc-server-{CORE_VERSION}"))
            .join("deltachat_rpc_server/deltachat-rpc-server"),
    }
}

/// The core version this host is tested with (pinned in xtask).
pub const CORE_VERSION: &str = "2.65.0";
