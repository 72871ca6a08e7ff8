//! Faults on the in-memory cluster: the same [`Fault`]s as on real nodes,
//! applied to its state, each with its inverse.

use super::{Bug, Faults, Memory, KILL_AFTER_HEAL};
use nuclei::{Fault, FaultError, Injector, Needs};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::time::Instant;

impl Memory {
    fn indices(&self, names: &[String]) -> Result<Vec<usize>, FaultError> {
        names.iter().map(|n| self.index(n).map_err(FaultError::from)).collect()
    }

    /// The nodes that are members: every node not taken out (the
    /// in-memory system models a member out as a node down).
    fn members(&self, f: &Faults) -> Vec<String> {
        (0..self.nodes.len()).filter(|i| !f.killed.contains(i)).map(|i| self.nodes[i].clone()).collect()
    }

    /// The node the majority follows: the first node that serves.
    pub fn primary(&self) -> Option<String> {
        let f = self.faults();
        (0..self.nodes.len()).find(|&i| !f.killed.contains(&i) && self.in_majority(&f, i)).map(|i| self.nodes[i].clone())
    }

    fn partition(&self, grudge: &nuclei::Grudge) -> Result<(), FaultError> {
        nuclei::grudge::valid_for(grudge, &self.nodes)?;
        let data = self.data().clone();
        let mut f = self.faults();
        // a second partition adds its rules to the first, as iptables does
        for (n, drops) in grudge {
            let i = self.index(n).map_err(FaultError::from)?;
            let d: BTreeSet<usize> = drops.iter().map(|x| self.index(x)).collect::<Result<_, _>>()?;
            f.grudge.entry(i).or_default().extend(d);
        }
        for i in 0..self.nodes.len() {
            if !self.in_majority(&f, i) {
                if !f.snapshots.contains_key(&i) {
                    self.log(i, "cut off from the majority");
                }
                f.cut_off.insert(i);
                f.snapshots.entry(i).or_insert_with(|| data.clone()); // what it saw when first cut off
            }
        }
        Ok(())
    }

    /// Loses the adds and appends acknowledged since the last heal.
    fn lose_since_heal(&self, f: &Faults) {
        if let Some((sets, logs)) = &f.healed_lens {
            let mut d = self.data();
            for (k, v) in d.sets.iter_mut() {
                v.truncate(sets.get(k).copied().unwrap_or(0));
            }
            for (k, v) in d.logs.iter_mut() {
                v.truncate(logs.get(k).copied().unwrap_or(0));
            }
        }
    }

    fn heal_partition(&self, f: &mut Faults) {
        if !f.grudge.is_empty() {
            f.healed_at = Some(crate::clock::now());
            for i in (0..self.nodes.len()).filter(|&i| !self.in_majority(f, i) && !f.killed.contains(&i)) {
                self.rejoin(i);
            }
            if self.has(Bug::KillAfterHeal) || self.has(Bug::PauseWhileCatchingUp) {
                let d = self.data();
                let lens = |m: &std::collections::HashMap<String, Vec<Value>>| m.iter().map(|(k, v)| (k.clone(), v.len())).collect();
                f.healed_lens = Some((lens(&d.sets), lens(&d.logs)));
            }
        }
        f.grudge.clear();
        f.snapshots.clear();
    }
}

