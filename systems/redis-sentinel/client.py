"""faultline's stdio client for Redis with Sentinel (redis-py).

Every process asks the Sentinels for the primary (the first that answers,
as a client configured with all of them would) and talks to it: registers
are strings (GET, SET, a Lua compare-and-set), the set a Redis set (SADD,
SMEMBERS), logs Redis lists (RPUSH, LRANGE), the queue a Redis stream read
by one consumer group (XADD, XREADGROUP, XACK; a message another consumer
took and never acknowledged is claimed after 1 s idle, XAUTOCLAIM).
"""

import os

import faultline
from faultline import Fail, Info
import redis
from redis.sentinel import MasterNotFoundError, Sentinel

T = faultline.timeout() * 0.8
sentinel = Sentinel([(a, 26379) for _, a in faultline.nodes()], socket_timeout=T, socket_connect_timeout=T)
primary = sentinel.master_for("mymaster", socket_timeout=T, socket_connect_timeout=T, retry_on_timeout=False)

CAS = primary.register_script(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]); return 1 else return 0 end"
)


GROUP = "faultline"
CONSUMER = "c%s" % os.environ.get("FAULTLINE_PROCESS", "0")
# a message taken and not acknowledged is another consumer's after this long
REDELIVER_MS = 1000


def group(key):
    """The consumer group, made when missing (reading from the stream's start)."""
    try:
        primary.xgroup_create(key, GROUP, id="0", mkstream=True)
    except redis.exceptions.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise


def take(key, idle_ms):
    """One message for this consumer: a pending one idle for idle_ms first,
    else a new one; (id, value) or None. A pending message whose entry is
    gone is acknowledged and skipped."""
    while True:
        claimed = primary.xautoclaim(key, GROUP, CONSUMER, min_idle_time=idle_ms, start_id="0-0", count=1)[1]
        if not claimed:
            break
        mid, fields = claimed[0]
        if fields:
            return mid, int(fields[b"v"])
        primary.xack(key, GROUP, mid)
    fresh = primary.xreadgroup(GROUP, CONSUMER, {key: ">"}, count=1)
    if fresh and fresh[0][1]:
        mid, fields = fresh[0][1][0]
        return mid, int(fields[b"v"])
    return None


def dequeue(key, ack):
    group(key)
    m = take(key, REDELIVER_MS)
    if m is None:
        return None
    if ack:
        primary.xack(key, GROUP, m[0])
    # without an acknowledgement the message stays pending under this
    # consumer, which takes no more: another claims it once it is idle
    return m[1]


def drain(key):
    group(key)
    out = []
    for _ in range(1000000):
        m = take(key, 0)
        if m is None:
            return out
        primary.xack(key, GROUP, m[0])
        out.append(m[1])
    raise Info("the queue did not run dry")


def number(v):
    return None if v is None else int(v)


def handle(f, key, value):
    try:
        if f == "read":
            return number(primary.get(key))
        if f == "write":
            primary.set(key, value)
            return None
        if f == "cas":
            old, new = value
            if CAS(keys=[key], args=[old, new]) != 1:
                raise Fail("cas-mismatch")
            return None
        if f == "add":
            primary.sadd(key, value)
            return None
        if f == "read-set":
            return sorted(int(x) for x in primary.smembers(key))
        if f == "append":
            primary.rpush(key, value)
            return None
        if f == "read-log":
            return [int(x) for x in primary.lrange(key, 0, -1)]
        if f == "enqueue":
            primary.xadd(key, {"v": value})
            return None
        if f == "dequeue":
            return dequeue(key, not (isinstance(value, dict) and value.get("ack") is False))
        if f == "drain":
            return drain(key)
        raise Fail("unknown f %s" % f)
    except (MasterNotFoundError, redis.exceptions.ReadOnlyError) as e:
        # no primary known, or a replica refused the write: nothing applied
        raise Fail("%s: %s" % (type(e).__name__, e))
    except redis.exceptions.ConnectionError as e:
        if f in faultline.READS or "Connection refused" in str(e):
            raise Fail("%s: %s" % (type(e).__name__, e))
        raise Info("%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    faultline.serve(handle)
