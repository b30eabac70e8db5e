//! A local chatmail-like relay on 127.0.0.1, for the tests and the demo:
//!
//! - **dovecot** for IMAP (IDLE, METADATA) on a free port, with its own
//!   configuration, base directory and pid, users from a passwd-file,
//!   mailboxes owned by a non-root user, and LMTP on a unix socket in its
//!   base directory;
//! - **SMTP** ([`crate::smtp`]): the relay's users submit, it delivers into
//!   dovecot's LMTP;
//! - **coturn** with REST credentials, announced to every user the way
//!   chatmail does: the IMAP METADATA key `/shared/vendor/deltachat/turn`
//!   with `host:port:expiry:password`.
//!
//! Everything is stopped by its process handle on drop; nothing listens
//! beyond 127.0.0.1.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use testhost::turn::{free_port, Turn};
use testhost::{err, Error, Result, TempDir};

use crate::smtp::{Smtp, Users};

/// The mail domain of the relay's users.
pub const DOMAIN: &str = "example.org";
/// The METADATA key the core reads its TURN server from.
pub const TURN_METADATA_KEY: &str = "/shared/vendor/deltachat/turn";
/// How long TURN credentials are valid: like chatmail, 5 days. (The core
/// ignores credentials that expire within 12 h.)
const TURN_VALIDITY: Duration = Duration::from_secs(5 * 24 * 3600);

/// One user of the relay.
#[derive(Debug, Clone)]
pub struct Login {
    pub addr: String,
    pub password: String,
}

/// The relay; every process is stopped when it is dropped.
pub struct Relay {
    dovecot: Dovecot,
    smtp: Smtp,
    turn: Turn,
    turn_secret: String,
    users: Users,
}

impl Relay {
    /// Starts dovecot, the SMTP server and coturn, with one throw-away user
    /// `NAME@example.org` per name (random passwords), each already given
    /// TURN credentials: the core reads them when its IMAP connection comes
    /// up, so they must be there before the first login.
    pub fn start(names: &[&str]) -> Result<Relay> {
        let mut logins = HashMap::new();
        for name in names {
            let addr = format!("{}@{DOMAIN}", name.to_ascii_lowercase());
            logins.insert(addr, random_token());
        }
        // All users at once, before dovecot starts: it rereads a changed
        // passwd-file at most once a second.
        let dovecot = Dovecot::start(&logins)?;
        let users: Users = Arc::new(Mutex::new(logins));
        let smtp = Smtp::start(users.clone(), dovecot.lmtp_socket())?;
        let turn_secret = random_token();
        let turn = Turn::start_rest(&turn_secret)?;
        let relay = Relay { dovecot, smtp, turn, turn_secret, users };
        for name in names {
            let login = relay.login(name)?;
            relay.dovecot.set_server_metadata(&login.addr, TURN_METADATA_KEY, &relay.turn_credentials())?;
        }
        Ok(relay)
    }

    /// The user `name` was started with.
    pub fn login(&self, name: &str) -> Result<Login> {
        let addr = format!("{}@{DOMAIN}", name.to_ascii_lowercase());
        let users = self.users.lock().map_err(|_| Error::new("poisoned"))?;
        match users.get(&addr) {
            Some(password) => Ok(Login { addr, password: password.clone() }),
            None => err(format!("the relay has no user {addr}")),
        }
    }

    /// `127.0.0.1:PORT:EXPIRY:PASSWORD`: coturn's REST credentials, username
    /// the expiry (Unix time), password base64(HMAC-SHA1(secret, username)).
    pub fn turn_credentials(&self) -> String {
        let expiry = (SystemTime::now() + TURN_VALIDITY).duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let password = turn_password(&self.turn_secret, &expiry.to_string());
        format!("127.0.0.1:{}:{expiry}:{password}", self.turn.port())
    }

    /// The parameters of `add_or_update_transport` for `login`: plain IMAP
    /// and SMTP on loopback.
    pub fn transport(&self, login: &Login) -> Value {
        json!({
            "addr": login.addr,
            "password": login.password,
            "imapServer": "127.0.0.1",
            "imapPort": self.dovecot.imap_port,
            "imapSecurity": "plain",
            "smtpServer": "127.0.0.1",
            "smtpPort": self.smtp.port(),
            "smtpSecurity": "plain",
            "certificateChecks": "automatic",
        })
    }

    pub fn turn(&self) -> &Turn {
        &self.turn
    }

