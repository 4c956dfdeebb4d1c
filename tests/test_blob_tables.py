"""Tables with BLOB columns (Paimon's BlobType), both storage modes, against the real Paimons.

- Raw BLOB columns: millpond writes Paimon `.blob` files beside the Parquet file (row tracking,
  data evolution, _WRITE_COLS, first row ids assigned at commit, rolled at
  blob.target-file-size); Paimon Java and pypaimon read the same rows and bytes as millpond.
- Descriptor BLOB columns (`blob-descriptor-field`): the Parquet file holds serialized
  BlobDescriptors (uri, offset, length); every reader resolves them to the same bytes, and
  `blob-as-descriptor` returns the descriptors themselves.
- millpond reads BLOB tables pypaimon wrote. (Java-written ones: the golden tables in
  test_millpond_interop.py.)
- Bad input: a descriptor column given bytes that are no descriptor, BLOB with a primary key or
  fixed buckets: one clear error each.
"""

import os
import struct

import pytest

import mpcli
from mpcli import canonical, fails, harness, ok, scan_rows, scan_table

pytestmark = pytest.mark.skipif(bool(mpcli.bin_missing()), reason=str(mpcli.bin_missing()))

JAVA_MISSING = harness.java_missing()
PYPAIMON_MISSING = harness.pypaimon_missing()


def descriptor(uri, offset, length):
    """Paimon's BlobDescriptor v2: version, magic "BLOBDESC", uri length, uri, offset, length."""
    u = uri.encode()
    return bytes([2]) + struct.pack("<Q", 0x424C4F4244455343) + struct.pack("<i", len(u)) + u + \
        struct.pack("<qq", offset, length)


def write_parquet(table, path):
    import pyarrow.parquet as pq
    pq.write_table(table, str(path))
    return str(path)


def all_readers(wh, name, tmp_path, **kw):
    mine = scan_rows(wh, name, out_dir=tmp_path / "scan", **kw)
    if not JAVA_MISSING:
        assert harness.java_read(str(wh), name) == mine, "Paimon Java"
    if not PYPAIMON_MISSING:
        assert harness.pypaimon_read(str(wh), name) == mine, "pypaimon"
    return mine


def test_raw_blob_columns_are_paimon_blob_files(tmp_path):
    import pyarrow as pa
    n = 40
    blobs = [None if i % 9 == 0 else os.urandom(700 * (i % 6)) for i in range(n)]
    t = pa.table({"id": pa.array(range(n), pa.int32()), "name": ["n%d" % i for i in range(n)],
                  "pic": pa.array(blobs, pa.binary()), "thumb": pa.array(blobs[::-1], pa.binary())})
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id INT, name STRING, pic BLOB, thumb BLOB",
       "--option", "blob.target-file-size=4kb")
    ok(wh, "write", "db.t", "--input", write_parquet(t, tmp_path / "a.parquet"))
    ok(wh, "write", "db.t", "--input", write_parquet(t, tmp_path / "a.parquet"))
    bucket = wh / "db.db" / "t" / "bucket-0"
    assert len(list(bucket.glob("*.parquet"))) == 2
    assert len(list(bucket.glob("*.blob"))) > 8  # rolled at 4 KB, per column
    import pyarrow.parquet as pq
    for f in bucket.glob("*.parquet"):  # the Parquet file holds the other columns only
        assert pq.read_schema(str(f)).names == ["id", "name"]
    schema = (wh / "db.db" / "t" / "schema" / "schema-0").read_text()
    assert '"row-tracking.enabled" : "true"' in schema or '"row-tracking.enabled": "true"' in schema
    expected = sorted(canonical.rows(t) * 2)
    assert all_readers(wh, "db.t", tmp_path) == expected
    # Projection without the BLOB columns reads no .blob file; a filter works on merged rows.
    got = scan_table(wh, "db.t", "--columns", "id,pic", "--where", "id = 5", out_dir=tmp_path / "p")
    assert got.to_pylist() == [{"id": 5, "pic": blobs[5]}] * 2


def test_descriptor_blob_columns_resolve_in_every_reader(tmp_path):
    import pyarrow as pa
    payload = tmp_path / "payload.bin"
    data = os.urandom(5000)
    payload.write_bytes(data)
    t = pa.table({"id": pa.array([1, 2, 3], pa.int32()),
                  "pic": [descriptor(str(payload), 10, 100), None,
                          descriptor("file:" + str(payload), 0, -1)]})
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.d", "--schema", "id INT, pic BLOB",
       "--option", "blob-descriptor-field=pic")
    ok(wh, "write", "db.d", "--input", write_parquet(t, tmp_path / "d.parquet"))
    assert not list((wh / "db.db" / "d").rglob("*.blob"))
    expected = sorted(canonical.rows(pa.table({"id": pa.array([1, 2, 3], pa.int32()),
                                               "pic": [data[10:110], None, data]})))
    assert all_readers(wh, "db.d", tmp_path) == expected
    # blob-as-descriptor: the descriptors themselves.
    ok(wh, "alter", "db.d", "--set", "blob-as-descriptor=true")
    got = scan_table(wh, "db.d", out_dir=tmp_path / "desc").to_pylist()
    assert [r["pic"] for r in got] == [t["pic"][0].as_py(), None, t["pic"][2].as_py()]


