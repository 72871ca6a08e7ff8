//! Interning JSON values as small integers, so model states stay cheap to
//! clone, hash and compare.

use serde_json::Value;
use std::collections::HashMap;

/// A table of distinct JSON values; id 0 is always `null`.
#[derive(Debug, Clone)]
pub struct Values {
    ints: HashMap<i64, u32>,
    others: HashMap<String, u32>,
    table: Vec<Value>,
}

/// The id of `null`.
pub const NIL: u32 = 0;

impl Default for Values {
    fn default() -> Self {
        Values { ints: HashMap::new(), others: HashMap::new(), table: vec![Value::Null] }
    }
}

impl Values {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `v`, adding it if new. Equal JSON values get equal ids.
    pub fn id(&mut self, v: &Value) -> u32 {
        let next = self.table.len() as u32;
        let id = match v {
            Value::Null => return NIL,
            Value::Number(n) if n.is_i64() => *self.ints.entry(n.as_i64().unwrap_or_default()).or_insert(next),
            other => *self.others.entry(other.to_string()).or_insert(next),
        };
        if id == next {
            self.table.push(v.clone());
        }
        id
    }

    /// The value of an id.
    pub fn get(&self, id: u32) -> &Value {
        self.table.get(id as usize).unwrap_or(&Value::Null)
    }

    /// Number of distinct values, `null` included.
    pub fn len(&self) -> usize {
        self.table.len()
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
        let mut v = Values::new();
        let a = v.id(&json!(3));
        assert_eq!(v.id(&json!(3)), a);
        assert_ne!(v.id(&json!("3")), a);
        assert_eq!(v.id(&json!(null)), NIL);
        assert_eq!(v.get(a), &json!(3));
        assert_eq!(v.id(&json!({"b": 1, "a": 2})), v.id(&json!({"a": 2, "b": 1})));
    }
}
