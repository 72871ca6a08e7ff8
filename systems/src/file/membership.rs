//! A system file's `[membership]` as the system's [`Membership`]: its
//! commands run on a member that stays, with the node changed as `member`.

use super::checks::named_nodes;
use super::db::FileDb;
use super::template::member_context;
use crate::db::{Db, DbError, Membership, Topology};
use control::NodeClient;
use serde_json::{json, Value};

impl FileDb {
    fn spec(&self) -> Result<&super::spec::Membership, DbError> {
        self.file.spec.membership.as_ref().ok_or_else(|| DbError::Sut(format!("{}: no [membership]", self.file.path.display())))
    }

    /// Runs the membership command `key` on `via` about `member`: its output.
    fn on_member(&self, via: &NodeClient, member: &str, topo: &Topology, key: &str, text: &str) -> Result<String, DbError> {
        let ctx = member_context(self.name(), topo, &via.node().address, member, &self.db_args);
        self.run_in(via, &ctx, key, text)
    }
}

impl Membership for FileDb {
    fn members(&self, via: &NodeClient, topo: &Topology) -> Result<Vec<String>, DbError> {
        let m = self.spec()?;
        let out = self.on_member(via, &via.node().name, topo, "membership.members", &m.members)?;
        Ok(named_nodes(&out, &topo.nodes))
    }

    fn remove(&self, via: &NodeClient, node: &NodeClient, topo: &Topology) -> Result<Value, DbError> {
        let name = &node.node().name;
        let out = self.on_member(via, name, topo, "membership.remove", &self.spec()?.remove)?;
        Ok(json!({"node": name, "output": out.trim()}))
    }

    fn add(&self, via: &NodeClient, node: &NodeClient, topo: &Topology) -> Result<Value, DbError> {
        let m = self.spec()?;
        let name = &node.node().name;
        if m.wipe {
            // a new member: wiped and installed again (its configuration
            // files as a fresh node's, not as its removal left them)
            self.wipe(node, topo)?;
            self.setup(node, topo)?;
        }
        let out = self.on_member(via, name, topo, "membership.add", &m.add)?;
        self.start(node, topo)?;
        Ok(json!({"node": name, "output": out.trim(), "wiped": m.wipe}))
    }

    fn wipe(&self, node: &NodeClient, _topo: &Topology) -> Result<(), DbError> {
        self.teardown(node)
    }
}
