"""`millpond ingest modbus` against real Modbus TCP peers on loopback, started by the tests:
a pymodbus server (registers of every type, both byte and word orders), a socket that accepts and
never answers (timeouts), a server that goes away and comes back (reconnect).

  - every type decodes exactly: int16/uint16/int32/uint32/int64/uint64, float32/float64, coils and
    discrete inputs, ABCD/CDAB/BADC/DCBA, scale and offset; out-of-range values are dead letters;
  - a device that times out and one that disconnects become dead-letter rows; the rest goes on and
    the lost device reconnects;
  - SIGKILL and restart, many times: no (device, poll, tag) twice and every committed poll whole;
  - back-pressure: a full buffer skips poll cycles; metrics over HTTP; one error line for bad maps.
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import mpcli

pytestmark = pytest.mark.skipif(mpcli.bin_missing() is not None, reason=str(mpcli.bin_missing()))

PY = sys.executable

SERVER = r"""
import asyncio, json, sys
import warnings
warnings.filterwarnings("ignore")
import logging
logging.disable(logging.CRITICAL)
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartAsyncTcpServer

port, spec = int(sys.argv[1]), json.loads(open(sys.argv[2]).read())
def block(name, n=200):
    values = [0] * n
    for addr, v in spec.get(name, {}).items():
        values[int(addr)] = v
    # pymodbus numbers data blocks from 1: block address 1 is Modbus address 0.
    return ModbusSequentialDataBlock(1, values)
dev = ModbusDeviceContext(hr=block("hr"), ir=block("ir"), co=block("co"), di=block("di"))
ctx = ModbusServerContext(devices={1: dev}, single=False)
async def main():
    server = asyncio.ensure_future(StartAsyncTcpServer(context=ctx, address=("127.0.0.1", port)))
    for _ in range(200):
        await asyncio.sleep(0.05)
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            pass
    print("ready", flush=True)
    await server
asyncio.run(main())
"""



def registers(fmt, value, order="ABCD"):
    """The registers holding `value` packed with struct format `fmt` (big-endian) in `order`."""
    b = struct.pack(">" + fmt, value)
    regs = [b[i:i + 2] for i in range(0, len(b), 2)]
    if order in ("BADC", "DCBA"):
        regs = [r[::-1] for r in regs]
    if order in ("CDAB", "DCBA"):
        regs = regs[::-1]
    return [int.from_bytes(r, "big") for r in regs]


class Server:
    """A pymodbus TCP server in a subprocess, holding `spec` {"hr"|"ir"|"co"|"di": {addr: v}}."""

    def __init__(self, tmp_path, spec, port=None):
        self.port = port or mpcli.free_port()
        self.spec_file = Path(tmp_path) / ("spec-%d.json" % self.port)
        self.spec_file.write_text(json.dumps(spec))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([PY, "-c", SERVER, str(self.port), str(self.spec_file)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.strip() == "ready", "pymodbus server did not start"
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class BlackHole:
    """Accepts TCP connections and never answers: every request times out."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.done = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                return

    def close(self):
        self.done = True
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def servers():
    started = []
    yield started
    for s in started:
        s.stop() if isinstance(s, Server) else s.close()


def write_map(tmp_path, text, name="map.yaml"):
    p = Path(tmp_path) / name
    p.write_text(text)
    return p


def ingest(wh, *args):
    return mpcli.start(wh, "ingest", "modbus", *args)


finish = mpcli.finish
wait_for = mpcli.wait_for


def rows(wh, table, tmp_path):
    return mpcli.table_rows(wh, table, tmp_path)


# Every type and order, with the value the server holds and the value the table must show.
TYPED = [
    # name, area, address, type, order, struct fmt, raw value, extra map keys, expected value
    ("i16", "holding", 0, "int16", "ABCD", "h", -1234, "", -1234),
    ("u16", "holding", 1, "uint16", "ABCD", "H", 65000, "", 65000),
    ("i32", "holding", 2, "int32", "ABCD", "i", -123456789, "", -123456789),
    ("i32_cdab", "holding", 4, "int32", "CDAB", "i", -123456789, "", -123456789),
    ("u32_badc", "holding", 6, "uint32", "BADC", "I", 4000000000, "", 4000000000),
    ("f32_dcba", "holding", 8, "float32", "DCBA", "f", -3.5, "", -3.5),
    ("f64", "holding", 10, "float64", "ABCD", "d", -2.718281828459045, "", -2.718281828459045),
    ("f64_cdab", "holding", 14, "float64", "CDAB", "d", 1.5e300, "", 1.5e300),
    ("i64_dcba", "holding", 18, "int64", "DCBA", "q", -9007199254740993, "", -9007199254740993),
    ("u64", "holding", 22, "uint64", "ABCD", "Q", 2**63 - 1, "", 2**63 - 1),
    ("i16_badc", "holding", 26, "int16", "BADC", "h", -2, "", -2),
    ("scaled", "holding", 27, "int16", "ABCD", "h", -51, ", scale: 0.5, offset: 40", 14.5),
    ("in_i16", "input", 0, "int16", "ABCD", "h", -7, "", -7),
    ("in_f32", "input", 1, "float32", "CDAB", "f", 1.25, "", 1.25),
]


