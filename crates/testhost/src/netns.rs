//! Network namespaces for tests of the direct path: each browser gets a
//! namespace of its own, joined to the other by a veth pair, so the call's
//! only route is that link and the test can cut it, or change an address,
//! while the call runs (this kernel has no netem and no netfilter; `ip` is
//! enough).
//!
//! Nothing is exposed outside the test: the namespaces have no route to
//! the machine's network. The test process stays in its own namespace; a
//! socket it needs inside one (the DevTools websocket, the page server's
//! listener) is created by a short-lived thread that joins the namespace
//! first ([`Netns::enter`]), and a socket keeps its namespace for life.
//!
//! Needs root (CAP_SYS_ADMIN) and iproute2. [`Netns::new`] says so clearly
//! when either is missing.

use std::fs::File;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

use crate::{err, Error, Result};

/// One network namespace with its loopback up; deleted on drop (which
/// also deletes its end of any veth pair, and so the pair).
pub struct Netns {
    name: String,
    file: File,
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error(format!("cannot run `ip` (iproute2 is needed for the network tests): {e}")))?;
    if !out.status.success() {
        return err(format!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

impl Netns {
    /// A new namespace; `tag` makes its name readable in `ip netns list`.
    pub fn new(tag: &str) -> Result<Netns> {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("calls-{}-{}-{tag}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        ip(&["netns", "add", &name]).map_err(|e| {
            Error(format!("{e}\n(the network-namespace tests run as root with iproute2 installed)"))
        })?;
        let path = format!("/var/run/netns/{name}");
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = ip(&["netns", "del", &name]);
                return err(format!("cannot open {path}: {e}"));
            }
        };
        let ns = Netns { name, file };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS…`.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Runs `f` on a thread that has joined this namespace: sockets `f`
    /// creates belong to it, wherever they are used later.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        enter(&self.file, f)
    }

    /// A handle that can [`NsHandle::enter`] the namespace for as long as
    /// it lives, even after the [`Netns`] is gone (then it is empty).
    pub fn handle(&self) -> Result<NsHandle> {
        Ok(NsHandle(self.file.try_clone()?))
    }

    /// Makes `cmd` start inside this namespace.
    pub fn prepare(&self, cmd: &mut Command) {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let fd = self.file.as_raw_fd();
        // SAFETY: runs in the forked child before exec; one system call on
        // a descriptor that the parent keeps open.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// Sets `/proc/sys/KEY` inside this namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", &format!("echo {value} > /proc/sys/{key}")])
            .output()
            .map_err(|e| Error(format!("ip netns exec: {e}")))?;
        if !out.status.success() {
            return err(format!("cannot set {key}: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(())
    }

    /// The link-layer address of `dev` in this namespace.
    pub fn mac(&self, dev: &str) -> Result<String> {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-o", "link", "show", "dev", dev])
            .output()
            .map_err(|e| Error(format!("ip link show: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.split("link/ether ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(String::from)
            .ok_or_else(|| Error(format!("no link-layer address for {dev} in {}: {text}", self.name)))
    }
}

/// See [`Netns::handle`].
pub struct NsHandle(File);

impl NsHandle {
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        enter(&self.0, f)
    }
}

fn enter<T: Send>(ns: &File, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    use std::os::fd::AsRawFd;
    let fd = ns.as_raw_fd();
    thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: setns on this thread only, with an open namespace fd.
            if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                return err(format!("setns: {}", std::io::Error::last_os_error()));
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| err("a thread inside the namespace panicked"))
    })
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Two namespaces joined by one veth pair (`veth0` in each), on
/// 10.77.0.0/24: `a` is 10.77.0.1, `b` 10.77.0.2. Static neighbour
/// entries, so that [`Link::cut`] can break the path without touching an
/// address, a route or a link (which the browsers would see as a network
/// change).
pub struct Link {
    pub a: Netns,
    pub b: Netns,
    mac_a: String,
    mac_b: String,
}

pub const ADDR_A: &str = "10.77.0.1";
pub const ADDR_B: &str = "10.77.0.2";
/// A link-layer address that nobody on the link has.
const NOBODY: &str = "02:00:00:00:77:77";
const DEV: &str = "veth0";

impl Link {
    pub fn new() -> Result<Link> {
        let a = Netns::new("a")?;
        let b = Netns::new("b")?;
        // Short, unique names in the root namespace, moved right away.
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let (ta, tb) = (format!("cv{}a{n}", std::process::id() % 100_000), format!("cv{}b{n}", std::process::id() % 100_000));
        ip(&["link", "add", &ta, "netns", a.name(), "type", "veth", "peer", "name", &tb, "netns", b.name()])?;
        for (ns, tmp, addr) in [(&a, &ta, ADDR_A), (&b, &tb, ADDR_B)] {
            ns.ip(&["link", "set", tmp, "name", DEV])?;
            ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", DEV])?;
            ns.ip(&["link", "set", DEV, "up"])?;
        }
        let (mac_a, mac_b) = (a.mac(DEV)?, b.mac(DEV)?);
        let link = Link { a, b, mac_a, mac_b };
        link.restore()?;
        Ok(link)
    }

    /// Every packet between the two is lost from now on, silently: each
    /// side sends to a link-layer address the other does not have.
    pub fn cut(&self) -> Result<()> {
        self.a.ip(&["neigh", "replace", ADDR_B, "lladdr", NOBODY, "dev", DEV, "nud", "permanent"])?;
        self.b.ip(&["neigh", "replace", ADDR_A, "lladdr", NOBODY, "dev", DEV, "nud", "permanent"])
    }

    /// Packets flow again: each side's entry for the other's first
    /// address names the real link-layer address. (Cut and restore are
    /// for the first addresses; a moved side is found by ARP.)
    pub fn restore(&self) -> Result<()> {
        self.a.ip(&["neigh", "replace", ADDR_B, "lladdr", &self.mac_b, "dev", DEV, "nud", "permanent"])?;
        self.b.ip(&["neigh", "replace", ADDR_A, "lladdr", &self.mac_a, "dev", DEV, "nud", "permanent"])
    }

    /// `a` changes its address, as a phone does when it changes network:
    /// the new address is added, then the old one removed.
    pub fn move_a(&self, new_addr: &str) -> Result<()> {
        Link::move_side(&self.a, ADDR_A, &self.b, new_addr)
    }

    /// [`Link::move_a`] for `b`.
    pub fn move_b(&self, new_addr: &str) -> Result<()> {
        Link::move_side(&self.b, ADDR_B, &self.a, new_addr)
    }

    fn move_side(ns: &Netns, old: &str, other: &Netns, new_addr: &str) -> Result<()> {
        // The new address is a secondary one; without promotion the kernel
        // would delete it together with the primary.
        ns.sysctl(&format!("net/ipv4/conf/{DEV}/promote_secondaries"), "1")?;
        ns.ip(&["addr", "add", &format!("{new_addr}/24"), "dev", DEV])?;
        // The other side finds the new address by ARP.
        other.ip(&["neigh", "del", old, "dev", DEV])?;
        ns.ip(&["addr", "del", &format!("{old}/24"), "dev", DEV])
    }
}
