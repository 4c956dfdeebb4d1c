"""The OPC UA bridge of `millpond ingest opcua` (started by millpond; not a user command).

Connects to an OPC UA server with asyncua, subscribes to data changes of the given nodes (and of
every variable under the --browse folders), and writes one JSON object per line to stdout:

  {"node": "ns=2;s=T", "name": "T", "value": 21.5, "type": "Double", "status": "Good",
   "source_ts": 1764100000123456, "server_ts": 1764100000123500}   (timestamps: µs since epoch)
  {"event": "connected"} | {"event": "disconnected", "error": "..."} | {"event": "error", ...}

It reconnects (and subscribes again) when the connection drops, and exits when its stdin closes
(millpond ended). Lines are written in the order data changes arrive; a full pipe blocks it
(back-pressure from millpond's buffer).
"""

import argparse
import asyncio
import base64
import datetime
import json
import logging
import math
import os
import sys
import threading

from asyncua import Client, ua

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def micros(dt):
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return (dt - EPOCH) // datetime.timedelta(microseconds=1)


def plain(value):
    """An OPC UA value as JSON can carry it."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, ua.LocalizedText):
        return value.Text
    return str(value)


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class Handler:
    def __init__(self, names):
        self.names = names  # node id -> browse name

    def datachange_notification(self, node, val, data):
        dv = data.monitored_item.Value
        sc = dv.StatusCode
        nid = node.nodeid.to_string()
        emit({
            "node": nid,
            "name": self.names.get(nid, nid),
            "value": plain(dv.Value.Value if dv.Value is not None else None),
            "type": dv.Value.VariantType.name if dv.Value is not None else None,
            "status": sc.name if sc is not None else "Good",
            "source_ts": micros(dv.SourceTimestamp),
            "server_ts": micros(dv.ServerTimestamp),
        })

    def status_change_notification(self, status):
        pass


async def variables_under(node, depth=0):
    out = []
    if depth > 8:
        return out
    for child in await node.get_children():
        cls = await child.read_node_class()
        if cls == ua.NodeClass.Variable:
            out.append(child)
        elif cls == ua.NodeClass.Object:
            out.extend(await variables_under(child, depth + 1))
    return out


async def session(args, state):
    client = Client(url=args.endpoint, timeout=args.timeout)
    await client.connect()
    try:
        nodes, names = [], {}
        for nid in args.node:
            node = client.get_node(nid)
            try:
                name = (await node.read_browse_name()).Name
            except ua.UaStatusCodeError as e:
                emit({"event": "error", "error": f"node {nid}: {e}"})
                raise SystemExit(2)
            nodes.append(node)
            names[nid] = name
        for folder in args.browse:
            try:
                found = await variables_under(client.get_node(folder))
            except ua.UaStatusCodeError as e:
                emit({"event": "error", "error": f"browse {folder}: {e}"})
                raise SystemExit(2)
            for node in found:
                nid = node.nodeid.to_string()
                if nid not in names:
                    names[nid] = (await node.read_browse_name()).Name
                    nodes.append(node)
        sub = await client.create_subscription(args.interval, Handler(names))
        await sub.subscribe_data_change(nodes)
        emit({"event": "connected"})
        state["backoff"] = 0.2
        while True:
            await asyncio.sleep(1)
            await client.check_connection()
    finally:
        try:
            await client.disconnect()
        except Exception:
            pass


async def main(args):
    state = {"backoff": 0.2}
    while True:
        try:
            await session(args, state)
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as e:  # connection lost or refused: try again
            emit({"event": "disconnected", "error": f"{type(e).__name__}: {e}"})
            await asyncio.sleep(state["backoff"])
            state["backoff"] = min(state["backoff"] * 2, 5.0)


def watch_stdin():
    """millpond holds our stdin open; when it ends (even killed), so do we."""
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--node", action="append", default=[])
    p.add_argument("--browse", action="append", default=[])
    p.add_argument("--interval", type=float, default=100, help="publishing interval, ms")
    p.add_argument("--timeout", type=float, default=4, help="request timeout, s")
    a = p.parse_args()
    # asyncua's warnings (session timeout negotiation, reconnects) are not millpond's errors.
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        asyncio.run(main(a))
    except KeyboardInterrupt:
        pass
