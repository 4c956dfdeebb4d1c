"""End-to-end behaviour of the millpond CLI: create/write/scan, projection, filters, limits,
tags, time travel, file rolling, concurrent commits and output formats."""

import datetime
import json
import os
import subprocess
import time

import pytest

import mpcli
from mpcli import canonical, ok, scan_rows

pytestmark = pytest.mark.skipif(bool(mpcli.bin_missing()), reason=str(mpcli.bin_missing()))

SCHEMA = "id INT NOT NULL, line STRING, sensor STRING, value DOUBLE, ok BOOLEAN, day DATE"

# id, line, sensor, value, ok, day
ROWS = [
    (1, "L1", "s1", 10.5, True, "2024-01-01"),
    (2, "L1", "s2", 85.0, False, "2024-01-01"),
    (3, "L2", "s1", None, True, "2024-01-02"),
    (4, "L2", "s3", 99.25, None, "2024-01-02"),
    (5, "L3", "s2", -3.0, True, None),
    (6, "L3", "s4", 80.0, False, "2024-01-03"),
    (7, "L1", "s4", 0.0, True, "2024-01-03"),
    (8, "L2", None, 120.0, False, "2024-01-04"),
]
COLS = ["id", "line", "sensor", "value", "ok", "day"]


def lines(rows, cols=COLS):
    return sorted(json.dumps(dict(zip(cols, r)), separators=(",", ":")) for r in rows)


def write_csv(path, rows):
    def cell(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"%s"' % v.replace('"', '""')
        return repr(v)
    path.write_text(",".join(COLS) + "\n" + "".join(",".join(cell(v) for v in r) + "\n" for r in rows))
    return path


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(dict(zip(COLS, r))) + "\n" for r in rows))
    return path


def arrow_table(rows):
    import pyarrow as pa
    schema = pa.schema([pa.field("id", pa.int32(), nullable=False), ("line", pa.string()), ("sensor", pa.string()),
                        ("value", pa.float64()), ("ok", pa.bool_()), ("day", pa.date32())])
    cols = list(zip(*rows))
    data = [list(c) for c in cols]
    data[5] = [None if d is None else datetime.date.fromisoformat(d) for d in data[5]]
    return pa.table({f.name: pa.array(d, f.type) for f, d in zip(schema, data)}, schema=schema)


def write_parquet(path, rows):
    import pyarrow.parquet as pq
    pq.write_table(arrow_table(rows), str(path))
    return path


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


@pytest.fixture
def table(tmp_path):
    """db.t partitioned by line, bucket-unaware, ROWS in one commit."""
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", SCHEMA, "--partition", "line")
    ok(wh, "write", "db.t", "--input", write_parquet(tmp_path / "rows.parquet", ROWS))
    return wh


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_round_trip(tmp_path, fmt):
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", SCHEMA, "--partition", "line", "--bucket", "2",
       "--bucket-key", "id")
    f = WRITERS[fmt](tmp_path / ("in." + fmt), ROWS)
    r = ok(wh, "write", "db.t", "--input", f)
    assert "snapshot 1" in r.out
    assert scan_rows(wh, "db.t", out_dir=tmp_path) == lines(ROWS)
    # A second write of the same format appends.
    ok(wh, "write", "db.t", "--input", f)
    assert scan_rows(wh, "db.t", out_dir=tmp_path) == sorted(lines(ROWS) * 2)
    assert "db.t" in ok(wh, "tables").out
    assert "db.t" in ok(wh, "tables", "db").out
    schema = ok(wh, "schema", "db.t").out
    assert "id INT NOT NULL" in schema and "partition keys: line" in schema


def test_explicit_input_format(tmp_path):
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", SCHEMA)
    f = write_jsonl(tmp_path / "rows.txt", ROWS)
    ok(wh, "write", "db.t", "--input", f, "--format", "jsonl")
    assert scan_rows(wh, "db.t", out_dir=tmp_path) == lines(ROWS)


def test_columns(table, tmp_path):
    t = mpcli.scan_table(table, "db.t", "--columns", "value,id", out_dir=tmp_path)
    assert t.column_names == ["value", "id"]
    assert canonical.rows(t) == lines([(r[3], r[0]) for r in ROWS], ["value", "id"])
    # Partition column alone.
    assert canonical.rows(mpcli.scan_table(table, "db.t", "--columns", "line", out_dir=tmp_path)) == \
        lines([(r[1],) for r in ROWS], ["line"])


def _ids(warehouse, *args, out_dir):
    return sorted(json.loads(x)["id"] for x in scan_rows(warehouse, "db.t", *args, out_dir=out_dir))


