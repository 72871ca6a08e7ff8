//! `rw-register`: transactions of writes to and reads of registers,
//! Elle's other workload. Keys rotate and values are unique per key, as
//! for list-append; a register's read shows one version, so the checker
//! infers less of the version order (`checker::txn`, rw-register).

use crate::list_append::{findings, Txns};
use crate::{CheckContext, Generator, Workload};
use checker::txn::check_rw_register;
use history::{History, HistoryError};
use results::Checks;
use systems::txn::Kind;

/// The rw-register workload.
pub struct RwRegister;

impl Workload for RwRegister {
    fn name(&self) -> &'static str {
        "rw-register"
    }
    fn fs(&self) -> &'static [&'static str] {
        &["rw-txn"]
    }
    fn about(&self) -> &'static str {
        "transactions of register writes and reads (Elle's); isolation anomalies against --consistency"
    }
    fn generator(&self, _concurrency: usize, seed: u64) -> Box<dyn Generator> {
        Txns::boxed(Kind::RwRegister, seed)
    }
    fn check(&self, h: &History, ctx: &CheckContext, checks: &mut Checks) -> Result<(), HistoryError> {
        checks.record("txn", &check_rw_register(h, ctx.consistency)?);
        Ok(())
    }
    fn findings(&self, checks: &Checks, _h: &History) -> String {
        crate::with_outcome(checks, "txn", findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use systems::txn::Mop;

    #[test]
    fn register_transactions_write_unique_values_per_key() {
        let mut g = RwRegister.generator(4, 3);
        let mut writes = std::collections::BTreeSet::new();
        for i in 0..1_000 {
            let mops = crate::list_append::mops_of(&g.next(i % 4)).expect("a transaction");
            for m in mops {
                match m {
                    Mop::Write { key, value } => assert!(writes.insert((key, value)), "{key} = {value} written twice"),
                    Mop::ReadRegister { .. } => {}
                    other => panic!("a list micro-op in rw-register: {other:?}"),
                }
            }
        }
        assert!(writes.len() > 100);
    }
}
