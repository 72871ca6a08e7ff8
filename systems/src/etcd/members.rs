//! etcd's membership, through its v3 API's JSON gateway (what `etcdctl
//! member list|remove|add` call): a member removed stops itself; one added
//! again joins with a fresh data directory (etcd refuses a removed member's
//! old data: its member ID is gone), started with
//! `--initial-cluster-state existing` and the cluster as the add answered.

use super::{signal, Etcd, DATA};
use crate::db::{DbError, Membership, Topology};
use control::{Cmd, NodeClient};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// A member as the gateway lists it (IDs are uint64s written as strings).
#[derive(Debug, Clone, Deserialize)]
struct Member {
    #[serde(rename = "ID")]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "peerURLs", default)]
    peer_urls: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Members {
    #[serde(default)]
    members: Vec<Member>,
}

fn peer_url(address: &str) -> String {
    format!("http://{address}:2380")
}

/// A POST to the gateway of the member at `address`, its JSON answer.
fn post(address: &str, path: &str, body: Value) -> Result<Value, DbError> {
    let url = format!("http://{address}:2379/v3/cluster/member/{path}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| DbError::Local(format!("tokio: {e}")))?;
    rt.block_on(async {
        let r = reqwest::Client::new().post(&url).json(&body).timeout(Duration::from_secs(10)).send().await.map_err(|e| DbError::Sut(format!("{url}: {e}")))?;
        let status = r.status();
        let v: Value = r.json().await.map_err(|e| DbError::Sut(format!("{url}: {status}: {e}")))?;
        if !status.is_success() {
            return Err(DbError::Sut(format!("{url}: {status}: {}", v["error"].as_str().or(v["message"].as_str()).unwrap_or("no message"))));
        }
        Ok(v)
    })
}

/// The node a member is: its name, or (a member added but not yet
/// started has none) the node its peer URL names.
fn node_of(m: &Member, topo: &Topology) -> String {
    if !m.name.is_empty() {
        return m.name.clone();
    }
    let by_url = topo.nodes.iter().find(|(_, a)| m.peer_urls.contains(&peer_url(a)));
    by_url.map(|(n, _)| n.clone()).unwrap_or_else(|| m.peer_urls.join(","))
}

fn list(via: &NodeClient) -> Result<Vec<Member>, DbError> {
    let v = post(&via.node().address, "list", json!({}))?;
    serde_json::from_value::<Members>(v).map(|m| m.members).map_err(|e| DbError::Sut(format!("etcd's member list: {e}")))
}

impl Membership for Etcd {
    fn members(&self, via: &NodeClient, topo: &Topology) -> Result<Vec<String>, DbError> {
        let mut names: Vec<String> = list(via)?.iter().map(|m| node_of(m, topo)).collect();
        names.sort();
        Ok(names)
    }

    fn remove(&self, via: &NodeClient, node: &NodeClient, topo: &Topology) -> Result<Value, DbError> {
        let name = &node.node().name;
        let members = list(via)?;
        let Some(m) = members.iter().find(|m| node_of(m, topo) == *name) else {
            return Ok(json!({"node": name, "member_id": null, "note": "not a member"}));
        };
        post(&via.node().address, "remove", json!({"ID": m.id}))?;
        Ok(json!({"node": name, "member_id": m.id}))
    }

    fn add(&self, via: &NodeClient, node: &NodeClient, topo: &Topology) -> Result<Value, DbError> {
        let (name, url) = (&node.node().name, peer_url(&node.node().address));
        let members = list(via)?;
        if let Some(m) = members.iter().find(|m| m.peer_urls.contains(&url)) {
            // still (or already) a member: it only needs to run
            let start = self.start_cmd(name, topo)?;
            node.run(&control::Cmd::script(&format!("pgrep -f {} >/dev/null || {{ {}; }}", control::quote(super::PATTERN), start.text())).sudo())?;
            return Ok(json!({"node": name, "member_id": m.id, "note": "already a member"}));
        }
        self.wipe(node, topo)?;
        let added = post(&via.node().address, "add", json!({"peerURLs": [url]}))?;
        let id = added["member"]["ID"].as_str().unwrap_or_default().to_string();
        let now: Members = serde_json::from_value(added.clone()).map_err(|e| DbError::Sut(format!("etcd's member add: {e}")))?;
        let cluster: Vec<String> = now
            .members
            .iter()
            .filter_map(|m| {
                let who = if m.id == id { name.clone() } else { node_of(m, topo) };
                m.peer_urls.first().map(|u| format!("{who}={u}"))
            })
            .collect();
        node.run(&self.start_with(name, topo, &cluster, "existing")?)?;
        Ok(json!({"node": name, "member_id": id, "initial_cluster": cluster}))
    }

    fn wipe(&self, node: &NodeClient, _topo: &Topology) -> Result<(), DbError> {
        signal(node, "-KILL")?;
        node.run(&Cmd::new(["rm", "-rf", &format!("{DATA}/data")]).sudo())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_from_the_gateway_s_json_and_named_by_node() {
        let v = json!({"header": {}, "members": [
            {"ID": "1234", "name": "n1", "peerURLs": ["http://10.0.0.1:2380"], "clientURLs": ["http://10.0.0.1:2379"]},
            {"ID": "99", "peerURLs": ["http://10.0.0.3:2380"]}
        ]});
        let m: Members = serde_json::from_value(v).unwrap();
        let topo = Topology { nodes: vec![("n1".into(), "10.0.0.1".into()), ("n3".into(), "10.0.0.3".into())] };
        let names: Vec<String> = m.members.iter().map(|m| node_of(m, &topo)).collect();
        assert_eq!(names, ["n1", "n3"], "a member added but not started is named by its peer URL");
        assert_eq!(m.members[0].id, "1234");
    }
}
