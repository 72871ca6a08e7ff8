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
        let mut future = false; // one future read per transaction, as Elle
        for (at, m) in mops.iter().enumerate() {
            let (Mop::Append(k, _) | Mop::Read(k, _)) = *m;
            let i = own.iter().position(|o| o.0 == k).unwrap_or_else(|| {
                own.push((k, None, Vec::new()));
                own.len() - 1
            });
            let (k, l) = match *m {
                Mop::Append(_, e) => {
                    if !future && own[i].1.is_some() {
                        if let Some(f) = future_read(inf, k, e, t, &mops[..at]) {
                            found.push(f);
                            future = true;
                        }
                    }
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

/// Elle's future read: transaction `t` appends `e` to `k` after one of
/// its own earlier micro-ops (`before`) read `e` there.
fn future_read(inf: &Inferred<'_>, k: u32, e: u32, t: usize, before: &[Mop]) -> Option<Found> {
    let l = before.iter().find_map(|m| match *m {
        Mop::Read(kk, l) if kk == k && inf.lists[l as usize].contains(&e) => Some(l),
        _ => None,
    })?;
    let why = format!(
        "it read {} = {}, holding {}, then appended {} there itself: it saw its own future",
        inf.show(k),
        inf.show_list(&inf.lists[l as usize]),
        inf.elem(e),
        inf.elem(e)
    );
    Some(("future-read", vec![t], why))
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
        // the writers whose appends are in the graph: committed or unknown
        // (Elle's write index holds no failed transaction)
        let live = |e: &u32| w(e).filter(|&t| inf.txns[t as usize].status != Status::Fail);
        // elements no one appended
        if let Some(e) = order.iter().find(|e| w(e).is_none()) {
            found.push(("garbage-read", vec![reader], format!("it read {} in {}, which no transaction appended", inf.elem(*e), inf.show(key))));
        }
        found.extend(dirty_updates(inf, key, order, &w));
        for pair in order.windows(2) {
            if let (Some(a), Some(b)) = (live(&pair[0]), live(&pair[1])) {
                edges.push((a, b, WW));
            }
        }
        unobserved(inf, &appended[k], rs, order, live(order.last().unwrap_or(&u32::MAX)), &mut edges);
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
            if let Some(a) = list.last().and_then(live) {
                edges.push((a, t, WR));
            }
            if let Some(b) = order.get(list.len()).and_then(live) {
                edges.push((t, b, RW));
            }
        }
        orders.push((key, longest));
    }
    (found, edges, orders)
}

/// The appends to a key that no read shows, placed as Elle places them:
/// after the last element of the longest read (after the initial state when
/// nothing was read), so each follows that element's writer (ww) and every
/// transaction that read exactly the longest read (rw).
fn unobserved(inf: &Inferred<'_>, appends: &Appends, rs: &[(u32, u32, bool)], order: &[u32], last: Option<u32>, edges: &mut Vec<(u32, u32, u8)>) {
    let mut seen = order.to_vec();
    seen.sort_unstable();
    if appends.len() == seen.len() && appends.iter().zip(&seen).all(|(a, e)| a.0 == *e) {
        return; // every append was read: the common case
    }
    let readers: Vec<u32> = rs.iter().filter(|r| inf.lists[r.1 as usize] == *order).map(|r| r.0).collect();
    for &(e, t, _) in appends {
        if inf.txns[t as usize].status == Status::Fail || seen.binary_search(&e).is_ok() {
            continue;
        }
        edges.extend(last.filter(|&a| a != t).map(|a| (a, t, WW)));
        edges.extend(readers.iter().filter(|&&r| r != t).map(|&r| (r, t, RW)));
    }
}

/// Elle's dirty updates in a key's version order: a committed append that
/// follows a failed one, with only indeterminate appends (or more failed
/// ones) between them.
fn dirty_updates(inf: &Inferred<'_>, key: u32, order: &[u32], w: &impl Fn(&u32) -> Option<u32>) -> Vec<Found> {
    let mut found = Vec::new();
    let mut failed: Option<(u32, usize)> = None; // the failed writer in force and where its element is
    for (i, e) in order.iter().enumerate() {
        let Some(b) = w(e) else { continue };
        match inf.txns[b as usize].status {
            Status::Ok => {
                if let Some((a, at)) = failed.take() {
                    let how = if at + 1 == i { "right after" } else { "after (with only indeterminate appends between)" };
                    let why = format!(
                        "in {}, its append of {} came {how} {}, appended by a transaction that failed",
                        inf.show(key),
                        inf.elem(*e),
                        inf.elem(order[at])
                    );
                    found.push(("dirty-update", vec![b as usize, a as usize], why));
                }
            }
            Status::Info => {}
            Status::Fail => {
                failed.get_or_insert((b, i));
            }
        }
    }
    found
}

/// A duplicate element in transaction `t`'s read `list` of key `k`.
fn duplicate(inf: &Inferred<'_>, k: u32, t: usize, list: &[u32]) -> Option<Found> {
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    let d = sorted.windows(2).find(|w| w[0] == w[1])?;
    Some(("duplicate-elements", vec![t], format!("its read of {} holds {} twice", inf.show(k), inf.elem(d[0]))))
}