def typed_spec():
    spec = {"hr": {}, "ir": {}, "co": {"0": 1, "1": 0, "5": 1}, "di": {"3": 1}}
    for name, area, addr, _, order, fmt, raw, _, _ in TYPED:
        for i, r in enumerate(registers(fmt, raw, order)):
            spec["hr" if area == "holding" else "ir"][str(addr + i)] = r
    spec["hr"]["40"] = 300  # above its max: a dead letter
    return spec


def typed_map(table="plant.mb"):
    lines = ["table: %s" % table, "tags:"]
    for name, area, addr, typ, order, _, _, extra, _ in TYPED:
        lines.append("  - {name: %s, area: %s, address: %d, type: %s, order: %s%s}"
                     % (name, area, addr, typ, order, extra))
    lines += [
        "  - {name: coil0, area: coil, address: 0}",
        "  - {name: coil1, area: coil, address: 1}",
        "  - {name: coil5, area: coil, address: 5, unit: state}",
        "  - {name: di3, area: discrete, address: 3}",
        "  - {name: hot, area: holding, address: 40, type: uint16, max: 150, unit: degC}",
    ]
    return "\n".join(lines) + "\n"


def test_every_type_and_order_decodes_exactly(tmp_path, servers):
    srv = Server(tmp_path, typed_spec()).start()
    servers.append(srv)
    wh = tmp_path / "wh"
    m = write_map(tmp_path, typed_map())
    out = finish(ingest(wh, "--device", "127.0.0.1:%d" % srv.port, "--map", m, "--polls", 3,
                        "--interval", "50ms"))
    assert "3 polls, 0 failed" in out, out
    got = rows(wh, "plant.mb", tmp_path)
    polls = sorted({r["poll"] for r in got})
    assert len(polls) == 3
    device = "127.0.0.1:%d" % srv.port
    for p in polls:
        by_tag = {r["tag"]: r for r in got if r["poll"] == p}
        # Every tag of the poll but the out-of-range one, each once.
        assert sorted(by_tag) == sorted([t[0] for t in TYPED] + ["coil0", "coil1", "coil5", "di3"])
        assert len([r for r in got if r["poll"] == p]) == len(by_tag)
        for name, _, _, typ, _, _, _, _, want in TYPED:
            r = by_tag[name]
            assert r["device"] == device and r["quality"] == "good"
            if typ.startswith("float") or name == "scaled":
                assert r["value"] == want, (name, r)
                assert r["value_int"] is None
            else:
                assert r["value_int"] == want, (name, r)
                assert r["value"] == float(want), (name, r)
        assert by_tag["coil0"]["value_int"] == 1 and by_tag["coil1"]["value_int"] == 0
        assert by_tag["coil5"]["value_int"] == 1 and by_tag["coil5"]["unit"] == "state"
        assert by_tag["di3"]["value_int"] == 1
        assert len({r["ts"] for r in by_tag.values()}) == 1  # one poll, one time
    dead = rows(wh, "plant.mb__dead_letters", tmp_path)
    assert len(dead) == 3
    assert all("tag hot" in d["error"] and "300" in d["error"] for d in dead), dead


