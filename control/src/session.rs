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
    /// Run commands (those without stdin) through one shell kept open per
    /// session instead of a new channel each: the node then forks a
    /// subshell per command instead of sshd forking a session and
    /// executing the login shell, several times less node CPU.
    pub persistent_shell: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(5),
            reconnect_for: Duration::from_secs(30),
            keepalive_secs: 10,
            transfer_timeout: Duration::from_secs(600),
            persistent_shell: true,
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
    /// The session's persistent shell, once opened.
    shell: Option<ssh2::Channel>,
}

impl Drop for Conn {
    /// Closes the socket first: libssh2 then frees the session at once
    /// instead of waiting for a node that is gone (its power cut) to
    /// answer the channel's close, seconds per session.
    fn drop(&mut self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}

/// Reads whatever a non-blocking channel has on stdout and stderr; true
/// if it read anything.
fn drain(ch: &mut ssh2::Channel, out: &mut Vec<u8>, err: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut buf = [0u8; 32 * 1024];
    let mut progress = false;
    for stderr in [false, true] {
        loop {
            let r = if stderr { ch.stderr().read(&mut buf) } else { ch.read(&mut buf) };
            match r {
                Ok(0) => break,
                Ok(n) => {
                    progress = true;
                    if stderr { &mut *err } else { &mut *out }.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(progress)
}

/// Distinguishes the end markers of one command from any other output.
static NONCE: AtomicU64 = AtomicU64::new(0);

/// The text sent to a persistent shell to run `text`: in a subshell (so
/// `exit`, `cd` and variables stay there) with stdin from /dev/null (so it
/// cannot eat the shell's input), then a marker with the exit status on
/// stdout and a marker on stderr. The newline before `)` ends a trailing
/// comment; each marker starts on a line of its own.
fn shell_script(text: &str, marker: &str) -> String {
    format!("(\n{text}\n) </dev/null; printf '\\n{marker} %d\\n' \"$?\"; printf '\\n{marker}\\n' >&2\n")
}

/// Splits a persistent shell's output at the markers: (stdout, status)
/// once stdout ends with the status marker.
fn shell_stdout(out: &[u8], marker: &str) -> Option<(usize, i32)> {
    let tail = out.strip_suffix(b"\n")?;
    let at = find_last(tail, format!("\n{marker} ").as_bytes())?;
    let status = std::str::from_utf8(&tail[at + marker.len() + 2..]).ok()?.parse().ok()?;
    Some((at, status))
}

/// Where stderr's marker starts, once stderr ends with it.
fn shell_stderr(err: &[u8], marker: &str) -> Option<usize> {
    let end = format!("\n{marker}\n");
    err.ends_with(end.as_bytes()).then(|| err.len() - end.len())
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    (0..=hay.len().checked_sub(needle.len())?).rev().find(|&i| &hay[i..i + needle.len()] == needle)
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
            kh.read_file(&file, KnownHostFileKind::OpenSSH).map_err(|e| Cause::HostKey(format!("cannot read {}: {e}", file.display())))?;
            let (key, _) = s.host_key().ok_or_else(|| Cause::HostKey("the node sent no host key".into()))?;
            match kh.check_port(&n.address, n.port, key) {
                CheckResult::Match => {}
                CheckResult::NotFound => {
                    return Err(Cause::HostKey(format!("{} is not in {} (add it, or set host_key_check = \"off\")", n.address, file.display())))
                }
                CheckResult::Mismatch => return Err(Cause::HostKey(format!("the host key of {} differs from {}", n.address, file.display()))),
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
        Ok(Conn { session: s, socket, shell: None })
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

    /// Sends `script` to the session's shell, opening one if needed.
    /// Nothing runs unless all of it arrives (the shell runs a command
    /// once its last line is complete), so a failure here may be retried.
    fn send_to_shell(&self, conn: &mut Conn, script: &str) -> Result<(), String> {
        conn.session.set_blocking(true);
        conn.session.set_timeout(self.opts.connect_timeout.as_millis() as u32);
        if conn.shell.as_ref().is_none_or(|ch| ch.eof()) {
            let mut ch = conn.session.channel_session().map_err(|e| e.to_string())?;
            // the login shell, reading commands from stdin (no profile:
            // the same environment as `exec`)
            ch.exec("exec \"${SHELL:-/bin/sh}\" -s").map_err(|e| e.to_string())?;
            conn.shell = Some(ch);
        }
        let ch = conn.shell.as_mut().expect("opened above");
        ch.write_all(script.as_bytes()).and_then(|_| ch.flush()).map_err(|e| {
            conn.shell = None;
            e.to_string()
        })
    }

    /// Runs a command through the session's persistent shell.
    fn exec_in_shell(&self, text: &str, begin: Instant, deadline: Instant) -> Result<Output, ControlError> {
        let marker = format!("__faultline_{:x}_{}__", std::process::id(), NONCE.fetch_add(1, Ordering::Relaxed));
        let script = shell_script(text, &marker);
        let mut conn = self.take()?;
        if let Err(e) = self.send_to_shell(&mut conn, &script) {
            // a dead pooled session: nothing ran; once more on a new one
            drop(conn);
            self.disconnect();
            conn = self.connect(self.opts.reconnect_for)?;
            self.send_to_shell(&mut conn, &script).map_err(|e2| self.err(Some(text), Cause::Lost(format!("{e}; then {e2}"))))?;
        }
        let lost = |e: std::io::Error| self.err(Some(text), Cause::Lost(e.to_string()));
        conn.session.set_blocking(false);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ch = conn.shell.take().expect("sent above");
        loop {
            let progress = drain(&mut ch, &mut out, &mut err).map_err(lost)?;
            if let (Some((o, status)), Some(e)) = (shell_stdout(&out, &marker), shell_stderr(&err, &marker)) {
                out.truncate(o);
                err.truncate(e);
                conn.session.set_blocking(true);
                conn.shell = Some(ch);
                self.give(conn);
                return Ok(Output {
                    status,
                    stdout: String::from_utf8_lossy(&out).into_owned(),
                    stderr: String::from_utf8_lossy(&err).into_owned(),
                    elapsed: begin.elapsed(),
                });
            }
            if progress {
                continue;
            }
            if ch.eof() {
                // the shell died mid-command (the node or sshd went away)
                return Err(lost(std::io::Error::other("the shell ended before the command did")));
            }
            let now = Instant::now();
            if now >= deadline {
                // the shell is mid-command: never reuse it
                return Err(self.err(Some(text), Cause::TimedOut(format!("after {:?}", deadline - begin))));
            }
            wait_socket(&conn, (deadline - now).min(Duration::from_millis(200)));
        }
    }

    /// Runs a command and returns its output whatever its exit status.
    pub fn exec(&self, cmd: &Cmd) -> Result<Output, ControlError> {
        let begin = Instant::now();
        let deadline = begin + cmd.timeout;
        let text = cmd.rendered(&self.node.user);
        if self.opts.persistent_shell && cmd.stdin.is_none() {
            return self.exec_in_shell(&text, begin, deadline);
        }
        let (conn, mut ch) = self.start(&text)?;
        let lost = |e: std::io::Error| self.err(Some(&text), Cause::Lost(e.to_string()));
        if let Some(input) = &cmd.stdin {
            ch.write_all(input).map_err(lost)?;
            ch.send_eof().map_err(|e| lost(e.into()))?;
        }
        conn.session.set_blocking(false);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        loop {
            let progress = drain(&mut ch, &mut out, &mut err).map_err(lost)?;
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
        Ok(Output { status, stdout: String::from_utf8_lossy(&out).into_owned(), stderr: String::from_utf8_lossy(&err).into_owned(), elapsed: begin.elapsed() })
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
                .open_mode(Path::new(&tmp), ssh2::OpenFlags::WRITE | ssh2::OpenFlags::CREATE | ssh2::OpenFlags::TRUNCATE, mode, ssh2::OpenType::File)
                .map_err(|e| format!("{tmp}: {e}"))?;
            std::io::copy(data, &mut f).map_err(|e| format!("{tmp}: {e}"))?;
            f.close().map_err(|e| format!("{tmp}: {e}"))
        })?;
        let mv = Cmd::new(["chown", "0:0", &tmp]).and(Cmd::new(["chmod", &format!("{mode:o}"), &tmp])).and(Cmd::new(["mv", "-f", &tmp, remote])).sudo();
        self.run(&mv).map(|_| ())
    }

    /// Uploads a local file.
    pub fn upload(&self, local: &Path, remote: &str, mode: i32) -> Result<(), ControlError> {
        let mut f =
            std::fs::File::open(local).map_err(|e| self.err(Some(&format!("upload to {remote}")), Cause::Local(format!("{}: {e}", local.display()))))?;
        self.upload_bytes(&mut f, remote, mode)
    }

    /// Downloads `remote` to a local file.
    pub fn download(&self, remote: &str, local: &Path) -> Result<u64, ControlError> {
        let what = format!("download of {remote}");
        let mut out = std::fs::File::create(local).map_err(|e| self.err(Some(&what), Cause::Local(format!("{}: {e}", local.display()))))?;
        self.transfer(&what, |s| {
            let sftp = s.sftp().map_err(|e| format!("sftp: {e}"))?;
            let mut f = sftp.open(Path::new(remote)).map_err(|e| format!("{remote}: {e}"))?;
            std::io::copy(&mut f, &mut out).map_err(|e| format!("{remote}: {e}"))
        })
    }
}

#[cfg(test)]
mod shell_tests {
    use super::*;

    #[test]
    fn markers_split_output_and_status() {
        let m = "__faultline_1_2__";
        let script = shell_script("echo hi # a comment", m);
        assert!(script.starts_with("(\necho hi # a comment\n) </dev/null; "), "{script}");
        // what the shell prints: output without a final newline, then the marker
        let out = format!("partial\n{m} 3\n");
        assert_eq!(shell_stdout(out.as_bytes(), m), Some((7, 3)));
        let out = format!("line\n\n{m} 0\n");
        assert_eq!(shell_stdout(out.as_bytes(), m), Some((5, 0)));
        assert_eq!(shell_stdout(b"line\n", m), None, "no marker yet");
        assert_eq!(shell_stdout(format!("\n{m} 1").as_bytes(), m), None, "marker not complete");
        assert_eq!(shell_stderr(format!("oops\n\n{m}\n").as_bytes(), m), Some(5));
        assert_eq!(shell_stderr(b"oops\n", m), None);
    }

    #[test]
    fn the_script_runs_in_a_real_shell() {
        let m = "__faultline_test__";
        let script = shell_script("printf 'a b'; echo err >&2; cd /; exit 7 # bye", m) + &shell_script("pwd | grep -c '^/$' || true", m);
        let out = std::process::Command::new("sh")
            .arg("-s")
            .current_dir(std::env::temp_dir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(script.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        // the first command's output and status; its exit and cd stayed in the subshell
        let (first, rest) = stdout.split_at(stdout.find(&format!("{m} 7\n")).unwrap() + m.len() + 3);
        assert_eq!(shell_stdout(first.as_bytes(), m), Some((3, 7)), "{stdout:?}");
        assert_eq!(&first[..3], "a b");
        assert_eq!(shell_stdout(rest.as_bytes(), m), Some((2, 0)), "{rest:?}");
        assert!(rest.starts_with("0\n"), "cd / stayed in its subshell: {rest:?}");
        assert!(String::from_utf8(out.stderr).unwrap().starts_with("err\n"));
    }
}
