//! The reference host: `window.calls` of one account on top of its core,
//! the way Delta Chat Desktop wires them (PROTOCOL.md sections 2 and 3).
//!
//! | the page calls / the core says | the host does |
//! |---|---|
//! | the person presses "call" in a chat ([`Host::call`]) | opens a call window with `#startCall` |
//! | `startCall(offer)` | `place_outgoing_call(chat, offer, has_video)` |
//! | event `IncomingCall{msg_id, place_call_info}` | opens a call window with `#offerIncomingCall=base64(offer)` |
//! | `acceptCall(answer)` | `accept_incoming_call(msg_id, answer)` |
//! | event `OutgoingCallAccepted{accept_call_info}` | `location.hash = #onAnswer=base64(answer)` |
//! | `endCall()` | `end_call(msg_id)`, closes the window |
//! | event `CallEnded` | closes the window |
//! | event `IncomingCallAccepted{from_this_device: false}` | closes the window (answered on another device) |
//! | `getIceServers()` | `ice_servers()` (JSON text, TURN from the relay) |
//!
//! The host is one loop: [`Host::step`] handles the core's events, then
//! what the page asked for. The page's calls reach Rust through a queue in
//! the page (`bridge.js`) that `step` empties; Desktop would use IPC.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testhost::{err, Browser, Error, Page, Result, Server};

use crate::relay::Relay;
use crate::rpc::{Core, Event};

/// The page-side half of the bridge.
pub const BRIDGE_JS: &str = include_str!("bridge.js");
/// `DC_CONTACT_ID_SELF`.
const SELF_CONTACT: u32 = 1;

// ---------------------------------------------------------------------------
// An account

/// One Delta Chat account in its own core process.
pub struct Account {
    core: Core,
    pub id: u32,
    pub addr: String,
    pub name: String,
}

impl Account {
    /// A new account on `relay`, configured, its IMAP idling: ready to be
    /// called.
    pub fn create(core_bin: &Path, relay: &Relay, name: &str) -> Result<Account> {
        let login = relay.login(name)?;
        let core = Core::start(core_bin)?;
        let id = core.call("add_account", json!([]))?.as_u64().and_then(|n| u32::try_from(n).ok());
        let id = id.ok_or_else(|| Error::new("add_account gave no account id"))?;
        let account = Account { core, id, addr: login.addr.clone(), name: name.to_string() };
        account.rpc("set_config", json!(["displayname", name]))?;
        account.rpc("add_or_update_transport", json!([relay.transport(&login)]))?;
        account.rpc("start_io", json!([]))?;
        account.wait_event("ImapInboxIdle", Duration::from_secs(30))?;
        Ok(account)
    }

    /// A request about this account: `params` follow the account id.
    pub fn rpc(&self, method: &str, params: Value) -> Result<Value> {
        let mut all = vec![json!(self.id)];
        all.extend(params.as_array().cloned().unwrap_or_default());
        self.core.call(method, Value::Array(all))
    }

