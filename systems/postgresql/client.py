"""faultline's stdio client for PostgreSQL (psycopg 3): Elle's list-append
(`txn`) and rw-register (`rw-txn`) transactions as SQL transactions on the
first node.

Each list is a row of `lists (k bigint PRIMARY KEY, v text)`, its elements
comma-separated. An append is `INSERT ... ON CONFLICT (k) DO UPDATE SET
v = lists.v || ',' || excluded.v`, a read `SELECT v`. Each register is a
row of `registers (k bigint PRIMARY KEY, v bigint)`: a write is an upsert,
a read `SELECT v`. The transaction runs at FAULTLINE_PG_ISOLATION
(serializable, repeatable-read, read-committed).

The set workload (`add`, `read-set`): each element a row of `elements (k
text, e bigint)`, an add one INSERT committed, a read every row of its
set: what a commit acknowledged and a crash then lost is found missing.

Outcomes: a transaction PostgreSQL aborted (a serialization failure, a
deadlock) or that never reached COMMIT is `fail`; one whose COMMIT got no
answer (the server killed, paused past the timeout, the connection lost)
is `info`.
"""

import os

import faultline
from faultline import Fail, Info
import psycopg
from psycopg import IsolationLevel

LEVELS = {
    "serializable": IsolationLevel.SERIALIZABLE,
    "repeatable-read": IsolationLevel.REPEATABLE_READ,
    "read-committed": IsolationLevel.READ_COMMITTED,
}
LEVEL = LEVELS[os.environ.get("FAULTLINE_PG_ISOLATION", "serializable")]
HOST = faultline.nodes()[0][1] if faultline.nodes() else faultline.address()
T = faultline.timeout()

APPEND = "INSERT INTO lists (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = lists.v || ',' || excluded.v"
READ = "SELECT v FROM lists WHERE k = %s"
WRITE = "INSERT INTO registers (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
GET = "SELECT v FROM registers WHERE k = %s"
ADD = "INSERT INTO elements (k, e) VALUES (%s, %s)"
MEMBERS = "SELECT e FROM elements WHERE k = %s ORDER BY e"

conn = None


def connect():
    global conn
    if conn is None or conn.closed:
        try:
            conn = psycopg.connect(host=HOST, user="postgres", dbname="postgres", connect_timeout=max(1, int(T)), sslmode="disable")
        except psycopg.OperationalError as e:
            # never connected: nothing was sent
            raise Fail("connect: %s" % str(e).strip())
        conn.isolation_level = LEVEL
    return conn


def txn(mops, registers=False):
    c = connect()
    done = []
    committing = False
    try:
        with c.cursor() as cur:
            for f, k, v in mops:
                if f == "append":
                    cur.execute(APPEND, (k, str(v)))
                    done.append([f, k, v])
                elif f == "w":
                    cur.execute(WRITE, (k, v))
                    done.append([f, k, v])
                elif f == "add":
                    cur.execute(ADD, (k, v))
                    done.append(None)
                elif f == "read-set":
                    cur.execute(MEMBERS, (k,))
                    done.append(sorted(row[0] for row in cur.fetchall()))
                elif registers:
                    cur.execute(GET, (k,))
                    row = cur.fetchone()
                    done.append([f, k, row[0] if row else None])
                else:
                    cur.execute(READ, (k,))
                    row = cur.fetchone()
                    done.append([f, k, [int(x) for x in row[0].split(",")] if row else []])
        committing = True
        c.commit()
        return done
    except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as e:
        c.rollback()
        raise Fail("%s: %s" % (type(e).__name__, str(e).strip()))
    except psycopg.OperationalError as e:
        drop()
        if committing:
            raise Info("commit: %s" % str(e).strip())
        raise Fail("%s: %s" % (type(e).__name__, str(e).strip()))
    except psycopg.Error as e:
        # any other error aborts the transaction before COMMIT
        if committing:
            drop()
            raise Info("commit: %s" % str(e).strip())
        try:
            c.rollback()
        except psycopg.Error:
            drop()
        raise Fail("%s: %s" % (type(e).__name__, str(e).strip()))


def drop():
    global conn
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close
        pass
    conn = None


def handle(f, key, value):
    if f == "txn":
        return txn(value)
    if f == "rw-txn":
        return txn(value, registers=True)
    if f in ("add", "read-set"):
        return txn([(f, str(key), value)])[0]
    if f == "read":
        # the preflight's probe: a query that shows the database answers
        with connect().cursor() as cur:
            cur.execute("SELECT 1")
        connect().rollback()
        return None
    raise Fail("this client runs transactions (txn, rw-txn) and sets (add, read-set) only, not %s" % f)


if __name__ == "__main__":
    faultline.serve(handle)
