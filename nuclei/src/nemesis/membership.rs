//! Membership changes as faults: a member taken out of the system's
//! membership (or replaced: its data wiped too) and added back, one
//! change at a time, each asked through a member that stays; the history
//! records the members the system reports before and after.

use super::Nemesis;
use crate::error::FaultError;
use crate::fault::Needs;
use control::NodeClient;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Instant;

impl Nemesis {
    /// A node to ask about the membership, and the members it reports: the
    /// leader if it is not among `nodes`, else the first running member
    /// that answers (a member just added may not serve yet).
    fn via(&self, nodes: &[String]) -> Result<(&NodeClient, Vec<String>), FaultError> {
        let mut candidates: Vec<&NodeClient> = {
            let a = self.active();
            let out = |n: &String| nodes.contains(n) || a.removed.contains(n) || a.killed.contains(n) || a.powered_off.contains(n) || a.lost.contains(n);
            self.cluster.clients().iter().filter(|c| !out(&c.node().name)).collect()
        };
        // the leader first: it is connected to every peer (a system may refuse a
        // change asked through a member connected for less than 5 s)
        if let Some(p) = self.target.primary() {
            candidates.sort_by_key(|c| c.node().name != p);
        }
        let mut last = FaultError::Invalid(format!("no running member is left to change the membership through (changing {})", nodes.join(", ")));
        for c in candidates {
            match self.target.members(c) {
                Ok(members) => return Ok((c, members)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn client(&self, name: &str) -> Result<&NodeClient, FaultError> {
        self.cluster.node(name).ok_or_else(|| FaultError::Invalid(format!("{name} is not a node of this cluster")))
    }

    /// Takes `nodes` out of the membership, one after the other (and, to
    /// replace them, stops them and wipes their data).
    pub(super) fn remove_members(&self, nodes: &[String], wipe: bool) -> Result<(BTreeMap<String, Instant>, Value), FaultError> {
        self.check(&[Needs::Membership])?;
        let (via, before) = self.via(nodes)?;
        let (mut done, mut steps) = (BTreeMap::new(), Vec::new());
        for n in nodes {
            let cl = self.client(n)?;
            steps.push(self.target.remove_member(via, cl)?);
            self.active().removed.insert(n.clone());
            if wipe {
                self.target.wipe(cl)?;
            }
            done.insert(n.clone(), Instant::now());
        }
        let after = self.target.members(via)?;
        Ok((done, json!({"nodes": nodes, "members_before": before, "members_after": after, "steps": steps, "wiped": wipe})))
    }

    /// Adds `nodes` back to the membership, one after the other, each
    /// started (wiped first if the system needs it).
    pub(super) fn add_members(&self, nodes: &[String]) -> Result<(BTreeMap<String, Instant>, Value), FaultError> {
        self.check(&[Needs::Membership])?;
        let (via, before) = self.via(nodes)?;
        let (mut done, mut steps) = (BTreeMap::new(), Vec::new());
        for n in nodes {
            steps.push(self.target.add_member(via, self.client(n)?)?);
            self.active().removed.remove(n);
            done.insert(n.clone(), Instant::now());
        }
        let after = self.target.members(via)?;
        Ok((done, json!({"nodes": nodes, "members_before": before, "members_after": after, "steps": steps})))
    }
}
