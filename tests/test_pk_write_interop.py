"""Primary-key tables written by millpond's KeyValueWriter, read by Paimon Java and pypaimon.

The writer is driven through bench/pk_write_tool (built next to MILLPOND_BIN) until the CLI
exposes primary-key writes. Each `write` is one commit by a fresh writer, so sequence numbers
must continue across writers for the readers' merge to pick the newest row. Rows are compared
as sorted canonical JSON lines (tests/interop/canonical.py).
"""

import os
import random
import subprocess
from pathlib import Path

import pytest

import mpcli
from mpcli import canonical, harness

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    explicit = os.environ.get("PK_WRITE_TOOL")
    if explicit:
        return Path(explicit)
    bin_path = os.environ.get("MILLPOND_BIN", str(ROOT / "build" / "millpond"))
    return (ROOT / bin_path).parent / "pk_write_tool"


TOOL = _tool()
TOOL_MISSING = None if TOOL.exists() else "%s not built" % TOOL
JAVA_MISSING = harness.java_missing()
PYPAIMON_MISSING = harness.pypaimon_missing()

pytestmark = pytest.mark.skipif(bool(TOOL_MISSING or (JAVA_MISSING and PYPAIMON_MISSING)),
                                reason=str(TOOL_MISSING or JAVA_MISSING))


