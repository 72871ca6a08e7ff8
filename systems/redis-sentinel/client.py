"""faultline's stdio client for Redis with Sentinel (redis-py).

Every process asks the Sentinels for the primary (the first that answers,
as a client configured with all of them would) and talks to it: registers
are strings (GET, SET, a Lua compare-and-set), the set a Redis set (SADD,
SMEMBERS), logs Redis lists (RPUSH, LRANGE).
"""

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