def _py(pred):
    return sorted(r[0] for r in ROWS if pred(dict(zip(COLS, r))))


def _gt(a, b):
    return a is not None and a > b


WHERE = [
    ("value > 80", lambda r: _gt(r["value"], 80)),
    ("value >= 80", lambda r: r["value"] is not None and r["value"] >= 80),
    ("value < 0", lambda r: r["value"] is not None and r["value"] < 0),
    ("value <= 0", lambda r: r["value"] is not None and r["value"] <= 0),
    ("value = 85", lambda r: r["value"] == 85),
    ("value != 85", lambda r: r["value"] is not None and r["value"] != 85),
    ("value <> 85", lambda r: r["value"] is not None and r["value"] != 85),
    ("id = 3", lambda r: r["id"] == 3),
    ("line = 'L1'", lambda r: r["line"] == "L1"),  # partition column
    ("line = 'L9'", lambda r: False),
    ("line = 'L1' AND value > 5", lambda r: r["line"] == "L1" and _gt(r["value"], 5)),
    ("line = 'L3' OR sensor = 's1'", lambda r: r["line"] == "L3" or r["sensor"] == "s1"),
    ("NOT line = 'L2'", lambda r: r["line"] != "L2"),
    ("NOT (line = 'L2' OR line = 'L3')", lambda r: r["line"] == "L1"),
    ("line IN ('L1','L3')", lambda r: r["line"] in ("L1", "L3")),
    ("sensor IN ('s1', 's4') AND line IN ('L2')", lambda r: r["sensor"] in ("s1", "s4") and r["line"] == "L2"),
    ("sensor NOT IN ('s1', 's4')", lambda r: r["sensor"] is not None and r["sensor"] not in ("s1", "s4")),
    ("value IS NULL", lambda r: r["value"] is None),
    ("value IS NOT NULL", lambda r: r["value"] is not None),
    ("sensor IS NULL OR ok IS NULL", lambda r: r["sensor"] is None or r["ok"] is None),
    ("day IS NULL", lambda r: r["day"] is None),
    ("value BETWEEN 0 AND 85", lambda r: r["value"] is not None and 0 <= r["value"] <= 85),
    ("id BETWEEN 2 AND 4 AND line = 'L2'", lambda r: 2 <= r["id"] <= 4 and r["line"] == "L2"),
    ("ok = true", lambda r: r["ok"] is True),
    ("ok = false OR value > 100", lambda r: r["ok"] is False or _gt(r["value"], 100)),
    ("day = '2024-01-02'", lambda r: r["day"] == "2024-01-02"),
    ("day > '2024-01-02'", lambda r: r["day"] is not None and r["day"] > "2024-01-02"),
    ("(line = 'L1' OR line = 'L2') AND NOT value IS NULL AND value < 100",
     lambda r: r["line"] in ("L1", "L2") and r["value"] is not None and r["value"] < 100),
]


@pytest.mark.parametrize("expr,pred", WHERE, ids=[w[0] for w in WHERE])
def test_where(table, tmp_path, expr, pred):
    assert _ids(table, "--where", expr, out_dir=tmp_path) == _py(pred)


def test_where_with_columns_not_projected(table, tmp_path):
    """The filter may use a column that --columns leaves out."""
    got = scan_rows(table, "db.t", "--columns", "id", "--where", "value > 80 AND line IN ('L1','L2')", out_dir=tmp_path)
    assert got == lines([(i,) for i in _py(lambda r: _gt(r["value"], 80) and r["line"] in ("L1", "L2"))], ["id"])


def test_where_on_many_partitions_and_files(tmp_path):
    """Filters over a partitioned, bucketed table with several commits (pruning must not lose rows)."""
    import pyarrow as pa
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id BIGINT, part INT, v DOUBLE", "--partition", "part",
       "--bucket", "3", "--bucket-key", "id")
    all_rows = []
    for c in range(3):
        rows = [(c * 1000 + i, i % 5, float(i)) for i in range(200)]
        all_rows += rows
        t = pa.table({"id": pa.array([r[0] for r in rows], pa.int64()), "part": pa.array([r[1] for r in rows], pa.int32()),
                      "v": pa.array([r[2] for r in rows], pa.float64())})
        import pyarrow.parquet as pq
        pq.write_table(t, str(tmp_path / ("in%d.parquet" % c)))
        ok(wh, "write", "db.t", "--input", tmp_path / ("in%d.parquet" % c))
    cases = [
        ("part = 2", lambda r: r[1] == 2),
        ("part IN (1, 3) AND v < 50", lambda r: r[1] in (1, 3) and r[2] < 50),
        ("id = 1007", lambda r: r[0] == 1007),
        ("id IN (5, 2005, 99999)", lambda r: r[0] in (5, 2005)),
        ("v BETWEEN 10 AND 12 OR part = 4", lambda r: 10 <= r[2] <= 12 or r[1] == 4),
        ("NOT part = 0 AND id > 2190", lambda r: r[1] != 0 and r[0] > 2190),
    ]
    for expr, pred in cases:
        got = sorted(json.loads(x)["id"] for x in scan_rows(wh, "db.t", "--where", expr, out_dir=tmp_path))
        assert got == sorted(r[0] for r in all_rows if pred(r)), expr


