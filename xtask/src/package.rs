//! `cargo xtask package`: the npm package hosts consume, in the layout of
//! today's `@deltachat/calls-webapp` (`dist/index.html` at the top of the
//! package), so that switching is one line in a host's package.json:
//! `"@deltachat/calls-webapp": "npm:calls-webapp-rs@<version>"`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{dist, root, Result};

pub(crate) const NPM_NAME: &str = "calls-webapp-rs";

/// Writes `target/package/calls-webapp-rs/` and packs it with `npm pack`
/// into `target/package/`; returns the tarball's path.
pub(crate) fn package(dist_dir: &Path, out: &Path) -> Result<PathBuf> {
    let dir = out.join(NPM_NAME);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("dist")).map_err(|e| format!("{}: {e}", dir.display()))?;
    for f in ["index.html", "index-debug.html"] {
        copy(&dist_dir.join(f), &dir.join("dist").join(f))?;
    }
    for f in ["README.md", "INTEGRATING.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        copy(&root().join(f), &dir.join(f))?;
    }
    let version = npm_version(&crate::pack::version());
    std::fs::write(dir.join("package.json"), package_json(&version)).map_err(|e| format!("package.json: {e}"))?;
    let output = Command::new("npm")
        .arg("pack")
        .arg("--pack-destination")
        .arg(out)
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("cannot run npm (install Node.js and npm): {e}"))?;
    if !output.status.success() {
        return Err(format!("npm pack failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let name = String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().trim().to_string();
    let tarball = out.join(name);
    if !tarball.is_file() {
        return Err(format!("npm pack did not produce {}", tarball.display()));
    }
    Ok(tarball)
}

pub(crate) fn run() -> Result {
    let out = root().join("target").join("package");
    let tarball = package(&dist(), &out)?;
    println!("{}", tarball.display());
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| format!("{}: {e}", from.display()))
}

/// npm wants semver: `0.1.0+g1a2b3c4-dirty` becomes `0.1.0-dev.g1a2b3c4`
/// (a prerelease, so it never outranks a release), a tag `0.2.0` stays.
fn npm_version(v: &str) -> String {
    match v.split_once('+') {
        Some((base, build)) => {
            let build: String = build.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
            [base, "-dev.", &build].concat()
        }
        None => v.to_string(),
    }
}

fn package_json(version: &str) -> String {
    let fields = [
        ("name", NPM_NAME.to_string()),
        ("version", version.to_string()),
        ("description", "The Delta Chat call page (WebRTC 1:1 calls), in Rust: one self-contained dist/index.html".into()),
        ("license", "MIT OR Apache-2.0".into()),
        ("repository", env!("CARGO_PKG_REPOSITORY").into()),
    ];
    let mut s = String::from("{\n");
    for (k, v) in fields {
        s.push_str("  ");
        call_core::json::write_str(&mut s, k);
        s.push_str(": ");
        call_core::json::write_str(&mut s, &v);
        s.push_str(",\n");
    }
    s.push_str("  \"files\": [\"dist\", \"INTEGRATING.md\"]\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_become_semver() {
        assert_eq!(npm_version("0.1.0"), "0.1.0");
        assert_eq!(npm_version("0.1.0+g1a2b3c4d5-dirty"), "0.1.0-dev.g1a2b3c4d5dirty");
    }

    /// The tarball installs with plain `npm install` into an empty folder
    /// and yields the page where hosts look for it.
    #[test]
    fn tarball_installs_and_yields_dist_index_html() {
        let dist = std::env::var_os("CALLS_DIST").map(PathBuf::from).unwrap_or_else(dist);
        assert!(dist.join("index.html").is_file(), "run `cargo xtask build` first");
        let tmp = root().join("target").join("package-test");
        let _ = std::fs::remove_dir_all(&tmp);
        let tarball = package(&dist, &tmp.join("out")).unwrap();
        let app = tmp.join("app");
        std::fs::create_dir_all(&app).unwrap();
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--offline", "--no-package-lock"])
            .arg(&tarball)
            .current_dir(&app)
            .status()
            .unwrap();
        assert!(status.success());
        let installed = app.join("node_modules").join(NPM_NAME);
        let page = std::fs::read(installed.join("dist/index.html")).unwrap();
        assert_eq!(page, std::fs::read(dist.join("index.html")).unwrap());
        assert!(installed.join("dist/index-debug.html").is_file());
        let pj = std::fs::read_to_string(installed.join("package.json")).unwrap();
        assert!(pj.contains("\"name\": \"calls-webapp-rs\""), "{pj}");
    }
}
