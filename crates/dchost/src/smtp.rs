//! The relay's outgoing side: a small SMTP server on 127.0.0.1 that takes
//! mail from the relay's own users (AUTH PLAIN or LOGIN, no TLS: loopback
//! only) and delivers it into dovecot over LMTP.
//!
//! Why not dovecot's submission service: it cannot relay into dovecot's own
//! LMTP (LMTP rejects EHLO), so something has to translate anyway, and this
//! is all of it. Only local recipients are accepted; nothing is forwarded
//! anywhere else.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use testhost::{err, Error, Result};

/// Users and passwords the server accepts (shared with the relay).
pub type Users = Arc<Mutex<HashMap<String, String>>>;

/// The biggest message accepted (the core sends small ones; calls carry
/// an SDP of a few kB).
const MAX_MESSAGE: usize = 32 * 1024 * 1024;
/// The bound of every read and write on either side.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The server; stops accepting when dropped.
pub struct Smtp {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Smtp {
    /// Listens on a free port of 127.0.0.1; delivers to the LMTP socket
    /// `lmtp`.
    pub fn start(users: Users, lmtp: PathBuf) -> Result<Smtp> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = thread::Builder::new().name("relay-smtp".into()).spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (users, lmtp) = (users.clone(), lmtp.clone());
                let _ = thread::Builder::new().name("relay-smtp-conn".into()).spawn(move || {
                    let _ = Session::new(conn, users, lmtp).and_then(|mut s| s.run());
                });
            }
        })?;
        Ok(Smtp { port, stop, thread: Some(thread) })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One SMTP connection.
struct Session {
    input: BufReader<std::io::Take<TcpStream>>,
    out: TcpStream,
    users: Users,
    lmtp: PathBuf,
    user: Option<String>,
    from: Option<String>,
    to: Vec<String>,
}

impl Session {
    fn new(conn: TcpStream, users: Users, lmtp: PathBuf) -> Result<Session> {
        conn.set_read_timeout(Some(IO_TIMEOUT))?;
        conn.set_write_timeout(Some(IO_TIMEOUT))?;
        // A bound on everything one connection may send.
        let input = BufReader::new(conn.try_clone()?.take(4 * MAX_MESSAGE as u64));
        Ok(Session { input, out: conn, users, lmtp, user: None, from: None, to: Vec::new() })
    }

