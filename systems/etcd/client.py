"""faultline's stdio client for etcd 3.4, over its JSON gateway (HTTP), with
Python's standard library only. Mirrors the built-in client: linearizable
reads (`range`), `put`, compare-and-set and appends as transactions; the set
and the logs are JSON lists under one key each.
"""

import base64
import json
import os
import urllib.error
import urllib.request

import faultline
from faultline import Fail, Info

BASE = "http://%s:2379" % faultline.address()
T = faultline.timeout() * 0.8
SERIALIZABLE = os.environ.get("FAULTLINE_ETCD_SERIALIZABLE") == "1"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def enc(v):
    return b64(json.dumps(v))


def post(path, body, read):
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=T) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise (Fail if read else Info)("%s: %s" % (e.code, e.read()[:200]))
    except urllib.error.URLError as e:
        # a refused connection sent nothing; anything else may have
        refused = isinstance(e.reason, ConnectionRefusedError)
        raise (Fail if read or refused else Info)(str(e.reason))
    except OSError as e:
        raise (Fail if read else Info)(str(e))


def rng(key):
    body = {"key": b64(key)}
    if SERIALIZABLE:
        body["serializable"] = True
    kvs = post("/v3/kv/range", body, True).get("kvs") or []
    if not kvs:
        return None, "0"
    return json.loads(base64.b64decode(kvs[0]["value"])), kvs[0]["mod_revision"]


def txn(key, compare, value):
    body = {"compare": [compare], "success": [{"requestPut": {"key": b64(key), "value": enc(value)}}]}
    return post("/v3/kv/txn", body, False).get("succeeded", False)


def append(key, value):
    for _ in range(3):
        try:
            cur, rev = rng(key)
        except (Fail, Info) as e:
            raise Fail(str(e))  # the read failed: nothing was written
        lst = (cur or []) + [value]
        if txn(key, {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": rev}, lst):
            return lst
    raise Fail("append conflicted 3 times")


def handle(f, key, value):
    if f == "read":
        return rng(key)[0]
    if f == "write":
        post("/v3/kv/put", {"key": b64(key), "value": enc(value)}, False)
        return None
    if f == "cas":
        old, new = value
        if not txn(key, {"key": b64(key), "target": "VALUE", "result": "EQUAL", "value": enc(old)}, new):
            raise Fail("cas-mismatch")
        return None
    if f in ("add", "append"):
        append(key, value)
        return None
    if f in ("read-set", "read-log"):
        return rng(key)[0] or []
    raise Fail("unknown f %s" % f)


if __name__ == "__main__":
    faultline.serve(handle)
