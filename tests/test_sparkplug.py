"""`millpond ingest mqtt --format sparkplug` against a real mosquitto broker and Sparkplug B edge
nodes (paho-mqtt, payloads from our sparkplug_b.proto):

  - plant traffic: several edge nodes with devices, births with aliases, data by alias with signed
    values of every width, device deaths, a node crash (NDEATH will) and its rebirth;
  - the host asks for rebirths (NCMD "Node Control/Rebirth") on a sequence gap, an unknown alias
    and data before birth; the edge node answers and data flows again;
  - the device-state table (primary key) follows births and deaths;
  - the primary host STATE message (retained JSON birth, will on a crash);
  - a restart after the births' log segments were deleted still decodes data by alias (births
    are kept apart), and nothing is written twice.
"""

import datetime
import json
import time

import pytest

import mpcli
from mqtt_peers import (BOOLEAN, DOUBLE, FLOAT, INT8, INT16, INT32, INT64, STRING, UINT32,  # noqa
                        EdgeNode, Publisher, broker, kill, run_ingest, spb, start_ingest,
                        wait_subscribed)

pytestmark = pytest.mark.skipif(mpcli.bin_missing() is not None, reason=str(mpcli.bin_missing()))

DATA_T0 = 1700000000000  # 2023-11-14T22:13:20Z
METRICS = [("Temperature", DOUBLE), ("Offset8", INT8), ("Offset16", INT16), ("Count32", INT32),
           ("Energy64", INT64), ("Running", BOOLEAN), ("Mode", STRING), ("Faults", UINT32)]


def rows_of(wh, table, tmp_path):
    return mpcli.scan_table(wh, table, out_dir=tmp_path / "scan").to_pylist()


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, "ingester failed (%d): %s" % (proc.returncode, err.decode())
    return out.decode()


