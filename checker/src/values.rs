//! Interning JSON values as small integers, so model states stay cheap to
//! clone, hash and compare. The table is shared by the threads that decode
//! a history in parallel: it is cut into shards by the value's hash, each
//! behind its own read-write lock, and each thread keeps the integers and
//! strings it has looked up in a cache of its own (a read lock is an atomic
//! write to a shared cache line: two threads looking up the same keys
//! through locks alone ran no faster than one). Ids are given in the order
//! values are first seen.

use rustc_hash::{FxHashMap, FxHasher};
use serde_json::Value;
use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

/// Shards of the lookup table (a power of two).
const SHARDS: usize = 64;

#[derive(Debug, Default, Clone)]
struct Shard {
    ints: FxHashMap<i64, u32>,
    strs: FxHashMap<Box<str>, u32>,
    others: FxHashMap<String, u32>,
}

/// A table of distinct JSON values; id 0 is always `null`.
#[derive(Debug)]
pub struct Values {
    /// Which table this is, for the threads' caches.
    uid: u64,
    shards: Vec<RwLock<Shard>>,
    values: RwLock<Vec<Value>>,
}

/// Tables made so far (each gets its own `uid`).
static TABLES: AtomicU64 = AtomicU64::new(1);

/// One thread's cache of ids, for the table it last used.
#[derive(Default)]
struct Local {
    uid: u64,
    ints: FxHashMap<i64, u32>,
    strs: FxHashMap<Box<str>, u32>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

/// The id of `null`.
pub const NIL: u32 = 0;

impl Default for Values {
    fn default() -> Self {
        let uid = TABLES.fetch_add(1, Ordering::Relaxed);
        Values { uid, shards: (0..SHARDS).map(|_| RwLock::default()).collect(), values: RwLock::new(vec![Value::Null]) }
    }
}

impl Clone for Values {
    fn clone(&self) -> Self {
        let shards = self.shards.iter().map(|s| RwLock::new(read(s).clone())).collect();
        Values { uid: TABLES.fetch_add(1, Ordering::Relaxed), shards, values: RwLock::new(read(&self.values).clone()) }
    }
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

/// How a value is looked up: integers and strings without allocating.
enum Key<'a> {
    Int(i64),
    Str(&'a str),
    Other(String),
}

impl Key<'_> {
    fn shard(&self) -> usize {
        let mut h = FxHasher::default();
        match self {
            Key::Int(i) => i.hash(&mut h),
            Key::Str(s) => s.hash(&mut h),
            Key::Other(s) => s.hash(&mut h),
        }
        (h.finish() >> 32) as usize & (SHARDS - 1)
    }
}

impl Shard {
    fn find(&self, k: &Key<'_>) -> Option<u32> {
        match k {
            Key::Int(i) => self.ints.get(i).copied(),
            Key::Str(s) => self.strs.get(*s).copied(),
            Key::Other(s) => self.others.get(s).copied(),
        }
    }
}

impl Values {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `v`, adding it if new. Equal JSON values get equal ids.
    pub fn id(&self, v: &Value) -> u32 {
        LOCAL.with_borrow_mut(|l| {
            if l.uid != self.uid {
                *l = Local { uid: self.uid, ..Local::default() };
            }
            let cached = match v {
                Value::Number(n) if n.is_i64() => l.ints.get(&n.as_i64().unwrap_or_default()).copied(),
                Value::String(s) => l.strs.get(s.as_str()).copied(),
                _ => None,
            };
            if let Some(id) = cached {
                return id;
            }
            let id = self.shared_id(v);
            match v {
                Value::Number(n) if n.is_i64() => {
                    l.ints.insert(n.as_i64().unwrap_or_default(), id);
                }
                Value::String(s) => {
                    l.strs.insert(s.as_str().into(), id);
                }
                _ => {}
            }
            id
        })
    }

    /// The id of `v` from the shared table.
    fn shared_id(&self, v: &Value) -> u32 {
        let key = match v {
            Value::Null => return NIL,
            Value::Number(n) if n.is_i64() => Key::Int(n.as_i64().unwrap_or_default()),
            Value::String(s) => Key::Str(s),
            other => Key::Other(other.to_string()),
        };
        let shard = &self.shards[key.shard()];
        if let Some(id) = read(shard).find(&key) {
            return id;
        }
        let mut sh = shard.write().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = sh.find(&key) {
            return id; // another thread added it meanwhile
        }
        let id = {
            let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
            values.push(v.clone());
            values.len() as u32 - 1
        };
        match key {
            Key::Int(i) => sh.ints.insert(i, id),
            Key::Str(s) => sh.strs.insert(s.into(), id),
            Key::Other(s) => sh.others.insert(s, id),
        };
        id
    }

    /// The value of an id (`null` for an unknown id).
    pub fn get(&self, id: u32) -> Value {
        read(&self.values).get(id as usize).cloned().unwrap_or(Value::Null)
    }

    /// Number of distinct values, `null` included.
    pub fn len(&self) -> usize {
        read(&self.values).len()
    }

    /// Always false: `null` is always there.
    pub fn is_empty(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_share_an_id() {
        let v = Values::new();
        let a = v.id(&json!(3));
        assert_eq!(v.id(&json!(3)), a);
        assert_ne!(v.id(&json!("3")), a);
        assert_eq!(v.id(&json!("3")), v.id(&json!("3")));
        assert_eq!(v.id(&json!(null)), NIL);
        assert_eq!(v.get(a), json!(3));
        assert_eq!(v.id(&json!({"b": 1, "a": 2})), v.id(&json!({"a": 2, "b": 1})));
        assert_eq!(v.len(), 4);
    }

    #[test]
    fn threads_share_one_table() {
        let v = Values::new();
        let ids: Vec<Vec<u32>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4).map(|_| s.spawn(|| (0..1000).map(|i| v.id(&json!(format!("k{i}")))).collect())).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(v.len(), 1001);
    }
}
