//! The lifecycle of one run as named phases, in order:
//! preflight -> setup -> start (readiness, timed; start-up faults) ->
//! clients -> workload (with faults, then a recovery window) -> final reads
//! -> collect (logs, phases, the system's own facts) -> teardown. A phase
//! that cannot go on ends the run as refused (the run could not be what was
//! asked) or as an infrastructure failure (no verdict on the system); from
//! setup on, the one [`Teardown`] guard heals and stops the system on every
//! way out.

use crate::options::RunConfig;
use crate::system::System;
use crate::teardown::Teardown;
use crate::{startup, Cancel, Log, FINAL_BASE};
use nuclei::{Package, Step};
use results::RunFacts;
use std::path::Path;
use std::time::{Duration, Instant};
use systems::Startup;
use workloads::Workload;

/// A phase of the lifecycle (its name is in faultline.log and run.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The nodes reached, the fault plan and the faults checked.
    Preflight,
    /// The system installed on its nodes, the nemesis set up.
    Setup,
    /// The system started and waited for (start-up faults meanwhile).
    Start,
    /// Every node's client tried before any fault.
    Clients,
    /// The workload with faults, the final heal, the recovery window.
    Workload,
    /// One last read of everything, after the heal.
    FinalReads,
    /// The nodes' logs, start-up phases and the system's own facts.
    Collect,
    /// Every fault healed, the system stopped.
    Teardown,
}

impl Phase {
    /// The phase's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Preflight => "preflight",
            Phase::Setup => "setup",
            Phase::Start => "start",
            Phase::Clients => "clients",
            Phase::Workload => "workload",
            Phase::FinalReads => "final reads",
            Phase::Collect => "collect",
            Phase::Teardown => "teardown",
        }
    }
}

/// Why a phase ends the run early.
pub(crate) enum Stop {
    /// The run cannot be what was asked (a fault the nodes cannot do, a plan
    /// naming an unknown node, a client that cannot serve the workload).
    Refused(String),
    /// The infrastructure failed: no verdict on the system.
    Infra(String),
}

/// What preflight settled: the workload, the fault kinds and the plan.
pub(crate) struct Planned {
    pub workload: &'static dyn Workload,
    pub kinds: Vec<Package>,
    pub plan: Option<Vec<Step>>,
}

/// One run going through its phases, gathering its facts.
pub(crate) struct Lifecycle<'a> {
    pub cfg: &'a RunConfig,
    pub seed: u64,
    pub system: &'a dyn System,
    pub dir: &'a Path,
    pub log: &'a Log,
    pub cancel: &'a Cancel,
    pub facts: RunFacts,
    began: Instant,
}

impl<'a> Lifecycle<'a> {
    /// A run of `system` with `cfg`, writing into `dir`.
    pub fn new(cfg: &'a RunConfig, seed: u64, system: &'a dyn System, dir: &'a Path, log: &'a Log, cancel: &'a Cancel) -> Self {
        Lifecycle { cfg, seed, system, dir, log, cancel, facts: RunFacts::default(), began: Instant::now() }
    }

    /// Every phase in order, as far as the run gets: its facts.
    pub fn run(mut self) -> RunFacts {
        match self.phases() {
            Ok(()) => {}
            Err(Stop::Refused(why)) => self.facts.refused = Some(why),
            Err(Stop::Infra(why)) => self.facts.infrastructure_error = Some(why),
        }
        self.facts
    }

    /// Marks the start of phase `p`.
    pub fn enter(&mut self, p: Phase) {
        self.log.say(&format!("phase: {}", p.as_str()));
        self.facts.lifecycle.push(results::Phase { name: p.as_str().into(), at_s: self.began.elapsed().as_secs_f64() });
    }

    fn phases(&mut self) -> Result<(), Stop> {
        let (system, log) = (self.system, self.log);
        self.enter(Phase::Preflight);
        let planned = self.preflight()?;
        // an in-process system runs on simulated time (unless --real-time):
        // its clock jumps to the next timer whenever every task waits
        let simulated = system.simulated() && !self.cfg.real_time;
        let built = if simulated {
            tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
        } else {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
        };
        let rt = built.map_err(|e| Stop::Infra(format!("tokio: {e}")))?;
        // from here every reading of the time (systems::clock) is the runtime's
        let _clock = simulated.then(|| rt.enter());

        self.enter(Phase::Setup);
        log.say(&format!("setting up {} on {} nodes", system.name(), system.topology().nodes.len()));
        system.install().map_err(|e| Stop::Infra(format!("setup failed: {e}")))?;
        self.facts.sut_version = system.version();
        if let Some(v) = &self.facts.sut_version {
            log.say(&format!("{} version: {v}", system.name()));
        }
        // from here every way out heals and stops the system (unless
        // --keep); the nemesis's chains exist before a start-up fault needs them
        let mut teardown = Teardown::new(system, self.cfg.keep, log);
        let injector = system.injector();
        injector.setup().map_err(|e| Stop::Infra(format!("nemesis setup failed: {e}")))?;
        teardown.heal_with(injector);

        self.enter(Phase::Start);
        self.start(&rt)?;
        self.enter(Phase::Clients);
        self.clients(&rt, planned.workload)?;
        self.workload(&rt, planned, simulated)?;
        self.enter(Phase::Teardown);
        self.facts.heal_errors.extend(teardown.finish());
        Ok(())
    }

