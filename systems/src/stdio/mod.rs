//! Clients in any language: a program faultline starts, one per logical
//! process, that answers JSON requests on its stdin with JSON completions
//! on its stdout ([`protocol`], `docs/client-protocol.md`).
//!
//! The rules that keep a history honest: a request without an answer by
//! the op timeout is `info`, and the program is stopped; a program that
//! exits or writes garbage makes its open op `info` and is started again
//! for the next op (the runner gives the next op a new process number, as
//! Jepsen does after any `info`); a program that cannot be started, or has
//! died before the request was written, gives `fail`: nothing was sent.

pub mod protocol;
pub mod reference;

use crate::{BoxFuture, Call, Client, Completion, Endpoint, KV_FS, TXN_FS};
use protocol::{clip, parse_response, Request};
use serde_json::Value;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How to start a client program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCommand {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Its working directory.
    pub dir: PathBuf,
    /// Extra environment (beside the `FAULTLINE_*` variables).
    pub env: Vec<(String, String)>,
    /// The `f`s it serves; `None`: the protocol's standard ones
    /// ([`KV_FS`] and [`TXN_FS`]).
    pub fs: Option<Vec<String>>,
}

impl ClientCommand {
    /// The command as a user would type it, for error messages.
    pub fn display(&self) -> String {
        self.argv.join(" ")
    }
}

/// How a program failed an op: nothing was sent (`fail`), or the op's
/// outcome is lost (`info`).
enum Broken {
    NotSent(String),
    Lost(String),
}

/// How many lines of a client's stderr are kept for error messages.
const STDERR_LINES: usize = 20;

struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

struct State {
    running: Option<Running>,
    next_id: u64,
}

/// A client program that did not exit when its stdin closed.
#[derive(Debug, Clone, PartialEq)]
pub struct StillRunning {
    /// Its command line.
    pub command: String,
    /// How long it was given.
    pub grace: Duration,
}

impl std::fmt::Display for StillRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "client `{}` still ran {} s after its stdin closed", self.command, self.grace.as_secs_f64())
    }
}

impl std::error::Error for StillRunning {}

/// A client program bound to one node and one process.
pub struct StdioClient {
    command: Arc<ClientCommand>,
    at: Endpoint,
    timeout: Duration,
    state: tokio::sync::Mutex<State>,
}

impl StdioClient {
    /// A client that starts `command` for `at` on its first op; each op
    /// bounded by `timeout`.
    pub fn new(command: Arc<ClientCommand>, at: Endpoint, timeout: Duration) -> StdioClient {
        StdioClient { command, at, timeout, state: tokio::sync::Mutex::new(State { running: None, next_id: 1 }) }
    }

