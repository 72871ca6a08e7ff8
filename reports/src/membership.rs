//! The membership of a run's cluster over time, from the views the
//! nemesis recorded with each membership change, as heatmap rows.

use history::{History, OpType, Process};
use serde_json::Value;

/// Each node's membership over time, as the system reported it after each
/// change (`members_after` in the nemesis's completions): per node, one
/// cell per `bucket_s`, green while a member, red while out. None when the
/// run changed no membership.
pub(crate) fn rows(h: &History, t_end: f64, bucket_s: f64) -> Option<Vec<(String, Vec<[u32; 3]>)>> {
    let names = |v: &Value| -> Option<Vec<String>> { v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()) };
    let views: Vec<(f64, Vec<String>, Vec<String>)> = h
        .ops
        .iter()
        .filter(|o| o.process == Process::Nemesis && o.kind != OpType::Invoke)
        .filter_map(|o| Some((o.time as f64 / 1e9, names(o.value.get("members_before")?)?, names(o.value.get("members_after")?)?)))
        .collect();
    let first = views.first()?;
    let mut nodes: Vec<String> = views.iter().flat_map(|(_, b, a)| b.iter().chain(a)).cloned().collect();
    nodes.sort();
    nodes.dedup();
    let buckets = (t_end / bucket_s).ceil().max(1.0) as usize;
    let rows = nodes
        .into_iter()
        .map(|n| {
            let cells = (0..buckets)
                .map(|b| {
                    let t = (b as f64 + 0.5) * bucket_s;
                    let seen = views.iter().rev().find(|(at, _, _)| *at <= t).map_or(&first.1, |(_, _, after)| after);
                    if seen.contains(&n) {
                        [1, 0, 0]
                    } else {
                        [0, 1, 0]
                    }
                })
                .collect();
            (n, cells)
        })
        .collect();
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::rows;
    use history::{History, Op, OpType, Process};
    use serde_json::json;

    #[test]
    fn the_membership_is_drawn_from_each_view_the_nemesis_recorded() {
        let mut h = History::default();
        let all = json!(["n1", "n2", "n3"]);
        for (t, f, before, after) in [(1u64, "remove-member", all.clone(), json!(["n2", "n3"])), (3, "add-member", json!(["n2", "n3"]), all.clone())] {
            let mut op = Op::new(Process::Nemesis, OpType::Info, f, json!({"members_before": before, "members_after": after}));
            op.time = t * 1_000_000_000;
            h.ops.push(op);
        }
        let drawn = rows(&h, 4.0, 1.0).unwrap();
        let n1: Vec<u32> = drawn[0].1.iter().map(|c| c[0]).collect();
        assert_eq!((drawn[0].0.as_str(), n1), ("n1", vec![1, 0, 0, 1]), "out from 1 s to 3 s (cells at 0.5, 1.5, 2.5, 3.5 s)");
        assert!(drawn[1].1.iter().all(|c| c[0] == 1), "n2 stays a member");
        assert!(rows(&History::default(), 4.0, 1.0).is_none());
    }
}
