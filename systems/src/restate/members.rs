//! Restate's metadata membership on the contract every system shares
//! (`remove-member` / `add-member` / `replace-member`): the members as
//! `restatectl metadata-server list-servers` reports them, a node removed
//! and added back with `metadata-server remove-node` / `add-node`, and a
//! replaced node (wiped) started again with the steps Restate 1.7 needs for
//! a node that lost its data before it is added.

use super::faults::ctl_ok;
use super::{signal, Restate, DATA, SERVER_PATTERN};
use crate::db::{DbError, Membership, Topology};
use control::{Cmd, NodeClient};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The members of the metadata cluster in the newest view
/// `list-servers` prints (the `MEMBERS` column of a `Member` row with the
/// highest `VERSION`), as plain node ids; `None` when no row has one.
pub fn listed_members(out: &str) -> Option<Vec<String>> {
    let mut lines = out.lines().skip_while(|l| !l.contains("MEMBERS"));
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (status, version, members) = (col("STATUS")?, col("VERSION")?, col("MEMBERS")?);
    let mut best: Option<(u64, Vec<String>)> = None;
    for l in lines {
        let cells: Vec<&str> = l.split_whitespace().collect();
        let (Some(s), Some(v), Some(m)) = (cells.get(status), cells.get(version), cells.get(members)) else { continue };
        let Some(v) = v.strip_prefix('v').and_then(|v| v.parse::<u64>().ok()) else { continue };
        if *s != "Member" || best.as_ref().is_some_and(|(b, _)| *b >= v) {
            continue;
        }
        let ids = m.trim_matches(|c| c == '[' || c == ']').split(',').filter(|i| !i.is_empty()).map(str::to_string).collect();
        best = Some((v, ids));
    }
    best.map(|(_, ids)| ids)
}

impl Restate {
    fn ctl_and_addrs(&self, topo: &Topology) -> Result<(std::path::PathBuf, String), DbError> {
        Ok((self.bins()?.restatectl.clone(), Self::addresses(topo)))
    }

    /// `metadata-server remove-node|add-node` for `node`.
    fn metadata(&self, node: &NodeClient, topo: &Topology, verb: &str) -> Result<Value, DbError> {
        let (ctl, addrs) = self.ctl_and_addrs(topo)?;
        let name = node.node().name.clone();
        let id = Self::ids_of(&ctl, &addrs, std::slice::from_ref(&name))?.remove(0);
        ctl_ok(&ctl, &["--address", &addrs, "metadata-server", verb, &id, "--yes"])?;
        Ok(json!({"node": name, "node_id": id}))
    }
}

impl Membership for Restate {
    fn members(&self, _via: &NodeClient, topo: &Topology) -> Result<Vec<String>, DbError> {
        let (ctl, addrs) = self.ctl_and_addrs(topo)?;
        let out = ctl_ok(&ctl, &["--address", &addrs, "metadata-server", "list-servers"])?;
        let ids = listed_members(&out).ok_or_else(|| DbError::Sut(format!("restatectl metadata-server list-servers: no member listed: {}", out.trim())))?;
        let names: BTreeMap<String, String> = Self::node_ids(&ctl, &addrs)?.into_iter().map(|(name, id)| (id, name)).collect();
        let mut members: Vec<String> = ids.iter().map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone())).collect();
        members.sort();
        Ok(members)
    }

    fn remove(&self, _via: &NodeClient, node: &NodeClient, topo: &Topology) -> Result<Value, DbError> {
        self.metadata(node, topo, "remove-node")
    }

    /// Added back; a node wiped since its removal (its server not running)
    /// is started and taken back first, each step timed.
    fn add(&self, _via: &NodeClient, node: &NodeClient, topo: &Topology) -> Result<Value, DbError> {
        let running = node.exec(&Cmd::new(["pgrep", "-f", SERVER_PATTERN]))?.status == 0;
        if running {
            return self.metadata(node, topo, "add-node");
        }
        let (ctl, addrs) = self.ctl_and_addrs(topo)?;
        let steps = self.rejoin(&ctl, &addrs, node, topo, false)?;
        Ok(json!({"node": node.node().name, "rejoin": steps}))
    }

    fn wipe(&self, node: &NodeClient, _topo: &Topology) -> Result<(), DbError> {
        signal(node, "-KILL", SERVER_PATTERN)?;
        node.run(&Cmd::new(["rm", "-rf", DATA]).sudo())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_members_are_the_newest_view_a_member_lists() {
        let out = "Metadata service\n NODE  STATUS    VERSION  LEADER  MEMBERS     APPLIED  COMMITTED  TERM  LOG-LENGTH  SNAP-INDEX  SNAP-SIZE \n N1    Member    v5       N1      [N1,N2,N3]  215      215        2     48          167         18.9 KiB  \n N2    Starting  v0       -       []          0        0          0     0           0           0 B       \n N3    Member    v6       N1      [N1,N3]     215      215        2     48          167         18.9 KiB  \n";
        assert_eq!(listed_members(out), Some(vec!["N1".to_string(), "N3".to_string()]));
        let standby = out.replace("Member  ", "Standby ");
        assert_eq!(listed_members(&standby), None, "no member row: no view");
        assert_eq!(listed_members("Error: no node answered"), None);
    }
}
