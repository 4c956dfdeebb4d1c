"""`millpond ingest opcua` against a real OPC UA server (asyncua Server in a subprocess on a
loopback port): the millpond command starts the Python bridge, which subscribes and streams data
changes into the ingest pipeline.

  - every data change of the subscribed variables arrives with the server's source timestamp,
    typed values (Double, Int32, Boolean, String) and units, renames and devices from the file;
  - variables found by browsing a folder but not listed go to the raw table; out-of-range values
    are dead letters;
  - SIGKILL and restart, many times, while the server keeps changing: no data change twice (the
    current value a new subscription sends again is recognised);
  - one clear error line for a bad nodes file and an unknown node.
"""

import datetime
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mpcli

pytestmark = pytest.mark.skipif(mpcli.bin_missing() is not None, reason=str(mpcli.bin_missing()))

PY = sys.executable

# argv: port, mode. Prints "ready"; then for each line "go N" on stdin makes N rounds of changes
# (one per variable, 100 ms apart) and prints every change as JSON, then "done".
SERVER = r"""
import asyncio, datetime, json, sys, logging
logging.disable(logging.CRITICAL)
from asyncua import Server, ua

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

async def main(port):
    server = Server()
    await server.init()
    server.set_endpoint("opc.tcp://127.0.0.1:%d/mp/" % port)
    idx = await server.register_namespace("urn:millpond:test")
    press = await server.nodes.objects.add_object(ua.NodeId("Press", idx), "Press")
    temp = await press.add_variable(ua.NodeId("Press.Temperature", idx), "Temperature", 20.0,
                                    ua.VariantType.Double)
    count = await press.add_variable(ua.NodeId("Press.Count", idx), "Count", 0, ua.VariantType.Int32)
    running = await press.add_variable(ua.NodeId("Press.Running", idx), "Running", False)
    mode = await press.add_variable(ua.NodeId("Press.Mode", idx), "Mode", "idle")
    extra = await press.add_variable(ua.NodeId("Press.Extra", idx), "Extra", 1.0)
    n = 0
    async with server:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            rounds = int(line.split()[1])
            for _ in range(rounds):
                n += 1
                ts = datetime.datetime.now(datetime.timezone.utc)
                micros = (ts - EPOCH) // datetime.timedelta(microseconds=1)
                for var, value, vt in ((temp, 20.0 + n / 4, ua.VariantType.Double),
                                       (count, n, ua.VariantType.Int32),
                                       (running, n % 2 == 1, ua.VariantType.Boolean),
                                       (mode, "mode-%d" % n, ua.VariantType.String),
                                       (extra, n * 1.5, ua.VariantType.Double)):
                    await var.write_value(ua.DataValue(ua.Variant(value, vt),
                                                       SourceTimestamp=ts, ServerTimestamp=ts))
                print(json.dumps({"n": n, "ts": micros}), flush=True)
                await asyncio.sleep(0.1)
            print("done", flush=True)

asyncio.run(main(int(sys.argv[1])))
"""



