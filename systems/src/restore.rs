//! The original membership restored after a killed run (`faultline heal`):
//! every node of the cluster that the system no longer lists as a member
//! is added back, one at a time, through a member that answers.

use crate::db::{DbError, Membership, Topology};
use control::NodeClient;

/// What [`restore_membership`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The members before, as the system reported them.
    pub before: Vec<String>,
    /// The nodes added back, in order.
    pub added: Vec<String>,
    /// The members after.
    pub after: Vec<String>,
}

/// Adds back every node of `clients` missing from the membership, asking
/// through the first node that is a member and answers.
pub fn restore_membership(m: &dyn Membership, clients: &[NodeClient], topo: &Topology) -> Result<Restored, DbError> {
    let mut last = DbError::Sut("no node answered with the membership".into());
    let mut found = None;
    for c in clients {
        match m.members(c, topo) {
            Ok(members) if members.contains(&c.node().name) => {
                found = Some((c, members));
                break;
            }
            Ok(members) => last = DbError::Sut(format!("{} is not a member (members: {})", c.node().name, members.join(", "))),
            Err(e) => last = e,
        }
    }
    let (via, before) = found.ok_or(last)?;
    let mut added = Vec::new();
    for c in clients.iter().filter(|c| !before.contains(&c.node().name)) {
        m.add(via, c, topo).map_err(|e| DbError::Sut(format!("adding {} back: {e}", c.node().name)))?;
        added.push(c.node().name.clone());
    }
    let after = if added.is_empty() { before.clone() } else { m.members(via, topo)? };
    Ok(Restored { before, added, after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use control::{NodesFile, Options};
    use serde_json::{json, Value};
    use std::sync::Mutex;

    /// A membership in memory: n3 was left out by a killed run; n1 does
    /// not answer (as a node whose system is down).
    struct Fake(Mutex<Vec<String>>);

    impl Membership for Fake {
        fn members(&self, via: &NodeClient, _: &Topology) -> Result<Vec<String>, DbError> {
            if via.node().name == "n1" {
                return Err(DbError::Sut("n1: connection refused".into()));
            }
            Ok(self.0.lock().unwrap().clone())
        }
        fn remove(&self, _: &NodeClient, node: &NodeClient, _: &Topology) -> Result<Value, DbError> {
            self.0.lock().unwrap().retain(|m| *m != node.node().name);
            Ok(json!({}))
        }
        fn add(&self, via: &NodeClient, node: &NodeClient, _: &Topology) -> Result<Value, DbError> {
            assert_eq!(via.node().name, "n2", "asked through a member that answers");
            self.0.lock().unwrap().push(node.node().name.clone());
            Ok(json!({}))
        }
        fn wipe(&self, _: &NodeClient, _: &Topology) -> Result<(), DbError> {
            Ok(())
        }
    }

    fn clients() -> Vec<NodeClient> {
        let text = (1..=3).map(|i| format!("[[node]]\nname = \"n{i}\"\naddress = \"10.0.0.{i}\"\n")).collect::<String>();
        NodesFile::parse(&text).unwrap().resolve().into_iter().map(|n| NodeClient::new(n, Options::default())).collect()
    }

    #[test]
    fn every_node_left_out_is_added_back_through_a_member_that_answers() {
        let m = Fake(Mutex::new(vec!["n1".into(), "n2".into()]));
        let topo = Topology::default();
        let r = restore_membership(&m, &clients(), &topo).unwrap();
        assert_eq!(r.before, ["n1", "n2"]);
        assert_eq!(r.added, ["n3"]);
        assert_eq!(r.after, ["n1", "n2", "n3"]);
        let again = restore_membership(&m, &clients(), &topo).unwrap();
        assert!(again.added.is_empty(), "nothing left out: nothing added");
    }

    #[test]
    fn no_member_answering_is_an_error_naming_why() {
        let m = Fake(Mutex::new(vec!["n1".into()]));
        let e = restore_membership(&m, &clients(), &Topology::default()).unwrap_err();
        assert!(e.to_string().contains("n3 is not a member"), "{e}");
    }
}
