//! A system file's checks, run from the control node: a shell command, a
//! TCP connect, or an HTTP status.

use super::spec::Check;
use super::template::render;
use crate::NotReady;
use minijinja::Value;
use std::process::Stdio;
use std::time::Duration;

/// Runs `command` (rendered) with `sh -c` on the control node: its output
/// (stdout then stderr), or why it failed.
pub async fn control_command(command: &str, ctx: &Value, timeout: Duration) -> Result<String, NotReady> {
    let text = render(command, ctx).map_err(|e| NotReady::Tool(e.to_string()))?;
    let child = tokio::process::Command::new("sh")
        .args(["-c", &text])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| NotReady::Tool(format!("sh -c {text:?}: {e}")))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return Err(NotReady::Tool(format!("`{text}`: {e}"))),
        Err(_) => return Err(NotReady::Unreachable(format!("`{text}`: timeout"))),
    };
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(output)
    } else {
        let last = output.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        Err(NotReady::Refused(format!("`{text}` {}: {last}", out.status)))
    }
}

/// Runs one check against the node at `address`, in `ctx`.
pub async fn run(check: &Check, ctx: &Value, address: &str, http: &reqwest::Client, timeout: Duration) -> Result<(), NotReady> {
    if let Some(cmd) = &check.command {
        let out = control_command(cmd, ctx, timeout).await?;
        let want = check.expect.as_deref().map(|w| render(w, ctx)).transpose().map_err(|e| NotReady::Tool(e.to_string()))?;
        return match &want {
            Some(want) if !out.contains(want.as_str()) => {
                Err(NotReady::Refused(format!("`{cmd}` printed {:?}, not {want:?}", crate::stdio::protocol::clip(&out))))
            }
            _ => Ok(()),
        };
    }
    if let Some(port) = check.tcp {
        return match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((address, port))).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(NotReady::Unreachable(format!("connect: {e}"))),
            Err(_) => Err(NotReady::Unreachable("timeout".into())),
        };
    }
    if let Some(url) = &check.http {
        let url = render(url, ctx).map_err(|e| NotReady::Tool(e.to_string()))?;
        let r = http.get(&url).timeout(timeout).send().await.map_err(|e| NotReady::from_http(&e))?;
        let want = check.status.unwrap_or(200);
        return if r.status().as_u16() == want { Ok(()) } else { Err(NotReady::Refused(format!("{url}: status {}, not {want}", r.status().as_u16()))) };
    }
    Err(NotReady::Unknown("a check with nothing to check".into()))
}

/// The node named in a primary command's output: the first node whose
/// name or address appears in it as a whole word.
pub fn named_node(output: &str, nodes: &[(String, String)]) -> Option<String> {
    let words: Vec<&str> = output.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' || c == ':')).collect();
    for w in words {
        for (name, address) in nodes {
            if w == name || w == address {
                return Some(name.clone());
            }
        }
    }
    None
}

/// Every node `output` names (by name or address, as a whole word), in
/// the cluster's order.
pub fn named_nodes(output: &str, nodes: &[(String, String)]) -> Vec<String> {
    nodes.iter().filter(|n| named_node(output, std::slice::from_ref(n)).is_some()).map(|(name, _)| name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn a_command_check_passes_on_exit_zero_with_the_expected_output() {
        let rt = rt();
        let ctx = context! { address => "127.0.0.1" };
        let http = reqwest::Client::new();
        let t = Duration::from_secs(5);
        let ok = Check { command: Some("echo PONG from {{ address }}".into()), expect: Some("PONG".into()), ..Check::default() };
        assert_eq!(rt.block_on(run(&ok, &ctx, "127.0.0.1", &http, t)), Ok(()));
        let wrong = Check { command: Some("echo LOADING".into()), expect: Some("PONG".into()), ..Check::default() };
        assert!(matches!(rt.block_on(run(&wrong, &ctx, "127.0.0.1", &http, t)), Err(NotReady::Refused(m)) if m.contains("LOADING")));
        let failing = Check { command: Some("echo nope >&2; exit 4".into()), ..Check::default() };
        assert!(matches!(rt.block_on(run(&failing, &ctx, "127.0.0.1", &http, t)), Err(NotReady::Refused(m)) if m.contains("nope")));
        let slow = Check { command: Some("sleep 5".into()), ..Check::default() };
        let r = rt.block_on(run(&slow, &ctx, "127.0.0.1", &http, Duration::from_millis(200)));
        assert!(matches!(r, Err(NotReady::Unreachable(m)) if m.contains("timeout")));
    }

    #[test]
    fn a_tcp_check_connects_or_names_why_not() {
        let rt = rt();
        let http = reqwest::Client::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Check { tcp: Some(port), ..Check::default() };
        assert_eq!(rt.block_on(run(&open, &context! {}, "127.0.0.1", &http, Duration::from_secs(2))), Ok(()));
        // a port below the ephemeral range, where nothing listens (a freed
        // ephemeral port can be met by a self-connect)
        let closed = Check { tcp: Some(1), ..Check::default() };
        assert!(matches!(rt.block_on(run(&closed, &context! {}, "127.0.0.1", &http, Duration::from_secs(2))), Err(NotReady::Unreachable(_))));
    }

    #[test]
    fn the_primary_is_the_node_named_by_name_or_address() {
        let nodes = vec![("n1".to_string(), "10.77.0.11".to_string()), ("n2".to_string(), "10.77.0.12".to_string())];
        assert_eq!(named_node("10.77.0.12\n6379\n", &nodes), Some("n2".into()));
        assert_eq!(named_node("leader: n1", &nodes), Some("n1".into()));
        assert_eq!(named_node("10.77.0.111", &nodes), None);
        assert_eq!(named_node("", &nodes), None);
    }
}