    /// The nodes reachable, the workload known, the plan's steps on the
    /// cluster's nodes and within the time limit, the faults possible.
    fn preflight(&mut self) -> Result<Planned, Stop> {
        let (cfg, system) = (self.cfg, self.system);
        let topo = system.topology();
        self.log.say(&format!("preflight: {} nodes", topo.nodes.len()));
        system.preflight().map_err(Stop::Infra)?;
        let workload = workloads::by_name(&cfg.workload).ok_or_else(|| Stop::Refused(format!("unknown workload {:?}", cfg.workload)))?;
        let injector = system.injector();
        let catalog = injector.catalog();
        let kinds = cfg.kinds(&catalog);
        let plan = cfg.plan().map_err(|e| Stop::Refused(format!("fault plan: {e}")))?;
        let names: Vec<&str> = topo.nodes.iter().map(|(n, _)| n.as_str()).collect();
        let limit_ms = (cfg.time_limit * 1000.0) as u64;
        let checked = plan.as_deref().map_or(Ok(()), |p| nuclei::check_plan(p, &names, Some(limit_ms), &catalog));
        let own = || plan.iter().flatten().chain(&cfg.startup_plan).try_for_each(|s| injector.check_fault(&s.fault));
        let quorum = || match (&plan, cfg.allow_quorum_loss) {
            (Some(p), false) => nuclei::check_quorum(p, names.len()),
            _ => Ok(()),
        };
        checked
            .and_then(|()| quorum())
            .and_then(|()| nuclei::check_plan(&cfg.startup_plan, &names, None, &catalog))
            .and_then(|()| own())
            .map_err(|e| Stop::Refused(format!("fault plan: {e}")))?;
        let mut needs: Vec<nuclei::Needs> = match &plan {
            Some(steps) => steps.iter().map(|s| s.fault.needs()).collect(),
            None => kinds.iter().map(|k| k.needs()).collect(),
        };
        needs.extend(cfg.startup_plan.iter().map(|s| s.fault.needs()));
        if cfg.page_cache {
            needs.push(nuclei::Needs::Disk);
        }
        injector.preflight(&needs).map_err(|e| Stop::Refused(e.to_string()))?;
        Ok(Planned { workload, kinds, plan })
    }

    /// Starts the system and waits until it serves, timed, with the
    /// start-up plan's faults applied meanwhile and closed once it is ready.
    fn start(&mut self, rt: &tokio::runtime::Runtime) -> Result<(), Stop> {
        let (cfg, system) = (self.cfg, self.system);
        let injector = system.injector();
        let started = Instant::now();
        system.start().map_err(|e| Stop::Infra(format!("start failed: {e}")))?;
        let ready_timeout = Duration::from_secs_f64(cfg.ready_timeout);
        let (startup, early): (Startup, _) = std::thread::scope(|s| {
            let early = s.spawn(|| startup::apply(injector, &cfg.startup_plan, started));
            let ready = match rt.block_on(system.bootstrap(ready_timeout)) {
                Ok(()) => rt.block_on(system.wait_ready(started, ready_timeout)),
                Err(e) => Startup { nodes: Vec::new(), cluster: None, not_ready: vec![("bootstrap".into(), e.to_string())] },
            };
            (ready, early.join().unwrap_or_default())
        });
        if !cfg.startup_plan.is_empty() {
            let (applied, mut records) = early;
            for r in &records {
                self.log.say(&format!("startup fault {} at {} ms: {}", r.f, r.at_ms, r.error.as_deref().unwrap_or("done")));
            }
            records.extend(startup::close(injector, &applied, started));
            self.facts.startup_faults = records;
        }
        self.facts.startup = Some(startup.clone());
        if !startup.ready() {
            let why: Vec<String> = startup.not_ready.iter().map(|(n, e)| format!("{n}: {e}")).collect();
            let logs = system.last_log_lines();
            return Err(Stop::Infra(format!("{} did not become ready within {} s: {}\n{logs}", system.name(), cfg.ready_timeout, why.join("; "))));
        }
        self.log.say(&format!("ready in {:.2} s", startup.cluster.unwrap_or_default()));
        Ok(())
    }

    /// A client that cannot work refuses the run before any fault: one
    /// that does not serve an `f` the workload needs, or fails its own check.
    fn clients(&mut self, rt: &tokio::runtime::Runtime, workload: &dyn Workload) -> Result<(), Stop> {
        let system = self.system;
        let op_timeout = Duration::from_secs_f64(self.cfg.op_timeout);
        let missing = workloads::unserved(&*system.client(0, FINAL_BASE - 1, op_timeout), workload.fs());
        if !missing.is_empty() {
            let fs = missing.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
            return Err(Stop::Refused(format!("{}'s client does not serve {fs}, which the {} workload needs", system.name(), self.cfg.workload)));
        }
        let topo = system.topology();
        let broken: Vec<String> = rt
            .block_on(systems::futures_join_all(topo.nodes.iter().enumerate().map(|(i, (node, _))| async move {
                system.client(i, FINAL_BASE - 1 - i as u64, op_timeout).preflight().await.err().map(|e| format!("{node}: {e}"))
            })))
            .into_iter()
            .flatten()
            .collect();
        if broken.is_empty() {
            Ok(())
        } else {
            Err(Stop::Refused(format!("the client does not work: {}", broken.join("; "))))
        }
    }
}