def test_map_tables_columns_raw_and_devices(tmp_path, servers):
    spec = {"hr": {"0": 7, "1": 8, "2": 9, "10": 65535}, "co": {}, "ir": {}, "di": {}}
    srv = Server(tmp_path, spec).start()
    servers.append(srv)
    wh = tmp_path / "wh"
    m = write_map(tmp_path, """
source: line1
table: plant.wide
interval: 20ms
tables:
  - name: plant.wide
    columns: "at TIMESTAMP(3), machine STRING, signal STRING, reading INT, poll BIGINT"
  - name: plant.small
    columns: "ts TIMESTAMP(6), device STRING, tag STRING, value TINYINT"
columns: {at: ts, machine: device, signal: tag, reading: value}
devices:
  - name: press-1
    address: 127.0.0.1:%d
    tags:
      - {name: a, address: 0}
      - {name: b, address: 1, table: plant.small}
      - {name: big, address: 10, table: plant.small}
    raw:
      - {area: holding, address: 2, count: 2}
""" % srv.port)
    out = finish(ingest(wh, "--map", m, "--polls", 2))
    assert "2 polls" in out, out
    wide = rows(wh, "plant.wide", tmp_path)
    assert sorted((r["machine"], r["signal"], r["reading"]) for r in wide) == \
        [("press-1", "a", 7)] * 2
    small = rows(wh, "plant.small", tmp_path)
    assert sorted((r["tag"], r["value"]) for r in small) == [("b", 8)] * 2
    raw = rows(wh, "plant.wide__raw", tmp_path)
    assert [(r["device"], r["tag"], r["value"]) for r in raw] == \
        [("press-1", "holding:2+2", "9 0")] * 2
    dead = rows(wh, "plant.wide__dead_letters", tmp_path)
    # 65535 does not fit a TINYINT: a dead letter per poll, the other tags are written.
    assert len(dead) == 2 and all("big" in d["error"] for d in dead), dead
    # Committed under the map's source id, the last poll's position in the snapshot.
    snap_dir = wh / "plant.db" / "wide" / "snapshot"
    latest = max(snap_dir.glob("snapshot-*"), key=lambda p: int(p.name.split("-")[1]))
    props = json.loads(latest.read_text())["properties"]
    assert int(props["millpond.ingest.line1.position"]) == max(r["poll"] for r in wide)


def test_timeout_disconnect_and_reconnect(tmp_path, servers):
    srv = Server(tmp_path, {"hr": {"0": 11}}).start()
    servers.append(srv)
    hole = BlackHole()
    servers.append(hole)
    wh = tmp_path / "wh"
    m = write_map(tmp_path, "table: plant.mb\ntags:\n  - {name: a, address: 0}\n")
    live = "127.0.0.1:%d" % srv.port
    dead_dev = "127.0.0.1:%d" % hole.port
    proc = ingest(wh, "--device", live, "--device", dead_dev, "--map", m, "--interval", "50ms",
                  "--timeout", "200ms", "--commit-interval", "100ms")
    try:
        wait_for("rows of the live device", lambda: rows(wh, "plant.mb", tmp_path))
        wait_for("a timeout dead letter", lambda: [
            d for d in rows(wh, "plant.mb__dead_letters", tmp_path)
            if d["topic"] == dead_dev and "timed out" in d["error"]])
        srv.stop()  # the device goes away...
        wait_for("a dead letter of the lost device", lambda: [
            d for d in rows(wh, "plant.mb__dead_letters", tmp_path) if d["topic"] == live])
        srv2 = Server(tmp_path, {"hr": {"0": 22}}, port=srv.port).start()  # ...and comes back
        servers.append(srv2)
        wait_for("rows after the reconnect", lambda: [
            r for r in rows(wh, "plant.mb", tmp_path) if r["value_int"] == 22])
    finally:
        proc.send_signal(signal.SIGTERM)
    out = finish(proc)
    assert "reconnects" in out and " 0 reconnects" not in out, out
    got = rows(wh, "plant.mb", tmp_path)
    assert {r["device"] for r in got} == {live}
    assert {r["value_int"] for r in got} == {11, 22}