    fn spawn(&self) -> Result<Running, String> {
        let c = &self.command;
        let (program, args) = c.argv.split_first().ok_or("the client command is empty")?;
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(&c.dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        cmd.env("FAULTLINE_PROTOCOL", protocol::VERSION.to_string())
            .env("FAULTLINE_NODE", &self.at.node)
            .env("FAULTLINE_ADDRESS", &self.at.address)
            .env("FAULTLINE_PROCESS", self.at.process.to_string())
            .env("FAULTLINE_NODES", &self.at.nodes)
            .env("FAULTLINE_TIMEOUT_MS", self.timeout.as_millis().to_string());
        cmd.envs(c.env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().map_err(|e| format!("cannot start client `{}` in {}: {e}", c.display(), c.dir.display()))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take()) else {
            return Err(format!("client `{}`: no pipes", c.display()));
        };
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let keep = tail.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                let mut t = keep.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() == STDERR_LINES {
                    t.pop_front();
                }
                t.push_back(l);
            }
        });
        Ok(Running { child, stdin, stdout: BufReader::new(stdout).lines(), stderr: tail })
    }

    /// Why the program stopped answering: its exit status (if it exited)
    /// and the end of its stderr.
    async fn epitaph(&self, mut r: Running) -> String {
        let status = match tokio::time::timeout(Duration::from_millis(200), r.child.wait()).await {
            Ok(Ok(s)) => format!("exited ({s})"),
            _ => {
                let _ = r.child.kill().await;
                "stopped answering".to_string()
            }
        };
        // give the stderr reader a moment to drain what is left
        tokio::time::sleep(Duration::from_millis(20)).await;
        let tail: Vec<String> = r.stderr.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect();
        let tail = if tail.is_empty() { String::new() } else { format!("; stderr: {}", clip(&tail.join(" | "))) };
        format!("client `{}` on {} {status}{tail}", self.command.display(), self.at.node)
    }

    /// Closes the program's stdin and waits up to `grace` for it to exit:
    /// `Err` when it did not (the protocol asks a client to exit then).
    pub async fn close(&self, grace: Duration) -> Result<(), StillRunning> {
        let Some(mut r) = self.state.lock().await.running.take() else { return Ok(()) };
        drop(r.stdin);
        match tokio::time::timeout(grace, r.child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => {
                let _ = r.child.kill().await;
                Err(StillRunning { command: self.command.display().to_string(), grace })
            }
        }
    }

    /// Kills the program (SIGKILL), as a crash would.
    pub async fn crash(&self) {
        if let Some(mut r) = self.state.lock().await.running.take() {
            let _ = r.child.kill().await;
        }
    }

    /// Sends one request and waits for its completion.
    pub async fn call(&self, f: &str, key: &str, value: Option<Value>) -> Completion {
        match self.exchange(f, key, value).await {
            Ok(c) => c,
            Err(Broken::NotSent(e)) => Completion::Fail(e),
            Err(Broken::Lost(e)) => Completion::Info(e),
        }
    }

    /// One request: the program's completion, or how the program broke.
    async fn exchange(&self, f: &str, key: &str, value: Option<Value>) -> Result<Completion, Broken> {
        let mut st = self.state.lock().await;
        let id = st.next_id;
        st.next_id += 1;
        let mut r = match st.running.take() {
            Some(r) => r,
            None => self.spawn().map_err(Broken::NotSent)?,
        };
        let req = Request { id, f: f.to_string(), key: key.to_string(), value };
        let mut line = serde_json::to_string(&req).unwrap_or_default();
        line.push('\n');
        let sent = async { r.stdin.write_all(line.as_bytes()).await.and(r.stdin.flush().await) };
        if sent.await.is_err() {
            // the program died before it could read the request
            return Err(Broken::NotSent(self.epitaph(r).await));
        }
        let answer = tokio::time::timeout(self.timeout, async {
            loop {
                match r.stdout.next_line().await {
                    Ok(Some(l)) if l.trim().is_empty() => continue,
                    Ok(Some(l)) => match parse_response(&l) {
                        // a late answer to an earlier request: skip it
                        Ok(resp) if resp.id < id => continue,
                        Ok(resp) if resp.id == id => return Ok(resp),
                        Ok(resp) => return Err(format!("answered id {} to request {id}", resp.id)),
                        Err(e) => return Err(e.to_string()),
                    },
                    Ok(None) | Err(_) => return Err(String::new()),
                }
            }
        })
        .await;
        match answer {
            Ok(Ok(resp)) => {
                st.running = Some(r);
                Ok(resp.completion())
            }
            Ok(Err(garbage)) if garbage.is_empty() => Err(Broken::Lost(self.epitaph(r).await)),
            Ok(Err(garbage)) => {
                let why = self.epitaph(r).await;
                Err(Broken::Lost(format!("{why}; it wrote {garbage}")))
            }
            Err(_) => {
                drop(r); // kill_on_drop: a late answer can never be read as another op's
                Err(Broken::Lost("timeout".into()))
            }
        }
    }
}

impl StdioClient {
    /// Sends a call; a read-set or read-log answered `null` is an empty list.
    async fn perform(&self, c: &Call) -> Completion {
        let done = self.call(&c.f, &c.key, c.value.clone()).await;
        match c.f.as_str() {
            "read-set" | "read-log" => crate::ops::list_or_empty(done),
            _ => done,
        }
    }

    /// Starts the program and asks one read: `Err` when it cannot start,
    /// dies, writes garbage or never answers; then it stops.
    async fn check_program(&self) -> Result<(), String> {
        // any completion the program writes shows it works; then it stops
        let r = self.exchange("read", "faultline-preflight", None).await;
        let _ = self.close(Duration::from_secs(1)).await;
        match r {
            Ok(_) => Ok(()),
            Err(Broken::NotSent(e) | Broken::Lost(e)) if e == "timeout" => {
                Err(format!("client `{}` on {} did not answer a read within {} s", self.command.display(), self.at.node, self.timeout.as_secs_f64()))
            }
            Err(Broken::NotSent(e) | Broken::Lost(e)) => Err(e),
        }
    }
}

impl Client for StdioClient {
    fn serves(&self, f: &str) -> bool {
        match &self.command.fs {
            Some(fs) => fs.iter().any(|x| x == f),
            None => KV_FS.contains(&f) || TXN_FS.contains(&f),
        }
    }
    fn invoke<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(call))
    }
    fn preflight(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(self.check_program())
    }
}

#[cfg(test)]
mod tests;