def wait_for(cond, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def test_plant_traffic_births_deaths_and_signed_values(tmp_path, broker):
    wh = tmp_path / "wh"
    proc = start_ingest(wh, broker, "plant.spb", "--format", "sparkplug", "--client-id", "host1",
                        "--host-id", "scada", "--commit-interval", "200ms", "--until-idle", "3s")
    wait_subscribed(broker, "host1", "spBv1.0/#", proc)
    nodes = [EdgeNode(broker, "Plant1", "Edge%d" % n,
                      {"Press%d" % d: METRICS for d in range(3)}).connect() for n in range(3)]
    sent = {}  # (node, device, metric) -> values sent as data
    for k in range(20):
        for node in nodes:
            for d in range(3):
                dev = "Press%d" % d
                vals = {"Temperature": 20.0 + k / 4, "Offset8": -(k % 100) - 1,
                        "Offset16": -300 * (k + 1), "Count32": -70000 - k,
                        "Energy64": -5_000_000_000_000 - k, "Running": k % 2 == 0,
                        "Mode": "AUTO" if k % 3 else "MANUAL", "Faults": 4_000_000_000 + k}
                node.data(dev, vals, ts=DATA_T0 + k)
                for name, v in vals.items():
                    sent.setdefault((node.node, dev, name), []).append(v)
    # Edge2's device Press1 dies; Edge1 crashes (the broker sends its NDEATH will), comes back.
    nodes[2].device_death("Press1")
    nodes[1].crash()
    time.sleep(0.5)
    nodes[1].connect()
    nodes[1].data("Press0", {"Offset8": -128}, ts=DATA_T0 + 1000)
    sent[("Edge1", "Press0", "Offset8")].append(-128)
    for n in nodes:
        n.close()
    finish(proc)

    rows = rows_of(wh, "plant.spb", tmp_path)
    got = {}
    for r in rows:
        assert r["group_id"] == "Plant1"
        got.setdefault((r["edge_node"], r["device"], r["tag"]), []).append(r)
    for key, values in sent.items():
        # Births carry a value each too (now-stamped); data is stamped in 2023.
        data = sorted((r for r in got[key] if r["ts"] < datetime.datetime(2024, 1, 1)),
                      key=lambda r: r["ts"])
        name = key[2]
        col = {"Temperature": "value", "Running": "value_int", "Mode": "value_text"}.get(name,
                                                                                       "value_int")
        seen = [r[col] for r in data]
        expect = [int(v) if isinstance(v, bool) else v for v in values]
        assert seen == expect, key
    t = got[("Edge0", "Press0", "Temperature")][-1]
    assert t["unit"] == "degC" and t["quality"] == 192 and t["datatype"] == "Double"
    assert got[("Edge0", "Press0", "Offset8")][-1]["datatype"] == "Int8"
    assert got[("Edge0", "Press0", "Faults")][-1]["value_int"] == 4_000_000_019

    state = {(s["edge_node"], s["device"]): s for s in rows_of(wh, "plant.spb__device_state", tmp_path)}
    assert state[("Edge0", "")]["online"] and state[("Edge0", "Press1")]["online"]
    assert not state[("Edge2", "Press1")]["online"]
    assert state[("Edge2", "Press1")]["event"] == "DDEATH"
    assert state[("Edge2", "Press0")]["online"]
    # Edge1 died (NDEATH from its will, bdSeq 0) and was born again with bdSeq 1.
    assert state[("Edge1", "")]["online"] and state[("Edge1", "")]["bd_seq"] == 1
    assert state[("Edge1", "Press2")]["event"] == "DBIRTH"
    assert len(state) == 3 * 4
    # Nothing went wrong, so nothing is a dead letter.
    assert not (wh / "plant.db" / "spb__dead_letters").exists()
    # Apache Paimon reads what the ingester committed (snapshot properties included).
    harness = mpcli.harness
    if harness.java_missing() is None:
        expected = mpcli.scan_rows(wh, "plant.spb__device_state", out_dir=tmp_path / "canon")
        assert harness.java_read(wh, "plant.spb__device_state") == expected
    if harness.pypaimon_missing() is None:
        expected = mpcli.scan_rows(wh, "plant.spb", out_dir=tmp_path / "canon")
        assert sorted(harness.pypaimon_read(wh, "plant.spb")) == sorted(expected)


def test_rebirth_requests_and_dead_letters(tmp_path, broker):
    wh = tmp_path / "wh"
    proc = start_ingest(wh, broker, "plant.rb", "--format", "sparkplug", "--client-id", "host2",
                        "--commit-interval", "200ms", "--until-idle", "3s")
    wait_subscribed(broker, "host2", "spBv1.0/#", proc)
    # An edge node that was already running before the host: its data arrives before any birth.
    node = EdgeNode(broker, "G", "E1", {"D": [("Temp", FLOAT), ("Level", INT16)]})
    node.pub = Publisher(broker, client_id="edge-G-E1")
    node.pub.client.message_callback_add(node.topic("NCMD"), node._on_cmd)
    node.pub.subscribe(node.topic("NCMD"))
    wait_subscribed(broker, "edge-G-E1", node.topic("NCMD"))
    node.seq = 17
    node.data("D", {"Temp": 1.5})                      # before birth: dead letter + rebirth
    wait_for(lambda: node.rebirths == 1, "a rebirth request for data before birth")
    time.sleep(0.3)                                    # the births go out
    node.data("D", {"Level": -2})
    node.data("D", {"Temp": 2.5}, seq=(node.seq + 3) % 256)  # a sequence gap: rebirth
    wait_for(lambda: node.rebirths == 2, "a rebirth request after a sequence gap")
    time.sleep(0.3)
    node.data("D", {"Level": -3})
    node.close()
    finish(proc)
    rows = rows_of(wh, "plant.rb", tmp_path)
    levels = [r["value_int"] for r in rows if r["tag"] == "Level" and r["value_int"] != 0]
    assert levels == [-2, -3]
    temps = [r["value"] for r in rows if r["tag"] == "Temp" and r["value"] != 0]
    assert temps == [2.5]  # the gap's data is good data; the pre-birth message is not
    dead = rows_of(wh, "plant.rb__dead_letters", tmp_path)
    assert len(dead) == 1
    assert "unknown device G/E1/D (no NBIRTH)" in dead[0]["error"]
    assert dead[0]["topic"] == "spBv1.0/G/DDATA/E1/D"
    assert spb().FromString(dead[0]["raw"]).metrics[0].float_value == 1.5


def test_unknown_alias_is_a_dead_letter_and_asks_for_rebirth(tmp_path, broker):
    wh = tmp_path / "wh"
    proc = start_ingest(wh, broker, "plant.ua", "--format", "sparkplug", "--client-id", "host3",
                        "--commit-interval", "200ms", "--until-idle", "3s")
    wait_subscribed(broker, "host3", "spBv1.0/#", proc)
    node = EdgeNode(broker, "G", "E2", {"D": [("Temp", FLOAT)]}).connect()
    node.data("D", {"Temp": 3.0}, alias=999)
    wait_for(lambda: node.rebirths == 1, "a rebirth request for an unknown alias")
    node.close()
    finish(proc)
    dead = rows_of(wh, "plant.ua__dead_letters", tmp_path)
    assert len(dead) == 1 and "unknown alias 999" in dead[0]["error"]


def test_primary_host_state_birth_and_will(tmp_path, broker):
    wh = tmp_path / "wh"
    watcher = Publisher(broker)
    watcher.subscribe("spBv1.0/STATE/+")
    proc = start_ingest(wh, broker, "plant.st", "--format", "sparkplug", "--client-id", "host4",
                        "--host-id", "scada-1")
    wait_for(lambda: any(t == "spBv1.0/STATE/scada-1" for t, _ in watcher.messages), "STATE birth")
    birth = json.loads(watcher.messages[-1][1])
    assert birth["online"] is True and isinstance(birth["timestamp"], int)
    # A late subscriber sees it: the birth is retained.
    late = Publisher(broker)
    late.subscribe("spBv1.0/STATE/scada-1")
    wait_for(lambda: late.messages, "the retained STATE")
    assert json.loads(late.messages[0][1])["online"] is True
    kill(proc)  # the broker publishes the will: offline, with the birth's timestamp
    wait_for(lambda: len(watcher.messages) >= 2, "STATE will")
    death = json.loads(watcher.messages[-1][1])
    assert death == {"online": False, "timestamp": birth["timestamp"]}
    # A clean stop says offline too (the broker may add the will: the ingester's own STATE comes
    # back to it unread when it closes the socket, so the broker can miss the DISCONNECT).
    seen = len(watcher.messages)
    proc = start_ingest(wh, broker, "plant.st", "--format", "sparkplug", "--client-id", "host4",
                        "--host-id", "scada-1", "--until-idle", "1s")
    finish(proc)
    wait_for(lambda: len(watcher.messages) >= seen + 2, "STATE birth and death of the clean run")
    states = [json.loads(p) for t, p in watcher.messages[seen:]]
    assert states[0]["online"] is True
    assert all(s == {"online": False, "timestamp": states[0]["timestamp"]} for s in states[1:])
    watcher.close()
    late.close()


def test_restart_decodes_by_alias_after_births_left_the_log(tmp_path, broker):
    """Births early, then enough data that the log's first segments are committed and deleted;
    the ingester is killed and restarted while the edge node keeps sending data by alias. The
    births survive in the log's pinned records, so replayed and new data decode, exactly once."""
    wh = tmp_path / "wh"
    args = ["--format", "sparkplug", "--client-id", "host5", "--commit-interval", "100ms",
            "--wal-segment-size", "16kb"]
    proc = start_ingest(wh, broker, "plant.rs", *args, log=tmp_path / "ingest.log")
    wait_subscribed(broker, "host5", "spBv1.0/#", proc)
    node = EdgeNode(broker, "G", "E3", {"D": [("N", INT32)]}, listen=False).connect()
    n = 6000
    for i in range(n):
        node.data("D", {"N": -i})
        if i == 4500:
            kill(proc)
            proc = start_ingest(wh, broker, "plant.rs", *args, log=tmp_path / "ingest.log")
    node.close()
    kill(proc)
    r = run_ingest(wh, broker, "plant.rs", *args, "--until-idle", "2s")
    assert r.rc == 0, r
    values = [row["value_int"] for row in rows_of(wh, "plant.rs", tmp_path) if row["tag"] == "N"]
    births = values.count(0)  # the DBIRTH's value, plus N=0 once as data
    assert sorted(v for v in values if v != 0) == sorted(-i for i in range(1, n))
    assert births == 2
    assert not (wh / "plant.db" / "rs__dead_letters").exists()
    # The log really lost its first segments: the births live in the pinned file.
    wal = wh / "_ingest" / "host5"
    assert (wal / "pinned.log").exists()
    first = min(int(p.name[4:24]) for p in wal.glob("wal-*.log"))
    assert first > 2
