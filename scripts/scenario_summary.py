"""What each Restate scenario measured over the runs in a store (the table
in BENCHMARKS.md): python3 scripts/scenario_summary.py STORE"""

import json
import re
import statistics
import sys
from pathlib import Path


def runs(store, name):
    if not (Path(store) / name).is_dir():
        return
    for d in sorted((Path(store) / name).iterdir()):
        try:
            yield (json.loads((d / "results.json").read_text()), json.loads((d / "run.json").read_text()))
        except (OSError, ValueError):
            continue


def spread(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return f"median {statistics.median(xs):.2f}, max {max(xs):.2f}"


def main(store):
    for name in ["restate-crash-restart", "restate-partition-heal", "restate-cold-start", "restate-seal-while-provisioning", "restate-append-during-reconfiguration"]:
        rs = list(runs(store, name))
        if not rs:
            continue
        verdicts = [r["valid"] for r, _ in rs]
        print(f"## {name}: {len(rs)} runs, {verdicts.count('valid')} valid, {verdicts.count('invalid')} invalid, {verdicts.count('unknown')} unknown")
        recs = [x for r, _ in rs for x in (r.get("checks", {}).get("recovery") or {}).get("recoveries", [])]
        took = lambda x: x.get("recovered_s") if x.get("recovered_s") is not None else x.get("observed_s")
        if name == "restate-crash-restart":
            kills = [x for x in recs if x["fault"] == "kill"]
            print(f"  restarted node-services: {len(kills)}, within SLO {sum(x['pass'] for x in kills)}; serving again after the restart (s): {spread([took(x) for x in kills])}")
        if name == "restate-partition-heal":
            bad = sum(1 for r, _ in rs if (r.get("checks", {}).get("recovery") or {}).get("valid") == "invalid")
            print(f"  runs violating recovery=20s: {bad} of {len(rs)}")
            for svc in sorted({x["service"] for x in recs}):
                print(f"  {svc}: recovered after the heal (s): {spread([took(x) for x in recs if x['service'] == svc])}")
        if name == "restate-cold-start":
            print(f"  cluster ready (s): {spread([(f.get('startup') or {}).get('cluster') for _, f in rs])}")
            phases = {}
            for _, f in rs:
                for _node, ps in f.get("startup_phases", []):
                    for p in ps:
                        phases.setdefault(p["name"], []).append(p["at_s"])
            for p, xs in phases.items():
                print(f"  {p} (s after the process started, all nodes): {spread(xs)}")
        if name == "restate-seal-while-provisioning":
            seals = [s for r, _ in rs for s in ((r.get("checks", {}).get("startup_faults") or {}).get("seals") or [])]
            fails = [sum(a["outcome"] == "fail" for a in s["attempts"]) for s in seals]
            print(f"  sealed after (s): {spread([s.get('sealed_after_s') for s in seals])}; failed attempts before: {spread(fails)}; hung: {sum(s['hung'] for s in seals)}")
            msgs = sorted({re.sub(r"^\S+Z ERROR \S+ ", "", a["message"]).split("->")[-1].strip()[:100] for s in seals for a in s["attempts"] if a["outcome"] == "fail"})
            for m in msgs:
                print(f"  refused with: {m}")
        if name == "restate-append-during-reconfiguration":
            stalls = [s.get("stall_s") for r, _ in rs for s in ((r.get("checks", {}).get("reconfiguration") or {}).get("stalls") or [])]
            lost = sum(len(l.get("lost", [])) for r, _ in rs for l in ((r.get("checks", {}).get("append") or {}).get("logs") or []))
            print(f"  stalls (per seal and log, s): {len(stalls)}, {spread(stalls)}; never ended: {stalls.count(None)}; acknowledged appends lost: {lost}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "store-scenarios")
