//! What list-append's reads say: the anomalies of single reads (internal,
//! aborted and intermediate reads, duplicates), each key's version order
//! (its longest read; every other read must be a prefix of it) and the
//! data edges it implies. Keys are interned ids, dense from 0: per-key
//! tables are vectors indexed by them, not maps. Both halves run on every
//! core: the transactions in contiguous parts, then the keys in parts of
//! about equal reads; each part's findings and edges are joined in order,
//! so the result does not depend on the number of threads.

use super::append::{anomaly, threads, Inferred, Mop, Status};
use super::graph::{RW, WR, WW};
use super::Anomaly;
use rustc_hash::FxHashMap;
use std::ops::Range;

/// Every append of one key: (element, appending transaction, whether it
/// was that transaction's last append to the key), sorted by element.
type Appends = Vec<(u32, u32, bool)>;

/// An anomaly found: its name, its transactions, what happened.
type Found = (&'static str, Vec<usize>, String);

/// The first transaction that appended `e` to the key of `appends`, and
/// whether `e` was its last append there.
fn writer_of(appends: &Appends, e: u32) -> Option<(usize, bool)> {
    let i = appends.partition_point(|a| a.0 < e);
    appends.get(i).filter(|a| a.0 == e).map(|a| (a.1 as usize, a.2))
}

/// Runs `job` on each part, on a thread of its own, the results in order.
fn in_parts<P: Send, T: Send>(parts: Vec<P>, job: impl Fn(P) -> T + Sync) -> Vec<T> {
    if parts.len() <= 1 {
        return parts.into_iter().map(job).collect();
    }
    let job = &job;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts.into_iter().map(|p| s.spawn(move || job(p))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

/// Infers from the reads; adds the anomalies, edges and version orders to `inf`.
pub(super) fn check_reads(inf: &mut Inferred<'_>) {
    let nkeys = inf.values.len();
    let mut appended: Vec<Appends> = vec![Vec::new(); nkeys];
    let mut failed: FxHashMap<(u32, u32), usize> = FxHashMap::default();
    for (t, x) in inf.txns.iter().enumerate() {
        for m in &x.mops {
            if let Mop::Append(k, e) = *m {
                let a = &mut appended[k as usize];
                // a transaction's appends to a key are pushed together
                if let Some(prev) = a.last_mut().filter(|p| p.1 == t as u32) {
                    prev.2 = false;
                }
                a.push((e, t as u32, true));
                if x.status == Status::Fail {
                    failed.entry((k, e)).or_insert(t);
                }
            }
        }
    }
    for a in &mut appended {
        a.sort_by_key(|x| x.0); // stable: the first writer of an element stays first
    }
    let shared: &Inferred<'_> = inf;
    let n = shared.txns.len();
    let size = n.div_ceil(threads()).max(20_000);
    let ranges: Vec<Range<usize>> = (0..n).step_by(size.max(1)).map(|s| s..(s + size).min(n)).collect();
    let per_txn = in_parts(ranges, |r| txn_reads(shared, &appended, &failed, r));
    // each key's reads, in transaction order (a counting sort by key)
    let mut offsets = vec![0u32; nkeys + 1];
    for (_, reads) in &per_txn {
        for &(k, ..) in reads {
            offsets[k as usize + 1] += 1;
        }
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    let mut by_key = vec![(0u32, 0u32, false); offsets[nkeys] as usize];
    let mut next = offsets.clone();
    let mut found: Vec<Found> = Vec::new();
    for (f, reads) in per_txn {
        found.extend(f);
        for (k, t, l, then_appends) in reads {
            by_key[next[k as usize] as usize] = (t, l, then_appends);
            next[k as usize] += 1;
        }
    }
    // keys in parts of about equal numbers of reads
    let parts = threads();
    let per = (by_key.len() / parts).max(50_000);
    let mut key_ranges = Vec::new();
    let mut start = 0;
    for k in 0..nkeys {
        if (offsets[k + 1] - offsets[start]) as usize >= per {
            key_ranges.push(start..k + 1);
            start = k + 1;
        }
    }
    key_ranges.push(start..nkeys);
    let per_key = in_parts(key_ranges, |keys| key_reads(shared, &appended, &offsets, &by_key, keys));
    for (f, edges, orders) in per_key {
        found.extend(f);
        for (a, b, kind) in edges {
            inf.graph.add(a as usize, b as usize, kind);
        }
        inf.orders.extend(orders);
    }
    let anomalies: Vec<Anomaly> = found.into_iter().map(|(n, ts, why)| anomaly(inf, n, &ts, why)).collect();
    inf.anomalies.extend(anomalies);
}

/// The committed transactions of `range`: the anomalies of their reads
/// alone, and every read as (key, transaction, list, whether the
/// transaction appends to the key after it).
#[allow(clippy::type_complexity)]
fn txn_reads(inf: &Inferred<'_>, appended: &[Appends], failed: &FxHashMap<(u32, u32), usize>, range: Range<usize>) -> (Vec<Found>, Vec<(u32, u32, u32, bool)>) {
    let (mut found, mut reads) = (Vec::new(), Vec::new());
    // per key of the transaction: its last read and its appends since (a
    // few micro-ops: a vector reused across transactions, not a map)
    let mut own: Vec<(u32, Option<u32>, Vec<u32>)> = Vec::new();
    for t in range.filter(|&t| inf.txns[t].status == Status::Ok) {
        own.clear();
        let mops = &inf.txns[t].mops;
        for (at, m) in mops.iter().enumerate() {
            let (Mop::Append(k, _) | Mop::Read(k, _)) = *m;
            let i = own.iter().position(|o| o.0 == k).unwrap_or_else(|| {
                own.push((k, None, Vec::new()));
                own.len() - 1
            });
            let (k, l) = match *m {
                Mop::Append(_, e) => {
                    own[i].2.push(e);
                    continue;
                }
                Mop::Read(k, l) => (k, l),
            };
            let list = &inf.lists[l as usize];
            let state = &mut own[i];
            let consistent = match state.1 {
                Some(prior) => inf.lists[prior as usize].iter().chain(&state.2).eq(list.iter()),
                None => list.ends_with(&state.2),
            };
            if !consistent {
                let why = format!("it read {} = {} though its own earlier reads and appends say otherwise", inf.show(k), inf.show_list(list));
                found.push(("internal", vec![t], why));
            }
            state.1 = Some(l);
            state.2.clear();
            // aborted reads: only elements of failed appends can be one
            for e in list.iter().filter(|_| !failed.is_empty()) {
                if let Some(&w) = failed.get(&(k, *e)) {
                    found.push(("G1a", vec![t, w], format!("it read {} in {}, appended by a transaction that failed", inf.elem(*e), inf.show(k))));
                }
            }
            if let Some(&e) = list.last() {
                if let Some((w, false)) = writer_of(&appended[k as usize], e).filter(|w| w.0 != t) {
                    let why = format!("it read {} ending in {}, an intermediate state of a transaction that appended more", inf.show(k), inf.elem(e));
                    found.push(("G1b", vec![t, w], why));
                }
            }
            let then_appends = mops[at + 1..].iter().any(|m| matches!(*m, Mop::Append(k2, _) if k2 == k));
            reads.push((k, t as u32, l, then_appends));
        }
    }
    (found, reads)
}

/// The keys of `keys`: each one's version order (its longest read), the
/// anomalies of reads that no one order explains, and the data edges.
#[allow(clippy::type_complexity)]
fn key_reads(
    inf: &Inferred<'_>,
    appended: &[Appends],
    offsets: &[u32],
    by_key: &[(u32, u32, bool)],
    keys: Range<usize>,
) -> (Vec<Found>, Vec<(u32, u32, u8)>, Vec<(u32, u32)>) {
    let (mut found, mut edges, mut orders) = (Vec::new(), Vec::new(), Vec::new());
    for k in keys {
        let rs = &by_key[offsets[k] as usize..offsets[k + 1] as usize];
        let Some(&(_, longest, _)) = rs.iter().max_by_key(|r| inf.lists[r.1 as usize].len()) else { continue };
        let (key, order) = (k as u32, &inf.lists[longest as usize]);
        // a read with a duplicate is the longest or not a prefix of it
        let reader = rs.iter().find(|r| r.1 == longest).map_or(0, |r| r.0 as usize);
        found.extend(duplicate(inf, key, reader, order));
        let w = |e: &u32| writer_of(&appended[k], *e).map(|x| x.0 as u32);
        // elements no one appended; a committed append right after a failed one
        if let Some(e) = order.iter().find(|e| w(e).is_none()) {
            found.push(("garbage-read", vec![reader], format!("it read {} in {}, which no transaction appended", inf.elem(*e), inf.show(key))));
        }
        for pair in order.windows(2) {
            if let (Some(a), Some(b)) = (w(&pair[0]), w(&pair[1])) {
                if inf.txns[a as usize].status == Status::Fail && inf.txns[b as usize].status == Status::Ok {
                    let why = format!(
                        "in {}, its append of {} came right after {}, appended by a transaction that failed",
                        inf.show(key),
                        inf.elem(pair[1]),
                        inf.elem(pair[0])
                    );
                    found.push(("dirty-update", vec![b as usize, a as usize], why));
                }
                edges.push((a, b, WW));
            }
        }
        // two transactions that read the same version and then appended to it
        let mut updaters: FxHashMap<usize, u32> = FxHashMap::default();
        for &(t, l, _) in rs.iter().filter(|r| r.2) {
            let len = inf.lists[l as usize].len();
            match updaters.get(&len) {
                Some(&first) if first != t => {
                    let why = format!("both read {} with {len} elements and appended to it: one update is lost", inf.show(key));
                    found.push(("lost-update", vec![first as usize, t as usize], why));
                }
                Some(_) => {}
                None => {
                    updaters.insert(len, t);
                }
            }
        }
        for &(t, l, _) in rs {
            let list = &inf.lists[l as usize];
            if !order.starts_with(list) {
                found.extend(duplicate(inf, key, t as usize, list));
                let why = format!("its read of {}, {}, is not a prefix of the longest read, {}", inf.show(key), inf.show_list(list), inf.show_list(order));
                found.push(("incompatible-order", vec![t as usize], why));
                continue;
            }
            if let Some(a) = list.last().and_then(w) {
                edges.push((a, t, WR));
            }
            if let Some(b) = order.get(list.len()).and_then(w) {
                edges.push((t, b, RW));
            }
        }
        orders.push((key, longest));
    }
    (found, edges, orders)
}

/// A duplicate element in transaction `t`'s read `list` of key `k`.
fn duplicate(inf: &Inferred<'_>, k: u32, t: usize, list: &[u32]) -> Option<Found> {
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    let d = sorted.windows(2).find(|w| w[0] == w[1])?;
    Some(("duplicate-elements", vec![t], format!("its read of {} holds {} twice", inf.show(k), inf.elem(d[0]))))
}
