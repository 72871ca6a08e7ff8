"""What each disk-fault configuration measured over the runs in a store
(BENCHMARKS.md "Disk faults"): python3 scripts/disk_summary.py STORE"""

import json
import statistics
import sys
from pathlib import Path


def runs(store, name):
    d = Path(store) / name
    for r in sorted(d.iterdir()) if d.is_dir() else []:
        try:
            yield r, json.loads((r / "results.json").read_text())
        except (OSError, ValueError):
            continue


def latencies(run):
    """Latencies (ms) of the client ops that completed ok."""
    start, out = {}, []
    for line in (run / "history.jsonl").read_text().splitlines():
        try:
            op = json.loads(line)
        except ValueError:
            continue
        if op.get("role", "client") != "client" or "process" not in op or op.get("f") not in ("read", "write", "cas"):
            continue
        if op["type"] == "invoke":
            start[op["process"]] = op["time"]
        elif op["type"] == "ok" and op["process"] in start:
            out.append((op["time"] - start.pop(op["process"])) / 1e6)
    return sorted(out)


def boots(run):
    """Each node's boot time (ms) after a power cut, from the power-on ops."""
    out = []
    for line in (run / "history.jsonl").read_text().splitlines():
        if '"power-on"' not in line:
            continue
        op = json.loads(line)
        if op.get("type") == "info":
            out.extend((op.get("value") or {}).get("boot_ms", {}).values())
    return out


def main(store):
    for path in sorted(Path(store).iterdir()):
        if not path.is_dir() or path.name.startswith("cost-"):
            continue
        rs = list(runs(store, path.name))
        if not rs:
            continue
        verdicts = [r["valid"] for _, r in rs]
        sets = [r["checks"].get("set") or {} for _, r in rs]
        lost = [len(s.get("lost", [])) for s in sets]
        acked = [s.get("acknowledged", 0) for s in sets]
        recs = [x for _, r in rs for x in (r["checks"].get("recovery") or {}).get("recoveries", [])]
        served = sum(1 for x in recs if x.get("outcome") != "not-recovered")
        booted = [b for run, _ in rs for b in boots(run)]
        boot = f"; boots {min(booted) / 1e3:.0f}-{max(booted) / 1e3:.0f} s" if booted else ""
        print(f"{path.name}: {len(rs)} runs, {verdicts.count('invalid')} invalid; acknowledged adds {min(acked)}-{max(acked)}; "
              f"lost {lost} (runs with a loss: {sum(1 for x in lost if x)}); node-service windows served again {served} of {len(recs)}{boot}")
    cost = {}
    for name in ["cost-plain", "cost-page-cache"]:
        rows = []
        for run, r in runs(store, name):
            st = r.get("stats") or {}
            lat = latencies(run)
            if lat and st.get("duration_s"):
                rows.append((len(lat) / st["duration_s"], lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]))
        if rows:
            cost[name] = [statistics.median(c) for c in zip(*rows)]
            print(f"{name}: {len(rows)} runs; median ok/s {cost[name][0]:.0f}, p50 {cost[name][1]:.1f} ms, p99 {cost[name][2]:.1f} ms")
    if len(cost) == 2:
        p, c = cost["cost-plain"], cost["cost-page-cache"]
        print(f"page cache / plain: ok/s {c[0] / p[0]:.2f}, p50 {c[1] / p[1]:.2f}x, p99 {c[2] / p[2]:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1])
