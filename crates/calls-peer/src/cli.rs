//! Command line: `calls-peer answer [PAYLOAD] [OPTIONS]`, `calls-peer call [OPTIONS]`.

use std::net::IpAddr;
use std::time::Duration;

use call_core::ice::{parse_ice_servers, IceServer};

pub const USAGE: &str = "\
calls-peer: a native peer for the Delta Chat call protocol (str0m WebRTC)

USAGE:
  calls-peer answer [PAYLOAD] [OPTIONS]   answer an offer (argument or stdin);
                                          prints the answer payload, runs the call
  calls-peer call [OPTIONS]               print an offer payload, read the answer
                                          payload from stdin, run the call

PAYLOAD: base64 of the SDP (as hosts put it into #offerIncomingCall=...),
  URL-encoded base64, the whole fragment (#acceptCall=...), or the plain SDP.

OPTIONS:
  --ice-servers JSON    the JSON getIceServers returns, e.g.
                        '[{\"urls\":\"turn:203.0.113.5:3478\",\"username\":\"u\",\"credential\":\"p\"}]'
                        (UDP STUN and TURN are used; TLS/TCP entries are skipped)
  --bind IP             local address for host candidates
                        (default: the first non-loopback IPv4 address)
  --media echo|pattern  echo: send the received audio and video back (default);
                        pattern: a 440 Hz test tone (PCMU) and colour bars with
                        a moving block (H.264, 160x96, 10 fps)
  --relay-only          offer only the TURN relay candidate (tests relaying)
  --timeout SECS        hang up after SECS seconds (from start)
  --restart-after SECS  test hook: SECS after connecting, restart ICE over the
                        renegotiation channel (caller: restart offer;
                        callee: restart-request)
  --mute-after SECS     test hook: SECS after connecting, send
                        mutedState audioEnabled:false (and stop sending audio)
  -v, --verbose         print the SDPs (ours and theirs) to stderr
  -h, --help            this text

Events are printed one per line on stderr: connected, muted-state {...},
restart done, hangup. Exit code 0 on hang-up and timeout, 2 for bad
arguments or payloads, 1 for other errors.";

/// Which side of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Answer an offer; `None`: read it from stdin.
    Answer(Option<String>),
    Call,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaMode {
    Echo,
    Pattern,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub role: Role,
    pub ice_servers: Vec<IceServer>,
    pub bind: Option<IpAddr>,
    pub media: MediaMode,
    pub timeout: Option<Duration>,
    pub restart_after: Option<Duration>,
    pub mute_after: Option<Duration>,
    /// Offer only relay candidates (like the page's `relayOnly` flag).
    pub relay_only: bool,
    /// Print every SDP (ours and theirs) to stderr.
    pub verbose: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Options),
    Help,
}

fn secs(name: &str, v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if (0.0..1e9).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{name}: not a number of seconds: {v:?}")),
    }
}

/// Parses the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut role = None;
    let mut opts = Options {
        role: Role::Call,
        ice_servers: Vec::new(),
        bind: None,
        media: MediaMode::Echo,
        timeout: None,
        restart_after: None,
        mute_after: None,
        relay_only: false,
        verbose: false,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" | "help" => return Ok(Command::Help),
            "--ice-servers" => {
                let v = value("--ice-servers")?;
                let (servers, dropped) =
                    parse_ice_servers(&v).map_err(|e| format!("--ice-servers: not a JSON array of servers ({e:?})"))?;
                if dropped {
                    eprintln!("info: --ice-servers: some entries or URLs were invalid and are ignored");
                }
                opts.ice_servers = servers;
            }
            "--bind" => {
                let v = value("--bind")?;
                let ip: IpAddr = v.parse().map_err(|_| format!("--bind: not an IP address: {v:?}"))?;
                if ip.is_unspecified() || ip.is_multicast() {
                    return Err(format!(
                        "--bind: {ip} cannot be a candidate address; name one interface address"
                    ));
                }
                opts.bind = Some(ip);
            }
            "--media" => {
                opts.media = match value("--media")?.as_str() {
                    "echo" => MediaMode::Echo,
                    "pattern" => MediaMode::Pattern,
                    other => return Err(format!("--media: echo or pattern, not {other:?}")),
                }
            }
            "--relay-only" => opts.relay_only = true,
            "-v" | "--verbose" => opts.verbose = true,
            "--timeout" => opts.timeout = Some(secs("--timeout", &value("--timeout")?)?),
            "--restart-after" => opts.restart_after = Some(secs("--restart-after", &value("--restart-after")?)?),
            "--mute-after" => opts.mute_after = Some(secs("--mute-after", &value("--mute-after")?)?),
            "answer" if role.is_none() => role = Some(Role::Answer(None)),
            "call" if role.is_none() => role = Some(Role::Call),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => match &mut role {
                Some(Role::Answer(p @ None)) => *p = Some(s.to_string()),
                _ => return Err(format!("unexpected argument {s:?}")),
            },
        }
    }
    opts.role = role.ok_or("say `answer` or `call`")?;
    Ok(Command::Run(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_roles_and_options() {
        let Ok(Command::Run(o)) = p(&["answer", "QUJD", "--timeout", "2.5", "--bind", "127.0.0.1"]) else {
            panic!()
        };
        assert_eq!(o.role, Role::Answer(Some("QUJD".into())));
        assert_eq!(o.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(o.bind, Some("127.0.0.1".parse().unwrap()));
        let Ok(Command::Run(o)) = p(&[
            "call",
            "--media",
            "pattern",
            "--restart-after",
            "3",
            "--mute-after",
            "1",
            "--ice-servers",
            r#"[{"urls":"stun:127.0.0.1:3478"}]"#,
        ]) else {
            panic!()
        };
        assert_eq!(o.role, Role::Call);
        assert_eq!(o.media, MediaMode::Pattern);
        assert_eq!(o.ice_servers.len(), 1);
        assert_eq!(o.restart_after, Some(Duration::from_secs(3)));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
    }

    #[test]
    fn refuses_bad_arguments() {
        for bad in [
            &["answer", "--timeout"][..],
            &["answer", "--timeout", "-1"],
            &["answer", "--timeout", "NaN"],
            &["call", "extra"],
            &["answer", "a", "b"],
            &["--bind", "0.0.0.0", "call"],
            &["call", "--media", "video"],
            &["call", "--ice-servers", "{"],
            &["call", "--what"],
            &[],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }
}