def tool(*args, expect_ok=True):
    p = subprocess.run([str(TOOL), *map(str, args)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    if expect_ok:
        assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p


def write(wh, name, tmp_path, table, mode="upsert"):
    import pyarrow.parquet as pq
    path = tmp_path / ("in-%d.parquet" % len(list(tmp_path.glob("in-*.parquet"))))
    pq.write_table(table, str(path))
    return tool(wh, name, "write", path, "--mode", mode)


def check_readers(wh, name, expected_table):
    expected = canonical.rows(expected_table)
    if not JAVA_MISSING:
        assert harness.java_read(wh, name) == expected, "Paimon Java"
    if not PYPAIMON_MISSING:
        assert harness.pypaimon_read(wh, name) == expected, "pypaimon"


def _rows_table(rows, columns, types):
    import pyarrow as pa
    return pa.table({c: pa.array([r[i] for r in rows], type=t)
                     for i, (c, t) in enumerate(zip(columns, types))})


def test_upserts_and_deletes_unpartitioned(tmp_path):
    import pyarrow as pa
    wh = str(tmp_path / "wh")
    tool(wh, "db.t", "create", "id BIGINT NOT NULL, name STRING, v DOUBLE",
         "--primary-key", "id", "--bucket", "2")
    cols, types = ["id", "name", "v"], [pa.int64(), pa.string(), pa.float64()]
    model = {}
    rnd = random.Random(7)
    for commit in range(6):
        rows = []
        for _ in range(120):  # duplicates inside one commit: the last one wins
            k = rnd.randrange(200)
            rows.append((k, "n%d-%d" % (k, commit), rnd.random() if rnd.random() < 0.8 else None))
        write(wh, "db.t", tmp_path, _rows_table(rows, cols, types))
        for r in rows:
            model[r[0]] = r
        deleted = rnd.sample(sorted(model), 15) + [10_000]  # a key that never existed
        write(wh, "db.t", tmp_path,
              _rows_table([(k, None, None) for k in deleted], cols, types), mode="delete")
        for k in deleted:
            model.pop(k, None)
    check_readers(wh, "db.t", _rows_table(sorted(model.values()), cols, types))


def test_partitioned_with_row_kind_column_and_small_buffer(tmp_path):
    import pyarrow as pa
    wh = str(tmp_path / "wh")
    tool(wh, "db.p", "create", "dt STRING, id INT, name STRING, v BIGINT",
         "--primary-key", "dt,id", "--partition", "dt", "--bucket", "3",
         "--option", "write-buffer-size=16kb")
    cols = ["dt", "id", "name", "v"]
    types = [pa.string(), pa.int32(), pa.string(), pa.int64()]
    model = {}
    rnd = random.Random(11)
    for commit in range(4):
        rows, kinds = [], []
        for _ in range(3000):
            key = (rnd.choice(["2024-01-01", "2024-01-02", "2024-01-03"]), rnd.randrange(500))
            kind = rnd.choice(["+I", "+U", "+I", "-D", "-U"])
            row = (key[0], key[1], "c%d" % commit, rnd.randrange(10**9))
            rows.append(row)
            kinds.append(kind)
            if kind in ("+I", "+U"):
                model[key] = row
            else:
                model.pop(key, None)
        t = _rows_table(rows, cols, types).append_column("_ROW_KIND", pa.array(kinds))
        write(wh, "db.p", tmp_path, t)
    check_readers(wh, "db.p", _rows_table(sorted(model.values()), cols, types))


def test_partial_update(tmp_path):
    import pyarrow as pa
    wh = str(tmp_path / "wh")
    tool(wh, "db.pu", "create", "id BIGINT NOT NULL, a STRING, b DOUBLE",
         "--primary-key", "id", "--bucket", "2", "--option", "merge-engine=partial-update")
    cols, types = ["id", "a", "b"], [pa.int64(), pa.string(), pa.float64()]
    write(wh, "db.pu", tmp_path, _rows_table([(1, "a1", None), (2, "a2", 2.0)], cols, types))
    # Same key twice in one commit: both rows are kept (separate sorted runs) and merged by readers.
    write(wh, "db.pu", tmp_path,
          _rows_table([(1, None, 1.5), (3, "a3", None), (3, None, 3.5), (2, "b2", None)],
                      cols, types))
    expected = [(1, "a1", 1.5), (2, "b2", 2.0), (3, "a3", 3.5)]
    check_readers(wh, "db.pu", _rows_table(expected, cols, types))


def test_sequence_field(tmp_path):
    import pyarrow as pa
    wh = str(tmp_path / "wh")
    tool(wh, "db.s", "create", "id BIGINT NOT NULL, ts BIGINT, v STRING",
         "--primary-key", "id", "--bucket", "1", "--option", "sequence.field=ts")
    cols, types = ["id", "ts", "v"], [pa.int64(), pa.int64(), pa.string()]
    write(wh, "db.s", tmp_path, _rows_table([(1, 10, "new"), (2, 5, "old"), (2, 7, "new")],
                                            cols, types))
    # Arrives later but carries an older ts: the row with the larger ts stays.
    write(wh, "db.s", tmp_path, _rows_table([(1, 3, "stale"), (2, 9, "newer")], cols, types))
    check_readers(wh, "db.s", _rows_table([(1, 10, "new"), (2, 9, "newer")], cols, types))


def test_null_primary_key_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    wh = str(tmp_path / "wh")
    tool(wh, "db.n", "create", "id BIGINT NOT NULL, v STRING", "--primary-key", "id",
         "--bucket", "2")
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": pa.array([1, None], pa.int64()), "v": ["a", "b"]}), str(path))
    p = tool(wh, "db.n", "write", path, expect_ok=False)
    assert p.returncode != 0
    err = p.stderr.decode()
    assert "row 2" in err and "'id'" in err, err
    assert not (Path(wh) / "db.db" / "n" / "snapshot").exists()


@pytest.mark.skipif(bool(JAVA_MISSING or PYPAIMON_MISSING), reason=str(JAVA_MISSING or PYPAIMON_MISSING))
def test_millpond_java_and_pypaimon_write_the_same_table(tmp_path):
    """Java and pypaimon restore sequence numbers from millpond's files and vice versa."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    wh = str(tmp_path / "wh")
    tool(wh, "db.m", "create", "id BIGINT NOT NULL, name STRING, v DOUBLE",
         "--primary-key", "id", "--bucket", "2")
    cols, types = ["id", "name", "v"], [pa.int64(), pa.string(), pa.float64()]
    write(wh, "db.m", tmp_path, _rows_table([(i, "mp1", float(i)) for i in range(20)], cols, types))
    java_rows = _rows_table([(i, "java", 0.5) for i in range(5, 15)], cols, types)
    jsonl = tmp_path / "java.jsonl"
    jsonl.write_text("".join(line + "\n" for line in canonical.rows(java_rows)))
    harness.java_write(wh, "db.m", str(jsonl))
    py_path = tmp_path / "py.parquet"
    pq.write_table(_rows_table([(i, "py", 1.5) for i in range(10, 25)], cols, types), str(py_path))
    harness.pypaimon_write(wh, "db.m", str(py_path))
    write(wh, "db.m", tmp_path, _rows_table([(i, "mp2", 2.5) for i in range(0, 30, 3)], cols, types))
    write(wh, "db.m", tmp_path, _rows_table([(7, None, None), (24, None, None)], cols, types),
          mode="delete")
    model = {}
    for i in range(20):
        model[i] = (i, "mp1", float(i))
    for i in range(5, 15):
        model[i] = (i, "java", 0.5)
    for i in range(10, 25):
        model[i] = (i, "py", 1.5)
    for i in range(0, 30, 3):
        model[i] = (i, "mp2", 2.5)
    for i in (7, 24):
        model.pop(i)
    check_readers(wh, "db.m", _rows_table(sorted(model.values()), cols, types))


def test_first_row_is_readable_after_each_write(tmp_path):
    """Readers skip level-0 files of first-row tables; each write compacts them up (lookup)."""
    import pyarrow as pa
    wh = str(tmp_path / "wh")
    tool(wh, "db.f", "create", "id BIGINT NOT NULL, v STRING", "--primary-key", "id",
         "--bucket", "1", "--option", "merge-engine=first-row")
    cols, types = ["id", "v"], [pa.int64(), pa.string()]
    write(wh, "db.f", tmp_path, _rows_table([(1, "a"), (2, "b")], cols, types))
    check_readers(wh, "db.f", _rows_table([(1, "a"), (2, "b")], cols, types))
    write(wh, "db.f", tmp_path, _rows_table([(1, "x"), (3, "c")], cols, types))
    check_readers(wh, "db.f", _rows_table([(1, "a"), (2, "b"), (3, "c")], cols, types))
