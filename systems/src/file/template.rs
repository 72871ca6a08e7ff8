//! Templates in a system file, rendered with MiniJinja (Jinja2's syntax,
//! strict: an unknown variable is an error, never an empty string).
//!
//! Three contexts: on a node (files, commands, processes, per-node checks:
//! `name`, `address`, `index` from 0, `id` from 1, `nodes`, `system`); the
//! cluster (cluster readiness, the primary: `nodes`, `system`); the client
//! (`python`, `dir`, `system`, `helpers`).

use super::SystemFile;
use crate::Topology;
use minijinja::{context, Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// One node as templates see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NodeVars {
    /// Its name (`n1`).
    pub name: String,
    /// Its address.
    pub address: String,
    /// Its position, from 0.
    pub index: usize,
    /// Its position, from 1 (ZooKeeper's `myid`).
    pub id: usize,
}

/// Every node of `topo`.
pub fn nodes(topo: &Topology) -> Vec<NodeVars> {
    topo.nodes.iter().enumerate().map(|(i, (n, a))| NodeVars { name: n.clone(), address: a.clone(), index: i, id: i + 1 }).collect()
}

/// The context on the node at `address` (name and position looked up).
/// `db_args` is `--db-arg`'s arguments, each quoted for the shell, joined.
pub fn node_context(system: &str, topo: &Topology, address: &str, db_args: &str) -> Value {
    let all = nodes(topo);
    let me = all.iter().find(|n| n.address == address || n.name == address).cloned();
    let me = me.unwrap_or(NodeVars { name: String::new(), address: address.to_string(), index: 0, id: 0 });
    context! { system, name => me.name, address => me.address, index => me.index, id => me.id, nodes => all, db_args }
}

/// The context of a membership command on the node at `address` about
/// `member` (the node it changes).
pub fn member_context(system: &str, topo: &Topology, address: &str, member: &str, db_args: &str) -> Value {
    let member = nodes(topo).into_iter().find(|n| n.name == member);
    context! { member, ..node_context(system, topo, address, db_args) }
}

/// The cluster's context.
pub fn cluster_context(system: &str, topo: &Topology) -> Value {
    context! { system, nodes => nodes(topo) }
}

/// The client's context: `helpers` is the directory of faultline's
/// protocol helpers for clients (`faultline.py`), wherever the system file is.
pub fn client_context(system: &str, python: &str, dir: &str, helpers: &str) -> Value {
    context! { system, python, dir, helpers }
}

/// Why a template could not be rendered.
#[derive(Debug)]
pub enum TemplateError {
    /// Variables the context has not.
    Unknown {
        /// The unknown ones.
        unknown: Vec<String>,
        /// The ones the context has.
        known: Vec<String>,
    },
    /// A syntax or rendering error, as MiniJinja says it.
    Template(minijinja::Error),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Unknown { unknown, known } => write!(f, "unknown variable {} (known here: {})", unknown.join(", "), known.join(", ")),
            TemplateError::Template(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Renders `text` in `ctx`; an unknown variable is named, with the known ones.
pub fn render(text: &str, ctx: &Value) -> Result<String, TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let tmpl = env.template_from_str(text).map_err(TemplateError::Template)?;
    tmpl.render(ctx).map_err(|e| {
        let known: Vec<String> = ctx.try_iter().map(|it| it.map(|k| k.to_string()).collect()).unwrap_or_default();
        let unknown: Vec<String> = tmpl.undeclared_variables(false).into_iter().filter(|v| !known.contains(v)).collect();
        if e.kind() == minijinja::ErrorKind::UndefinedError && !unknown.is_empty() {
            TemplateError::Unknown { unknown, known }
        } else {
            TemplateError::Template(e)
        }
    })
}

/// Renders every template of the file with a sample cluster of three
/// nodes: a syntax error or an unknown variable is found before any node
/// is touched. Errors as `(key, text, problem)`.
pub fn check_all(f: &SystemFile, _src: &str) -> Result<(), (String, String, String)> {
    let s = &f.spec;
    let topo = Topology { nodes: (1..=3).map(|i| (format!("n{i}"), format!("10.0.0.{i}"))).collect() };
    let node = node_context(&s.name, &topo, "10.0.0.1", "--sample-arg");
    let cluster = cluster_context(&s.name, &topo);
    let client = client_context(&s.name, "/venv/bin/python", &f.dir.display().to_string(), "/helpers");
    let mut items: Vec<(String, String, &Value)> = Vec::new();
    for (i, p) in s.processes.iter().enumerate() {
        for (what, v) in [("command", &p.command), ("unit", &p.unit), ("pattern", &p.pattern)] {
            if let Some(t) = v {
                items.push((format!("processes[{i}].{what}"), t.clone(), &node));
            }
        }
    }
    for (i, c) in s.install.commands.iter().enumerate() {
        items.push((format!("install.commands[{i}]"), c.clone(), &node));
    }
    for (i, c) in s.wipe.iter().enumerate() {
        items.push((format!("wipe[{i}]"), c.clone(), &node));
    }
    for (i, file) in s.install.files.iter().enumerate() {
        items.push((format!("install.files[{i}].to"), file.to.clone(), &node));
    }
    for (i, sv) in s.services.iter().enumerate() {
        for t in [&sv.command, &sv.http, &sv.expect].into_iter().flatten() {
            items.push((format!("services[{i}]"), t.clone(), &node));
        }
    }
    for (key, c, ctx) in [("ready.node", &s.ready.node, &node), ("ready.cluster", &s.ready.cluster, &cluster)] {
        for t in c.iter().flat_map(|c| [&c.command, &c.http, &c.expect]).flatten() {
            items.push((key.to_string(), t.clone(), ctx));
        }
    }
    if let Some(p) = &s.primary {
        items.push(("primary.command".into(), p.command.clone(), &cluster));
    }
    let member = member_context(&s.name, &topo, "10.0.0.1", "n2", "--sample-arg");
    if let Some(m) = &s.membership {
        for (key, text) in [("membership.members", &m.members), ("membership.remove", &m.remove), ("membership.add", &m.add)] {
            items.push((key.into(), text.clone(), &member));
        }
    }
    for (i, a) in s.client.command.iter().enumerate() {
        items.push((format!("client.command[{i}]"), a.clone(), &client));
    }
    for (k, v) in &s.client.env {
        items.push((format!("client.env.{k}"), v.clone(), &client));
    }
    for (key, text, ctx) in items {
        render(&text, ctx).map_err(|e| (key, text.clone(), e.to_string()))?;
    }
    for (i, file) in s.install.files.iter().enumerate().filter(|(_, f)| f.template) {
        let path = f.dir.join(&file.from);
        let text = std::fs::read_to_string(&path).map_err(|e| (format!("install.files[{i}]"), file.from.clone(), format!("{}: {e}", path.display())))?;
        render(&text, &node).map_err(|e| (format!("install.files[{i}]"), file.from.clone(), format!("template {}: {e}", path.display())))?;
    }
    Ok(())
}