    /// Waits for an event of `kind` (others before it are dropped: only
    /// for setting up, before a [`Host`] takes the events).
    fn wait_event(&self, kind: &str, timeout: Duration) -> Result<Event> {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.core.next_event(left) {
                Some(e) if e.kind == kind => return Ok(e),
                _ => {}
            }
        }
        err(format!("{}: no {kind} event within {timeout:?}\n{}", self.name, self.core.log_tail(30)))
    }

    /// This account's vCard, with its key.
    pub fn vcard(&self) -> Result<String> {
        let v = self.rpc("make_vcard", json!([[SELF_CONTACT]]))?;
        v.as_str().map(str::to_string).ok_or_else(|| Error(format!("make_vcard gave {v}")))
    }

    /// Imports someone's vCard and opens the 1:1 chat with them (accepted,
    /// and encrypted: the vCard carries the key). Returns the chat id.
    pub fn import_contact(&self, vcard: &str) -> Result<u32> {
        let ids = self.rpc("import_vcard_contents", json!([vcard]))?;
        let contact = ids.get(0).and_then(Value::as_u64).ok_or_else(|| Error(format!("vCard import gave {ids}")))?;
        let chat = self.rpc("create_chat_by_contact_id", json!([contact]))?;
        let chat = chat.as_u64().and_then(|c| u32::try_from(c).ok());
        let chat = chat.ok_or_else(|| Error::new("create_chat_by_contact_id gave no chat id"))?;
        let info = self.rpc("get_basic_chat_info", json!([chat]))?;
        if info.get("isEncrypted") != Some(&Value::Bool(true)) {
            return err(format!("{}: the chat {chat} is not encrypted, calls would fail: {info}", self.name));
        }
        Ok(chat)
    }

    /// `call_info(msg_id).state.kind`: `Alerting`, `Active`, `Completed`,
    /// `Missed`, `Declined` or `Canceled`.
    pub fn call_state(&self, msg_id: u32) -> Result<String> {
        let info = self.rpc("call_info", json!([msg_id]))?;
        let kind = info.pointer("/state/kind").and_then(Value::as_str);
        kind.map(str::to_string).ok_or_else(|| Error(format!("call_info({msg_id}) gave {info}")))
    }

    /// The core's last log lines.
    pub fn log_tail(&self, n: usize) -> String {
        self.core.log_tail(n)
    }
}

/// Makes `a` and `b` able to call each other: each imports the other's
/// vCard. Returns (the chat of `a` with `b`, the chat of `b` with `a`).
pub fn pair(a: &Account, b: &Account) -> Result<(u32, u32)> {
    let a_chat = a.import_contact(&b.vcard()?)?;
    let b_chat = b.import_contact(&a.vcard()?)?;
    Ok((a_chat, b_chat))
}

// ---------------------------------------------------------------------------
// The host

/// What happened, with when: for the tests and the hop times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A call window opened (outgoing or incoming).
    Opened,
    Closed,
    /// The page called `window.calls.NAME`.
    Page(String),
    /// A request to the core about a call (at the moment it was sent).
    Rpc(&'static str, u32),
    /// A call event from the core.
    Event(String, u32),
    /// What `ice_servers()` returned and the page got.
    IceServers(String),
}

#[derive(Debug, Clone)]
pub struct Record {
    pub at: Instant,
    pub what: What,
}

/// The open call window.
pub struct Window {
    pub page: Page,
    /// The call's message; for an outgoing call known once
    /// `place_outgoing_call` returned.
    pub msg_id: Option<u32>,
    pub chat_id: u32,
}

/// `window.calls` for one account.
pub struct Host<'b> {
    pub account: Account,
    browser: &'b Browser,
    page_url: String,
    flags: Vec<String>,
    window: Option<Window>,
    records: Vec<Record>,
}

