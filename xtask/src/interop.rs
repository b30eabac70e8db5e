//! The deployed page, for the interop tests (ours calls theirs and back).
//! It is fetched from the npm registry at a pinned version into `target/`
//! and never committed: it is GPL-licensed and not ours.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, Result};

/// `@deltachat/calls-webapp` as Delta Chat Desktop ships it (the registry's
/// newest release at the time of writing; a debug build, 559 kB).
pub(crate) const PACKAGE: &str = "@deltachat/calls-webapp";
pub(crate) const VERSION: &str = "0.12.1-beta-debug";
/// `dist.shasum` of that tarball in the registry (npm also checks its
/// sha512 integrity when it downloads).
const SHA1: &str = "67504f904dd3098e52ed5059c4a46906a1247a43";

/// Returns the path of the deployed `index.html`, fetching it once.
pub(crate) fn deployed_page() -> Result<PathBuf> {
    let dir = root().join("target").join("interop").join(VERSION);
    let page = dir.join("package").join("dist").join("index.html");
    if page.is_file() {
        return Ok(page);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    eprintln!("xtask: fetching {PACKAGE}@{VERSION} from the npm registry (interop tests)");
    let out = Command::new("npm")
        .args(["pack", "--json", &[PACKAGE, "@", VERSION].concat(), "--pack-destination"])
        .arg(&dir)
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("cannot run npm (install Node.js and npm): {e}"))?;
    let json = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !json.contains(SHA1) {
        return Err(format!(
            "npm pack {PACKAGE}@{VERSION} failed or gave an unexpected tarball (want shasum {SHA1}): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let tarball = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("npm pack wrote no tarball")?;
    crate::run(Command::new("tar").arg("xzf").arg(&tarball).current_dir(&dir))?;
    if page.is_file() {
        Ok(page)
    } else {
        Err(format!("{} has no dist/index.html", tarball.display()))
    }
}