    /// dovecot's log so far (for failure messages).
    pub fn mail_log(&self) -> String {
        std::fs::read_to_string(self.dovecot.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

/// base64(HMAC-SHA1(secret, username)): coturn's `--use-auth-secret`
/// password for `username`.
pub fn turn_password(secret: &str, username: &str) -> String {
    testhost::base64(&hmac_sha1(secret.as_bytes(), username.as_bytes()))
}

/// HMAC (RFC 2104) over SHA-1.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha1::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha1::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// 32 hex digits from the OS's random source (passwords, the TURN secret).
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // Throw-away credentials on loopback: time and pid are enough.
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes = (t ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------
// dovecot

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

const NOT_INSTALLED: &str = "dovecot is not installed: apt-get install dovecot-imapd dovecot-lmtpd";

/// A dovecot master process in the foreground (`-F`) with everything in
/// one temporary directory.
struct Dovecot {
    child: Child,
    imap_port: u16,
    config: PathBuf,
    doveadm: PathBuf,
    dir: TempDir,
}

impl Dovecot {
    fn start(users: &HashMap<String, String>) -> Result<Dovecot> {
        let bin = find(&["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]).ok_or_else(|| Error::new(NOT_INSTALLED))?;
        let doveadm = find(&["/usr/bin/doveadm", "/usr/local/bin/doveadm"]).ok_or_else(|| Error::new(NOT_INSTALLED))?;
        if !Path::new("/usr/lib/dovecot/lmtp").is_file() && !Path::new("/usr/local/libexec/dovecot/lmtp").is_file() {
            return err(NOT_INSTALLED);
        }
        let mut last = String::new();
        // A port can be taken between asking and binding: try a few.
        for _ in 0..3 {
            match Dovecot::start_once(&bin, &doveadm, users) {
                Ok(d) => return Ok(d),
                Err(e) => last = e.0,
            }
        }
        err(last)
    }

    fn start_once(bin: &Path, doveadm: &Path, users: &HashMap<String, String>) -> Result<Dovecot> {
        let dir = TempDir::new("dchost-dovecot")?;
        let imap_port = free_port()?;
        let owner = mail_owner();
        let home = dir.path().join("home");
        std::fs::create_dir(&home)?;
        std::os::unix::fs::chown(&home, Some(owner.0), Some(owner.1))?;
        let mut passwd = String::new();
        for (addr, password) in users {
            if addr.contains([':', '\n', '/']) || password.contains([':', '\n']) {
                return err(format!("unusable user {addr:?}"));
            }
            // user:password:uid:gid:(gecos):home:(shell):(extra fields)
            let home = home.join(addr);
            passwd.push_str(&format!("{addr}:{{PLAIN}}{password}:{}:{}::{}::\n", owner.0, owner.1, home.display()));
        }
        std::fs::write(dir.path().join("passwd"), passwd)?;
        let config = dir.path().join("dovecot.conf");
        std::fs::write(&config, dovecot_conf(dir.path(), imap_port))?;
        let mut child = testhost::die_with_parent(&mut Command::new(bin))
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error(format!("cannot start {}: {e}", bin.display())))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let stderr = stderr.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(std::result::Result::ok).take(200) {
                    if let Ok(mut s) = stderr.lock() {
                        s.push_str(&line);
                        s.push('\n');
                    }
                }
            });
        }
        let d = Dovecot { child, imap_port, config, doveadm: doveadm.to_path_buf(), dir };
        if let Err(e) = d.wait_ready(Duration::from_secs(10)) {
            let log = std::fs::read_to_string(d.dir.path().join("dovecot.log")).unwrap_or_default();
            let stderr = stderr.lock().map(|s| s.clone()).unwrap_or_default();
            return err(format!("{e}\ndovecot's log:\n{log}\nits stderr:\n{stderr}"));
        }
        Ok(d)
    }

    /// Waits until IMAP greets.
    fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let greeting = TcpStream::connect_timeout(&([127, 0, 0, 1], self.imap_port).into(), Duration::from_secs(1))
                .and_then(|s| {
                    s.set_read_timeout(Some(Duration::from_secs(2)))?;
                    let mut line = String::new();
                    BufReader::new(s).read_line(&mut line)?;
                    Ok(line)
                });
            if greeting.is_ok_and(|g| g.starts_with("* OK")) && self.lmtp_socket().exists() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(50));
        }
        err(format!("dovecot did not greet on IMAP port {} within {timeout:?}", self.imap_port))
    }

    fn lmtp_socket(&self) -> PathBuf {
        self.dir.path().join("run").join("lmtp")
    }

    /// `doveadm mailbox metadata set -s ""`: server metadata of a user.
    fn set_server_metadata(&self, addr: &str, key: &str, value: &str) -> Result<()> {
        let out = Command::new(&self.doveadm)
            .arg("-c")
            .arg(&self.config)
            .args(["mailbox", "metadata", "set", "-u", addr, "-s", "", key, value])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error(format!("cannot run {}: {e}", self.doveadm.display())))?;
        if out.status.success() {
            Ok(())
        } else {
            err(format!("doveadm metadata set for {addr} failed: {}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children; then for sure.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: a plain kill(2) of our own child, which has not been
            // waited for yet (so the pid is still ours).
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        testhost::reap(&mut self.child, Duration::from_secs(3));
    }
}

/// Who owns the mailboxes: dovecot refuses root, so as root `nobody`
/// (65534); otherwise whoever runs this.
fn mail_owner() -> (u32, u32) {
    // SAFETY: getuid/getgid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    if uid == 0 {
        (65534, 65534)
    } else {
        (uid, gid)
    }
}

/// The whole configuration: IMAP on 127.0.0.1:`imap_port`, LMTP on a
/// socket, no TLS (loopback), users from `passwd` (passdb and userdb).
fn dovecot_conf(dir: &Path, imap_port: u16) -> String {
    let d = dir.display();
    // Not root: dovecot runs all its processes as this user and group.
    // SAFETY: getuid cannot fail and touches no memory.
    let rootless = match unsafe { libc::getuid() } {
        0 => String::new(),
        _ => {
            let id = |flag: &str| {
                let out = Command::new("id").arg(flag).output().ok().filter(|o| o.status.success());
                out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
            };
            let (user, group) = (id("-un"), id("-gn"));
            format!("default_internal_user = {user}\ndefault_login_user = {user}\ndefault_internal_group = {group}\n")
        }
    };
    format!(
        r#"# Generated by dchost (crates/dchost/src/relay.rs) for one test run.
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
{rootless}protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
# IMAP METADATA (the TURN credentials live there).
mail_attribute_dict = file:%h/dovecot-attributes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
# No chroot: it needs root, and these are throw-away test processes.
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
protocol imap {{
  imap_metadata = yes
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha1_rfc2202() {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(hex(&hmac_sha1(&[0x0b; 20], b"Hi There")), "b617318655057264e28bc0b6fb378c8ef146be00");
        assert_eq!(hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        // A key longer than the block is hashed first (test case 6).
        assert_eq!(
            hex(&hmac_sha1(&[0xaa; 80], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 32);
    }
}
