//! A typed test: what one run is (its options, seed, system and nodes),
//! resolved once from a [`RunConfig`], then run through the lifecycle into a
//! run directory of the store.

use crate::lifecycle::Lifecycle;
use crate::options::RunConfig;
use crate::system::{InMemory, Remote, System};
use crate::{analysis, exit, random_seed, report, store, Cancel, ConfigError, Log};
use control::NodesFile;
use lab::Lab;
use std::path::PathBuf;
use std::sync::Arc;

/// One run, ready to go: [`Test::run`] runs it.
pub struct Test {
    /// The resolved options (stored in test.json).
    pub config: RunConfig,
    /// The seed of the run's randomness.
    pub seed: u64,
    /// The system under test.
    pub system: Box<dyn System>,
    /// The nodes it runs on (none for an in-process system).
    pub nodes: Option<NodesFile>,
    /// The options file or scenario the options came from, as written.
    pub config_text: Option<String>,
}

/// Why a test could not be made.
#[derive(Debug)]
pub enum TestError {
    /// Options, a nodes file or a system file a user must fix (exit 254).
    Config(ConfigError),
    /// The local lab could not come up (exit 3).
    Lab(String),
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TestError::Config(e) => write!(f, "{e}"),
            TestError::Lab(e) => write!(f, "the local lab could not come up: {e}"),
        }
    }
}

impl std::error::Error for TestError {}

impl TestError {
    /// Its exit code ([`crate::exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            TestError::Config(_) => exit::BAD_INPUT,
            TestError::Lab(_) => exit::INFRA,
        }
    }
}

impl Test {
    /// The test `cfg` describes: its nodes (the nodes file, or the local lab
    /// brought up as needed), its system (built in, or a system file) and
    /// its seed (drawn when none is given). `text` is the options file as
    /// written, kept with the run.
    pub fn new(cfg: &RunConfig, text: Option<String>) -> Result<Test, TestError> {
        let seed = cfg.seed.unwrap_or_else(random_seed);
        // the in-memory system has no nodes to reach
        let nodes = match &cfg.nodes_file {
            _ if cfg.in_memory() => None,
            Some(p) => Some(NodesFile::load(p).map_err(|e| TestError::Config(ConfigError(e.to_string())))?),
            None => Some(lab_nodes().map_err(TestError::Lab)?),
        };
        let bugs = cfg.memory_bugs_of_run(seed).map_err(TestError::Config)?;
        let vm = nodes.as_ref().is_some_and(|n| n.backend.as_deref() == Some("vm"));
        let choice = systems::Choice {
            serializable: cfg.serializable,
            slow_nodes: vm,
            version: cfg.version.clone(),
            binaries: cfg.own_builds().unwrap_or_default(),
            server_args: cfg.db_args.clone(),
        };
        let db: Option<Arc<dyn systems::Db>> = match &cfg.system {
            Some(p) => {
                let f = systems::file::SystemFile::load(p).map_err(|e| TestError::Config(ConfigError(e.to_string())))?;
                if !cfg.db_args.is_empty() && !f.reads("db_args") {
                    return Err(TestError::Config(ConfigError(format!(
                        "--db-arg: {} does not read {{{{ db_args }}}}: the arguments would be ignored",
                        p.display()
                    ))));
                }
                Some(Arc::new(systems::file::FileDb::new(f).with_client_env(cfg.client_env()).with_db_args(&cfg.db_args)))
            }
            None => systems::by_name(&cfg.db, &choice),
        };
        let system: Box<dyn System> = match (db, &nodes) {
            (Some(db), Some(n)) => Box::new(Remote::with(n, db, cfg.page_cache_options())),
            (None, None) if cfg.in_memory() => Box::new(InMemory::new(3, &bugs)),
            _ => return Err(TestError::Config(ConfigError(format!("no system {:?} to run on the nodes", cfg.db)))),
        };
        Ok(Test { config: cfg.clone(), seed, system, nodes, config_text: text })
    }