@pytest.mark.skipif(bool(PYPAIMON_MISSING), reason=str(PYPAIMON_MISSING))
def test_millpond_reads_pypaimon_blob_tables(tmp_path):
    import pyarrow as pa
    t = pa.table({"id": pa.array([1, 2, 3], pa.int32()),
                  "pic": pa.array([b"abc", None, os.urandom(100000)], pa.large_binary())})
    wh = tmp_path / "wh"
    harness.pypaimon_write(str(wh), "db.p", write_parquet(t, tmp_path / "p.parquet"),
                           schema_json='{"fields":[{"name":"id","type":"INT"},'
                                       '{"name":"pic","type":"BLOB"}],"options":'
                                       '{"row-tracking.enabled":"true","data-evolution.enabled":"true"}}')
    assert list((wh / "db.db" / "p").rglob("*.blob"))
    assert scan_rows(wh, "db.p", out_dir=tmp_path / "s") == harness.pypaimon_read(str(wh), "db.p")
    got = {r["id"]: r["pic"] for r in scan_table(wh, "db.p", out_dir=tmp_path / "x").to_pylist()}
    assert got == {1: b"abc", 2: None, 3: t["pic"][2].as_py()}


def test_bad_blob_input_and_schemas(tmp_path):
    import pyarrow as pa
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.d", "--schema", "id INT, pic BLOB",
       "--option", "blob-descriptor-field=pic")
    t = pa.table({"id": pa.array([1, 2], pa.int32()), "pic": [descriptor("/x", 0, 1), b"\x89PNG..."]})
    msg = fails(wh, "write", "db.d", "--input", write_parquet(t, tmp_path / "bad.parquet"))
    assert "row 2" in msg and "'pic'" in msg and "BlobDescriptor" in msg, msg
    assert mpcli.snapshot_ids(wh, "db.d") == []  # nothing committed
    assert "primary key" in fails(wh, "table", "create", "db.k", "--schema", "id INT NOT NULL, b BLOB",
                                  "--primary-key", "id")
    assert "bucket" in fails(wh, "table", "create", "db.b", "--schema", "id INT, b BLOB",
                             "--bucket", "2", "--bucket-key", "id")
    assert "data-evolution.enabled=true" in fails(wh, "table", "create", "db.e", "--schema",
                                                  "id INT, b BLOB", "--option",
                                                  "data-evolution.enabled=false")
    assert "not a BLOB column" in fails(wh, "table", "create", "db.f", "--schema", "id INT, b BYTES",
                                        "--option", "blob-descriptor-field=b")
    assert "other column" in fails(wh, "table", "create", "db.g", "--schema", "b BLOB")
    # A descriptor pointing at nothing: the scan names the column and the file.
    ok(wh, "write", "db.d", "--input", write_parquet(
        pa.table({"id": pa.array([1], pa.int32()), "pic": [descriptor(str(tmp_path / "gone"), 0, 4)]}),
        tmp_path / "gone.parquet"))
    msg = fails(wh, "scan", "db.d")
    assert "column pic" in msg and "gone" in msg, msg


def test_follow_streams_blob_rows_with_their_bytes(tmp_path):
    # `scan --follow` on a raw BLOB table: the full read, then each commit's new rows, every row
    # with its blob bytes (the Parquet file and its .blob files are read as one row-id group);
    # a filter and a projection apply as in a batch scan.
    import base64
    import pyarrow as pa
    from test_follow import Follower

    def batch(first, n):
        ids = list(range(first, first + n))
        return pa.table({"id": pa.array(ids, pa.int32()),
                         "pic": pa.array([None if i % 7 == 0 else os.urandom(300 + i)
                                          for i in ids], pa.binary())})

    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id INT, pic BLOB",
       "--option", "blob.target-file-size=2kb")
    a, b = batch(0, 20), batch(20, 15)
    ok(wh, "write", "db.t", "--input", write_parquet(a, tmp_path / "a.parquet"))
    follower = Follower(wh)
    follower.wait_rows(20)
    ok(wh, "write", "db.t", "--input", write_parquet(b, tmp_path / "b.parquet"))
    got = follower.wait_rows(35)
    follower.p.terminate()
    follower.finish()

    def decoded(rows):
        return [(r["_ROW_KIND"], r["id"],
                 None if r["pic"] is None else base64.b64decode(r["pic"])) for r in rows]
    expected = [("+I", r["id"], r["pic"]) for r in a.to_pylist() + b.to_pylist()]
    assert decoded(got) == expected
    bounded = Follower(wh, "--from-snapshot", "2", "--columns", "pic", "--where", "id >= 30",
                       "--until-idle", "1s")
    rc, rows, err = bounded.finish()
    assert rc == 0, err
    assert [base64.b64decode(r["pic"]) if r["pic"] else None for r in rows] == \
        [r["pic"] for r in b.to_pylist() if r["id"] >= 30]
