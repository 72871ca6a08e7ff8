//! A system file is checked whole before any node is touched: each
//! mistake names the file, the line and the key.

use super::*;
use crate::Topology;
use std::path::PathBuf;

const GOOD: &str = r#"
name = "kv"
about = "a test system"

[install]
packages = ["kv-server"]
files = [{ from = "kv.conf.j2", to = "/etc/kv/{{ name }}.conf", template = true }]
commands = ["systemctl disable kv || true"]

[[processes]]
name = "server"
command = "kv-server --id {{ id }} --listen {{ address }}:7000"
pause = true

[[services]]
name = "client"
tcp = 7000

[ready]
cluster = { command = "kv-ctl --nodes {% for n in nodes %}{{ n.address }},{% endfor %} status", expect = "healthy" }

[primary]
command = "kv-ctl leader --at {{ nodes[0].address }}"

[client]
command = ["{{ python }}", "client.py"]
python = ["kvclient==1.0"]
"#;

/// Writes `text` as system.toml (and a template beside it) in a fresh dir.
fn write(text: &str, template: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("faultline-sysfile-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kv.conf.j2"), template).unwrap();
    std::fs::write(dir.join("system.toml"), text).unwrap();
    dir.join("system.toml")
}

fn error(text: &str) -> SystemFileError {
    SystemFile::load(&write(text, "id={{ id }}\npeers={% for n in nodes %}{{ n.name }} {% endfor %}\n")).unwrap_err()
}

#[test]
fn a_good_file_loads_and_its_patterns_are_anchored() {
    let f = SystemFile::load(&write(GOOD, "id={{ id }}\n")).unwrap();
    assert_eq!(f.spec.name, "kv");
    assert_eq!(f.spec.processes[0].name, "server");
    let db = FileDb::new(f);
    use crate::Db;
    assert_eq!(db.as_pause().map(|p| p.pause_pattern().to_string()), Some("(^kv-server --id)".to_string()));
    assert!(db.as_kill().is_some() && db.as_primary().is_some());
    assert_eq!(db.services()[0].port, 7000);
    assert!(db.data_dirs().is_empty(), "no data_dirs: lose-unsynced is refused");
    let f = SystemFile::load(&write(&GOOD.replace("about = \"a test system\"", "about = \"a test system\"\ndata_dirs = [\"/var/lib/kv\"]"), "id={{ id }}\n"))
        .unwrap();
    assert_eq!(FileDb::new(f).data_dirs(), vec!["/var/lib/kv".to_string()]);
    assert!(db.log_files().contains(&"/var/log/faultline/kv-server.log".to_string()));
}

#[test]
fn a_typo_in_a_key_names_the_line_and_the_key() {
    let e = error(&GOOD.replace("pause = true", "pasue = true"));
    assert_eq!(e.line, 13, "{e}");
    assert!(e.problem.contains("pasue"), "{e}");
    assert!(e.to_string().starts_with(&e.file.display().to_string()), "{e}");
}

#[test]
fn a_wrong_type_names_the_line() {
    let e = error(&GOOD.replace("tcp = 7000", "tcp = \"seven\""));
    assert_eq!(e.line, 17, "{e}");
}

#[test]
fn an_unknown_template_variable_names_the_key() {
    let e = error(&GOOD.replace("{{ address }}:7000", "{{ adress }}:7000"));
    assert_eq!(e.key, "processes[0].command", "{e}");
    assert_eq!(e.line, 12, "{e}");
    assert!(e.problem.contains("unknown variable adress") && e.problem.contains("address"), "{e}");
    let e = error(&GOOD.replace("{{ python }}", "{{ pyton }}"));
    assert_eq!(e.key, "client.command[0]", "{e}");
}

#[test]
fn a_broken_template_file_names_the_file_entry() {
    let path = write(GOOD, "id={{ id \n");
    let e = SystemFile::load(&path).unwrap_err();
    assert_eq!(e.key, "install.files[0]", "{e}");
    assert!(e.problem.contains("kv.conf.j2"), "{e}");
}

#[test]
fn structural_mistakes_are_named() {
    let cases = [
        (GOOD.replace("name = \"kv\"", "name = \"KV store\""), "name"),
        (GOOD.replace("command = \"kv-server", "unit = \"kv\"\ncommand = \"kv-server"), "processes[0]"),
        (GOOD.replace("tcp = 7000", "tcp = 7000\nhttp = \"http://{{ address }}/\""), "services[0] (client)"),
        (GOOD.replace("from = \"kv.conf.j2\"", "from = \"missing.j2\""), "install.files[0]"),
        (GOOD.replace("command = [\"{{ python }}\", \"client.py\"]", "command = []"), "client.command"),
        (GOOD.replace("name = \"server\"", "name = \"server; rm -rf x\""), "processes[0]"),
        (GOOD.replace("pause = true", "pause = true\npattern = \"kv-server\""), "processes[0]"),
        (GOOD.replace("about = \"a test system\"", "about = \"a test system\"\ndata_dirs = [\"/var/lib/kv\", \"data\"]"), "data_dirs[1]"),
        (GOOD.replace("about = \"a test system\"", "about = \"a test system\"\ndata_dirs = [\"/\"]"), "data_dirs[0]"),
    ];
    for (text, key) in cases {
        let e = error(&text);
        assert_eq!(e.key, key, "{e}");
    }
    let e = error(&GOOD.replace("pause = true", "pause = true\npattern = \"kv-server\""));
    assert!(e.problem.contains("must start with ^") && e.line == 14, "{e}");
    assert!(SystemFile::load(&write(&GOOD.replace("pause = true", "pause = true\npattern = \"^kv-server\""), "id={{ id }}\n")).is_ok());
    let e = SystemFile::load(std::path::Path::new("/nonexistent/system.toml")).unwrap_err();
    assert!(e.problem.contains("cannot read"), "{e}");
}

