//! SSH to one node: sessions kept open and reused, commands with a deadline,
//! reconnection with backoff, file transfers.

use crate::error::{Cause, ControlError};
use crate::node::{HostKeyCheck, Node};
use crate::quote::Cmd;
use ssh2::{CheckResult, KnownHostFileKind, Session};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connection settings.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Time allowed for one TCP connect + SSH handshake + authentication.
    pub connect_timeout: Duration,
    /// After a connection is lost, keep trying to reconnect this long
    /// (with exponential backoff) before giving up: covers sshd or node
    /// restarts.
    pub reconnect_for: Duration,
    /// SSH keepalive interval, seconds.
    pub keepalive_secs: u32,
    /// Time allowed for one file transfer.
    pub transfer_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(5),
            reconnect_for: Duration::from_secs(30),
            keepalive_secs: 10,
            transfer_timeout: Duration::from_secs(600),
        }
    }
}

/// What a command printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit status (-1 if the node reported none).
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time of the command, including any reconnection.
    pub elapsed: Duration,
}

struct Conn {
    session: Session,
    /// A handle on the session's socket, used to poll it.
    socket: TcpStream,
}

/// A node and its pool of open SSH sessions (libssh2 runs one command at a
/// time per session, so concurrent commands get sessions of their own).
pub struct NodeClient {
    node: Node,
    opts: Options,
    idle: Mutex<Vec<Conn>>,
    opened: AtomicU64,
    uploads: AtomicU64,
}

/// Blocks until the session's socket is ready in the directions libssh2
/// is waiting on, or `limit` passes.
fn wait_socket(conn: &Conn, limit: Duration) {
    use std::os::fd::AsRawFd;
    let dirs = conn.session.block_directions();
    let mut events = 0;
    if matches!(dirs, ssh2::BlockDirections::Inbound | ssh2::BlockDirections::Both | ssh2::BlockDirections::None) {
        events |= libc::POLLIN;
    }
    if matches!(dirs, ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both) {
        events |= libc::POLLOUT;
    }
    let mut fd = libc::pollfd { fd: conn.socket.as_raw_fd(), events, revents: 0 };
    let ms = limit.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe {
        libc::poll(&mut fd, 1, ms);
    }
}

fn default_known_hosts() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".ssh/known_hosts")
}