def test_sigkill_and_restart_exactly_once(tmp_path, servers):
    spec = {"hr": {str(i): i * 3 for i in range(12)}, "co": {"0": 1}}
    srv = Server(tmp_path, spec).start()
    servers.append(srv)
    wh = tmp_path / "wh"
    tags = "\n".join("      - {name: t%d, address: %d, type: int16}" % (i, i) for i in range(12))
    devices = "\n".join("  - name: dev%d\n    address: 127.0.0.1:%d\n    tags:\n%s\n      - "
                        "{name: c, area: coil, address: 0}" % (d, srv.port, tags)
                        for d in range(3))
    m = write_map(tmp_path, "table: plant.mb\ninterval: 5ms\ndevices:\n%s\n" % devices)
    args = ["--map", m, "--commit-interval", "50ms", "--commit-rows", "200",
            "--wal-segment-size", "8kb"]
    for i in range(5):
        proc = ingest(wh, *args)
        if i > 0:
            # Wait until this run commits something of its own, then kill it mid-flight.
            before = len(rows(wh, "plant.mb", tmp_path))
            wait_for("new commits", lambda: len(rows(wh, "plant.mb", tmp_path)) > before)
        else:
            wait_for("first commits", lambda: rows(wh, "plant.mb", tmp_path))
        time.sleep(0.1 * i)
        proc.kill()
        proc.wait()
    finish(ingest(wh, *args, "--polls", 5))
    got = rows(wh, "plant.mb", tmp_path)
    keys = [(r["device"], r["poll"], r["tag"]) for r in got]
    assert len(keys) == len(set(keys)), "a row was committed twice"
    polls = {}
    for r in got:
        polls.setdefault((r["device"], r["poll"]), []).append(r)
    # Every committed poll is whole: all 13 tags, with the values the server holds.
    for (dev, poll), rs in polls.items():
        assert sorted(r["tag"] for r in rs) == sorted(["t%d" % i for i in range(12)] + ["c"]), \
            (dev, poll)
        assert all(r["value_int"] == (1 if r["tag"] == "c" else int(r["tag"][1:]) * 3)
                   for r in rs)
    # A poll number belongs to one device: positions are unique across devices.
    assert len({p for _, p in polls}) == len(polls)
    assert len(polls) >= 15


def test_full_buffer_skips_poll_cycles(tmp_path, servers):
    srv = Server(tmp_path, {"hr": {"0": 1}}).start()
    servers.append(srv)
    wh = tmp_path / "wh"
    tags = "\n".join("  - {name: t%d, address: %d}" % (i, i) for i in range(50))
    m = write_map(tmp_path, "table: plant.mb\ntags:\n%s\n" % tags)
    out = finish(ingest(wh, "--device", "127.0.0.1:%d" % srv.port, "--map", m, "--interval", "0",
                        "--buffer-rows", "60", "--commit-rows", "1000000", "--duration", "2s"))
    words = out.split()
    skipped = int(words[words.index("skipped") - 1])
    polls = int(words[words.index("polls,") - 1])
    assert skipped > 0, out
    got = rows(wh, "plant.mb", tmp_path)
    assert len(got) == polls * 50


def test_metrics(tmp_path, servers):
    srv = Server(tmp_path, {"hr": {"0": 1}}).start()
    servers.append(srv)
    wh = tmp_path / "wh"
    m = write_map(tmp_path, "table: plant.mb\ntags:\n  - {name: a, address: 0}\n")
    port = mpcli.free_port()
    proc = ingest(wh, "--device", "127.0.0.1:%d" % srv.port, "--map", m, "--interval", "20ms",
                  "--metrics-port", port, "--metrics-bind", "127.0.0.1", "--source-id", "mb1",
                  "--commit-interval", "100ms")
    try:
        def scrape():
            try:
                text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode()
            except OSError:
                return None
            lines = [x for x in text.splitlines()
                     if x.startswith("millpond_ingest_rows_committed_total") and "mb1" in x]
            return text if lines and float(lines[0].split()[-1]) > 0 else None
        text = wait_for("committed rows in the metrics", scrape)
        assert 'millpond_ingest_messages_total{replayed="false",source="mb1"}' in text
    finally:
        proc.send_signal(signal.SIGTERM)
    finish(proc)


@pytest.mark.parametrize("text,needle", [
    ("table: t.x\ntags:\n  - {name: a, address: 0, type: int24}\n", "tags[0].type"),
    ("table: t.x\ntags:\n  - {name: a, address: 70000}\n", "tags[0].address"),
    ("table: t.x\ntags:\n  - {name: a, area: coil, address: 0, type: float32}\n", "bool"),
    ("table: t.x\ntags:\n  - {name: a, address: 0, order: ABDC}\n", "order"),
    ("table: t.x\ntags:\n  - {name: a, adress: 0}\n", "unknown key 'adress'"),
    ("table: t.x\ntags: [\n", "not valid YAML"),
    ("table: t.x\n", "no device"),
])
def test_bad_maps_fail_with_one_line(tmp_path, text, needle):
    m = write_map(tmp_path, text)
    args = ["ingest", "modbus", "--map", m]
    if "no device" not in needle:
        args += ["--device", "127.0.0.1:1"]
    line = mpcli.fails(tmp_path / "wh", *args)
    assert needle in line, line


def test_bad_device_argument(tmp_path):
    m = write_map(tmp_path, "table: t.x\ntags:\n  - {name: a, address: 0}\n")
    line = mpcli.fails(tmp_path / "wh", "ingest", "modbus", "--map", m, "--device", "host:99999")
    assert "bad port" in line
