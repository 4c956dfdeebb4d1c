"""`millpond ingest mqtt` with JSON payloads against a real mosquitto broker (started per test on
a free loopback port, persistence on) and paho-mqtt publishers:

  - fields to same-name columns (the table is created from the first message), casts onto an
    existing table, unknown fields to the raw table;
  - dead letters (malformed JSON, wrong types, non-objects, binary garbage) while ingestion goes on;
  - a YAML map: per-tag rows with renames, units and types, per-message rows, a device allow-list;
  - exactly once under SIGKILL: the ingester is killed many times while a publisher sends unique
    sequence numbers with QoS 1; the table ends up with every number exactly once;
  - a full buffer commits and stops reading; a broker restart is survived;
  - Prometheus metrics over HTTP; one clear error line for bad arguments.
"""

import json
import os
import random
import struct
import threading
import time
import urllib.request
import zlib

import pyarrow.parquet as pq
import pytest

import mpcli
from mpcli import ok
from mqtt_peers import (Publisher, broker, free_port, kill, run_ingest, start_ingest,  # noqa: F401
                        wait_subscribed)

pytestmark = pytest.mark.skipif(mpcli.bin_missing() is not None, reason=str(mpcli.bin_missing()))


def rows_of(wh, table, tmp_path):
    return mpcli.scan_table(wh, table, out_dir=tmp_path / "scan").to_pylist()


def snapshot_json(wh, table):
    db, t = table.split(".")
    d = wh / (db + ".db") / t / "snapshot"
    snaps = sorted((int(p.name.split("-")[1]), p) for p in d.glob("snapshot-*"))
    return [json.loads(p.read_text()) for _, p in snaps]


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, "ingester failed (%d): %s" % (proc.returncode, err.decode())
    return out.decode()


def test_json_fields_become_columns(tmp_path, broker):
    wh = tmp_path / "wh"
    proc = start_ingest(wh, broker, "plant.readings", "--topic", "plant/#", "--client-id", "j1",
                        "--until-idle", "2s", "--commit-interval", "200ms")
    wait_subscribed(broker, "j1", "plant/#", proc)
    pub = Publisher(broker)
    sent = []
    for i in range(300):
        msg = {"seq": i, "line": "L%d" % (i % 3), "temp": 20 + i / 8, "ok": i % 2 == 0}
        pub.publish("plant/L%d/temp" % (i % 3), json.dumps(msg))
        sent.append(msg)
    pub.close()
    assert "ingested 300 rows" in finish(proc)
    rows = sorted(rows_of(wh, "plant.readings", tmp_path), key=lambda r: r["seq"])
    assert rows == sent
    schema = ok(wh, "schema", "plant.readings").out
    for col in ("seq BIGINT", "line STRING", "temp DOUBLE", "ok BOOLEAN"):
        assert col in schema, schema
    # Every snapshot says which position it holds, for restarts.
    for s in snapshot_json(wh, "plant.readings"):
        assert s["commitUser"] == "millpond-ingest-j1"
        assert s["properties"]["millpond.ingest.j1.position"] == str(s["commitIdentifier"])
    # The default write-ahead log lives in the warehouse, outside every database.
    assert (wh / "_ingest" / "j1").is_dir()
    assert ok(wh, "tables").out.split() == ["plant.readings"]


def test_existing_table_casts_and_raw_fields(tmp_path, broker):
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "plant.m", "--schema",
       "ts TIMESTAMP(3), seq INT, temp FLOAT, note STRING, day DATE")
    proc = start_ingest(wh, broker, "plant.m", "--topic", "m/#", "--client-id", "j2",
                        "--until-idle", "2s", "--commit-interval", "200ms")
    wait_subscribed(broker, "j2", "m/#", proc)
    pub = Publisher(broker)
    pub.publish("m/a", json.dumps({"ts": "2026-11-24T10:00:00.250Z", "seq": "7", "temp": 21,
                                   "note": 5, "day": "2026-11-24", "extra": [1, 2]}))
    pub.publish("m/a", json.dumps({"ts": 1764000000000, "seq": 8}))
    pub.close()
    finish(proc)
    rows = sorted(rows_of(wh, "plant.m", tmp_path), key=lambda r: r["seq"])
    assert [r["seq"] for r in rows] == [7, 8]
    assert rows[0]["ts"].isoformat() == "2026-11-24T10:00:00.250000"
    assert rows[0]["temp"] == 21.0 and rows[0]["note"] == "5"
    assert str(rows[0]["day"]) == "2026-11-24"
    assert rows[1]["ts"].isoformat() == "2025-11-24T16:00:00"
    assert rows[1]["temp"] is None
    raw = rows_of(wh, "plant.m__raw", tmp_path)
    assert len(raw) == 1
    assert raw[0]["reason"] == "fields not in table plant.m: extra"
    assert json.loads(raw[0]["raw"])["extra"] == [1, 2]


