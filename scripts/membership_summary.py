"""What each membership configuration measured over the runs in a store
(BENCHMARKS.md "Membership"): python3 scripts/membership_summary.py STORE"""

import json
import sys
from pathlib import Path


def main(store):
    for path in sorted(Path(store).iterdir()):
        if not path.is_dir() or path.name == "latest":
            continue
        verdicts, changes, adds = [], {}, []
        for run in sorted(path.iterdir()):
            try:
                r = json.loads((run / "results.json").read_text())
            except (OSError, ValueError):
                continue
            verdicts.append(r["valid"])
            for line in (run / "history.jsonl").read_text().splitlines():
                op = json.loads(line)
                if op.get("process") == "nemesis" and op.get("type") == "info" and op["f"].endswith("-member"):
                    err = (op.get("value") or {}).get("error")
                    key = f"{op['f']} {'failed: ' + err[:80] if err else 'done'}"
                    changes[key] = changes.get(key, 0) + 1
            for x in (r["checks"].get("recovery") or {}).get("recoveries", []):
                if x["fault"] == "membership" and x.get("recovered_s") is not None:
                    adds.append(x["recovered_s"])
        if not verdicts:
            continue
        add = f"; add to serving {min(adds):.2f}-{max(adds):.2f} s" if adds else ""
        print(f"{path.name}: {len(verdicts)} runs, {verdicts.count('invalid')} invalid, {verdicts.count('unknown')} unknown; {changes}{add}")


if __name__ == "__main__":
    main(sys.argv[1])
