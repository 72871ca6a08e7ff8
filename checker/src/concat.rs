//! Joining the runs of decoded operations that the decoding threads made,
//! each run moved into its place of the whole by a thread of its own: the
//! copy and the first touch of a vector of a million operations is tens of
//! milliseconds that would otherwise run on one core.

use std::mem::MaybeUninit;

/// The runs, in order, as one vector.
pub fn concat<T: Send>(runs: Vec<Vec<T>>) -> Vec<T> {
    if runs.len() <= 1 {
        return runs.into_iter().next().unwrap_or_default();
    }
    let total: usize = runs.iter().map(Vec::len).sum();
    let mut out: Vec<T> = Vec::with_capacity(total);
    let mut rest: &mut [MaybeUninit<T>] = &mut out.spare_capacity_mut()[..total];
    let mut slots = Vec::with_capacity(runs.len());
    for r in &runs {
        let (slot, tail) = rest.split_at_mut(r.len());
        slots.push(slot);
        rest = tail;
    }
    std::thread::scope(|s| {
        for (slot, run) in slots.into_iter().zip(runs) {
            s.spawn(move || {
                for (to, v) in slot.iter_mut().zip(run) {
                    to.write(v);
                }
            });
        }
    });
    // SAFETY: the slots cover the first `total` places exactly (each as
    // long as its run), and each thread wrote every place of its slot
    // before the scope ended (a panic in one would have ended this
    // function before here, leaking the written values, never exposing
    // unwritten ones).
    unsafe { out.set_len(total) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_join_in_order() {
        let runs: Vec<Vec<String>> = vec![vec!["a".into(), "b".into()], vec![], vec!["c".into()], (0..1000).map(|i| i.to_string()).collect()];
        let want: Vec<String> = runs.concat();
        assert_eq!(concat(runs), want);
        assert_eq!(concat::<u8>(vec![]), Vec::<u8>::new());
        assert_eq!(concat(vec![vec![1, 2]]), vec![1, 2]);
    }
}
