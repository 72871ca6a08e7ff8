//! Consistency models and the anomalies each forbids, with Elle's names
//! (`elle.consistency-model`): a model forbids the anomalies it proscribes
//! and every anomaly that implies one of those (G-single-item implies
//! G-nonadjacent-item implies G2-item; a `-process` cycle implies its
//! `-realtime` one, processes being single-threaded; G0 implies G1c;
//! incompatible order, dirty updates imply G1a; a future read implies G1c;
//! snapshot isolation forbids lost updates). `garbage-read` (a read of an
//! element no transaction appended) is faultline's own and outside every
//! model: Elle has no such anomaly, so it never decides a verdict.

/// A consistency model a history is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Consistency {
    /// Forbids dirty writes (G0).
    ReadUncommitted,
    /// Also forbids dirty and aborted reads (G1a, G1b, G1c).
    ReadCommitted,
    /// Also forbids item anti-dependency cycles (G2-item) and lost updates.
    RepeatableRead,
    /// Read committed, no internal inconsistency, no cycle whose
    /// anti-dependency edges are all apart (G-single, G-nonadjacent).
    SnapshotIsolation,
    /// Snapshot isolation where each process sees its own past.
    StrongSessionSnapshotIsolation,
    /// Snapshot isolation in real time.
    StrongSnapshotIsolation,
    /// No cycle at all in the dependency graph (conflict serializability).
    Serializable,
    /// Serializable, each process seeing its own past.
    StrongSessionSerializable,
    /// Serializable in real-time order.
    StrictSerializable,
}

/// Every model, weakest first.
pub const ALL: [Consistency; 9] = [
    Consistency::ReadUncommitted,
    Consistency::ReadCommitted,
    Consistency::RepeatableRead,
    Consistency::SnapshotIsolation,
    Consistency::StrongSessionSnapshotIsolation,
    Consistency::StrongSnapshotIsolation,
    Consistency::Serializable,
    Consistency::StrongSessionSerializable,
    Consistency::StrictSerializable,
];

const RU: &[&str] = &["G0", "duplicate-elements"];
const RC: &[&str] = &["G1a", "G1b", "G1c", "incompatible-order", "dirty-update", "future-read"];
const SI: &[&str] = &["internal", "G-single-item", "G-nonadjacent-item", "lost-update"];
const RR: &[&str] = &["G-single-item", "G-nonadjacent-item", "G2-item", "lost-update"];
const SER: &[&str] = &["internal", "G-single-item", "G-nonadjacent-item", "G2-item", "lost-update"];
const SI_CYCLES: &[&str] = &["G0", "G1c", "G-single-item", "G-nonadjacent-item"];
const SER_CYCLES: &[&str] = &["G0", "G1c", "G-single-item", "G-nonadjacent-item", "G2-item"];

impl Consistency {
    /// Elle's name.
    pub fn name(self) -> &'static str {
        match self {
            Consistency::ReadUncommitted => "read-uncommitted",
            Consistency::ReadCommitted => "read-committed",
            Consistency::RepeatableRead => "repeatable-read",
            Consistency::SnapshotIsolation => "snapshot-isolation",
            Consistency::StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            Consistency::StrongSnapshotIsolation => "strong-snapshot-isolation",
            Consistency::Serializable => "serializable",
            Consistency::StrongSessionSerializable => "strong-session-serializable",
            Consistency::StrictSerializable => "strict-serializable",
        }
    }

    /// The model of that name (Elle's, or a common alias).
    pub fn parse(name: &str) -> Option<Consistency> {
        let alias = match name {
            "strong-serializable" => "strict-serializable",
            "conflict-serializable" => "serializable",
            other => other,
        };
        ALL.into_iter().find(|c| c.name() == alias)
    }

    /// True when this model forbids the anomaly of that name.
    pub fn forbids(self, anomaly: &str) -> bool {
        use Consistency::*;
        let (base, variant) = match anomaly.rsplit_once('-') {
            Some((b, v @ ("process" | "realtime"))) => (b, Some(v)),
            _ => (anomaly, None),
        };
        let in_ = |list: &[&str]| list.contains(&base);
        match variant {
            None => match self {
                ReadUncommitted => in_(RU),
                ReadCommitted => in_(RU) || in_(RC),
                RepeatableRead => in_(RU) || in_(RC) || in_(RR),
                SnapshotIsolation | StrongSessionSnapshotIsolation | StrongSnapshotIsolation => in_(RU) || in_(RC) || in_(SI),
                Serializable | StrongSessionSerializable | StrictSerializable => in_(RU) || in_(RC) || in_(SER),
            },
            // a -process cycle implies the plain one only when it needs no
            // process edge; these are the cycles that do
            Some(v) => match (self, v) {
                (StrongSessionSnapshotIsolation, "process") | (StrongSnapshotIsolation, _) => in_(SI_CYCLES),
                (StrongSessionSerializable, "process") | (StrictSerializable, _) => in_(SER_CYCLES),
                _ => false,
            },
        }
    }
}

/// The models the anomalies of these names rule out, weakest first.
pub fn ruled_out(anomalies: &[&str]) -> Vec<String> {
    ALL.into_iter().filter(|m| anomalies.iter().any(|a| m.forbids(a))).map(|m| m.name().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_forbid_what_elle_says() {
        use Consistency::*;
        assert!(ReadCommitted.forbids("G1c") && !ReadCommitted.forbids("G2-item") && !ReadCommitted.forbids("G-single-item"));
        assert!(Serializable.forbids("G2-item") && !SnapshotIsolation.forbids("G2-item"));
        assert!(SnapshotIsolation.forbids("G-single-item") && SnapshotIsolation.forbids("G-nonadjacent-item"));
        assert!(!Serializable.forbids("G2-item-realtime") && StrictSerializable.forbids("G2-item-realtime"));
        assert!(StrictSerializable.forbids("G0-process") && !SnapshotIsolation.forbids("G1c-process"));
        assert!(StrongSessionSnapshotIsolation.forbids("G-single-item-process") && !StrongSessionSnapshotIsolation.forbids("G2-item-process"));
        assert_eq!(ruled_out(&["G2-item"]), vec!["repeatable-read", "serializable", "strong-session-serializable", "strict-serializable"]);
        assert_eq!(Consistency::parse("strong-serializable"), Some(StrictSerializable));
        assert!(ALL.iter().all(|m| Consistency::parse(m.name()) == Some(*m)));
        assert!(ALL.iter().all(|m| !m.forbids("garbage-read")), "garbage-read is outside Elle's models");
        assert!(ReadCommitted.forbids("future-read") && !ReadUncommitted.forbids("future-read"));
        assert!(SnapshotIsolation.forbids("lost-update") && !ReadCommitted.forbids("lost-update"));
    }
}
