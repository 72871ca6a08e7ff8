"""faultline's stdio client for ZooKeeper (kazoo), connected to its own node
only, as a Jepsen client is. Registers are znodes under /faultline holding
a JSON value; compare-and-set uses the znode's version. With
FAULTLINE_ZK_SYNC=1 every read is preceded by `sync`.
"""

import json
import os

import faultline
from faultline import Fail, Info
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, ZookeeperError
from kazoo.handlers.threading import KazooTimeoutError

SYNC = os.environ.get("FAULTLINE_ZK_SYNC") == "1"
T = faultline.timeout() * 0.8
zk = None


def connect():
    """The session, made on first use: a server that cannot be reached
    fails the op (nothing was sent)."""
    global zk
    if zk is None:
        z = KazooClient(hosts="%s:2181" % faultline.address(), timeout=T)
        try:
            z.start(timeout=T)
            z.ensure_path("/faultline")
        except Exception as e:  # noqa: BLE001
            z.stop()
            raise Fail("cannot connect: %s: %s" % (type(e).__name__, e))
        zk = z
    return zk


def path(key):
    return "/faultline/" + key


def get(key):
    zk = connect()
    if SYNC:
        zk.sync(path(key))
    try:
        data, stat = zk.get(path(key))
        return json.loads(data), stat.version
    except NoNodeError:
        return None, -1


def write(key, value):
    zk = connect()
    data = json.dumps(value).encode()
    try:
        zk.set(path(key), data)
    except NoNodeError:
        try:
            zk.create(path(key), data)
        except NodeExistsError:
            zk.set(path(key), data)


def handle(f, key, value):
    try:
        if f == "read":
            return get(key)[0]
        if f == "write":
            write(key, value)
            return None
        if f == "cas":
            old, new = value
            cur, version = get(key)
            if cur != old or version < 0:
                raise Fail("cas-mismatch")
            try:
                connect().set(path(key), json.dumps(new).encode(), version=version)
            except BadVersionError:
                raise Fail("cas-mismatch")
            return None
        raise Fail("the zookeeper client serves the register workload only, not %s" % f)
    except (KazooTimeoutError, ZookeeperError) as e:
        if f == "read":
            raise Fail("%s: %s" % (type(e).__name__, e))
        raise Info("%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    faultline.serve(handle)
