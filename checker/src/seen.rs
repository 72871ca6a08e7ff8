//! The search's memo of configurations seen: each (linearized set, model
//! state) as one 128-bit key, the set's Zobrist fingerprint XOR a hash of
//! the state, in a hash set of keys alone (16 bytes an entry, no state
//! cloned into it; the keys are random already, so the set does not hash
//! them again).

use rustc_hash::FxHasher;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A 128-bit key for a model state: an Fx hash, spread by splitmix64's
/// finaliser into the high half.
#[inline]
pub fn state_key<S: Hash>(s: &S) -> u128 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    let h = h.finish();
    (u128::from(mix(h)) << 64) | u128::from(h)
}

#[inline]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Passes a random key through as its own hash.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    #[inline]
    fn write_u128(&mut self, k: u128) {
        self.0 = (k >> 64) as u64 ^ k as u64;
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The configurations seen.
pub type Seen = HashSet<u128, BuildHasherDefault<KeyHasher>>;

/// Bytes a set of that capacity takes.
pub fn bytes(s: &Seen) -> usize {
    s.capacity() * (std::mem::size_of::<u128>() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_small_states_get_distinct_keys() {
        let mut keys: Vec<u128> = (0..100_000u32).map(|i| state_key(&i)).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 100_000);
        assert_ne!(state_key(&"ab".to_string()), state_key(&"ba".to_string()));
        let mut s = Seen::default();
        assert!(s.insert(state_key(&1u32)) && !s.insert(state_key(&1u32)));
    }
}
