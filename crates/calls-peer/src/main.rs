//! `calls-peer`: see `calls-peer --help` and the crate's README.

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, TryRecvError};

use calls_peer::cli::{self, Command, Role};
use calls_peer::peer::{self, End, Error, Signaling};

/// Payloads on stdin: one line of base64, or plain SDP up to an empty line
/// or the end of input.
fn read_payload(input: &mut dyn BufRead) -> Result<String, String> {
    let mut sdp = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = input
            .take(1 << 20)
            .read_line(&mut line)
            .map_err(|e| format!("reading stdin: {e}"))?;
        let t = line.trim();
        if n == 0 {
            return if sdp.is_empty() {
                Err("stdin closed without a payload".into())
            } else {
                Ok(sdp)
            };
        }
        if sdp.is_empty() {
            if t.is_empty() {
                continue;
            }
            if !t.starts_with("v=0") {
                return Ok(t.to_string());
            }
        } else if t.is_empty() {
            return Ok(sdp);
        }
        sdp.push_str(t);
        sdp.push_str("\r\n");
        if sdp.len() > call_core::payload::MAX_PAYLOAD_LEN {
            return Err("payload too large".into());
        }
    }
}

struct Stdio {
    answer: Option<Receiver<Result<String, String>>>,
}

impl Signaling for Stdio {
    fn send(&mut self, payload: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout is the reader's business; the call goes on.
        let _ = writeln!(out, "{payload}");
        let _ = out.flush();
    }

    fn poll_answer(&mut self) -> Option<Result<String, String>> {
        let rx = self.answer.as_ref()?;
        match rx.try_recv() {
            Ok(r) => {
                self.answer = None;
                Some(r)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err("stdin reader stopped".into())),
        }
    }
}

#[cfg(unix)]
fn install_signal_handlers() {
    extern "C" fn on_signal(_: libc::c_int) {
        peer::STOP.store(true, Ordering::Relaxed);
    }
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGHUP, handler);
    }
}

#[cfg(not(unix))]
fn install_signal_handlers() {}

fn main() -> ExitCode {
    let mut opts = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(o)) => o,
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    install_signal_handlers();
    let mut sig = Stdio { answer: None };
    match &opts.role {
        Role::Answer(None) => match read_payload(&mut std::io::stdin().lock()) {
            Ok(p) => opts.role = Role::Answer(Some(p)),
            Err(e) => {
                eprintln!("error: bad payload: {e}");
                return ExitCode::from(2);
            }
        },
        Role::Answer(Some(_)) => {}
        Role::Call => {
            // The answer is read on a helper thread so that the call loop
            // keeps serving TURN, timers and signals meanwhile.
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(read_payload(&mut std::io::stdin().lock()));
            });
            sig.answer = Some(rx);
        }
    }
    match peer::run(opts, &mut sig) {
        Ok(End::RemoteHangup(_) | End::LocalHangup | End::Timeout | End::ConnectionLost) => ExitCode::SUCCESS,
        Err(e @ Error::Payload(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e @ Error::Other(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_payload;

    #[test]
    fn stdin_forms() {
        let mut b = &b"\n  QUJD  \nrest\n"[..];
        assert_eq!(read_payload(&mut b).unwrap(), "QUJD");
        let mut s = &b"v=0\nm=audio 9 x\n\nafter\n"[..];
        assert_eq!(read_payload(&mut s).unwrap(), "v=0\r\nm=audio 9 x\r\n");
        let mut s = &b"v=0\r\ns=-\r\n"[..];
        assert_eq!(read_payload(&mut s).unwrap(), "v=0\r\ns=-\r\n");
        let mut e = &b"\n\n"[..];
        assert!(read_payload(&mut e).is_err());
    }
}
