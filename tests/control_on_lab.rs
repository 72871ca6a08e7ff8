//! The control plane against real nodes of the lab over real SSH.

mod common;

use common::lab_nodes;
use control::{Cause, Cluster, Cmd, Node, NodeClient, Options};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn client(i: usize) -> NodeClient {
    NodeClient::new(lab_nodes()[i].clone(), Options::default())
}

fn quick() -> Options {
    Options { connect_timeout: Duration::from_secs(2), reconnect_for: Duration::ZERO, ..Options::default() }
}

#[test]
fn exec_returns_status_stdout_and_stderr() {
    let c = client(0);
    let o = c.exec(&Cmd::script("echo out; echo err >&2; exit 3")).unwrap();
    assert_eq!((o.status, o.stdout.as_str(), o.stderr.as_str()), (3, "out\n", "err\n"));
    let o = c.exec(&Cmd::new(["cat"]).stdin("fed through stdin")).unwrap();
    assert_eq!(o.stdout, "fed through stdin");
    let e = c.run(&Cmd::new(["ls", "/no/such/dir"])).unwrap_err();
    let msg = e.to_string();
    let n1 = &lab_nodes()[0].address;
    assert!(msg.starts_with(&format!("node n1 (root@{n1}:22): `ls /no/such/dir`: exit status 2")), "{msg}");
    assert!(msg.contains("No such file"), "{msg}");
}

#[test]
fn a_value_reaches_the_node_unchanged() {
    let evil = "$(touch /tmp/pwned); `id`; 'quoted' \"double\" \\ *";
    let o = client(1).run(&Cmd::new(["printf", "%s", evil])).unwrap();
    assert_eq!(o.stdout, evil);
    assert_eq!(client(1).exec(&Cmd::new(["test", "-e", "/tmp/pwned"])).unwrap().status, 1);
}

#[test]
fn sessions_are_reused() {
    let c = client(2);
    for _ in 0..20 {
        c.run(&Cmd::new(["true"])).unwrap();
    }
    assert_eq!(c.connections_opened(), 1);
}

#[test]
fn one_command_runs_on_every_node_in_parallel() {
    let cluster = Cluster::new(lab_nodes(), Options::default());
    let r = cluster.run_all(&Cmd::new(["hostname"]));
    let names: Vec<(String, String)> = r.into_iter().map(|(n, o)| (n, o.unwrap().stdout.trim().to_string())).collect();
    assert_eq!(names, [("n1", "n1"), ("n2", "n2"), ("n3", "n3")].map(|(a, b)| (a.to_string(), b.to_string())));
    // in parallel: three 1-second sleeps take about one second, not three
    let t = Instant::now();
    cluster.run_all_ok(&Cmd::new(["sleep", "1"])).unwrap();
    assert!(t.elapsed() < Duration::from_millis(2500), "{:?}", t.elapsed());
}

#[test]
fn a_command_past_its_timeout_fails_and_the_node_stays_usable() {
    let c = client(0);
    let e = c.exec(&Cmd::new(["sleep", "30"]).timeout(Duration::from_millis(500))).unwrap_err();
    assert!(matches!(e.cause, Cause::TimedOut(_)), "{e}");
    assert!(e.to_string().contains("`sleep 30`: timed out"), "{e}");
    assert_eq!(c.run(&Cmd::new(["echo", "alive"])).unwrap().stdout, "alive\n");
}