impl NodeClient {
    /// A client for `node`; connects on first use.
    pub fn new(node: Node, opts: Options) -> NodeClient {
        NodeClient { node, opts, idle: Mutex::new(Vec::new()), opened: AtomicU64::new(0), uploads: AtomicU64::new(0) }
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// SSH connections opened so far (a measure of session reuse).
    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    fn err(&self, command: Option<&str>, cause: Cause) -> ControlError {
        ControlError { node: self.node.name.clone(), target: self.node.target(), command: command.map(str::to_string), cause }
    }

    fn connect_once(&self) -> Result<Conn, Cause> {
        let n = &self.node;
        let t = self.opts.connect_timeout;
        let addr = (n.address.as_str(), n.port)
            .to_socket_addrs()
            .map_err(|e| Cause::Unreachable(format!("cannot resolve {}: {e}", n.address)))?
            .next()
            .ok_or_else(|| Cause::Unreachable(format!("no address for {}", n.address)))?;
        let tcp = TcpStream::connect_timeout(&addr, t).map_err(|e| match e.kind() {
            ErrorKind::ConnectionRefused => Cause::Refused,
            ErrorKind::TimedOut | ErrorKind::WouldBlock => Cause::TimedOut(format!("connecting after {t:?}")),
            _ => Cause::Unreachable(e.to_string()),
        })?;
        let _ = tcp.set_nodelay(true); // Nagle costs ~40 ms per command round trip
        let socket = tcp.try_clone().map_err(|e| Cause::Unreachable(e.to_string()))?;
        let mut s = Session::new().map_err(|e| Cause::Unreachable(e.to_string()))?;
        s.set_tcp_stream(tcp);
        s.set_timeout(t.as_millis() as u32);
        s.handshake().map_err(|e| match e.code() {
            ssh2::ErrorCode::Session(-9) => Cause::TimedOut(format!("in the SSH handshake after {t:?}")),
            _ => Cause::Lost(format!("SSH handshake: {e}")),
        })?;
        if n.host_key_check == HostKeyCheck::Strict {
            let file = n.known_hosts.clone().unwrap_or_else(default_known_hosts);
            let mut kh = s.known_hosts().map_err(|e| Cause::HostKey(e.to_string()))?;
            kh.read_file(&file, KnownHostFileKind::OpenSSH)
                .map_err(|e| Cause::HostKey(format!("cannot read {}: {e}", file.display())))?;
            let (key, _) = s.host_key().ok_or_else(|| Cause::HostKey("the node sent no host key".into()))?;
            match kh.check_port(&n.address, n.port, key) {
                CheckResult::Match => {}
                CheckResult::NotFound => {
                    return Err(Cause::HostKey(format!(
                        "{} is not in {} (add it, or set host_key_check = \"off\")",
                        n.address,
                        file.display()
                    )))
                }
                CheckResult::Mismatch => {
                    return Err(Cause::HostKey(format!("the host key of {} differs from {}", n.address, file.display())))
                }
                CheckResult::Failure => return Err(Cause::HostKey("known_hosts check failed".into())),
            }
        }
        let auth = match &n.key {
            Some(k) => s.userauth_pubkey_file(&n.user, None, k, None).map_err(|e| format!("key {}: {e}", k.display())),
            None => s.userauth_agent(&n.user).map_err(|e| format!("ssh agent: {e}")),
        };
        auth.map_err(Cause::AuthFailed)?;
        if !s.authenticated() {
            return Err(Cause::AuthFailed(format!("user {} not accepted", n.user)));
        }
        s.set_keepalive(true, self.opts.keepalive_secs);
        s.set_timeout(0);
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(Conn { session: s, socket })
    }

    /// Connects, retrying with exponential backoff for up to `patience`,
    /// except on errors that retrying cannot fix (auth, host key).
    fn connect(&self, patience: Duration) -> Result<Conn, ControlError> {
        let give_up = Instant::now() + patience;
        let mut wait = Duration::from_millis(100);
        loop {
            match self.connect_once() {
                Ok(c) => return Ok(c),
                Err(cause @ (Cause::AuthFailed(_) | Cause::HostKey(_))) => return Err(self.err(None, cause)),
                Err(cause) if Instant::now() + wait >= give_up => return Err(self.err(None, cause)),
                Err(_) => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Checks that the node answers over SSH (a fresh connection, no retry).
    pub fn probe(&self) -> Result<(), ControlError> {
        let c = self.connect(Duration::ZERO)?;
        self.give(c);
        Ok(())
    }

    fn take(&self) -> Result<Conn, ControlError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(c) => Ok(c),
            None => self.connect(self.opts.reconnect_for),
        }
    }

    fn give(&self, c: Conn) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(c);
    }

    /// Drops every idle session (the next command reconnects).
    pub fn disconnect(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Opens a channel and starts `text`. Nothing has run if this fails, so
    /// a dead pooled session is replaced and the start retried.
    fn start(&self, text: &str) -> Result<(Conn, ssh2::Channel), ControlError> {
        let mut conn = self.take()?;
        for attempt in 0..2 {
            conn.session.set_blocking(true);
            conn.session.set_timeout(self.opts.connect_timeout.as_millis() as u32);
            let started = conn.session.channel_session().and_then(|mut ch| ch.exec(text).map(|_| ch));
            match started {
                Ok(ch) => return Ok((conn, ch)),
                Err(e) if attempt == 1 => return Err(self.err(Some(text), Cause::Lost(e.to_string()))),
                Err(_) => {
                    drop(conn);
                    self.disconnect(); // the others in the pool likely died too
                    conn = self.connect(self.opts.reconnect_for)?;
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Runs a command and returns its output whatever its exit status.
    pub fn exec(&self, cmd: &Cmd) -> Result<Output, ControlError> {
        let begin = Instant::now();
        let deadline = begin + cmd.timeout;
        let text = cmd.rendered(&self.node.user);
        let (conn, mut ch) = self.start(&text)?;
        let lost = |e: std::io::Error| self.err(Some(&text), Cause::Lost(e.to_string()));
        if let Some(input) = &cmd.stdin {
            ch.write_all(input).map_err(lost)?;
            ch.send_eof().map_err(|e| lost(e.into()))?;
        }
        conn.session.set_blocking(false);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut buf = [0u8; 32 * 1024];
        loop {
            let mut progress = false;
            for stderr in [false, true] {
                loop {
                    let r = if stderr { ch.stderr().read(&mut buf) } else { ch.read(&mut buf) };
                    match r {
                        Ok(0) => break,
                        Ok(n) => {
                            progress = true;
                            if stderr { &mut err } else { &mut out }.extend_from_slice(&buf[..n]);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(lost(e)),
                    }
                }
            }
            if progress {
                continue;
            }
            if ch.eof() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                // the session is mid-command: never reuse it
                return Err(self.err(Some(&text), Cause::TimedOut(format!("after {:?}", cmd.timeout))));
            }
            // wait until libssh2 can make progress on the socket
            wait_socket(&conn, (deadline - now).min(Duration::from_millis(200)));
        }
        loop {
            match ch.wait_close() {
                Err(e) if e.code() == ssh2::ErrorCode::Session(-37) => {
                    if Instant::now() >= deadline {
                        return Err(self.err(Some(&text), Cause::TimedOut(format!("after {:?}", cmd.timeout))));
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
                Err(e) => return Err(self.err(Some(&text), Cause::Lost(e.to_string()))),
                Ok(()) => break,
            }
        }
        let status = ch.exit_status().unwrap_or(-1);
        conn.session.set_blocking(true);
        drop(ch);
        self.give(conn);
        Ok(Output {
            status,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
            elapsed: begin.elapsed(),
        })
    }

    /// Runs a command; a non-zero exit status is an error with its stderr.
    pub fn run(&self, cmd: &Cmd) -> Result<Output, ControlError> {
        let o = self.exec(cmd)?;
        if o.status != 0 {
            let cause = Cause::Exit { status: o.status, stderr: o.stderr.clone() };
            return Err(self.err(Some(&cmd.rendered(&self.node.user)), cause));
        }
        Ok(o)
    }

    fn transfer<T>(&self, what: &str, f: impl FnOnce(&Session) -> Result<T, String>) -> Result<T, ControlError> {
        let conn = self.take()?;
        conn.session.set_blocking(true);
        conn.session.set_timeout(self.opts.transfer_timeout.as_millis() as u32);
        let r = f(&conn.session);
        conn.session.set_timeout(0);
        match r {
            Ok(v) => {
                self.give(conn);
                Ok(v)
            }
            Err(e) => Err(self.err(Some(what), Cause::Transfer(e))),
        }
    }

    /// Uploads bytes to `remote` with file `mode`, owned by root,
    /// atomically (a temporary file renamed into place; through sudo when
    /// the user is not root).
    pub fn upload_bytes(&self, data: &mut dyn Read, remote: &str, mode: i32) -> Result<(), ControlError> {
        let n = self.uploads.fetch_add(1, Ordering::Relaxed);
        let tmp = format!("/tmp/.faultline-upload-{}-{n}", std::process::id());
        let what = format!("upload to {remote}");
        self.transfer(&what, |s| {
            let sftp = s.sftp().map_err(|e| format!("sftp: {e}"))?;
            let mut f = sftp
                .open_mode(
                    Path::new(&tmp),
                    ssh2::OpenFlags::WRITE | ssh2::OpenFlags::CREATE | ssh2::OpenFlags::TRUNCATE,
                    mode,
                    ssh2::OpenType::File,
                )
                .map_err(|e| format!("{tmp}: {e}"))?;
            std::io::copy(data, &mut f).map_err(|e| format!("{tmp}: {e}"))?;
            f.close().map_err(|e| format!("{tmp}: {e}"))
        })?;
        let mv = Cmd::new(["chown", "0:0", &tmp])
            .and(Cmd::new(["chmod", &format!("{mode:o}"), &tmp]))
            .and(Cmd::new(["mv", "-f", &tmp, remote]))
            .sudo();
        self.run(&mv).map(|_| ())
    }

    /// Uploads a local file.
    pub fn upload(&self, local: &Path, remote: &str, mode: i32) -> Result<(), ControlError> {
        let mut f = std::fs::File::open(local)
            .map_err(|e| self.err(Some(&format!("upload to {remote}")), Cause::Local(format!("{}: {e}", local.display()))))?;
        self.upload_bytes(&mut f, remote, mode)
    }

    /// Downloads `remote` to a local file.
    pub fn download(&self, remote: &str, local: &Path) -> Result<u64, ControlError> {
        let what = format!("download of {remote}");
        let mut out = std::fs::File::create(local)
            .map_err(|e| self.err(Some(&what), Cause::Local(format!("{}: {e}", local.display()))))?;
        self.transfer(&what, |s| {
            let sftp = s.sftp().map_err(|e| format!("sftp: {e}"))?;
            let mut f = sftp.open(Path::new(remote)).map_err(|e| format!("{remote}: {e}"))?;
            std::io::copy(&mut f, &mut out).map_err(|e| format!("{remote}: {e}"))
        })
    }
}
