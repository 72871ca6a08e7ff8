"""faultline's stdio client for RabbitMQ (pika): the queue workload on one
durable quorum queue per key. Enqueues are published with publisher
confirms (ok once the broker confirmed); a dequeue is a basic.get with a
manual acknowledgement, confirmed by a round trip on the same channel (an
acknowledgement is not answered: until the round trip returns, whether it
reached the broker is unknown, so a failure then is `info`). A dequeue
asked not to acknowledge closes its connection instead, and the broker
delivers the message again.
"""

import faultline
from faultline import Fail, Info
import pika
from pika.exceptions import AMQPConnectionError, NackError, UnroutableError

T = faultline.timeout() * 0.8
PARAMS = pika.ConnectionParameters(
    host=faultline.address(),
    credentials=pika.PlainCredentials("guest", "guest"),
    connection_attempts=1,
    socket_timeout=T,
    stack_timeout=T,
    blocked_connection_timeout=T,
)
state = {"conn": None, "ch": None, "declared": set()}


def channel(key):
    if state["ch"] is None or not state["ch"].is_open:
        drop()
        try:
            state["conn"] = pika.BlockingConnection(PARAMS)
        except AMQPConnectionError as e:
            # no connection: nothing was sent
            raise Fail("connect: %s" % (e.__class__.__name__,))
        state["ch"] = state["conn"].channel()
        state["ch"].confirm_delivery()
        state["declared"] = set()
    ch = state["ch"]
    if key not in state["declared"]:
        ch.queue_declare(key, durable=True, arguments={"x-queue-type": "quorum"})
        state["declared"].add(key)
    return ch


def drop():
    conn, state["conn"], state["ch"] = state["conn"], None, None
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - it is going away either way
            pass


def settled(ch, key):
    """A round trip after acknowledgements: the channel handled them."""
    ch.queue_declare(key, passive=True)


def handle(f, key, value):
    try:
        ch = channel(key)
        if f == "enqueue":
            try:
                ch.basic_publish("", key, str(value), pika.BasicProperties(delivery_mode=2), mandatory=True)
            except UnroutableError:
                raise Fail("unroutable")
            except NackError:
                raise Info("nacked")
            return None
        if f == "dequeue":
            method, _, body = ch.basic_get(key, auto_ack=False)
            if method is None:
                return None
            if isinstance(value, dict) and value.get("ack") is False:
                drop()  # unacknowledged: redelivered once the connection closes
                return int(body)
            ch.basic_ack(method.delivery_tag)
            settled(ch, key)
            return int(body)
        if f == "drain":
            out = []
            while True:
                method, _, body = ch.basic_get(key, auto_ack=False)
                if method is None:
                    break
                ch.basic_ack(method.delivery_tag)
                out.append(int(body))
            settled(ch, key)
            return out
        raise Fail("unknown f %s" % f)
    except (Fail, Info):
        raise
    except Exception as e:  # noqa: BLE001 - a broken connection: start again next time
        drop()
        raise Info("%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    faultline.serve(handle)