def test_dead_letters_and_ingestion_goes_on(tmp_path, broker):
    wh = tmp_path / "wh"
    proc = start_ingest(wh, broker, "plant.d", "--topic", "d/#", "--client-id", "j3",
                        "--until-idle", "2s", "--commit-interval", "200ms",
                        "--dead-letter-table", "ops.bad")
    wait_subscribed(broker, "j3", "d/#", proc)
    pub = Publisher(broker)
    bad = [b'{"seq": 1, "v": ', b"\xff\xfe\x00binary", b"[1, 2, 3]", b'{"seq": "x", "v": 1.0}',
           b"", b'{"seq": 3.5, "v": 1.0}']
    good = 0
    for i in range(60):
        pub.publish("d/good", json.dumps({"seq": 100 + i, "v": i * 1.5}))
        good += 1
        if i % 10 == 0:
            pub.publish("d/bad", bad[i // 10])
    pub.close()
    finish(proc)
    rows = rows_of(wh, "plant.d", tmp_path)
    assert sorted(r["seq"] for r in rows) == list(range(100, 160))
    dead = rows_of(wh, "ops.bad", tmp_path)
    assert sorted(d["raw"] for d in dead) == sorted(bad)
    by_raw = {d["raw"]: d for d in dead}
    assert "malformed JSON" in by_raw[bad[0]]["error"]
    assert "expected a JSON object" in by_raw[bad[2]]["error"]
    assert "column seq" in by_raw[bad[3]]["error"] and "'x'" in by_raw[bad[3]]["error"]
    assert "column seq" in by_raw[bad[5]]["error"]
    for d in dead:
        assert d["topic"] == "d/bad" and d["source"] == "j3" and d["received_at"] is not None


MAP = """
source: line3
tables:
  plant.readings:
    columns: "ts TIMESTAMP(3), device STRING, tag STRING, value DOUBLE, unit STRING, ingest_ts TIMESTAMP(3), source STRING"
  plant.cycles:
    columns: "ts TIMESTAMP(3), press STRING, cycle_ms BIGINT, force DOUBLE"
raw_table: plant.unmapped
rules:
  - topic: "line3/press/+/cycle"
    table: plant.cycles
    timestamp: "$.ts"
    columns:
      press: "press-${topic[2]}"
      cycle_ms: "$.duration"
      force: "$.force_kN"
  - topic: "line3/+/telemetry"
    table: plant.readings
    device: "${topic[1]}"
    devices: ["oven-*", "press-*"]
    timestamp: "$.ts"
    tags:
      t: {tag: temperature, unit: degC}
      p_mbar: {tag: pressure, unit: bar, type: DOUBLE}
      fw_*: ignore
"""


def test_map_file_routes_tags_and_messages(tmp_path, broker):
    wh = tmp_path / "wh"
    m = tmp_path / "line3.yaml"
    m.write_text(MAP)
    proc = start_ingest(wh, broker, "plant.readings", "--topic", "line3/#", "--client-id", "j4",
                        "--map", m, "--until-idle", "2s", "--commit-interval", "200ms")
    wait_subscribed(broker, "j4", "line3/#", proc)
    pub = Publisher(broker)
    pub.publish("line3/oven-1/telemetry",
                json.dumps({"ts": 1764000000000, "t": 181.5, "p_mbar": "1013", "fw_rev": 7,
                            "door": "open"}))
    pub.publish("line3/mixer-9/telemetry", json.dumps({"ts": 1764000000000, "t": 20}))
    pub.publish("line3/press/4/cycle",
                json.dumps({"ts": "2025-11-24T16:00:01Z", "duration": 812, "force_kN": 95.5}))
    pub.publish("line3/unknown", json.dumps({"x": 1}))
    pub.close()
    finish(proc)
    readings = sorted(rows_of(wh, "plant.readings", tmp_path), key=lambda r: r["tag"])
    assert [(r["device"], r["tag"], r["value"], r["unit"], r["source"]) for r in readings] == [
        ("oven-1", "pressure", 1013.0, "bar", "line3"),
        ("oven-1", "temperature", 181.5, "degC", "line3")]
    assert readings[0]["ts"].isoformat() == "2025-11-24T16:00:00"
    assert readings[0]["ingest_ts"] > readings[0]["ts"]
    cycles = rows_of(wh, "plant.cycles", tmp_path)
    assert [(c["press"], c["cycle_ms"], c["force"]) for c in cycles] == [("press-4", 812, 95.5)]
    unmapped = rows_of(wh, "plant.unmapped", tmp_path)
    got = sorted((u["topic"], u["tag"], u["reason"]) for u in unmapped)
    assert got == [("line3/oven-1/telemetry", "door", "tag not mapped"),
                   ("line3/unknown", None, "no rule matches the topic")]
    dead = rows_of(wh, "plant.readings__dead_letters", tmp_path)
    assert [d["error"] for d in dead] == ["unknown device 'mixer-9'"]
    # The source id from the map names the positions.
    assert "millpond.ingest.line3.position" in snapshot_json(wh, "plant.readings")[-1]["properties"]


def test_exactly_once_under_sigkill(tmp_path, broker):
    """A publisher sends N unique sequence numbers (QoS 1) over several topics while the ingester
    is SIGKILLed again and again; after a last clean run the table holds every number exactly
    once. Random delays come from a fixed seed."""
    wh = tmp_path / "wh"
    rnd = random.Random(int(os.environ.get("MILLPOND_CRASH_SEED", "5")))
    n = 12000
    args = ["--topic", "plant/#", "--client-id", "crash", "--commit-interval", "150ms",
            "--commit-rows", "2000", "--wal-segment-size", "64kb"]
    log = tmp_path / "ingest.log"
    proc = start_ingest(wh, broker, "plant.seq", *args, log=log)
    wait_subscribed(broker, "crash", "plant/#", proc)

    published = threading.Event()
    failure = []

    def publish():
        try:
            pub = Publisher(broker)
            infos = []
            for i in range(n):
                topic = "plant/L%d/M%d" % (i % 4, i % 7)
                infos.append(pub.publish(topic, json.dumps({"seq": i, "v": i * 0.5, "pad": "x" * (i % 50)}),
                                         wait=False))
                if i % 100 == 99:  # about 2,000 messages a second, for about 6 seconds
                    infos[-1].wait_for_publish(timeout=60)
                    time.sleep(0.05)
            for info in infos:
                info.wait_for_publish(timeout=60)
                assert info.is_published()
            pub.close()
        except Exception as e:  # reported by the main thread
            failure.append(e)
        finally:
            published.set()

    t = threading.Thread(target=publish)
    t.start()
    kills = 0
    while not published.is_set() or kills < 8:
        time.sleep(rnd.uniform(0.05, 0.6))
        kill(proc)
        kills += 1
        proc = start_ingest(wh, broker, "plant.seq", *args, log=log)
    t.join()
    assert not failure, failure
    kill(proc)
    r = run_ingest(wh, broker, "plant.seq", *args, "--until-idle", "3s")
    assert r.rc == 0, r
    seqs = [row["seq"] for row in rows_of(wh, "plant.seq", tmp_path)]
    missing = sorted(set(range(n)) - set(seqs))
    dups = len(seqs) - len(set(seqs))
    assert not missing and dups == 0, (
        "%d kills: %d missing (first %s), %d duplicates; log %s" % (kills, len(missing),
                                                                  missing[:10], dups, log))
    assert len(seqs) == n
    # Identifiers increase snapshot by snapshot: each commit is one snapshot with its position.
    ids = [s["commitIdentifier"] for s in snapshot_json(wh, "plant.seq")]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # Committed segments of the write-ahead log were deleted.
    wal = wh / "_ingest" / "crash"
    assert sum(f.stat().st_size for f in wal.glob("wal-*.log")) < 2 * 1024 * 1024


def wal_record(position, mid, topic, payload, received_micros=1764000000000000):
    """One record of the write-ahead log as docs/ingest.md specifies it."""
    body = (struct.pack("<BqqII", 1, position, received_micros, mid, len(topic)) +
            topic.encode() + payload)
    return struct.pack("<II", len(body), zlib.crc32(body)) + body


def test_redelivered_messages_are_not_logged_twice(tmp_path, broker):
    """The crash the SIGKILL test hits only by chance, made certain: messages are in the log but
    their PUBACKs never left. A paho client with manual acknowledgements plays the crashed
    ingester (same client id, persistent session) and we write its log; the real ingester then
    replays the log, the broker resends the unacknowledged messages, and each lands once."""
    import paho.mqtt.client as mqtt
    got = []
    fake = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rd", clean_session=False,
                       protocol=mqtt.MQTTv311, manual_ack=True)
    fake.on_message = lambda c, u, m: got.append((m.mid, m.topic, m.payload))
    fake.connect("127.0.0.1", broker.port)
    fake.loop_start()
    fake.subscribe("rd/#", qos=1)
    wait_subscribed(broker, "rd", "rd/#")
    pub = Publisher(broker)
    for i in range(30):
        pub.publish("rd/x", json.dumps({"seq": i}))
    pub.close()
    deadline = time.time() + 30
    while len(got) < 20 and time.time() < deadline:  # the broker's max_inflight_messages
        time.sleep(0.05)
    assert len(got) == 20, got
    fake.loop_stop()
    fake.socket().close()  # crashed: no PUBACK, no DISCONNECT
    wal = tmp_path / "wal"
    wal.mkdir()
    (wal / ("wal-%020d.log" % 1)).write_bytes(
        b"".join(wal_record(i + 1, mid, topic, payload) for i, (mid, topic, payload) in enumerate(got)))
    wh = tmp_path / "wh"
    r = run_ingest(wh, broker, "plant.rd", "--topic", "rd/#", "--client-id", "rd", "--wal-dir", wal,
                   "--until-idle", "2s", "--commit-interval", "100ms")
    assert r.rc == 0, r
    seqs = sorted(row["seq"] for row in rows_of(wh, "plant.rd", tmp_path))
    assert seqs == list(range(30))


def test_full_buffer_commits_and_everything_arrives(tmp_path, broker):
    wh = tmp_path / "wh"
    proc = start_ingest(wh, broker, "plant.bp", "--topic", "bp/#", "--client-id", "bp",
                        "--buffer-rows", "50", "--commit-rows", "1000000", "--commit-interval", "1h",
                        "--until-idle", "2s")
    wait_subscribed(broker, "bp", "bp/#", proc)
    pub = Publisher(broker)
    for i in range(1000):
        pub.publish("bp/x", json.dumps({"seq": i}), wait=(i % 100 == 99))
    pub.close()
    finish(proc)
    assert sorted(r["seq"] for r in rows_of(wh, "plant.bp", tmp_path)) == list(range(1000))
    deltas = [s["deltaRecordCount"] for s in snapshot_json(wh, "plant.bp")]
    # Nothing but a full buffer commits here: 50 rows each, never more held in memory.
    assert deltas == [50] * 20, deltas


def test_broker_restart_is_survived(tmp_path, broker):
    wh = tmp_path / "wh"
    proc = start_ingest(wh, broker, "plant.r", "--topic", "r/#", "--client-id", "rs",
                        "--commit-interval", "200ms", "--until-idle", "10s")
    wait_subscribed(broker, "rs", "r/#", proc)
    pub = Publisher(broker)
    for i in range(100):
        pub.publish("r/x", json.dumps({"seq": i}))
    pub.close()
    broker.stop()
    broker.start()  # same port, persisted sessions and subscriptions
    pub = Publisher(broker)
    for i in range(100, 200):
        pub.publish("r/x", json.dumps({"seq": i}))
    pub.close()
    finish(proc)
    seqs = sorted(r["seq"] for r in rows_of(wh, "plant.r", tmp_path))
    assert seqs == list(range(200))


def test_sigterm_commits_what_was_received(tmp_path, broker):
    wh = tmp_path / "wh"
    proc = start_ingest(wh, broker, "plant.term", "--topic", "term/#", "--client-id", "term",
                        "--commit-interval", "1h", "--wal-dir", tmp_path / "wal")
    wait_subscribed(broker, "term", "term/#", proc)
    pub = Publisher(broker)
    for i in range(50):
        pub.publish("term/x", json.dumps({"seq": i}))
    pub.close()
    # Received = in the write-ahead log (33 bytes of framing per record); nothing is committed
    # before the hour is up.
    logged = sum(33 + len("term/x") + len(json.dumps({"seq": i})) for i in range(50))
    deadline = time.time() + 30
    while time.time() < deadline:
        if sum(f.stat().st_size for f in (tmp_path / "wal").glob("wal-*.log")) >= logged:
            break
        time.sleep(0.05)
    assert not (wh / "plant.db" / "term" / "snapshot").exists()
    proc.terminate()
    finish(proc)
    assert sorted(r["seq"] for r in rows_of(wh, "plant.term", tmp_path)) == list(range(50))


def test_metrics_endpoint(tmp_path, broker):
    wh = tmp_path / "wh"
    port = free_port()
    proc = start_ingest(wh, broker, "plant.mx", "--topic", "mx/#", "--client-id", "mx",
                        "--metrics-port", port, "--metrics-bind", "127.0.0.1",
                        "--commit-interval", "100ms", "--buffer-rows", "5000")
    try:
        wait_subscribed(broker, "mx", "mx/#", proc)
        pub = Publisher(broker)
        for i in range(40):
            pub.publish("mx/a", json.dumps({"seq": i}))
        pub.publish("mx/a", b"not json")
        pub.close()
        want = 'millpond_ingest_rows_committed_total{role="data",source="mx",table="plant.mx"} 40'
        deadline = time.time() + 60
        text = ""
        while time.time() < deadline and want not in text:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
                assert r.status == 200
                text = r.read().decode()
            time.sleep(0.1)
        assert want in text, text
        assert 'millpond_ingest_messages_total{replayed="false",source="mx"} 41' in text
        assert 'millpond_ingest_dead_letters_total{source="mx"} 1' in text
        assert 'millpond_ingest_buffer_capacity_rows{source="mx"} 5000' in text
        assert 'millpond_ingest_connected{source="mx"} 1' in text
        assert "millpond_ingest_commit_seconds_bucket" in text
        assert "millpond_ingest_lag_seconds" in text
        assert "millpond_ingest_buffer_rows" in text
    finally:
        kill(proc)


def test_bad_arguments_fail_with_one_line(tmp_path, broker):
    wh = tmp_path / "wh"
    base = ["ingest", "mqtt", "--table", "plant.t", "--client-id", "bad"]
    line = mpcli.fails(wh, *base, "--broker", "tcp://127.0.0.1:%d" % free_port(), "--topic", "a/#")
    assert "cannot connect to MQTT broker" in line
    line = mpcli.fails(wh, *base, "--broker", "ws://x:1", "--topic", "a")
    assert "only tcp://" in line
    line = mpcli.fails(wh, *base, "--broker", broker.url)
    assert "--topic is required" in line
    line = mpcli.fails(wh, *base, "--broker", broker.url, "--topic", "a/#/b")
    assert "not a valid MQTT topic filter" in line
    m = tmp_path / "m.yaml"
    m.write_text("rules:\n  - topic: a/#\n    colums: {}\n")
    line = mpcli.fails(wh, *base, "--broker", broker.url, "--topic", "a/#", "--map", m)
    assert "rules[0]: unknown key 'colums'" in line
    line = mpcli.fails(wh, *base, "--broker", broker.url, "--topic", "a/#", "--format", "xml")
    assert "format must be json or sparkplug" in line
    line = mpcli.fails(wh, *base, "--broker", broker.url, "--topic", "a", "--commit-interval", "soon")
    assert "--commit-interval" in line
    line = mpcli.fails(wh, "ingest", "mqtt", "--broker", broker.url, "--topic", "a", "--table", "nodot")
    assert "DB.TABLE" in line