#[test]
fn fifty_megabytes_go_up_and_come_back_intact() {
    let dir = std::env::temp_dir().join(format!("faultline-transfer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let up = dir.join("up.bin");
    let mut f = std::fs::File::create(&up).unwrap();
    let mut x: u64 = 1;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..50 {
        for b in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    drop(f);
    let c = client(1);
    c.upload(&up, "/root/big.bin", 0o640).unwrap();
    let remote = c.run(&Cmd::script("stat -c '%s %a' /root/big.bin")).unwrap().stdout;
    assert_eq!(remote.trim(), "52428800 640");
    let down = dir.join("down.bin");
    assert_eq!(c.download("/root/big.bin", &down).unwrap(), 52_428_800);
    assert!(std::fs::read(&up).unwrap() == std::fs::read(&down).unwrap(), "downloaded bytes differ");
    let _ = std::fs::remove_dir_all(&dir);
    c.run(&Cmd::new(["rm", "/root/big.bin"])).unwrap();
    let e = c.download("/no/such/file", &std::env::temp_dir().join("x")).unwrap_err();
    assert!(e.to_string().contains("`download of /no/such/file`: transfer failed"), "{e}");
}

#[test]
fn a_session_reconnects_after_sshd_restarts() {
    let n = lab_nodes()[2].clone();
    let c = NodeClient::new(n.clone(), Options::default());
    c.run(&Cmd::new(["true"])).unwrap();
    // cut every SSH connection (ours too), stop sshd, start it again
    let restart = "setsid nohup sh -c 'sleep 0.3; pkill -KILL -f \"^sshd: root\"; systemctl stop ssh; sleep 2; systemctl start ssh' >/dev/null 2>&1 &";
    c.run(&Cmd::script(restart)).unwrap();
    // wait until sshd is down (connections refused): our session is cut by then
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect((n.address.as_str(), 22)).is_ok() {
        assert!(Instant::now() < deadline, "sshd never went down");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = c.run(&Cmd::new(["echo", "back"])).unwrap();
    assert_eq!(o.stdout, "back\n");
    assert_eq!(c.connections_opened(), 2);
}

fn with(n: Node, f: impl FnOnce(&mut Node)) -> Node {
    let mut n = n;
    f(&mut n);
    n
}

#[test]
fn a_wrong_key_is_a_clear_authentication_error() {
    let dir = std::env::temp_dir().join(format!("faultline-wrongkey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("id");
    let _ = std::fs::remove_file(&key);
    let ok = std::process::Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key).status().unwrap();
    assert!(ok.success());
    let n = with(lab_nodes()[0].clone(), |n| n.key = Some(key.clone()));
    let e = NodeClient::new(n, quick()).run(&Cmd::new(["true"])).unwrap_err();
    assert!(matches!(e.cause, Cause::AuthFailed(_)), "{e}");
    assert!(e.to_string().starts_with(&format!("node n1 (root@{}:22): authentication failed", lab_nodes()[0].address)), "{e}");
    assert!(e.is_unreachable());
}

#[test]
fn unreachable_and_refusing_addresses_are_clear_errors() {
    // an address in the lab's own subnet where no node exists
    let n = with(lab_nodes()[0].clone(), |n| {
        n.name = "ghost".into();
        n.address = "10.77.0.250".into();
    });
    let t = Instant::now();
    let e = NodeClient::new(n, quick()).run(&Cmd::new(["true"])).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(matches!(e.cause, Cause::TimedOut(_) | Cause::Unreachable(_)), "{e}");
    assert!(e.to_string().starts_with("node ghost (root@10.77.0.250:22):"), "{e}");
    // a node that is up, on a port where nothing listens
    let n = with(lab_nodes()[0].clone(), |n| n.port = 2);
    let e = NodeClient::new(n, quick()).run(&Cmd::new(["true"])).unwrap_err();
    assert_eq!(e.cause, Cause::Refused, "{e}");
    assert!(e.to_string().ends_with("connection refused"), "{e}");
}

#[test]
fn an_unknown_or_changed_host_key_is_refused_unless_checking_is_off() {
    let dir = std::env::temp_dir().join(format!("faultline-kh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let n = with(lab_nodes()[0].clone(), |n| n.known_hosts = Some(empty.clone()));
    let e = NodeClient::new(n.clone(), quick()).run(&Cmd::new(["true"])).unwrap_err();
    let n1 = lab_nodes()[0].address.clone();
    assert!(e.to_string().contains(&format!("host key check failed: {n1} is not in")), "{e}");
    let wrong = dir.join("wrong");
    std::fs::write(&wrong, format!("{n1} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBs0pS7MSGLuB7wY1y0Wv5Kz2gn7tWgJYxvB1tJbqk4R\n")).unwrap();
    let n2 = with(n.clone(), |n| n.known_hosts = Some(wrong.clone()));
    let e = NodeClient::new(n2, quick()).run(&Cmd::new(["true"])).unwrap_err();
    assert!(e.to_string().contains("differs from"), "{e}");
    let off = with(n, |n| n.host_key_check = control::HostKeyCheck::Off);
    assert!(NodeClient::new(off, quick()).run(&Cmd::new(["true"])).is_ok());
}

#[test]
fn sudo_runs_as_root_for_another_user() {
    let root = client(0);
    let setup = "id fl >/dev/null 2>&1 || useradd -m -s /bin/sh -p '*' fl; \
                 mkdir -p ~fl/.ssh && cp /root/.ssh/authorized_keys ~fl/.ssh/ && chown -R fl ~fl/.ssh; \
                 echo 'fl ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/fl && chmod 440 /etc/sudoers.d/fl";
    root.run(&Cmd::script(setup)).unwrap();
    let n = with(lab_nodes()[0].clone(), |n| n.user = "fl".into());
    let fl = NodeClient::new(n, Options::default());
    assert_eq!(fl.run(&Cmd::new(["id", "-un"])).unwrap().stdout, "fl\n");
    assert_eq!(fl.run(&Cmd::new(["id", "-un"]).sudo()).unwrap().stdout, "root\n");
    // uploads go through sudo into root's directories
    fl.upload_bytes(&mut "hello".as_bytes(), "/root/from-fl", 0o600).unwrap();
    assert_eq!(root.run(&Cmd::script("stat -c %U /root/from-fl && cat /root/from-fl")).unwrap().stdout, "root\nhello");
}