#[test]
fn templates_render_with_the_node_and_its_peers() {
    let topo = Topology { nodes: vec![("n1".into(), "10.0.0.1".into()), ("n2".into(), "10.0.0.2".into())] };
    let ctx = template::node_context("kv", &topo, "10.0.0.2", "");
    assert_eq!(template::render("{{ name }} {{ id }} {{ index }} {{ nodes | length }} {{ system }}", &ctx).unwrap(), "n2 2 1 2 kv");
}

#[test]
fn a_readiness_command_that_never_succeeds_is_named_at_the_deadline() {
    let text = GOOD.replace("[ready]\n", "[ready]\nnode = { command = \"echo still loading on {{ address }}; exit 1\" }\n");
    let db = FileDb::new(SystemFile::load(&write(&text, "id={{ id }}\n")).unwrap());
    let topo = Topology { nodes: vec![("n1".into(), "127.0.0.1".into())] };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let started = std::time::Instant::now();
    let s = rt.block_on(crate::wait_ready(&db, &reqwest::Client::new(), &topo, started, std::time::Duration::from_millis(800)));
    assert!(!s.ready());
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    let (node, why) = &s.not_ready[0];
    assert_eq!(node, "n1");
    assert!(why.contains("echo still loading on 127.0.0.1; exit 1") && why.contains("still loading"), "{why}");
}

#[tokio::test]
async fn the_client_program_gets_the_files_env_and_then_client_env_over_it() {
    // a client that answers every request with the value of $A and $B
    let text = r#"
name = "envtest"
[[processes]]
name = "server"
command = "true"
[[services]]
name = "client"
tcp = 7000
[client]
command = ["sh", "-c", "while read l; do id=$(printf %s \"$l\" | sed 's/.*\"id\":\\([0-9]*\\).*/\\1/'); printf '{\"id\":%s,\"type\":\"ok\",\"value\":\"%s %s\"}\\n' \"$id\" \"$A\" \"$B\"; done"]
env = { A = "file", B = "file" }
"#;
    let db = FileDb::new(SystemFile::load(&write(text, "")).unwrap()).with_client_env(vec![("B".into(), "flag".into())]);
    use crate::Db;
    let at = crate::Endpoint { node: "n1".into(), address: "127.0.0.1".into(), process: 0, nodes: "n1=127.0.0.1".into() };
    let c = db.client(&reqwest::Client::new(), &at, std::time::Duration::from_secs(5));
    assert_eq!(c.invoke(&crate::Call::new("read", "r1", None)).await, crate::Completion::Ok(serde_json::json!("file flag")));
}

#[test]
fn a_membership_table_gives_the_membership_and_its_templates_are_checked() {
    let with = format!(
        "{GOOD}\n[membership]\nmembers = \"kv-ctl members\"\nremove = \"kv-ctl remove {{{{ member.id }}}} --via {{{{ address }}}}\"\nadd = \"kv-ctl add {{{{ member.address }}}}\"\n"
    );
    let f = SystemFile::load(&write(&with, "id={{ id }}\n")).unwrap();
    let m = f.spec.membership.clone().unwrap();
    assert!(m.wipe, "a node is wiped before it rejoins unless the file says not");
    use crate::Db;
    assert!(FileDb::new(f).as_membership().is_some());
    assert!(FileDb::new(SystemFile::load(&write(GOOD, "id={{ id }}\n")).unwrap()).as_membership().is_none());
    // the member's variables are known; a typo is named with its key
    let topo = Topology { nodes: vec![("n1".into(), "10.0.0.1".into()), ("n2".into(), "10.0.0.2".into())] };
    let ctx = template::member_context("kv", &topo, "10.0.0.1", "n2", "");
    assert_eq!(template::render(&m.remove, &ctx).unwrap(), "kv-ctl remove 2 --via 10.0.0.1");
    let e = error(&with.replace("member.address", "membr.address"));
    assert!(e.to_string().contains("membership.add") && e.problem.contains("unknown variable membr"), "{e}");
    let e = error(&format!("{GOOD}\n[membership]\nmembers = \"x\"\nremove = \"y\"\n"));
    assert!(e.to_string().contains("add"), "{e}");
    assert_eq!(checks::named_nodes("member 10.0.0.2 started\nn1 leader", &topo.nodes), ["n1", "n2"]);
}

#[test]
fn every_system_file_in_the_repository_loads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut loaded = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let f = e.path().join("system.toml");
        if f.is_file() {
            let s = SystemFile::load(&f).unwrap_or_else(|e| panic!("{e}"));
            loaded.push((s.spec.name.clone(), s.spec.membership.is_some()));
        }
    }
    loaded.sort();
    assert!(loaded.len() >= 5, "{loaded:?}");
    assert!(loaded.contains(&("zookeeper".to_string(), true)), "ZooKeeper declares its membership: {loaded:?}");
}
