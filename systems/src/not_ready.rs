//! Why a node, a service or the cluster is not ready: the typed answer of
//! every probe, readiness check and bootstrap step.

use crate::Completion;
use std::fmt;

/// Why a probe, a readiness check or a bootstrap step did not succeed.
/// Its text is what the history and the report show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// No answer: refused, reset or timed out (`timeout`, `connect: ...`).
    Unreachable(String),
    /// An answer that says no: an error status, or what is still missing
    /// (`3 of 24 partitions without an active leader`).
    Refused(String),
    /// One service of a node is not ready.
    Service {
        /// The service (`ingress`).
        service: String,
        /// Why.
        cause: Box<NotReady>,
    },
    /// The system has no such service, or the cluster no nodes.
    Unknown(String),
    /// A tool on the control node failed (`restatectl`), or a step that
    /// needs it could not run.
    Tool(String),
}

impl NotReady {
    /// This cause, for one service.
    pub fn in_service(self, service: &str) -> NotReady {
        NotReady::Service { service: service.to_string(), cause: Box::new(self) }
    }

    /// The cause under any service wrappers.
    pub fn root(&self) -> &NotReady {
        match self {
            NotReady::Service { cause, .. } => cause.root(),
            other => other,
        }
    }

    /// From a transport error of the HTTP client.
    pub fn from_http(e: &reqwest::Error) -> NotReady {
        NotReady::Unreachable(crate::classify_text(e))
    }

    /// From a client op used as a probe: `None` when it succeeded; an
    /// unknown outcome (`info`) is no answer, a failure is a refusal.
    pub fn from_completion(c: Completion) -> Option<NotReady> {
        match c {
            Completion::Ok(_) => None,
            Completion::Fail(e) => Some(NotReady::Refused(e)),
            Completion::Info(e) => Some(NotReady::Unreachable(e)),
        }
    }
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::Unreachable(m) | NotReady::Refused(m) | NotReady::Unknown(m) | NotReady::Tool(m) => f.write_str(m),
            NotReady::Service { service, cause } => write!(f, "{service}: {cause}"),
        }
    }
}

impl std::error::Error for NotReady {}

/// `Ok` when a client op used as a probe succeeded, else why not.
pub fn probe_result(c: Completion) -> Result<(), NotReady> {
    NotReady::from_completion(c).map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn a_probe_op_maps_to_its_kind_and_the_text_stays_what_the_history_shows() {
        assert_eq!(probe_result(Completion::Ok(Value::Null)), Ok(()));
        assert_eq!(probe_result(Completion::Info("timeout".into())), Err(NotReady::Unreachable("timeout".into())));
        let e = probe_result(Completion::Fail("503".into())).unwrap_err().in_service("ingress");
        assert_eq!(e.to_string(), "ingress: 503");
        assert_eq!(e.root(), &NotReady::Refused("503".into()));
    }
}