impl Injector for Memory {
    /// Network shaping, clocks and faults on a real system's own tools do
    /// not exist in memory: refused.
    fn preflight(&self, needs: &[Needs]) -> Result<(), FaultError> {
        let refused: Vec<String> = needs
            .iter()
            .filter_map(|n| match n {
                Needs::Netem => Some("slow links (no network in memory)".to_string()),
                Needs::Clock => Some("clock faults (no clocks in memory)".to_string()),
                Needs::System(f) => Some(format!("{f} (it has no faults of its own)")),
                Needs::Files => Some("file corruption (it keeps no files)".to_string()),
                _ => None,
            })
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(FaultError::Unsupported(format!("the in-memory system cannot do {}", refused.join(", "))))
        }
    }

    fn setup(&self) -> Result<(), FaultError> {
        Ok(())
    }

    fn apply(&self, fault: &Fault, t0: Instant) -> Result<Value, FaultError> {
        let mut extra = match fault {
            Fault::StartPartition { grudge, ports } => {
                self.partition(grudge)?;
                json!({"grudge": grudge, "ports": ports})
            }
            Fault::IsolatePrimary { ports } => {
                let (victim, found) = match self.primary() {
                    Some(p) => (p, true),
                    None => (self.nodes[0].clone(), false),
                };
                let g = nuclei::grudge::isolate(&self.nodes, &victim);
                self.partition(&g)?;
                json!({"grudge": g, "ports": ports, "primary": victim, "primary_found": found})
            }
            Fault::StopPartition => {
                self.heal_partition(&mut self.faults());
                json!({})
            }
            Fault::StartLoss { grudge, probability } => {
                if !(0.0..=1.0).contains(probability) {
                    return Err(FaultError::Invalid(format!("loss probability {probability} is not between 0 and 1")));
                }
                let mut f = self.faults();
                for n in grudge.keys() {
                    f.loss.insert(self.index(n).map_err(FaultError::from)?, *probability);
                }
                json!({"grudge": grudge, "probability": probability})
            }
            Fault::StopLoss => {
                self.faults().loss.clear();
                json!({})
            }
            Fault::Kill { nodes } => {
                let ix = self.indices(nodes)?;
                let mut f = self.faults();
                for &i in &ix {
                    self.log(i, "killed");
                }
                f.killed.extend(ix);
                if self.has(Bug::KillAfterHeal) && f.healed_at.is_some_and(|at| crate::clock::since(at) < KILL_AFTER_HEAL) {
                    // what was acknowledged since the heal is gone
                    self.lose_since_heal(&f);
                }
                json!({"nodes": nodes})
            }
            Fault::Start { nodes } => {
                let ix = self.indices(nodes)?;
                for &i in &ix {
                    self.log(i, "started");
                }
                self.faults().killed.retain(|i| !ix.contains(i));
                json!({"nodes": nodes})
            }
            // a member out of the membership serves nothing, as a killed node
            Fault::RemoveMember { nodes } | Fault::ReplaceMember { nodes } => {
                let ix = self.indices(nodes)?;
                let mut f = self.faults();
                let before = self.members(&f);
                f.killed.extend(ix);
                json!({"nodes": nodes, "members_before": before, "members_after": self.members(&f)})
            }
            Fault::AddMember { nodes } => {
                let ix = self.indices(nodes)?;
                let mut f = self.faults();
                let before = self.members(&f);
                f.killed.retain(|i| !ix.contains(i));
                json!({"nodes": nodes, "members_before": before, "members_after": self.members(&f)})
            }
            // a power cut loses what a page cache held, as lose-unsynced does
            Fault::LoseUnsynced { nodes } | Fault::PowerCut { nodes } => {
                let ix = self.indices(nodes)?;
                if self.has(Bug::NoFsync) {
                    self.writeback(); // one due before the power cut happened
                }
                let mut f = self.faults();
                let majority = ix.len() * 2 > self.nodes.len();
                f.killed.extend(ix);
                if let (true, Some((_, disk))) = (majority, &f.synced) {
                    // a majority restarts from its disks: what only the
                    // page cache held is gone
                    *self.data() = disk.clone();
                }
                json!({"nodes": nodes})
            }
            Fault::Restart { nodes } | Fault::PowerOn { nodes } => {
                let ix = self.indices(nodes)?;
                self.faults().killed.retain(|i| !ix.contains(i));
                json!({"nodes": nodes})
            }
            Fault::Pause { nodes } => {
                let ix = self.indices(nodes)?;
                let mut f = self.faults();
                for &i in &ix {
                    let catching_up = self.catching_up(i);
                    self.log(i, if catching_up { "paused while catching up" } else { "paused" });
                    if catching_up && self.has(Bug::PauseWhileCatchingUp) {
                        self.lose_since_heal(&f);
                    }
                }
                f.paused.extend(ix);
                json!({"nodes": nodes})
            }
            Fault::Resume { nodes } => {
                let ix = self.indices(nodes)?;
                for &i in &ix {
                    self.log(i, "resumed");
                }
                self.faults().paused.retain(|i| !ix.contains(i));
                json!({"nodes": nodes})
            }
            other => return Err(FaultError::Unsupported(format!("the in-memory system cannot do {}", other.f()))),
        };
        let at = crate::clock::since(t0).as_nanos() as u64;
        let names: Vec<String> = match fault {
            Fault::Kill { nodes }
            | Fault::Start { nodes }
            | Fault::Pause { nodes }
            | Fault::Resume { nodes }
            | Fault::LoseUnsynced { nodes }
            | Fault::Restart { nodes }
            | Fault::PowerCut { nodes }
            | Fault::PowerOn { nodes }
            | Fault::RemoveMember { nodes }
            | Fault::ReplaceMember { nodes }
            | Fault::AddMember { nodes } => nodes.clone(),
            _ => self.nodes.clone(),
        };
        extra["at"] = Value::Object(names.into_iter().map(|n| (n, json!(at))).collect::<Map<String, Value>>());
        Ok(extra)
    }

    fn heal_all(&self) -> Vec<FaultError> {
        if self.has(Bug::HangingHeal) {
            std::thread::sleep(super::HANG);
        }
        let mut f = self.faults();
        self.heal_partition(&mut f);
        f.loss.clear();
        f.killed.clear();
        f.paused.clear();
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Bug, Memory, MemoryClient};
    use crate::{Completion, Ops};
    use nuclei::{grudge, Fault, Injector};
    use serde_json::json;
    use std::time::{Duration, Instant};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    async fn within(c: impl std::future::Future<Output = Completion>) -> Option<Completion> {
        tokio::time::timeout(Duration::from_millis(100), c).await.ok()
    }

    #[test]
    fn memory_minority_hangs_killed_refuses_and_heal_serves_again() {
        let m = Memory::new(3, &[]);
        let c = |n: &str| MemoryClient::new(m.clone(), n).unwrap();
        let names = m.nodes().to_vec();
        let t0 = Instant::now();
        rt().block_on(async {
            assert_eq!(within(c("n1").write("k", &json!(1))).await, Some(Completion::Ok(json!(1))));
            m.apply(&Fault::StartPartition { grudge: grudge::isolate(&names, "n3"), ports: vec![] }, t0).unwrap();
            assert_eq!(within(c("n3").read("k")).await, None, "a minority node does not answer");
            assert_eq!(within(c("n2").read("k")).await, Some(Completion::Ok(json!(1))));
            assert_eq!(m.primary().as_deref(), Some("n1"));
            m.apply(&Fault::Kill { nodes: vec!["n1".into()] }, t0).unwrap();
            assert!(matches!(within(c("n1").read("k")).await, Some(Completion::Fail(_))));
            assert!(m.heal_all().is_empty());
            assert_eq!(within(c("n3").read("k")).await, Some(Completion::Ok(json!(1))));
            assert_eq!(within(c("n1").cas("k", &json!(2), &json!(3))).await, Some(Completion::Fail("cas-mismatch".into())));
        });
        assert!(m.preflight(&[nuclei::Needs::Clock]).is_err() && m.preflight(&[nuclei::Needs::Kill]).is_ok());
        let e = m.preflight(&[nuclei::Needs::System("wipe-node".into())]).unwrap_err().to_string();
        assert!(e.contains("wipe-node"), "{e}");
    }

    #[test]
    fn an_fsync_that_does_not_sync_loses_since_the_last_writeback_when_a_majority_loses_power() {
        let names = |v: &[&str]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let paused = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        for (bug, lost_by, lost) in [(true, &["n1"][..], false), (true, &["n1", "n2"], true), (false, &["n1", "n2", "n3"], false)] {
            let m = Memory::new(3, if bug { &[Bug::NoFsync] } else { &[] });
            let c = |n: &str| MemoryClient::new(m.clone(), n).unwrap();
            let t0 = Instant::now();
            paused.block_on(async {
                assert_eq!(within(c("n1").write("old", &json!(1))).await, Some(Completion::Ok(json!(1))));
                tokio::time::advance(super::super::WRITEBACK).await;
                assert_eq!(within(c("n1").write("new", &json!(2))).await, Some(Completion::Ok(json!(2))));
                m.apply(&Fault::LoseUnsynced { nodes: names(lost_by) }, t0).unwrap();
                assert!(matches!(within(c("n1").read("new")).await, Some(Completion::Fail(_))), "the node is down");
                m.apply(&Fault::Restart { nodes: names(lost_by) }, t0).unwrap();
                let want = if lost { json!(null) } else { json!(2) };
                assert_eq!(within(c("n1").read("new")).await, Some(Completion::Ok(want)), "bug {bug}, lost by {lost_by:?}");
                assert_eq!(within(c("n1").read("old")).await, Some(Completion::Ok(json!(1))), "written back before");
            });
        }
    }

    #[test]
    fn overlapping_partitions_add_up_as_on_real_nodes() {
        let m = Memory::new(3, &[]);
        let c = |n: &str| MemoryClient::new(m.clone(), n).unwrap();
        let names = m.nodes().to_vec();
        let t0 = Instant::now();
        rt().block_on(async {
            m.apply(&Fault::StartPartition { grudge: grudge::isolate(&names, "n3"), ports: vec![] }, t0).unwrap();
            m.apply(&Fault::StartPartition { grudge: grudge::isolate(&names, "n2"), ports: vec![] }, t0).unwrap();
            // both rules hold: every node is alone, no majority anywhere
            for n in ["n1", "n2", "n3"] {
                assert_eq!(within(c(n).read("k")).await, None, "{n} is cut off by one of the two partitions");
            }
            assert_eq!(m.primary(), None);
            m.apply(&Fault::StopPartition, t0).unwrap();
            assert_eq!(within(c("n3").read("k")).await, Some(Completion::Ok(serde_json::Value::Null)));
        });
    }

    #[test]
    fn memory_bugs_lose_writes_and_read_stale_on_the_cut_off_node() {
        let m = Memory::new(3, &[Bug::LostWrite, Bug::StaleRead]);
        let c = |n: &str| MemoryClient::new(m.clone(), n).unwrap();
        let names = m.nodes().to_vec();
        rt().block_on(async {
            c("n1").write("k", &json!(1)).await;
            m.apply(&Fault::StartPartition { grudge: grudge::isolate(&names, "n3"), ports: vec![] }, Instant::now()).unwrap();
            c("n1").write("k", &json!(2)).await;
            assert_eq!(within(c("n3").read("k")).await, Some(Completion::Ok(json!(1))), "stale");
            assert_eq!(within(c("n3").add("s", &json!(7))).await, Some(Completion::Ok(json!(7))), "acknowledged");
            m.apply(&Fault::StopPartition, Instant::now()).unwrap();
            assert_eq!(within(c("n1").read_set("s")).await, Some(Completion::Ok(json!([]))), "and lost");
        });
    }
}