    fn reply(&mut self, text: &str) -> Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\r\n")?;
        Ok(())
    }

    fn line(&mut self) -> Result<Option<String>> {
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
    }

    fn run(&mut self) -> Result<()> {
        self.reply("220 relay.localhost ESMTP (test relay, loopback only)")?;
        while let Some(line) = self.line()? {
            let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
            match verb.to_ascii_uppercase().as_str() {
                "EHLO" => self.reply("250-relay.localhost\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 33554432")?,
                "HELO" => self.reply("250 relay.localhost")?,
                "AUTH" => self.auth(arg)?,
                "MAIL" => self.mail(arg)?,
                "RCPT" => self.rcpt(arg)?,
                "DATA" => self.data()?,
                "RSET" => {
                    self.from = None;
                    self.to.clear();
                    self.reply("250 OK")?;
                }
                "NOOP" => self.reply("250 OK")?,
                "QUIT" => return self.reply("221 Bye"),
                _ => self.reply("502 Command not implemented")?,
            }
        }
        Ok(())
    }

    fn auth(&mut self, arg: &str) -> Result<()> {
        let mut words = arg.split_whitespace();
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next().map(str::to_string);
        let creds = match mechanism.as_str() {
            // base64("\0user\0password"), inline or after a 334.
            "PLAIN" => {
                let resp = match initial {
                    Some(r) => r,
                    None => self.challenge("")?,
                };
                decode(&resp).and_then(|p| {
                    let mut parts = p.split('\0').skip(1);
                    Some((parts.next()?.to_string(), parts.next()?.to_string()))
                })
            }
            "LOGIN" => {
                let user = match initial {
                    Some(r) => r,
                    None => self.challenge("VXNlcm5hbWU6")?,
                };
                let pass = self.challenge("UGFzc3dvcmQ6")?;
                decode(&user).zip(decode(&pass))
            }
            _ => return self.reply("504 Unrecognized authentication type"),
        };
        let ok = creds.as_ref().is_some_and(|(u, p)| {
            self.users.lock().map(|users| users.get(u).is_some_and(|want| want == p)).unwrap_or(false)
        });
        match creds {
            Some((user, _)) if ok => {
                self.user = Some(user);
                self.reply("235 Authentication successful")
            }
            _ => self.reply("535 Authentication credentials invalid"),
        }
    }

    /// Sends a `334` challenge and returns the client's answer.
    fn challenge(&mut self, text: &str) -> Result<String> {
        self.reply(&format!("334 {text}"))?;
        self.line()?.ok_or_else(|| Error::new("connection closed during AUTH"))
    }

    fn mail(&mut self, arg: &str) -> Result<()> {
        if self.user.is_none() {
            return self.reply("530 Authentication required");
        }
        match address(arg, "FROM:") {
            Some(from) => {
                self.from = Some(from);
                self.to.clear();
                self.reply("250 OK")
            }
            None => self.reply("501 Syntax: MAIL FROM:<address>"),
        }
    }

    fn rcpt(&mut self, arg: &str) -> Result<()> {
        if self.from.is_none() {
            return self.reply("503 MAIL first");
        }
        let Some(to) = address(arg, "TO:") else {
            return self.reply("501 Syntax: RCPT TO:<address>");
        };
        let known = self.users.lock().map(|u| u.contains_key(&to)).unwrap_or(false);
        if known {
            self.to.push(to);
            self.reply("250 OK")
        } else {
            self.reply("550 No such user here (this relay delivers locally only)")
        }
    }

    fn data(&mut self) -> Result<()> {
        let Some(from) = self.from.clone().filter(|_| !self.to.is_empty()) else {
            return self.reply("503 MAIL and RCPT first");
        };
        self.reply("354 End data with <CR><LF>.<CR><LF>")?;
        // Kept dot-stuffed as it came: LMTP's DATA uses the same encoding.
        let mut message = Vec::new();
        let mut too_big = false;
        loop {
            let mut line = Vec::new();
            if self.input.read_until(b'\n', &mut line)? == 0 {
                return err("connection closed during DATA");
            }
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            // Read on to the end either way: what follows is not commands.
            too_big |= message.len() + line.len() > MAX_MESSAGE;
            if !too_big {
                message.extend_from_slice(&line);
            }
        }
        let to = std::mem::take(&mut self.to);
        self.from = None;
        if too_big {
            return self.reply("552 Message too big");
        }
        match deliver(&self.lmtp, &from, &to, &message) {
            Ok(()) => self.reply("250 OK: delivered"),
            Err(e) => self.reply(&format!("451 Local delivery failed: {}", e.0.replace(['\r', '\n'], " "))),
        }
    }
}

/// The address in `FROM:<a@b> …` / `TO:<a@b>`.
fn address(arg: &str, prefix: &str) -> Option<String> {
    let rest = arg.get(..prefix.len()).filter(|p| p.eq_ignore_ascii_case(prefix)).map(|_| &arg[prefix.len()..])?;
    let rest = rest.trim_start();
    let inner = rest.strip_prefix('<')?.split('>').next()?;
    Some(inner.to_ascii_lowercase())
}

fn decode(b64: &str) -> Option<String> {
    call_core::payload::base64_decode(b64.trim()).and_then(|b| String::from_utf8(b).ok())
}

