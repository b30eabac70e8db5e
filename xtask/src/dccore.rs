//! The real Delta Chat core for the reference host's tests and
//! `cargo xtask demo --core`: `deltachat-rpc-server` at a pinned version,
//! from PyPI (a wheel holding one static binary), checked against a pinned
//! sha256, unpacked into `target/tools/` once. Never committed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{root, Result};

/// Keep in step with `dchost::CORE_VERSION`.
pub(crate) const VERSION: &str = "2.65.0";

/// sha256 of the wheel of that version per CPU (PyPI's
/// `deltachat_rpc_server-2.65.0-py3-none-manylinux_2_17_ARCH….whl`).
const WHEELS: &[(&str, &str)] = &[
    ("x86_64", "f2ec9f161ad0ebd3352791a7f8a72d5a1a0e4f3babbd3f12ca8cef40ad8b8aa0"),
    ("aarch64", "73cb549de372650b623d24e196b5efb55cea546e714c01b40825d9bc71f5f456"),
];

fn dir() -> PathBuf {
    root().join("target").join("tools").join(format!("deltachat-rpc-server-{VERSION}"))
}

/// The binary's path, fetching it first if it is not there.
pub(crate) fn rpc_server() -> Result<PathBuf> {
    let dir = dir();
    let bin = dir.join("deltachat_rpc_server").join("deltachat-rpc-server");
    if bin.is_file() {
        return Ok(bin);
    }
    let arch = std::env::consts::ARCH;
    let Some((_, want)) = WHEELS.iter().find(|(a, _)| *a == arch) else {
        return Err(format!(
            "no pinned deltachat-rpc-server wheel for {arch} (only {:?}); \
             set DELTACHAT_RPC_SERVER to a {VERSION} binary",
            WHEELS.iter().map(|w| w.0).collect::<Vec<_>>()
        ));
    };
    let wheels = dir.join("wheel");
    std::fs::create_dir_all(&wheels).map_err(|e| format!("{}: {e}", wheels.display()))?;
    eprintln!("xtask: fetching deltachat-rpc-server {VERSION} from PyPI (the real core, for the reference host)");
    let spec = format!("deltachat-rpc-server=={VERSION}");
    let pip_args = ["download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-d"];
    let fetched = ["pip3", "pip"].iter().any(|pip| {
        Command::new(pip).args(pip_args).arg(&wheels).arg(&spec).status().is_ok_and(|s| s.success())
    });
    if !fetched {
        return Err(format!("`pip download {spec}` failed (is pip installed? apt-get install python3-pip)"));
    }
    let wheel = std::fs::read_dir(&wheels)
        .map_err(|e| format!("{}: {e}", wheels.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl") && p.to_string_lossy().contains(arch))
        .ok_or("pip wrote no wheel for this machine")?;
    let got = sha256_file(&wheel)?;
    if got != *want {
        let _ = std::fs::remove_file(&wheel);
        return Err(format!("{} has sha256 {got}, want {want}: refusing it", wheel.display()));
    }
    // A wheel is a zip file; Python (there with pip) unpacks it.
    crate::run(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&dir))?;
    set_executable(&bin)?;
    let version = Command::new(&bin).arg("--version").output().map_err(|e| format!("{}: {e}", bin.display()))?;
    // It prints its version on stderr.
    let version = [version.stdout, version.stderr].concat();
    let version = String::from_utf8_lossy(&version);
    if version.trim() != VERSION {
        let _ = std::fs::remove_file(&bin);
        return Err(format!("{} says it is {:?}, not {VERSION}", bin.display(), version.trim()));
    }
    Ok(bin)
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result {
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pinned_version_matches_the_host() {
        let lib = std::fs::read_to_string(crate::root().join("crates/dchost/src/lib.rs")).unwrap();
        let want = format!("pub const CORE_VERSION: &str = \"{}\";", super::VERSION);
        assert!(lib.contains(&want), "dchost::CORE_VERSION differs from xtask's pinned core version");
    }
}
