//! Independent keys: any model, one instance per key (Jepsen's
//! `independent`), with values written as `[key, value]` tuples.

use super::{Decode, Decoded, Outcome};
use crate::model::{Model, Operation};
use crate::values::Values;
use history::Semantics;
use serde_json::Value;

/// Many independent objects of model `M`, one per key. Checked split per
/// key (each key alone) or, with `split: false`, as one map-valued state.
#[derive(Debug, Clone)]
pub struct Keyed<M> {
    /// The per-key model.
    pub inner: M,
    /// Check each key apart (P-compositionality).
    pub split: bool,
    /// The keys seen, interned.
    pub keys: Values,
}

impl<M> Keyed<M> {
    /// Wraps `inner`, split per key.
    pub fn new(inner: M) -> Self {
        Keyed { inner, split: true, keys: Values::new() }
    }
}

impl<M: Model> Model for Keyed<M> {
    /// (key, state) for every key touched, sorted by key.
    type State = Vec<(u32, M::State)>;
    type Input = (u32, M::Input);
    type Output = M::Output;

    fn init(&self) -> Self::State {
        Vec::new()
    }

    fn step(&self, s: &Self::State, (k, input): &Self::Input, output: Option<&M::Output>) -> Option<Self::State> {
        match s.binary_search_by_key(k, |e| e.0) {
            Ok(i) => {
                let next = self.inner.step(&s[i].1, input, output)?;
                let mut t = s.clone();
                t[i].1 = next;
                Some(t)
            }
            Err(i) => {
                let next = self.inner.step(&self.inner.init(), input, output)?;
                let mut t = s.clone();
                t.insert(i, (*k, next));
                Some(t)
            }
        }
    }

    fn partition(&self, ops: &[Operation<Self::Input, M::Output>]) -> Option<Vec<Vec<usize>>> {
        if !self.split {
            return None;
        }
        // key ids are dense (the interning table's): one slot per id
        let mut by_key: Vec<Vec<usize>> = vec![Vec::new(); self.keys.len()];
        for (i, o) in ops.iter().enumerate() {
            if let Some(slot) = by_key.get_mut(o.input.0 as usize) {
                slot.push(i);
            }
        }
        // in the order keys first appear (key ids depend on which decoding
        // thread met a key first; this order does not)
        let mut parts: Vec<Vec<usize>> = by_key.into_iter().filter(|p| !p.is_empty()).collect();
        parts.sort_unstable_by_key(|p| p[0]);
        Some(parts)
    }

    fn part_name(&self, op: &Operation<Self::Input, M::Output>) -> Option<String> {
        Some(format!("key {}", self.keys.get(op.input.0)))
    }

    fn is_read_only(&self, input: &Self::Input) -> bool {
        self.inner.is_read_only(&input.1)
    }

    fn observes(&self, input: &Self::Input) -> bool {
        self.inner.observes(&input.1)
    }

    fn describe_op(&self, (k, input): &Self::Input, output: Option<&M::Output>) -> String {
        format!("key {}: {}", self.keys.get(*k), self.inner.describe_op(input, output))
    }

    fn describe_state(&self, s: &Self::State) -> String {
        let parts: Vec<String> = s.iter().map(|(k, v)| format!("{}: {}", self.keys.get(*k), self.inner.describe_state(v))).collect();
        format!("{{{}}}", parts.join(", "))
    }
}

fn split_tuple(v: &Value) -> Option<(&Value, &Value)> {
    match v.as_array().map(Vec::as_slice) {
        Some([k, x]) => Some((k, x)),
        _ => None,
    }
}

impl<M: Decode> Decode for Keyed<M> {
    fn decode<'a>(&self, f: &str, arg: &'a Value, outcome: Outcome<'a>, sem: &Semantics) -> Result<Decoded<Self>, String> {
        let (key, arg) = split_tuple(arg).ok_or_else(|| format!("independent keys want [key value], got {arg}"))?;
        let k = self.keys.id(key);
        // A completion's value is a tuple too, unless it carries no value.
        static NULL: Value = Value::Null;
        let inner = |v: &'a Value| -> Result<&'a Value, String> {
            match split_tuple(v) {
                Some((kk, x)) if kk == key => Ok(x),
                Some((kk, _)) => Err(format!("completion for key {kk} of an invocation on key {key}")),
                None if v.is_null() => Ok(&NULL),
                None => Err(format!("independent keys want [key value], got {v}")),
            }
        };
        let outcome = match outcome {
            Outcome::Ok(v) => Outcome::Ok(inner(v)?),
            Outcome::Fail(v) => Outcome::Fail(inner(v).unwrap_or(&NULL)),
            Outcome::Unknown => Outcome::Unknown,
        };
        Ok(self.inner.decode(f, arg, outcome, sem)?.map(|(i, o)| ((k, i), o)))
    }
}
