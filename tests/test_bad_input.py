"""Bad input and damaged tables: millpond exits 1 (never a signal) with one line on stderr
starting 'millpond: error:' that names the problem, and leaves the table as it was (same
snapshots, same rows). Damage is done to tables in tmp_path (or copies of golden tables there)."""

import json
import os
import re
import shutil

import pytest

import mpcli
from mpcli import canonical, fails, harness, ok, scan_rows

pytestmark = pytest.mark.skipif(bool(mpcli.bin_missing()), reason=str(mpcli.bin_missing()))

SCHEMA = "id INT NOT NULL, part STRING, v DOUBLE, name STRING"


def write_csv(path, text):
    path.write_text(text)
    return path


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class Table:
    """db.t with two commits: snapshot 1 puts rows in part=a and part=b, snapshot 2 only in part=b.
    Remembers which manifest and data files snapshot 2 added."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.wh = tmp_path / "wh"
        self.dir = self.wh / "db.db" / "t"
        ok(self.wh, "table", "create", "db.t", "--schema", SCHEMA, "--partition", "part")
        ok(self.wh, "write", "db.t", "--input", write_csv(tmp_path / "a.csv", "id,part,v,name\n1,a,1.5,x\n2,b,2.5,y\n3,a,,z\n"))
        before = set(files_under(self.dir))
        ok(self.wh, "write", "db.t", "--input", write_csv(tmp_path / "b.csv", "id,part,v,name\n4,b,4.5,w\n5,b,5.5,\n"))
        added = set(files_under(self.dir)) - before
        self.new_manifests = sorted(f for f in added if f.startswith("manifest/manifest-") and "list" not in f)
        self.new_data = sorted(f for f in added if f.endswith(".parquet"))
        assert self.new_manifests and self.new_data
        self.rows1 = self.scan("--snapshot", 1)
        self.rows2 = self.scan()
        self.rows_a = self.scan("--where", "part = 'a'")
        assert len(self.rows1) == 3 and len(self.rows2) == 5 and len(self.rows_a) == 2

    def scan(self, *args):
        return scan_rows(self.wh, "db.t", *args, out_dir=self.tmp / "scans")

    def state(self):
        return harness.tree_state(self.dir)

    def assert_intact(self):
        assert mpcli.snapshot_ids(self.wh, "db.t") == [1, 2]
        assert self.scan() == self.rows2
        assert self.scan("--snapshot", 1) == self.rows1


@pytest.fixture
def table(tmp_path):
    return Table(tmp_path)


# ---- bad rows in the input: nothing is committed, nothing left behind ----------------------------

BAD_INPUTS = [
    # (file name, content, regexes the message must match)
    ("bad_int.csv", "id,part,v,name\n1,a,1,x\n2,a,2,y\nabc,a,3,z\n", [r"\brow 3\b", r"\bid\b", r"abc"]),
    ("bad_double.csv", "id,part,v,name\n1,a,xyz,x\n", [r"\brow 1\b", r"\bv\b", r"xyz"]),
    ("null_not_null.csv", "id,part,v,name\n1,a,1,x\n,a,2,y\n", [r"\brow 2\b", r"\bid\b", r"(?i)null"]),
    ("null_not_null.jsonl", '{"id":1,"part":"a","v":1}\n{"id":null,"part":"a","v":2}\n',
     [r"\brow 2\b", r"\bid\b", r"(?i)null"]),
    ("bad_int.jsonl", '{"id":1,"part":"a","v":1}\n{"id":"abc","part":"a","v":2}\n',
     [r"\b(row|line) 2\b", r"\bid\b"]),
    ("unknown_col.csv", "id,part,v,name,bogus\n1,a,1,x,q\n", [r"bogus"]),
    ("unknown_col.jsonl", '{"id":1,"part":"a","v":1}\n{"id":2,"part":"a","zz":2}\n', [r"\bzz\b"]),
    ("not_parquet.parquet", "garbage that is not parquet at all", [r"(?i)parquet"]),
    ("overflow.csv", "id,part,v,name\n1,a,1,x\n99999999999,a,1,x\n", [r"\brow 2\b", r"\bid\b"]),
]


@pytest.mark.parametrize("name,content,patterns", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_rows(table, name, content, patterns):
    before = table.state()
    f = table.tmp / name
    f.write_text(content)
    msg = fails(table.wh, "write", "db.t", "--input", f)
    for p in patterns:
        assert re.search(p, msg), "message %r does not match %r" % (msg, p)
    assert table.state() == before, "a failed write changed the table directory"
    table.assert_intact()


def test_bad_parquet_input_types(table):
    """A Parquet input whose column cannot be cast (string 'abc' for INT) names row and column."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pa.table({"id": pa.array(["1", "abc"]), "part": ["a", "a"], "v": [1.0, 2.0], "name": ["x", "y"]})
    pq.write_table(t, str(table.tmp / "in.parquet"))
    before = table.state()
    msg = fails(table.wh, "write", "db.t", "--input", table.tmp / "in.parquet")
    assert re.search(r"\brow 2\b", msg) and re.search(r"\bid\b", msg), msg
    assert table.state() == before
    table.assert_intact()


