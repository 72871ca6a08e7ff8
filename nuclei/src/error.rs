//! Why a fault could not be applied or healed.

use std::fmt;

/// Why a fault could not be applied or healed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultError {
    /// The nodes or the system cannot do it: a run asking for it is refused
    /// before it starts.
    Unsupported(String),
    /// The fault names something that is not there (a node) or a value out
    /// of range.
    Invalid(String),
    /// Doing it on a node failed (the node, the cause).
    Node(String, String),
    /// Several nodes failed.
    Nodes(Vec<FaultError>),
    /// The system's own tool refused or failed (the fault, the cause).
    System(String, String),
}

impl FaultError {
    /// One error for several (none: `None`).
    pub fn all(errs: Vec<FaultError>) -> Option<FaultError> {
        match errs.len() {
            0 => None,
            1 => errs.into_iter().next(),
            _ => Some(FaultError::Nodes(errs)),
        }
    }

    /// True when the fault cannot be done here at all.
    pub fn is_unsupported(&self) -> bool {
        match self {
            FaultError::Unsupported(_) => true,
            FaultError::Nodes(v) => !v.is_empty() && v.iter().all(FaultError::is_unsupported),
            _ => false,
        }
    }
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::Unsupported(m) | FaultError::Invalid(m) => f.write_str(m),
            FaultError::Node(node, cause) => write!(f, "{node}: {cause}"),
            FaultError::System(fault, cause) => write!(f, "{fault}: {cause}"),
            FaultError::Nodes(v) => {
                let parts: Vec<String> = v.iter().map(|e| e.to_string()).collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

impl std::error::Error for FaultError {}

#[cfg(test)]
mod tests {
    use super::FaultError;

    #[test]
    fn several_errors_read_as_one_and_keep_their_kind() {
        let e = FaultError::all(vec![FaultError::Unsupported("n1: no netem".into()), FaultError::Unsupported("n2: no netem".into())]).unwrap();
        assert_eq!(e.to_string(), "n1: no netem; n2: no netem");
        assert!(e.is_unsupported());
        assert!(!FaultError::Node("n1".into(), "exit 1".into()).is_unsupported());
        assert_eq!(FaultError::all(vec![]), None);
    }
}
