//! The records of a run, typed: what the runner writes and every reader
//! (the report, JUnit, the index, trends, `analyze`, CI summaries) reads
//! with serde, never by string key. A renamed field breaks the build.
//!
//! - [`TestRecord`] (`test.json`): what was asked for.
//! - [`RunFacts`] (`run.json`): what happened besides the history.
//! - [`RunResults`] (`results.json`): the checks and the verdict.
//!
//! ```
//! use results::{RunResults, Verdict};
//! let r = RunResults::default();
//! let text = serde_json::to_string(&r).unwrap();
//! let back: RunResults = serde_json::from_str(&text).unwrap();
//! assert_eq!(back.valid, Verdict::Valid);
//! ```

mod leaders;
mod own;
mod records;
mod run;

pub use checker::Verdict;

pub use leaders::{read_leaders, write_leaders, Leader, LEADERS_FILE};
pub use own::OwnCheck;
pub use records::{read, write, NodeRecord, Phase, RecordError, RunFacts, Startup, StartupFault, TestRecord};
pub use run::{AppendLatency, Availability, Checks, RunResults, StartupCheck, Stats, RESULTS_VERSION};