/// Reads one LMTP reply (`250-…` lines until `250 …`) and checks its code.
fn expect_reply(input: &mut impl BufRead, code: &str, what: &str) -> Result<()> {
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return err(format!("LMTP closed the connection after {what}"));
        }
        if !line.starts_with(code) {
            return err(format!("LMTP refused {what}: {}", line.trim_end()));
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

/// Delivers one message to dovecot's LMTP socket (RFC 2033): one reply per
/// recipient after the data.
fn deliver(lmtp: &Path, from: &str, to: &[String], message: &[u8]) -> Result<()> {
    let conn = UnixStream::connect(lmtp).map_err(|e| Error(format!("LMTP socket {}: {e}", lmtp.display())))?;
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut out = conn.try_clone()?;
    let mut input = BufReader::new(conn.take(1024 * 1024));
    expect_reply(&mut input, "220", "the greeting")?;
    out.write_all(b"LHLO relay.localhost\r\n")?;
    expect_reply(&mut input, "250", "LHLO")?;
    out.write_all(format!("MAIL FROM:<{from}>\r\n").as_bytes())?;
    expect_reply(&mut input, "250", "MAIL FROM")?;
    for rcpt in to {
        out.write_all(format!("RCPT TO:<{rcpt}>\r\n").as_bytes())?;
        expect_reply(&mut input, "250", &format!("RCPT TO:<{rcpt}>"))?;
    }
    out.write_all(b"DATA\r\n")?;
    expect_reply(&mut input, "354", "DATA")?;
    out.write_all(message)?;
    if !message.ends_with(b"\n") {
        out.write_all(b"\r\n")?;
    }
    out.write_all(b".\r\n")?;
    for rcpt in to {
        expect_reply(&mut input, "250", &format!("the message for {rcpt}"))?;
    }
    let _ = out.write_all(b"QUIT\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(address("FROM:<Alice@Example.org> BODY=8BITMIME", "FROM:").as_deref(), Some("alice@example.org"));
        assert_eq!(address("to: <b@x>", "TO:").as_deref(), Some("b@x"));
        assert_eq!(address("TO:b@x", "TO:"), None);
        assert_eq!(decode("AGFAYgBwdw==").as_deref(), Some("\0a@b\0pw"));
    }

    /// A client session against a fake LMTP server: AUTH, an unknown
    /// recipient refused, the message handed on dot-stuffed as it came.
    #[test]
    fn submits_into_lmtp() -> Result<()> {
        let dir = testhost::TempDir::new("dchost-smtp-test")?;
        let socket = dir.path().join("lmtp");
        let listener = std::os::unix::net::UnixListener::bind(&socket)?;
        let lmtp = thread::spawn(move || -> Result<String> {
            let (conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(Duration::from_secs(10)))?;
            let mut out = conn.try_clone()?;
            let mut seen = String::new();
            out.write_all(b"220 fake LMTP\r\n")?;
            for line in BufReader::new(conn).lines() {
                let line = line?;
                seen.push_str(&line);
                seen.push('\n');
                let reply: &[u8] = match line.as_str() {
                    l if l.starts_with("LHLO") => b"250-fake\r\n250 PIPELINING\r\n",
                    "DATA" => b"354 go\r\n",
                    "." => b"250 ok\r\n",
                    "QUIT" => break,
                    l if l.starts_with("MAIL") || l.starts_with("RCPT") => b"250 ok\r\n",
                    _ => b"",
                };
                out.write_all(reply)?;
            }
            Ok(seen)
        });
        let users: Users = Arc::new(Mutex::new(HashMap::from([("a@x".to_string(), "pw".to_string())])));
        let smtp = Smtp::start(users, socket)?;
        let conn = TcpStream::connect(("127.0.0.1", smtp.port()))?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut out = conn.try_clone()?;
        let mut input = BufReader::new(conn);
        let mut talk = |send: &str, want: &str| -> Result<()> {
            if !send.is_empty() {
                out.write_all(send.as_bytes())?;
            }
            expect_reply(&mut input, want, send)
        };
        talk("", "220")?;
        talk("EHLO me\r\n", "250")?;
        talk("MAIL FROM:<a@x>\r\n", "530")?;
        talk("AUTH PLAIN AGFAeABub3Bl\r\n", "535")?; // wrong password
        talk("AUTH PLAIN AGFAeABwdw==\r\n", "235")?;
        talk("MAIL FROM:<a@x>\r\n", "250")?;
        talk("RCPT TO:<nobody@elsewhere>\r\n", "550")?;
        talk("RCPT TO:<A@x>\r\n", "250")?;
        talk("DATA\r\n", "354")?;
        talk("Subject: hi\r\n\r\n..leading dot\r\n.\r\n", "250")?;
        talk("QUIT\r\n", "221")?;
        let seen = lmtp.join().map_err(|_| Error::new("the fake LMTP server panicked"))??;
        assert_eq!(seen, "LHLO relay.localhost\nMAIL FROM:<a@x>\nRCPT TO:<a@x>\nDATA\nSubject: hi\n\n..leading dot\n.\nQUIT\n");
        Ok(())
    }
}