class OpcServer:
    def __init__(self):
        self.port = mpcli.free_port()
        self.proc = subprocess.Popen([PY, "-c", SERVER, str(self.port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout.readline().decode().strip() == "ready"
        self.endpoint = "opc.tcp://127.0.0.1:%d/mp/" % self.port
        self.changes = {}  # n -> source timestamp (µs)

    def change(self, rounds):
        """Makes `rounds` rounds of changes and waits for them."""
        self.proc.stdin.write(b"go %d\n" % rounds)
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline().decode().strip()
            assert line, "OPC UA server ended"
            if line == "done":
                return
            c = json.loads(line)
            self.changes[c["n"]] = c["ts"]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def server():
    s = OpcServer()
    yield s
    s.stop()


def nodes_file(tmp_path, text):
    p = Path(tmp_path) / "nodes.yaml"
    p.write_text(text)
    return p


NODES = """
table: plant.opcua
device: press-1
nodes:
  - {node: "ns=2;s=Press.Temperature", tag: temperature, unit: degC, max: 1000}
  - {node: "ns=2;s=Press.Count", unit: parts}
  - "ns=2;s=Press.Running"
  - {node: "ns=2;s=Press.Mode", device: press-1-plc}
browse: ["ns=2;s=Press"]
"""


def ingest(wh, *args):
    return mpcli.start(wh, "ingest", "opcua", *args)


finish = mpcli.finish
wait_for = mpcli.wait_for


def rows(wh, table, tmp_path):
    return mpcli.table_rows(wh, table, tmp_path)


def micros(ts):
    return (ts.replace(tzinfo=datetime.timezone.utc)
            - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) \
        // datetime.timedelta(microseconds=1)


def test_data_changes_with_source_timestamps(tmp_path, server):
    wh = tmp_path / "wh"
    proc = ingest(wh, "--endpoint", server.endpoint, "--nodes", nodes_file(tmp_path, NODES),
                  "--commit-interval", "100ms", "--publishing-interval", "20ms")
    try:
        # The subscription's first notification: every variable's current value.
        wait_for("initial values", lambda: len(rows(wh, "plant.opcua", tmp_path)) >= 4)
        server.change(8)
        want = 4 * 9
        wait_for("every change", lambda: len(rows(wh, "plant.opcua", tmp_path)) >= want)
    finally:
        proc.send_signal(signal.SIGTERM)
    out = finish(proc)
    assert "data changes" in out
    got = rows(wh, "plant.opcua", tmp_path)
    assert len(got) == want
    by_tag = {}
    for r in got:
        by_tag.setdefault(r["tag"], []).append(r)
    assert sorted(by_tag) == ["Count", "Mode", "Running", "temperature"]
    counts = sorted(by_tag["Count"], key=lambda r: r["value_int"])
    assert [r["value_int"] for r in counts] == list(range(0, 9))
    for r in counts[1:]:
        n = r["value_int"]
        assert micros(r["ts"]) == server.changes[n], "source timestamp of change %d" % n
        assert r["server_ts"] >= r["ts"] and r["unit"] == "parts" and r["datatype"] == "Int32"
        assert r["quality"] == "Good" and r["device"] == "press-1"
        assert r["node"] == "ns=2;s=Press.Count"
    temps = {r["value"] for r in by_tag["temperature"]}
    assert temps == {20.0} | {20.0 + n / 4 for n in range(1, 9)}
    assert all(r["unit"] == "degC" and r["datatype"] == "Double" for r in by_tag["temperature"])
    running = sorted((micros(r["ts"]), r["value_int"]) for r in by_tag["Running"])
    assert [v for _, v in running] == [0] + [n % 2 for n in range(1, 9)]
    modes = {r["value_text"] for r in by_tag["Mode"]}
    assert modes == {"idle"} | {"mode-%d" % n for n in range(1, 9)}
    assert {r["device"] for r in by_tag["Mode"]} == {"press-1-plc"}
    assert all(r["value"] is None for r in by_tag["Mode"])
    # Press.Extra: browsed, not listed -> raw rows.
    raw = rows(wh, "plant.opcua__raw", tmp_path)
    assert sorted(float(r["value"]) for r in raw) == [1.0] + [n * 1.5 for n in range(1, 9)]
    assert {r["tag"] for r in raw} == {"Extra"} and {r["reason"] for r in raw} == {"node not mapped"}


def test_out_of_range_is_a_dead_letter(tmp_path, server):
    wh = tmp_path / "wh"
    nodes = nodes_file(tmp_path, """
table: plant.opcua
nodes:
  - {node: "ns=2;s=Press.Count", max: 3}
""")
    proc = ingest(wh, "--endpoint", server.endpoint, "--nodes", nodes, "--commit-interval",
                  "100ms", "--publishing-interval", "20ms")
    try:
        wait_for("initial value", lambda: rows(wh, "plant.opcua", tmp_path))
        server.change(6)
        wait_for("dead letters", lambda: len(rows(wh, "plant.opcua__dead_letters", tmp_path)) >= 3)
    finally:
        proc.send_signal(signal.SIGTERM)
    finish(proc)
    assert sorted(r["value_int"] for r in rows(wh, "plant.opcua", tmp_path)) == [0, 1, 2, 3]
    dead = rows(wh, "plant.opcua__dead_letters", tmp_path)
    assert sorted(d["raw"] for d in dead) == [b"4", b"5", b"6"]
    assert all("outside" in d["error"] for d in dead)


def test_sigkill_and_restart_no_duplicates(tmp_path, server):
    wh = tmp_path / "wh"
    nodes = nodes_file(tmp_path, NODES)
    args = ["--endpoint", server.endpoint, "--nodes", nodes, "--commit-interval", "50ms",
            "--publishing-interval", "20ms", "--wal-segment-size", "4kb"]
    for i in range(4):
        proc = ingest(wh, *args)
        before = len(rows(wh, "plant.opcua", tmp_path))
        server.change(3)
        wait_for("new rows", lambda: len(rows(wh, "plant.opcua", tmp_path)) > before)
        server.change(2)
        proc.kill()  # SIGKILL: changes logged but not committed are replayed on restart
        proc.wait()
    proc = ingest(wh, *args)
    wait_for("the final run's commits", lambda: rows(wh, "plant.opcua", tmp_path))
    server.change(2)
    last = max(server.changes)
    wait_for("the last change", lambda: [r for r in rows(wh, "plant.opcua", tmp_path)
                                         if r["tag"] == "Count" and r["value_int"] == last])
    proc.send_signal(signal.SIGTERM)
    finish(proc)
    got = rows(wh, "plant.opcua", tmp_path)
    keys = [(r["node"], r["ts"]) for r in got]
    assert len(keys) == len(set(keys)), "a data change was committed twice"
    counts = [r["value_int"] for r in got if r["tag"] == "Count"]
    assert len(counts) == len(set(counts))
    assert len(counts) >= 8  # changes of every run arrived (some while a run was down are lost)


def test_bad_nodes_file_and_unknown_node(tmp_path, server):
    wh = tmp_path / "wh"
    line = mpcli.fails(wh, "ingest", "opcua", "--endpoint", server.endpoint, "--nodes",
                       nodes_file(tmp_path, "table: t.x\nnodes:\n  - {nod: x}\n"))
    assert "unknown key 'nod'" in line
    line = mpcli.fails(wh, "ingest", "opcua", "--endpoint", "http://x", "--nodes",
                       nodes_file(tmp_path, "table: t.x\nnodes: [\"ns=2;s=Press.Count\"]\n"))
    assert "opc.tcp://" in line
    line = mpcli.fails(wh, "ingest", "opcua", "--endpoint", server.endpoint, "--nodes",
                       nodes_file(tmp_path, "table: t.x\nnodes: [\"ns=2;s=Nope\"]\n"))
    assert "ns=2;s=Nope" in line and "BadNodeIdUnknown" in line, line
