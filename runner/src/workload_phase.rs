//! The lifecycle's middle phases: the workload with its fault schedule and
//! recovery window, the final reads, and what is collected from the nodes.

use crate::lifecycle::{Lifecycle, Phase, Planned, Stop};
use crate::recorder::Recorder;
use crate::{analysis, load, schedule};
use history::{Header, Rng};
use nuclei::{Spacing, Step};
use serde_json::json;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use workloads::Generator;

impl Lifecycle<'_> {
    /// The workload phase, then the final reads and collect phases: the
    /// history written, the nodes' logs and the system's own facts read.
    pub(crate) fn workload(&mut self, rt: &tokio::runtime::Runtime, planned: Planned, simulated: bool) -> Result<(), Stop> {
        let (cfg, system, log) = (self.cfg, self.system, self.log);
        let topo = system.topology();
        self.enter(Phase::Workload);
        let t0 = systems::clock::now();
        let start_unix_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
        system.workload_started(t0, start_unix_ns);
        let ctx = analysis::check_context(cfg, &checker::slo::Slos::parse(&cfg.slo).unwrap_or_default());
        let header = Header { name: Some(cfg.run_name()), workload: Some(cfg.workload.clone()), check: Some(ctx.settings()), ..Header::new(start_unix_ns) };
        let (recorder, writer) = Recorder::start(&self.dir.join("history.jsonl"), &header, t0).map_err(|e| Stop::Infra(format!("history.jsonl: {e}")))?;
        let mut rng = Rng::new(self.seed);
        let schedule = self.schedule(planned.kinds, planned.plan, &mut rng);
        self.facts.schedule = schedule.iter().map(|s| json!({"at_ms": s.at_ms, "fault": s.fault})).collect();
        let timeout = Duration::from_secs_f64(cfg.op_timeout);
        let clients = |node: usize, process: u64| system.client(node, process, timeout);
        let generator: Mutex<Box<dyn Generator>> = Mutex::new(planned.workload.generator(cfg.concurrency, rng.next_u64()));
        let faults_end = t0 + Duration::from_secs_f64(cfg.time_limit);
        let recovery = Duration::from_secs_f64(cfg.recovery_window);
        let deadline = load::Deadline::new(t0, faults_end + recovery - t0, recovery, self.cancel.clone());
        log.say(&format!(
            "workload {} for {} s with {} fault windows, then {} s of recovery",
            cfg.workload,
            cfg.time_limit,
            schedule.len() / 2,
            cfg.recovery_window
        ));
        let injector = system.injector();
        let clients_and_probes = async {
            let w = load::drive(cfg, &clients, &generator, &recorder, topo, &deadline, rng.next_u64());
            let p = load::probes(system, topo, &recorder, &deadline);
            let progress = load::progress(&recorder, log, &deadline);
            let leaders = load::leaders(system, &recorder, &deadline);
            tokio::join!(w, p, progress, leaders).3
        };
        // one runtime: the schedule is a task beside the clients and probes
        let ran = if simulated {
            // one thread, one clock: a fault is applied at its instant
            let nemesis = schedule::run_schedule(injector, None, &schedule, &recorder, log, &deadline);
            rt.block_on(async { tokio::join!(nemesis, clients_and_probes) })
        } else {
            // on real nodes a fault blocks on SSH: applied on the fault thread, awaited
            schedule::with_fault_thread(injector, recorder.t0(), |thread| {
                let nemesis = schedule::run_schedule(injector, Some(thread), &schedule, &recorder, log, &deadline);
                rt.block_on(async { tokio::join!(nemesis, clients_and_probes) })
            })
        };
        let (heal_errors, leaders) = ran;
        self.facts.heal_errors.extend(heal_errors);
        if !leaders.is_empty() {
            if let Err(e) = results::write_leaders(&self.dir.join(results::LEADERS_FILE), &leaders) {
                log.say(&format!("{}: {e}", results::LEADERS_FILE));
            }
        }

        self.enter(Phase::FinalReads);
        rt.block_on(load::final_reads(&generator, system, timeout, topo, &recorder));
        self.facts.interrupted = self.cancel.is_cancelled();
        drop(recorder);
        match writer.join() {
            Ok(Ok(n)) => log.say(&format!("history: {n} ops")),
            Ok(Err(e)) => self.facts.infrastructure_error = Some(format!("writing history.jsonl: {e}")),
            Err(_) => self.facts.infrastructure_error = Some("the history writer panicked".into()),
        }

        self.enter(Phase::Collect);
        let faults: Vec<&str> = schedule.iter().map(|s| s.fault.f()).collect();
        self.collect(start_unix_ns as f64 / 1e9, &faults);
        Ok(())
    }

    /// The plan's steps, or a schedule drawn from the fault kinds in which
    /// every kind gets a window (the intervals shortened if needed).
    fn schedule(&self, kinds: Vec<nuclei::Package>, plan: Option<Vec<Step>>, rng: &mut Rng) -> Vec<Step> {
        let cfg = self.cfg;
        let names: Vec<String> = self.system.topology().nodes.iter().map(|(n, _)| n.clone()).collect();
        let slots = (2 * kinds.len() + 1) as f64;
        let fit = |x: f64| (x.min(cfg.time_limit / slots) * 1e3) as u64;
        let spacing = Spacing { healthy_ms: fit(cfg.interval), faulted_ms: fit(cfg.fault_duration), random: cfg.stagger };
        plan.unwrap_or_else(|| nuclei::schedule(&kinds, &names, spacing, (cfg.time_limit * 1e3) as u64, rng))
    }

    /// The nodes' logs, their start-up phases (the last, ready: a real
    /// operation answered, timed by faultline from its start command) and
    /// what the system reads of the run itself.
    fn collect(&mut self, start_unix_s: f64, faults: &[&str]) {
        let system = self.system;
        let nodes = self.dir.join("nodes");
        crate::system::say_all(self.log, &system.collect_logs(&nodes));
        self.facts.startup_phases = system.startup_phases(&nodes);
        self.facts.own = system.own_facts(&nodes, start_unix_s, faults);
        if let Some(st) = &self.facts.startup {
            for (node, phases) in self.facts.startup_phases.iter_mut() {
                if let Some(Some(t)) = st.nodes.iter().find(|(n, _)| n == node).map(|(_, t)| *t) {
                    phases.push(results::Phase { name: "ready (an operation answered)".into(), at_s: t });
                }
            }
        }
    }
}