def test_limit(table, tmp_path):
    full = set(scan_rows(table, "db.t", out_dir=tmp_path))
    for n in [0, 1, 3, 8, 100]:
        got = scan_rows(table, "db.t", "--limit", n, out_dir=tmp_path)
        assert len(got) == min(n, len(ROWS)), n
        assert set(got) <= full
    got = scan_rows(table, "db.t", "--limit", 2, "--where", "line = 'L2'", out_dir=tmp_path)
    assert len(got) == 2 and all(json.loads(x)["line"] == "L2" for x in got)


def test_snapshots_tags_and_time_travel(tmp_path):
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", SCHEMA, "--partition", "line")
    ok(wh, "write", "db.t", "--input", write_csv(tmp_path / "a.csv", ROWS[:3]))
    ok(wh, "write", "db.t", "--input", write_csv(tmp_path / "b.csv", ROWS[3:6]))
    ok(wh, "write", "db.t", "--input", write_csv(tmp_path / "c.csv", ROWS[6:]))
    assert mpcli.snapshot_ids(wh, "db.t") == [1, 2, 3]
    for snap, n in [(1, 3), (2, 6), (3, 8)]:
        assert scan_rows(wh, "db.t", "--snapshot", snap, out_dir=tmp_path) == lines(ROWS[:n])

    ok(wh, "tag", "create", "db.t", "first", "--snapshot", "1")
    ok(wh, "tag", "create", "db.t", "latest")  # the latest snapshot, 3
    listing = ok(wh, "tag", "list", "db.t").out
    assert "first" in listing and "latest" in listing
    assert (wh / "db.db" / "t" / "tag" / "tag-first").is_file()
    assert scan_rows(wh, "db.t", "--tag", "first", out_dir=tmp_path) == lines(ROWS[:3])
    assert scan_rows(wh, "db.t", "--tag", "latest", out_dir=tmp_path) == lines(ROWS)
    # More writes do not move a tag.
    ok(wh, "write", "db.t", "--input", write_csv(tmp_path / "d.csv", ROWS[:1]))
    assert scan_rows(wh, "db.t", "--tag", "latest", out_dir=tmp_path) == lines(ROWS)

    ok(wh, "tag", "delete", "db.t", "first")
    listing = ok(wh, "tag", "list", "db.t").out
    assert "first" not in listing and "latest" in listing
    err = mpcli.fails(wh, "scan", "db.t", "--tag", "first")
    assert "first" in err
    # A duplicate tag name is refused; the tag keeps its snapshot.
    mpcli.fails(wh, "tag", "create", "db.t", "latest", "--snapshot", "1")
    assert scan_rows(wh, "db.t", "--tag", "latest", out_dir=tmp_path) == lines(ROWS)
    # Tagging a snapshot that does not exist is refused.
    mpcli.fails(wh, "tag", "create", "db.t", "nope", "--snapshot", "42")


def _snapshot_millis(wh, snap):
    return json.loads((wh / "db.db" / "t" / "snapshot" / ("snapshot-%d" % snap)).read_text())["timeMillis"]


