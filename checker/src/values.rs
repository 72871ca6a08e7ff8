//! Interning JSON values as small integers, so model states stay cheap to
//! clone, hash and compare. The table is shared by the threads that decode
//! a history in parallel: lookups take a read lock, a new value the write
//! lock; ids are given in the order values are first seen.

use rustc_hash::FxHashMap;
use serde_json::Value;
use std::sync::RwLock;

#[derive(Debug, Default, Clone)]
struct Table {
    ints: FxHashMap<i64, u32>,
    strs: FxHashMap<Box<str>, u32>,
    others: FxHashMap<String, u32>,
    values: Vec<Value>,
}

/// A table of distinct JSON values; id 0 is always `null`.
#[derive(Debug)]
pub struct Values {
    table: RwLock<Table>,
}

/// The id of `null`.
pub const NIL: u32 = 0;

impl Default for Values {
    fn default() -> Self {
        Values { table: RwLock::new(Table { values: vec![Value::Null], ..Table::default() }) }
    }
}

impl Clone for Values {
    fn clone(&self) -> Self {
        Values { table: RwLock::new(self.read().clone()) }
    }
}

/// How a value is looked up: integers and strings without allocating.
enum Key<'a> {
    Int(i64),
    Str(&'a str),
    Other(String),
}

impl Table {
    fn find(&self, k: &Key<'_>) -> Option<u32> {
        match k {
            Key::Int(i) => self.ints.get(i).copied(),
            Key::Str(s) => self.strs.get(*s).copied(),
            Key::Other(s) => self.others.get(s).copied(),
        }
    }

    fn insert(&mut self, k: Key<'_>, v: &Value) -> u32 {
        if let Some(id) = self.find(&k) {
            return id; // another thread added it meanwhile
        }
        let id = self.values.len() as u32;
        match k {
            Key::Int(i) => self.ints.insert(i, id),
            Key::Str(s) => self.strs.insert(s.into(), id),
            Key::Other(s) => self.others.insert(s, id),
        };
        self.values.push(v.clone());
        id
    }
}

impl Values {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The id of `v`, adding it if new. Equal JSON values get equal ids.
    pub fn id(&self, v: &Value) -> u32 {
        let key = match v {
            Value::Null => return NIL,
            Value::Number(n) if n.is_i64() => Key::Int(n.as_i64().unwrap_or_default()),
            Value::String(s) => Key::Str(s),
            other => Key::Other(other.to_string()),
        };
        if let Some(id) = self.read().find(&key) {
            return id;
        }
        self.table.write().unwrap_or_else(|e| e.into_inner()).insert(key, v)
    }

    /// The value of an id (`null` for an unknown id).
    pub fn get(&self, id: u32) -> Value {
        self.read().values.get(id as usize).cloned().unwrap_or(Value::Null)
    }

    /// Number of distinct values, `null` included.
    pub fn len(&self) -> usize {
        self.read().values.len()
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