impl<'b> Host<'b> {
    /// Call windows open in `browser`, from `server` (the page at
    /// `/call.html`), with the query `flags` (e.g. `relayOnly`).
    pub fn new(account: Account, browser: &'b Browser, server: &Server, flags: &[&str]) -> Host<'b> {
        Host {
            account,
            browser,
            page_url: server.url("/call.html"),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            window: None,
            records: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.account.name
    }

    /// The person starts a video call in `chat_id`.
    pub fn call(&mut self, chat_id: u32) -> Result<()> {
        if self.window.is_some() {
            return err(format!("{}: a call window is open already", self.name()));
        }
        self.open("startCall", None, chat_id, true)
    }

    /// Handles what the core and the page did since the last step.
    pub fn step(&mut self) -> Result<()> {
        while let Some(event) = self.account.core.next_event(Duration::ZERO) {
            if event.account == self.account.id {
                self.on_event(&event)?;
            }
        }
        let queued = match &self.window {
            Some(w) => w.page.eval("window.__dchost ? window.__dchost.take() : []")?,
            None => return Ok(()),
        };
        for call in queued.as_array().into_iter().flatten() {
            let name = call.get("name").and_then(Value::as_str).unwrap_or("");
            self.on_page_call(name, call.get("arg").unwrap_or(&Value::Null))?;
        }
        Ok(())
    }

    fn on_event(&mut self, e: &Event) -> Result<()> {
        let Some(msg_id) = e.u32("msg_id") else { return Ok(()) };
        let ours = self.window.as_ref().is_some_and(|w| w.msg_id == Some(msg_id));
        match e.kind.as_str() {
            "IncomingCall" => {
                self.note_at(e.at, What::Event(e.kind.clone(), msg_id));
                if self.window.is_some() {
                    // Busy: one call at a time. It keeps ringing in the
                    // chat until it times out.
                    return Ok(());
                }
                let offer = e.str("place_call_info").unwrap_or("");
                let chat_id = e.u32("chat_id").unwrap_or(0);
                let video = e.data.get("has_video").and_then(Value::as_bool).unwrap_or(true);
                let fragment = format!("offerIncomingCall={}", testhost::base64(offer.as_bytes()));
                self.open(&fragment, Some(msg_id), chat_id, video)?;
            }
            "OutgoingCallAccepted" => {
                self.note_at(e.at, What::Event(e.kind.clone(), msg_id));
                if let (true, Some(w)) = (ours, &self.window) {
                    let answer = e.str("accept_call_info").unwrap_or("");
                    w.page.set_hash(&format!("#onAnswer={}", testhost::base64(answer.as_bytes())))?;
                }
            }
            "IncomingCallAccepted" => {
                self.note_at(e.at, What::Event(e.kind.clone(), msg_id));
                let elsewhere = e.data.get("from_this_device") == Some(&Value::Bool(false));
                if ours && elsewhere {
                    self.close()?;
                }
            }
            "CallEnded" => {
                self.note_at(e.at, What::Event(e.kind.clone(), msg_id));
                if ours {
                    self.close()?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_page_call(&mut self, name: &str, arg: &Value) -> Result<()> {
        self.note(What::Page(name.to_string()));
        let Some(w) = &self.window else { return Ok(()) };
        let (chat_id, msg_id) = (w.chat_id, w.msg_id);
        match (name, msg_id) {
            ("startCall", None) => {
                let video = !self.flags.iter().any(|f| f == "noOutgoingVideoInitially");
                let offer = arg.as_str().unwrap_or("");
                let sent = Instant::now();
                let id = self.account.rpc("place_outgoing_call", json!([chat_id, offer, video]))?;
                let id = id.as_u64().and_then(|i| u32::try_from(i).ok());
                let id = id.ok_or_else(|| Error::new("place_outgoing_call gave no message id"))?;
                self.note_at(sent, What::Rpc("place_outgoing_call", id));
                if let Some(w) = &mut self.window {
                    w.msg_id = Some(id);
                }
            }
            ("acceptCall", Some(id)) => {
                self.note(What::Rpc("accept_incoming_call", id));
                self.account.rpc("accept_incoming_call", json!([id, arg.as_str().unwrap_or("")]))?;
            }
            ("endCall", id) => {
                let ended = match id {
                    Some(id) => {
                        self.note(What::Rpc("end_call", id));
                        self.account.rpc("end_call", json!([id])).map(|_| ())
                    }
                    // Ended before the offer went out: nothing to tell.
                    None => Ok(()),
                };
                self.close()?;
                ended?;
            }
            ("getIceServers", _) => {
                let id = arg.as_u64().unwrap_or(0);
                let servers = self.account.rpc("ice_servers", json!([]))?;
                let text = servers.as_str().unwrap_or("[]").to_string();
                self.note(What::IceServers(text.clone()));
                let js = format!("window.__dchost.resolve({id}, {})", serde_json::to_string(&text)?);
                if let Some(w) = &self.window {
                    w.page.eval(&js)?;
                }
            }
            (other, id) => {
                return err(format!("{}: unexpected {other} from the page (call message {id:?})", self.name()));
            }
        }
        Ok(())
    }

    fn open(&mut self, fragment: &str, msg_id: Option<u32>, chat_id: u32, video: bool) -> Result<()> {
        let mut flags = self.flags.clone();
        if !video && !flags.iter().any(|f| f == "noOutgoingVideoInitially") {
            flags.push("noOutgoingVideoInitially".into());
        }
        let query = if flags.is_empty() { String::new() } else { format!("?{}", flags.join("&")) };
        let page = self.browser.new_page(&format!("{}'s call window", self.name()), json!({}))?;
        // Before the page's own scripts: `window.calls`.
        page.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": BRIDGE_JS }))?;
        if let Err(e) = page.goto(&format!("{}{query}#{fragment}", self.page_url)) {
            let _ = page.close();
            return Err(e);
        }
        self.window = Some(Window { page, msg_id, chat_id });
        self.note(What::Opened);
        Ok(())
    }

    /// Closes the call window (Desktop: `window.close()`).
    fn close(&mut self) -> Result<()> {
        match self.window.take() {
            Some(w) => {
                self.note(What::Closed);
                w.page.close()
            }
            None => Ok(()),
        }
    }

    fn note(&mut self, what: What) {
        self.note_at(Instant::now(), what);
    }

    fn note_at(&mut self, at: Instant, what: What) {
        self.records.push(Record { at, what });
    }

    /// The open call window, if any.
    pub fn window(&self) -> Option<&Window> {
        self.window.as_ref()
    }

    /// The open call window's page, or an error naming the host.
    pub fn page(&self) -> Result<&Page> {
        self.window.as_ref().map(|w| &w.page).ok_or_else(|| Error(format!("{} has no call window open", self.name())))
    }

    /// Everything recorded so far, in order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// When `what` first happened.
    pub fn when(&self, what: &What) -> Option<Instant> {
        self.records.iter().find(|r| &r.what == what).map(|r| r.at)
    }

    /// The message id of the latest call this host saw.
    pub fn last_call(&self) -> Option<u32> {
        self.records.iter().rev().find_map(|r| match &r.what {
            What::Rpc(_, id) | What::Event(_, id) => Some(*id),
            _ => None,
        })
    }

    /// A summary for failure messages: the records, the window's state and
    /// the core's log.
    pub fn report(&self) -> String {
        let start = self.records.first().map(|r| r.at);
        let mut out = format!("==== {} ({}) ====\n", self.name(), self.account.addr);
        for r in &self.records {
            let ms = start.map_or(0, |s| r.at.saturating_duration_since(s).as_millis());
            let what = match &r.what {
                What::IceServers(t) if t.len() > 120 => format!("IceServers({}…)", t.chars().take(120).collect::<String>()),
                w => format!("{w:?}"),
            };
            out.push_str(&format!("  +{ms} ms {what}\n"));
        }
        if let Some(w) = &self.window {
            out.push_str(&w.page.dump());
        }
        out.push_str(&self.account.log_tail(25));
        out.push('\n');
        out
    }
}

/// Steps every host until `done` holds, at most `timeout`. The error names
/// `what` and has every host's report.
pub fn run_until(
    hosts: &mut [&mut Host],
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&[&mut Host]) -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut failed = None;
        for h in hosts.iter_mut() {
            if let Err(e) = h.step() {
                failed = Some(format!("{}: {e}", h.name()));
                break;
            }
        }
        let result = match failed {
            Some(f) => Err(Error(f)),
            None => done(hosts),
        };
        match result {
            Ok(true) => return Ok(()),
            Ok(false) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(25)),
            Ok(false) => {
                let reports: String = hosts.iter().map(|h| h.report()).collect();
                return err(format!("timed out after {timeout:?} waiting for {what}\n{reports}"));
            }
            Err(e) => {
                let reports: String = hosts.iter().map(|h| h.report()).collect();
                return err(format!("while waiting for {what}: {e}\n{reports}"));
            }
        }
    }
}
