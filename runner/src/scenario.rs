//! Named scenarios: a run's options (workload, faults or a fault plan,
//! SLOs) stored as a TOML file that a user can copy and edit. The ones in
//! `scenarios/` are built into the binary; `--scenario` also takes a path.

use super::options::RunConfig;
use serde::Deserialize;
use std::path::Path;

/// The scenarios that ship with faultline: (name, file text).
pub const BUILT_IN: [(&str, &str); 5] = [
    ("restate-crash-restart", include_str!("../../scenarios/restate-crash-restart.toml")),
    ("restate-partition-heal", include_str!("../../scenarios/restate-partition-heal.toml")),
    ("restate-cold-start", include_str!("../../scenarios/restate-cold-start.toml")),
    ("restate-seal-while-provisioning", include_str!("../../scenarios/restate-seal-while-provisioning.toml")),
    ("restate-append-during-reconfiguration", include_str!("../../scenarios/restate-append-during-reconfiguration.toml")),
];

/// A scenario file: what it tests, and the run's options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// One line: what it tests and what it must meet.
    pub description: String,
    /// The run's options (as in a `--config` file), fault plan included.
    pub run: RunConfig,
}

/// Reads a scenario from its text; `origin` names it in errors.
pub fn parse(origin: &str, text: &str) -> Result<Scenario, crate::ConfigError> {
    toml::from_str(text).map_err(|e| crate::ConfigError(format!("scenario {origin}: {}", e.to_string().trim_end())))
}

/// The scenario `name_or_path`: a built-in name, else a file: (the
/// scenario, its text).
pub fn load(name_or_path: &str) -> Result<(Scenario, String), crate::ConfigError> {
    if let Some((name, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
        return Ok((parse(name, text)?, text.to_string()));
    }
    let p = Path::new(name_or_path);
    if p.is_file() {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        return Ok((parse(&p.display().to_string(), &text)?, text));
    }
    let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
    Err(format!("no scenario {name_or_path:?}: not a file, nor one of {} (`faultline scenarios` lists them)", names.join(", ")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_parses_and_checks() {
        for (name, text) in BUILT_IN {
            let s = parse(name, text).unwrap();
            assert!(!s.description.is_empty(), "{name}");
            assert!(s.run.name.is_none(), "{name}: the run's name comes from the scenario's");
            s.run.check().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn a_typo_in_a_scenario_names_the_file_and_key() {
        let e = parse("mine.toml", "description = \"x\"\n[run]\nworkloud = \"set\"\n").unwrap_err();
        assert!(e.0.contains("mine.toml") && e.0.contains("workloud"), "{e}");
        assert!(load("no-such-scenario").unwrap_err().0.contains("restate-crash-restart"));
    }
}
