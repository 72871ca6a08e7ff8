"""faultline's stdio client protocol, version 1, for clients in Python.

A client module defines ``handle(f, key, value)`` and calls ``serve(handle)``:
faultline writes one JSON request a line on stdin and reads one completion a
line on stdout (docs/client-protocol.md). ``handle`` returns the op's value
(reads) or raises ``Fail`` (the op definitely did not happen) or ``Info``
(unknown). Any other exception is ``fail`` for a read and ``info`` for
anything else: when in doubt, a write is indeterminate.
"""

import json
import os
import sys

READS = ("read", "read-set", "read-log")


class Fail(Exception):
    """The operation definitely did not happen."""


class Info(Exception):
    """The operation may or may not have happened."""


def address():
    """The address of the node this process talks to."""
    return os.environ["FAULTLINE_ADDRESS"]


def nodes():
    """Every node as (name, address)."""
    pairs = os.environ.get("FAULTLINE_NODES", "")
    return [tuple(p.split("=", 1)) for p in pairs.split(",") if "=" in p]


def timeout():
    """Seconds faultline waits for each answer."""
    return int(os.environ.get("FAULTLINE_TIMEOUT_MS", "5000")) / 1000.0


def serve(handle):
    """Answers requests from stdin until it closes."""
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        f = req["f"]
        try:
            resp = {"id": req["id"], "type": "ok", "value": handle(f, req["key"], req.get("value"))}
        except Fail as e:
            resp = {"id": req["id"], "type": "fail", "error": str(e) or "fail"}
        except Info as e:
            resp = {"id": req["id"], "type": "info", "error": str(e) or "info"}
        except Exception as e:  # noqa: BLE001 - the protocol's rule for the unexpected
            kind = "fail" if f in READS else "info"
            resp = {"id": req["id"], "type": kind, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()
