//! `faultline run`'s options: flags, or a TOML file with the same names,
//! resolved into one [`RunConfig`] that is stored with the run.

use checker::txn::Consistency;
use nuclei::Catalog;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The system that runs in this process, with no nodes: `--db memory`.
pub const MEMORY: &str = "memory";

/// The model of that name, or why not.
pub fn consistency(name: Option<&str>) -> Result<Consistency, crate::ConfigError> {
    let name = name.unwrap_or("serializable");
    Consistency::parse(name).ok_or_else(|| {
        let all: Vec<&str> = checker::txn::models::ALL.iter().map(|m| m.name()).collect();
        crate::ConfigError(format!("unknown --consistency {name:?} (one of {})", all.join(", ")))
    })
}

/// The resolved options of a run (stored in test.json).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// SUT, by name (a built-in system, or `memory`).
    pub db: String,
    /// The system file, when the system is described in one (`db` is then its name).
    pub system: Option<PathBuf>,
    /// Extra environment for that system's client, KEY=VALUE.
    pub client_env: Vec<String>,
    /// The system's release from its registry (`--version`).
    pub version: Option<String>,
    /// The user's own binaries, NAME=PATH (`--binary`).
    pub binaries: Vec<String>,
    /// Extra arguments for the system's server (`--db-arg`).
    pub db_args: Vec<String>,
    /// Serve the data directories through faultline's page cache even when
    /// no fault needs it (`--page-cache`: to measure what it costs).
    pub page_cache: bool,
    /// Seconds data may be dirty in the page cache before it is written
    /// back (`--dirty-expire`; Linux's and the default: 30).
    pub dirty_expire: Option<f64>,
    /// Names too wait for an fsync of their directory (or the page cache's
    /// commit, every 5 s) before a power loss keeps them (`--unsynced-names`).
    pub unsynced_names: bool,
    /// Run a plan that takes the membership below a majority of the
    /// nodes (`--allow-quorum-loss`; otherwise refused before the run).
    pub allow_quorum_loss: bool,
    /// Workload.
    pub workload: String,
    /// The consistency model transactions are checked against (Elle's name).
    pub consistency: String,
    /// Fault kinds, by name.
    pub nemesis: Vec<String>,
    /// Seconds of workload with faults.
    pub time_limit: f64,
    /// Ops per second, all processes.
    pub rate: f64,
    /// Processes.
    pub concurrency: usize,
    /// Nodes file (None: the lab).
    pub nodes_file: Option<PathBuf>,
    /// RNG seed.
    pub seed: Option<u64>,
    /// Seconds of normal load after the heal.
    pub recovery_window: f64,
    /// Name.
    pub name: Option<String>,
    /// Keep the SUT running.
    pub keep: bool,
    /// The in-memory system on the real clock, not simulated time.
    pub real_time: bool,
    /// etcd serializable reads.
    pub serializable: bool,
    /// Bugs of the in-memory system.
    pub bugs: Vec<String>,
    /// Healthy seconds between windows.
    pub interval: f64,
    /// Window length, seconds.
    pub fault_duration: f64,
    /// Each interval and window drawn between half and one and a half
    /// times its length (Jepsen's stagger), instead of exact.
    pub stagger: bool,
    /// Per-op timeout, seconds.
    pub op_timeout: f64,
    /// Readiness deadline, seconds.
    pub ready_timeout: f64,
    /// Store directory.
    pub store: PathBuf,
    /// SLOs, as `--slo` gives them.
    pub slo: Vec<String>,
    /// A fault plan file.
    pub fault_plan: Option<PathBuf>,
    /// A fault plan written inline (a scenario's), instead of a file.
    pub plan: Vec<nuclei::Step>,
    /// Faults applied from the instant the nodes are started, while the
    /// system bootstraps (at_ms after the start); closed once it is ready.
    pub startup_plan: Vec<nuclei::Step>,
    /// The scenario the options came from.
    pub scenario: Option<String>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            db: "etcd".into(),
            system: None,
            client_env: Vec::new(),
            version: None,
            binaries: Vec::new(),
            db_args: Vec::new(),
            page_cache: false,
            dirty_expire: None,
            unsynced_names: false,
            allow_quorum_loss: false,
            workload: "register".into(),
            consistency: "serializable".into(),
            nemesis: vec!["partition".into(), "kill".into()],
            time_limit: 60.0,
            rate: 100.0,
            concurrency: 6,
            nodes_file: None,
            seed: None,
            recovery_window: 20.0,
            name: None,
            keep: false,
            real_time: false,
            stagger: false,
            serializable: false,
            bugs: Vec::new(),
            interval: 5.0,
            fault_duration: 5.0,
            op_timeout: 2.0,
            ready_timeout: 60.0,
            store: PathBuf::from("store"),
            slo: Vec::new(),
            fault_plan: None,
            plan: Vec::new(),
            startup_plan: Vec::new(),
            scenario: None,
        }
    }
}