def test_missing_input_file(table):
    before = table.state()
    msg = fails(table.wh, "write", "db.t", "--input", table.tmp / "nope.csv")
    assert "nope.csv" in msg
    assert table.state() == before


# ---- bad reads: snapshot / tag / filter -----------------------------------------------------------

def test_missing_snapshot(table):
    before = table.state()
    msg = fails(table.wh, "scan", "db.t", "--snapshot", 99)
    assert "99" in msg and "snapshot" in msg.lower()
    assert table.state() == before


def test_missing_tag(table):
    msg = fails(table.wh, "scan", "db.t", "--tag", "nightly")
    assert "nightly" in msg
    msg = fails(table.wh, "tag", "delete", "db.t", "nightly")
    assert "nightly" in msg
    table.assert_intact()


def test_unknown_column_in_where(table):
    msg = fails(table.wh, "scan", "db.t", "--where", "bogus > 1")
    assert "bogus" in msg


def test_unknown_column_in_columns(table):
    msg = fails(table.wh, "scan", "db.t", "--columns", "id,bogus")
    assert "bogus" in msg


def test_type_error_in_where(table):
    msg = fails(table.wh, "scan", "db.t", "--where", "v = 'abc'")
    assert re.search(r"\bv\b", msg) and "abc" in msg


@pytest.mark.parametrize("expr", ["v >", "v > 1 AND", "(v > 1", "v IN (1,", "v BETWEEN 1", "v === 1", "'unterminated"])
def test_syntax_error_in_where(table, expr):
    fails(table.wh, "scan", "db.t", "--where", expr)


def test_unknown_table(table):
    msg = fails(table.wh, "scan", "db.nope")
    assert "nope" in msg
    msg = fails(table.wh, "write", "db.nope", "--input", write_csv(table.tmp / "x.csv", "id\n1\n"))
    assert "nope" in msg


# ---- bad warehouses and names -------------------------------------------------------------------

def test_warehouse_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("hello")
    for args in (["scan", "db.t"], ["tables"], ["table", "create", "db.t", "--schema", "a INT"]):
        msg = fails(f, *args)
        assert str(f.name) in msg
    assert f.read_text() == "hello"


def test_folder_of_random_files(tmp_path):
    d = tmp_path / "junk"
    (d / "sub").mkdir(parents=True)
    (d / "x.bin").write_bytes(os.urandom(1000))
    (d / "sub" / "y").write_text("hi")
    before = harness.tree_state(d)
    for args in (["scan", "db.t"], ["tables"], ["snapshots", "db.t"]):
        msg = fails(d, *args)
        assert "junk" in msg
    assert harness.tree_state(d) == before


def test_nonexistent_warehouse(tmp_path):
    d = tmp_path / "nowhere"
    for args in (["scan", "db.t"], ["tables"], ["snapshots", "db.t"], ["schema", "db.t"]):
        msg = fails(d, *args)
        assert "nowhere" in msg
    assert not d.exists(), "a read created the warehouse"


@pytest.mark.parametrize("name", ["../x.t", "db/x.t", "db.t/../../x", "..", "db..t", "db.t.u", ".t", "db.",
                                  "../../etc.passwd", "db.../x", "a\\b.c"])
def test_bad_table_names(tmp_path, name):
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "a INT")
    before = harness.tree_state(tmp_path)
    fails(wh, "table", "create", name, "--schema", "a INT")
    fails(wh, "scan", name)
    fails(wh, "write", name, "--input", tmp_path / "nope.csv")
    assert harness.tree_state(tmp_path) == before


# ---- damaged tables -----------------------------------------------------------------------------

def test_corrupt_latest_snapshot(table):
    snap = table.dir / "snapshot" / "snapshot-2"
    snap.write_bytes(b"\x00garbage{{{not json" + os.urandom(64))
    before = table.state()
    msg = fails(table.wh, "scan", "db.t")
    assert "snapshot-2" in msg or "snapshot 2" in msg, msg
    assert table.state() == before
    # Snapshot 1 is untouched and still reads.
    assert table.scan("--snapshot", 1) == table.rows1
    # A write must not build on (or past) a snapshot it cannot read.
    fails(table.wh, "write", "db.t", "--input", write_csv(table.tmp / "c.csv", "id,part,v,name\n9,a,9,q\n"))
    assert sorted(p.name for p in (table.dir / "snapshot").glob("snapshot-*")) == ["snapshot-1", "snapshot-2"]
    assert table.scan("--snapshot", 1) == table.rows1
    assert snap.read_bytes()[:8] == b"\x00garbage"


