//! The faults of one run: the packages every node supports and those the
//! system under test declares of its own. Which fault undoes which, which
//! window a history op opens or closes, and what an interrupted run must
//! still heal are answered here, for both alike.

use crate::error::FaultError;
use crate::fault::{Fault, SystemFault};
use crate::package::{Kind, Package, OTHER_OPENERS, PACKAGES};

/// The fault packages of a run: [`PACKAGES`] and the system's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    packages: Vec<Package>,
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog::shared()
    }
}

/// The inverse of `fault` if it opens a window of `p`.
pub(crate) fn inverse_in(p: &Package, fault: &Fault) -> Option<Fault> {
    match (p.kind, fault) {
        (Kind::System { keeps, .. }, Fault::System(s)) if s.f == p.start_f => {
            let mut inv = SystemFault::new(p.stop_f, s.nodes.clone());
            inv.args = s.args.iter().filter(|(k, _)| keeps.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
            Some(Fault::System(inv))
        }
        (Kind::System { .. }, _) => None,
        _ => fault.shared_inverse(),
    }
}

impl Catalog {
    /// The shared packages alone: a system with no faults of its own.
    pub fn shared() -> Catalog {
        Catalog { packages: PACKAGES.to_vec() }
    }

    /// The shared packages and `system`'s own (each of kind
    /// [`Kind::System`]; a name or `f` already taken is refused).
    pub fn with(system: &[Package]) -> Result<Catalog, FaultError> {
        let mut c = Catalog::shared();
        for p in system {
            if !matches!(p.kind, Kind::System { .. }) {
                return Err(FaultError::Invalid(format!("{}: a system's own fault has the kind System", p.name)));
            }
            let taken = |x: &str| c.packages.iter().any(|q| [q.name, q.start_f, q.stop_f].contains(&x)) || crate::fault::SHARED_FS.contains(&x);
            if let Some(x) = [p.name, p.start_f, p.stop_f].into_iter().find(|x| taken(x)) {
                return Err(FaultError::Invalid(format!("{}: {x:?} is already a fault's name", p.name)));
            }
            c.packages.push(*p);
        }
        Ok(c)
    }

    /// Every package.
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// The package named `name` (`--nemesis NAME`).
    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Every package's name, for messages.
    pub fn names(&self) -> Vec<&'static str> {
        self.packages.iter().map(|p| p.name).collect()
    }

    /// True when `fault` is one of these: every shared fault, and a fault
    /// on the system that the system declares.
    pub fn knows(&self, fault: &Fault) -> bool {
        match fault {
            Fault::System(s) => self.packages.iter().any(|p| matches!(p.kind, Kind::System { .. }) && (p.start_f == s.f || p.stop_f == s.f)),
            _ => true,
        }
    }

    /// The fault that undoes `fault` (`None` for an inverse itself).
    pub fn inverse(&self, fault: &Fault) -> Option<Fault> {
        match fault {
            Fault::System(s) => self.packages.iter().find(|p| p.start_f == s.f).and_then(|p| inverse_in(p, fault)),
            shared => shared.shared_inverse(),
        }
    }

    /// True when `fault` opens a window.
    pub fn opens(&self, fault: &Fault) -> bool {
        self.inverse(fault).is_some()
    }

    /// The package whose window a history op opens (`true`) or closes.
    pub fn package_of(&self, f: &str) -> Option<(&Package, bool)> {
        self.packages.iter().find_map(|p| {
            if OTHER_OPENERS.iter().any(|(o, k, _)| *o == f && *k == p.kind) || p.start_f == f {
                Some((p, true))
            } else if p.stop_f == f || OTHER_OPENERS.iter().any(|(_, k, c)| *c == Some(f) && *k == p.kind) {
                Some((p, false))
            } else {
                None
            }
        })
    }

    /// Every (opening `f`, closing `f`, package name) of a fault window,
    /// for the recovery checker and the report's shading: each package's
    /// own pair and the other faults that open one of its windows.
    pub fn window_kinds(&self) -> Vec<(String, String, String)> {
        let own = self.packages.iter().map(|p| (p.start_f, p.stop_f, p.name));
        let other = OTHER_OPENERS.iter().filter_map(|(f, k, c)| self.packages.iter().find(|p| p.kind == *k).map(|p| (*f, c.unwrap_or(p.stop_f), p.name)));
        own.chain(other).map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect()
    }

    /// The inverses that close every window still open after `applied`
    /// (in order), last opened first: what an interrupted run must still
    /// apply. Windows may overlap, so each closing fault closes the
    /// earliest open window it is the inverse of.
    pub fn closing(&self, applied: &[Fault]) -> Vec<Fault> {
        let mut open: Vec<Fault> = Vec::new();
        for f in applied {
            if let Some(i) = open.iter().position(|o| self.inverse(o).as_ref() == Some(f)) {
                open.remove(i);
            } else if self.opens(f) {
                open.push(f.clone());
            }
        }
        open.iter().rev().filter_map(|f| self.inverse(f)).collect()
    }
}

#[cfg(test)]
mod tests;
