//! faultline's search for failures (`faultline explore`) and what runs
//! covered (`faultline coverage`): a run's signature per fault window
//! ([`signature`], from node-log [`template`]s, client outcomes and
//! recovery times), a corpus of the plans that covered something new with
//! a power schedule favouring rare observations ([`corpus`]), and the
//! mutations that make new plans from them ([`mutate`]). Running the plans
//! is the caller's (the runner's); this crate only chooses and judges.

pub mod corpus;
pub mod coverage;
pub mod mutate;
pub mod signature;
pub mod template;

pub use corpus::{Corpus, Entry, Found, Tried};
pub use signature::{of_run, Signature};

/// What went wrong reading a run or a search's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExploreError {
    /// A run directory that cannot be read: the directory, why.
    Run(std::path::PathBuf, String),
    /// A search's state that cannot be read or written: the file, why.
    Store(std::path::PathBuf, String),
}

impl std::fmt::Display for ExploreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExploreError::Run(dir, why) | ExploreError::Store(dir, why) => write!(f, "{}: {why}", dir.display()),
        }
    }
}

impl std::error::Error for ExploreError {}