def test_truncated_latest_snapshot_json(table):
    snap = table.dir / "snapshot" / "snapshot-2"
    snap.write_text(snap.read_text()[:40])
    msg = fails(table.wh, "scan", "db.t")
    assert "snapshot" in msg
    assert table.scan("--snapshot", 1) == table.rows1


def test_corrupt_snapshot_of_golden_copy(tmp_path):
    """A copy of a Java-written golden table: garbage in its latest snapshot; the earlier snapshots
    still read as the README says."""
    import test_interop_tools as g
    if harness.java_missing() or not harness.GOLDEN.is_dir():
        pytest.skip("golden tables not available")
    src = harness.GOLDEN / "parquet" / "append_complex_data.db" / "append_complex_data"
    wh = tmp_path / "wh"
    shutil.copytree(src, wh / "append_complex_data.db" / "append_complex_data")
    name = "append_complex_data.append_complex_data"
    snaps = sorted(int(p.name.split("-")[1]) for p in (wh / "append_complex_data.db" / "append_complex_data" /
                                                       "snapshot").glob("snapshot-*"))
    latest = wh / "append_complex_data.db" / "append_complex_data" / "snapshot" / ("snapshot-%d" % snaps[-1])
    latest.write_bytes(os.urandom(200))
    fails(wh, "scan", name)
    assert scan_rows(wh, name, "--snapshot", 1, out_dir=tmp_path) == g.lines(g.COMPLEX_S1)
    assert scan_rows(wh, name, "--snapshot", 2, out_dir=tmp_path) == g.lines(g.COMPLEX_S2)


def test_truncated_manifest(table):
    m = table.dir / table.new_manifests[0]
    data = m.read_bytes()
    m.write_bytes(data[: len(data) // 2])
    msg = fails(table.wh, "scan", "db.t")
    assert "manifest" in msg
    assert table.scan("--snapshot", 1) == table.rows1


def test_garbage_manifest(table):
    m = table.dir / table.new_manifests[0]
    m.write_bytes(b"Obj\x01" + os.urandom(500))
    msg = fails(table.wh, "scan", "db.t")
    assert "manifest" in msg
    assert table.scan("--snapshot", 1) == table.rows1


def test_truncated_data_file(table):
    f = table.dir / table.new_data[0]
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    msg = fails(table.wh, "scan", "db.t")
    assert os.path.basename(table.new_data[0]) in msg
    # Data the damage does not touch: an older snapshot, and a partition the broken file is not in.
    assert table.scan("--snapshot", 1) == table.rows1
    assert table.scan("--where", "part = 'a'") == table.rows_a


def test_corrupt_data_file_same_size(table):
    """Same size, random bytes everywhere but the magic numbers: a clean error naming the file."""
    f = table.dir / table.new_data[0]
    data = bytearray(f.read_bytes())
    data[4:len(data) - 4] = os.urandom(len(data) - 8)
    f.write_bytes(bytes(data))
    msg = fails(table.wh, "scan", "db.t")
    assert os.path.basename(table.new_data[0]) in msg
    assert table.scan("--snapshot", 1) == table.rows1
    assert table.scan("--where", "part = 'a'") == table.rows_a


@pytest.mark.parametrize("seed", range(4))
def test_corrupt_data_pages_footer_intact(table, seed):
    """Garbage in the pages, footer intact: an error or (if the bytes still decode) rows, never a
    crash or more than one stderr line."""
    import random
    rnd = random.Random(seed)
    f = table.dir / table.new_data[0]
    data = bytearray(f.read_bytes())
    footer_len = int.from_bytes(data[-8:-4], "little")
    end = len(data) - 8 - footer_len
    for _ in range(16):
        data[rnd.randrange(4, end)] = rnd.randrange(256)
    f.write_bytes(bytes(data))
    r = mpcli.run(table.wh, "scan", "db.t", "--format", "jsonl")
    assert r.rc in (0, 1), "crashed or odd exit: %r" % r
    if r.rc == 1:
        lines = [x for x in r.err.split("\n") if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("millpond: error:"), r
    assert table.scan("--snapshot", 1) == table.rows1
    assert table.scan("--where", "part = 'a'") == table.rows_a


def test_missing_data_file(table):
    f = table.dir / table.new_data[0]
    f.unlink()
    msg = fails(table.wh, "scan", "db.t")
    assert os.path.basename(table.new_data[0]) in msg
    assert table.scan("--snapshot", 1) == table.rows1


def test_corrupt_schema_file(table):
    s = sorted((table.dir / "schema").glob("schema-*"))[-1]
    s.write_text("{not json")
    msg = fails(table.wh, "scan", "db.t")
    assert "schema" in msg