    /// A test of `system` (any implementation of the runner's contract, in
    /// this crate or another) with `cfg`, on no nodes of faultline's own.
    pub fn of_system(cfg: &RunConfig, system: Box<dyn System>) -> Test {
        let config = RunConfig { db: system.name().to_string(), ..cfg.clone() };
        Test { seed: cfg.seed.unwrap_or_else(random_seed), system, nodes: None, config_text: None, config }
    }

    /// Runs it, stopped early when `cancel` is set: the whole lifecycle, the
    /// checks and the report in a new run directory of the store. The exit
    /// code (the table in [`crate::exit`]) and the run directory.
    pub fn run(self, cancel: &Cancel) -> (i32, Option<PathBuf>) {
        let cfg = &self.config;
        let dir = match store::create_run_dir(&cfg.store, &cfg.run_name()) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("run: {e}");
                return (exit::INFRA, None);
            }
        };
        let log = match Log::new(&dir.join("faultline.log")) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("run: {}: {e}", dir.display());
                return (exit::INFRA, None);
            }
        };
        log.say(&format!("run {} seed {}", dir.display(), self.seed));
        let test = self.record();
        if let Err(e) = results::write(&dir.join("test.json"), &test) {
            log.say(&format!("cannot write test.json: {e}"));
            return (exit::INFRA, None);
        }
        let facts = Lifecycle::new(cfg, self.seed, self.system.as_ref(), &dir, &log, cancel).run();
        if facts.sut_version.is_some() {
            let test = results::TestRecord { sut_version: facts.sut_version.clone(), ..test };
            if let Err(e) = results::write(&dir.join("test.json"), &test) {
                log.say(&format!("cannot write test.json: {e}"));
            }
        }
        if let Err(e) = results::write(&dir.join("run.json"), &facts) {
            log.say(&format!("cannot write run.json: {e}"));
        }
        let code = match analysis::analyze(&dir) {
            Ok(a) => {
                log.say(&format!("verdict: {} ({})", a.valid.as_str(), a.summary));
                a.exit_code
            }
            Err(e) => {
                log.say(&format!("analysis failed: {e}"));
                e.exit_code()
            }
        };
        if let Err(e) = store::point_latest(&cfg.store, &dir) {
            log.say(&format!("cannot update {}/latest: {e}", cfg.store.display()));
        }
        if let Err(e) = report::write_index(&cfg.store) {
            log.say(&format!("index: {e}"));
        }
        println!("{}", dir.display());
        (code, Some(dir))
    }

    /// What test.json records of it.
    fn record(&self) -> results::TestRecord {
        let (cfg, nodes) = (&self.config, self.nodes.as_ref());
        results::TestRecord {
            name: cfg.run_name(),
            db: cfg.db.clone(),
            workload: cfg.workload.clone(),
            nemesis: cfg.nemesis.clone(),
            seed: self.seed,
            options: serde_json::to_value(cfg).unwrap_or_default(),
            config_file: self.config_text.clone(),
            command_line: std::env::args().collect(),
            faultline_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: chrono::Local::now().to_rfc3339(),
            nodes: nodes.iter().flat_map(|f| f.resolve()).map(|n| results::NodeRecord { name: n.name, address: n.address, user: n.user }).collect(),
            backend: nodes.map(|f| f.backend.clone()).unwrap_or(Some(self.system.name().to_string())),
            host_key_check: nodes.and_then(|f| serde_json::to_value(f.host_key_check).ok()),
            sut_version: None,
        }
    }
}

fn lab_nodes() -> Result<NodesFile, String> {
    let lab = Lab::default();
    match lab.current_nodes() {
        Ok(n) if n.nodes.len() >= 3 => Ok(n),
        _ => Ok(NodesFile::load(&lab.up(3, lab::Backend::Lxc).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?),
    }
}