impl RunConfig {
    /// True for `--db memory`: the system in this process, with no nodes
    /// (never a system file, whatever its name).
    pub fn in_memory(&self) -> bool {
        self.system.is_none() && self.db == MEMORY
    }

    /// How the page cache serves the data directories of a run on nodes.
    pub fn page_cache_options(&self) -> nuclei::disk::PageCache {
        nuclei::disk::PageCache { expire: self.dirty_expire.map(std::time::Duration::from_secs_f64), unsynced_names: self.unsynced_names }
    }

    /// Checks every option; the error names the option.
    pub fn check(&self) -> Result<(), crate::ConfigError> {
        if self.system.is_none() && !self.in_memory() && !systems::names().contains(&self.db.as_str()) {
            return Err(format!("unknown --db {:?} (one of {}, {MEMORY})", self.db, systems::names().join(", ")).into());
        }
        if workloads::by_name(&self.workload).is_none() {
            return Err(format!("unknown workload {:?} (one of {})", self.workload, workloads::names().join(", ")).into());
        }
        self.txn_consistency()?;
        let catalog = self.catalog()?;
        for k in &self.nemesis {
            if catalog.package(k).is_none() {
                return Err(format!("unknown fault {k:?} in --nemesis for {} (one of {}, or none)", self.db, catalog.names().join(", ")).into());
            }
        }
        if let Some((i, s)) = self.plan.iter().enumerate().find(|(_, s)| !catalog.knows(&s.fault)) {
            return Err(format!(
                "plan step {} (at_ms {}): {} has no fault {:?} (its faults: {})",
                i + 1,
                s.at_ms,
                self.db,
                s.fault.f(),
                catalog.names().join(", ")
            )
            .into());
        }
        let positive = [
            ("time-limit", self.time_limit),
            ("rate", self.rate),
            ("op-timeout", self.op_timeout),
            ("ready-timeout", self.ready_timeout),
            ("interval", self.interval),
            ("fault-duration", self.fault_duration),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("--{name} must be a positive number, got {v}").into());
            }
        }
        if !(self.recovery_window.is_finite() && self.recovery_window >= 0.0) {
            return Err(format!("--recovery-window must be >= 0, got {}", self.recovery_window).into());
        }
        if self.concurrency == 0 || self.concurrency > 1000 {
            return Err(format!("--concurrency must be between 1 and 1000, got {}", self.concurrency).into());
        }
        checker::slo::Slos::parse(&self.slo).map_err(|e| e.to_string())?;
        if let Some(p) = &self.fault_plan {
            if !self.plan.is_empty() {
                return Err(format!("--fault-plan {} and an inline plan: give one", p.display()).into());
            }
            self.plan().map_err(|e| format!("--fault-plan {}: {e}", p.display()))?;
        }
        if let Some(bad) = self.client_env.iter().find(|kv| !kv.contains('=')) {
            return Err(format!("--client-env {bad:?}: expected KEY=VALUE").into());
        }
        self.own_builds()?;
        if !self.client_env.is_empty() && self.system.is_none() {
            return Err("--client-env applies to --system only".into());
        }
        if let Some(e) = self.dirty_expire.filter(|e| !(e.is_finite() && *e >= 0.1)) {
            return Err(format!("--dirty-expire {e}: at least 0.1 seconds").into());
        }
        if self.dirty_expire.is_some() && self.in_memory() {
            return Err("--dirty-expire applies to faultline's page cache on real nodes; the in-memory system writes back every 2 s (its no-fsync bug)".into());
        }
        if self.unsynced_names && self.in_memory() {
            return Err("--unsynced-names applies to faultline's page cache on real nodes; the in-memory system has no names".into());
        }
        if !self.db_args.is_empty() && self.in_memory() {
            return Err("--db-arg applies to a system's server (etcd, restate, a system file's {{ db_args }}); the in-memory system has none".into());
        }
        if self.serializable && self.db != "etcd" {
            return Err("--serializable applies to etcd only".into());
        }
        if !self.bugs.is_empty() && !self.in_memory() {
            return Err("--bug applies to --db memory only".into());
        }
        self.memory_bugs()?;
        if let Some(n) = &self.name {
            if n.is_empty() || n.contains('/') || n.starts_with('.') {
                return Err(format!("--name {n:?} must be a plain directory name").into());
            }
        }
        Ok(())
    }

    /// The consistency model for transactions, from `--consistency`.
    pub fn txn_consistency(&self) -> Result<checker::txn::Consistency, crate::ConfigError> {
        consistency(Some(&self.consistency))
    }

    /// `--version` and `--binary`, checked against what the system takes:
    /// the binaries by name.
    pub fn own_builds(&self) -> Result<std::collections::BTreeMap<String, PathBuf>, crate::ConfigError> {
        if self.version.is_none() && self.binaries.is_empty() {
            return Ok(Default::default());
        }
        let Some((names, registry)) = systems::own_builds(&self.db).filter(|_| self.system.is_none()) else {
            return Err(format!("--version and --binary apply to the built-in systems ({}), not {}", systems::names().join(", "), self.db).into());
        };
        if let Some(v) = &self.version {
            if !registry {
                return Err(format!("--version: {} comes from its Debian package; give your own build with --binary {}=PATH", self.db, names[0]).into());
            }
            if !systems::restate::plausible_version(v) {
                return Err(format!("--version {v:?} is not a release number (like {})", systems::restate::VERSION).into());
            }
        }
        let mut out = std::collections::BTreeMap::new();
        for b in &self.binaries {
            let (name, path) = b.split_once('=').ok_or_else(|| format!("--binary {b:?}: expected NAME=PATH"))?;
            if !names.contains(&name) {
                return Err(format!("--binary {name}: {} takes {}", self.db, names.join(", ")).into());
            }
            if !Path::new(path).is_file() {
                return Err(format!("--binary {name}={path}: no such file").into());
            }
            out.insert(name.to_string(), PathBuf::from(path));
        }
        Ok(out)
    }

    /// The client environment, as pairs.
    pub fn client_env(&self) -> Vec<(String, String)> {
        self.client_env.iter().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// `--bug lost-write-rate=P`: the share of runs that have the
    /// lost-write bug (a known failure rate, for the sequential test).
    pub fn lost_write_rate(&self) -> Result<Option<f64>, crate::ConfigError> {
        let Some(v) = self.bugs.iter().find_map(|b| b.strip_prefix("lost-write-rate=")) else { return Ok(None) };
        match v.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => Ok(Some(p)),
            _ => Err(format!("--bug lost-write-rate={v}: expected a rate between 0 and 1").into()),
        }
    }

    /// The bugs of the run with this seed: `--bug`s, and `lost-write`
    /// drawn from the seed with `lost-write-rate`'s probability.
    pub fn memory_bugs_of_run(&self, seed: u64) -> Result<Vec<systems::memory::Bug>, crate::ConfigError> {
        let mut bugs = self.memory_bugs()?;
        if let Some(p) = self.lost_write_rate()? {
            if history::Rng::new(seed ^ 0x6c6f_7374_7772_6974).chance(p) && !bugs.contains(&systems::memory::Bug::LostWrite) {
                bugs.push(systems::memory::Bug::LostWrite);
            }
        }
        Ok(bugs)
    }

    /// The built-in system the run was of (`--db`), as registered: none for
    /// a system file or the in-memory system. Its own checks and report
    /// section judge and show the run, live or in `analyze`.
    pub fn built_in(&self) -> Option<std::sync::Arc<dyn systems::Db>> {
        if self.system.is_some() || self.in_memory() {
            return None;
        }
        systems::by_name(&self.db, &systems::Choice::default())
    }

    /// The in-memory system's bugs, from `--bug` (a rate not yet drawn).
    pub fn memory_bugs(&self) -> Result<Vec<systems::memory::Bug>, crate::ConfigError> {
        use systems::memory::Bug;
        self.lost_write_rate()?;
        self.bugs
            .iter()
            .filter(|b| !b.starts_with("lost-write-rate="))
            .map(|b| {
                Bug::parse(b).ok_or_else(|| {
                    let all: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                    crate::ConfigError(format!("unknown --bug {b:?} (one of {})", all.join(", ")))
                })
            })
            .collect()
    }

    /// The fault plan from `--fault-plan`, if any.
    pub fn plan(&self) -> Result<Option<Vec<nuclei::Step>>, crate::ConfigError> {
        let Some(p) = &self.fault_plan else {
            let mut steps = self.plan.clone();
            steps.sort_by_key(|s| s.at_ms);
            return Ok(Some(steps).filter(|s| !s.is_empty()));
        };
        let text = std::fs::read_to_string(p).map_err(|e| e.to_string())?;
        let mut steps: Vec<nuclei::Step> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        steps.sort_by_key(|s| s.at_ms);
        Ok(Some(steps))
    }

    /// The faults this run's system can apply: the shared ones and a
    /// built-in system's own.
    pub fn catalog(&self) -> Result<Catalog, crate::ConfigError> {
        let own = self.built_in().and_then(|db| db.as_faults().map(|f| f.packages())).unwrap_or(&[]);
        Catalog::with(own).map_err(|e| crate::ConfigError(e.to_string()))
    }

    /// The fault packages `--nemesis` names, as `catalog` has them.
    pub fn kinds(&self, catalog: &Catalog) -> Vec<nuclei::Package> {
        self.nemesis.iter().filter_map(|k| catalog.package(k).copied()).collect()
    }

    /// The run's name.
    pub fn run_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("{}-{}", self.db, self.workload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_expire_is_checked_and_refused_where_there_is_no_page_cache() {
        let c = |db: &str, e: f64| RunConfig { db: db.into(), dirty_expire: Some(e), ..RunConfig::default() }.check();
        assert!(c("etcd", 2.0).is_ok());
        assert!(c("etcd", 0.0).unwrap_err().0.contains("at least 0.1"));
        assert!(c(MEMORY, 2.0).unwrap_err().0.contains("page cache on real nodes"));
    }

    #[test]
    fn unsynced_names_reach_the_page_cache_and_are_refused_in_memory() {
        let c = RunConfig { db: "etcd".into(), unsynced_names: true, dirty_expire: Some(2.0), ..RunConfig::default() };
        c.check().unwrap();
        assert_eq!(c.page_cache_options(), nuclei::disk::PageCache { expire: Some(std::time::Duration::from_secs(2)), unsynced_names: true });
        let m = RunConfig { db: MEMORY.into(), unsynced_names: true, ..RunConfig::default() };
        assert!(m.check().unwrap_err().0.contains("--unsynced-names applies to faultline's page cache"));
    }

    #[test]
    fn a_lost_write_rate_strikes_in_that_share_of_runs_by_seed() {
        use systems::memory::Bug;
        let c = RunConfig { db: MEMORY.into(), bugs: vec!["lost-write-rate=0.2".into()], ..RunConfig::default() };
        c.check().unwrap();
        let hit = (0..2000u64).filter(|s| c.memory_bugs_of_run(*s).unwrap() == vec![Bug::LostWrite]).count();
        assert!((320..480).contains(&hit), "{hit} of 2000 runs at 20%");
        assert_eq!(c.memory_bugs_of_run(7).unwrap(), c.memory_bugs_of_run(7).unwrap(), "the same seed, the same draw");
        for bad in ["lost-write-rate=2", "lost-write-rate=x"] {
            let c = RunConfig { db: MEMORY.into(), bugs: vec![bad.into()], ..RunConfig::default() };
            assert!(c.check().unwrap_err().0.contains("between 0 and 1"), "{bad}");
        }
    }
}