def test_as_of(tmp_path):
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", SCHEMA)
    ok(wh, "write", "db.t", "--input", write_jsonl(tmp_path / "a.jsonl", ROWS[:4]))
    time.sleep(1.2)
    ok(wh, "write", "db.t", "--input", write_jsonl(tmp_path / "b.jsonl", ROWS[4:]))
    t1, t2 = _snapshot_millis(wh, 1), _snapshot_millis(wh, 2)
    assert t2 > t1
    assert scan_rows(wh, "db.t", "--as-of", t1, out_dir=tmp_path) == lines(ROWS[:4])
    assert scan_rows(wh, "db.t", "--as-of", (t1 + t2) // 2, out_dir=tmp_path) == lines(ROWS[:4])
    assert scan_rows(wh, "db.t", "--as-of", t2, out_dir=tmp_path) == lines(ROWS)
    assert scan_rows(wh, "db.t", "--as-of", t2 + 10 ** 9, out_dir=tmp_path) == lines(ROWS)
    # The 'YYYY-MM-DD HH:MM:SS' form: far past (before any snapshot) is an error, far future is latest.
    assert scan_rows(wh, "db.t", "--as-of", "2999-01-01 00:00:00", out_dir=tmp_path) == lines(ROWS)
    err = mpcli.fails(wh, "scan", "db.t", "--as-of", "1990-01-01 00:00:00")
    assert "snapshot" in err
    mpcli.fails(wh, "scan", "db.t", "--as-of", t1 - 1)


def test_target_file_size_rolls_files(tmp_path):
    """~600 KB of Parquet (one input batch) with target-file-size=64kb must roll into several
    files, as Paimon Java does (it checks the size while writing, not once per input batch)."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq
    rnd = random.Random(7)
    n = 30000
    t = pa.table({"id": pa.array(range(n), pa.int64()),
                  "s": pa.array(["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(24))
                                 for _ in range(n)])})
    pq.write_table(t, str(tmp_path / "in.parquet"))
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id BIGINT, s STRING", "--option", "target-file-size=64kb")
    ok(wh, "write", "db.t", "--input", tmp_path / "in.parquet")
    files = list((wh / "db.db" / "t").rglob("*.parquet"))
    assert len(files) >= 3, [f.name for f in files]
    assert scan_rows(wh, "db.t", out_dir=tmp_path) == canonical.rows(t)
    # Without the option the same data lands in a single file.
    ok(wh, "table", "create", "db.u", "--schema", "id BIGINT, s STRING")
    ok(wh, "write", "db.u", "--input", tmp_path / "in.parquet")
    assert len(list((wh / "db.db" / "u").rglob("*.parquet"))) == 1


def test_concurrent_commits(tmp_path):
    """4 writers at once on the same table: every commit lands as its own snapshot, no row lost."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id BIGINT, writer INT, part STRING", "--partition", "part")
    ok(wh, "write", "db.t", "--input", write_jsonl_rows(tmp_path / "first.jsonl", [{"id": -1, "writer": 0, "part": "a"}]))
    inputs = []
    expected = [{"id": -1, "writer": 0, "part": "a"}]
    for w in range(1, 5):
        rows = [{"id": w * 10000 + i, "writer": w, "part": "ab"[i % 2]} for i in range(500 * w)]
        expected += rows
        f = tmp_path / ("w%d.parquet" % w)
        pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.int64()), ("writer", pa.int32()),
                                                                     ("part", pa.string())])), str(f))
        inputs.append(f)
    procs = [subprocess.Popen([mpcli.BIN, "-w", str(wh), "write", "db.t", "--input", str(f)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in inputs]
    results = [(p.wait(timeout=300), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]
    for rc, out, err in results:
        assert rc == 0, (rc, out, err)
    assert mpcli.snapshot_ids(wh, "db.t") == [1, 2, 3, 4, 5]
    snapped = sorted(int(out.rsplit("snapshot", 1)[1].split()[0]) for _, out, _ in results)
    assert snapped == [2, 3, 4, 5]
    got = scan_rows(wh, "db.t", out_dir=tmp_path)
    assert len(got) == len(expected)
    assert got == sorted(json.dumps(r, separators=(",", ":")) for r in expected)
    # Each snapshot adds exactly one writer's rows on top of the previous one.
    prev = 1
    for snap in [2, 3, 4, 5]:
        n = len(scan_rows(wh, "db.t", "--snapshot", snap, out_dir=tmp_path))
        assert n - prev in (500, 1000, 1500, 2000)
        prev = n
    assert prev == len(expected)
    meta = json.loads((wh / "db.db" / "t" / "snapshot" / "snapshot-5").read_text())
    assert meta["totalRecordCount"] == len(expected)


def write_jsonl_rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _read_output(fmt, path):
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.ipc
    import pyarrow.json
    import pyarrow.parquet as pq
    if fmt == "parquet":
        return pq.read_table(str(path))
    if fmt == "csv":
        # millpond writes null as an empty unquoted field and strings quoted ("" is the empty string).
        return pyarrow.csv.read_csv(str(path), convert_options=pyarrow.csv.ConvertOptions(
            strings_can_be_null=True, quoted_strings_can_be_null=False))
    if fmt == "jsonl":
        return pyarrow.json.read_json(str(path))
    with pa.OSFile(str(path), "rb") as f:
        head = f.read(6)
    if head == b"ARROW1":
        return pyarrow.ipc.open_file(str(path)).read_all()
    return pyarrow.ipc.open_stream(pa.OSFile(str(path), "rb")).read_all()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "arrow"])
def test_output_formats(table, tmp_path, fmt):
    import pyarrow as pa
    out = tmp_path / ("out." + fmt)
    ok(table, "scan", "db.t", "--format", fmt, "--output", out)
    t = _read_output(fmt, out)
    assert t.num_rows == len(ROWS)
    assert t.column_names == COLS
    # Text formats lose exact types (pyarrow infers them): compare values, normalised.
    expected = arrow_table(ROWS)
    t = t.select(COLS)
    got = {}
    for name in COLS:
        col = t.column(name)
        if name == "day" and not pa.types.is_date(col.type):
            col = col.cast(pa.string())
            got[name] = [None if v is None else v[:10] for v in col.to_pylist()]
        elif name == "id":
            got[name] = col.cast(pa.int64()).to_pylist()
        elif name == "value":
            got[name] = col.cast(pa.float64()).to_pylist()
        else:
            got[name] = col.to_pylist()
        if name == "day" and pa.types.is_date(col.type):
            got[name] = [None if v is None else v.isoformat() for v in got[name]]
    rows = sorted(zip(*[got[c] for c in COLS]), key=lambda r: r[0])
    exp = sorted(ROWS, key=lambda r: r[0])
    assert [tuple(r) for r in rows] == [tuple(r) for r in exp]
    if fmt in ("parquet", "arrow"):
        assert t.schema.field("id").type == pa.int32() and t.schema.field("day").type == pa.date32()
        assert canonical.rows(t) == canonical.rows(expected)


def test_stdout_output(table):
    r = ok(table, "scan", "db.t", "--format", "jsonl", "--where", "id = 2")
    assert [json.loads(x) for x in r.out.strip().split("\n")] == [dict(zip(COLS, ROWS[1]))]
    r = ok(table, "scan", "db.t", "--columns", "id,line", "--where", "id <= 2")
    assert r.out.strip().split("\n")[0].replace('"', "") == "id,line"
    assert len(r.out.strip().split("\n")) == 3


def test_alter_and_write_new_schema(table, tmp_path):
    ok(table, "alter", "db.t", "--add-column", "unit STRING", "--rename-column", "value=reading", "--set",
       "snapshot.num-retained.max=50")
    schema = ok(table, "schema", "db.t").out
    assert "reading DOUBLE" in schema and "unit STRING" in schema and "snapshot.num-retained.max = 50" in schema
    got = scan_rows(table, "db.t", "--where", "reading > 80", "--columns", "id,reading,unit", out_dir=tmp_path)
    assert got == lines([(r[0], r[3], None) for r in ROWS if _gt(r[3], 80)], ["id", "reading", "unit"])


def test_warehouse_from_env(table, tmp_path):
    env = dict(os.environ, MILLPOND_WAREHOUSE=str(table))
    p = subprocess.run([mpcli.BIN, "tables"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       cwd=str(tmp_path))
    assert p.returncode == 0 and "db.t" in p.stdout.decode()


def test_expire_and_orphans_keep_what_readers_need(tmp_path):
    """`expire` drops old snapshots and files only they used; the latest state, tags and
    Paimon Java's view stay intact; `orphans` removes only old unreferenced files."""
    from mpcli import harness
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id INT, name STRING",
       "--option", "snapshot.num-retained.min=2", "--option", "snapshot.time-retained=1ms")
    for i in range(5):
        src = tmp_path / ("in%d.csv" % i)
        src.write_text("id,name\n%d,n%d\n" % (i, i))
        ok(wh, "write", "db.t", "--input", src)
    ok(wh, "tag", "create", "db.t", "first", "--snapshot", "1")
    before = scan_rows(wh, "db.t", out_dir=tmp_path / "s0")
    time.sleep(0.01)
    out = ok(wh, "expire", "db.t").out
    assert "expired 3 snapshots" in out
    assert mpcli.snapshot_ids(wh, "db.t") == [4, 5]
    assert scan_rows(wh, "db.t", out_dir=tmp_path / "s1") == before
    assert len(scan_rows(wh, "db.t", "--tag", "first", out_dir=tmp_path / "s2")) == 1
    assert harness.java_read(str(wh), "db.t") == before
    orphan = wh / "db.db" / "t" / "bucket-0" / "data-orphan.parquet"
    orphan.write_bytes(b"not referenced")
    old = time.time() - 3 * 86400
    os.utime(orphan, (old, old))
    assert "deleted 1 orphan files" in ok(wh, "orphans", "db.t", "--older-than", "1d").out
    assert not orphan.exists()
    assert scan_rows(wh, "db.t", out_dir=tmp_path / "s3") == before
