"""S3 warehouses and S3 blob tiers, end to end through the millpond CLI against versitygw on
loopback (tests/s3_server.py): append and primary-key tables written, compacted and scanned on
S3 and read back by pyarrow and pypaimon from the bucket; blob packs moved to S3 tiers and read,
verified and collected there; many writers committing to one S3 table at once (commits are
conditional PUTs, If-None-Match: *); bad S3 URIs fail with one error line that hides secrets.
"""

import base64
import hashlib
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import mpcli
import s3_server
from mpcli import fails, ok

pytestmark = pytest.mark.skipif(bool(mpcli.bin_missing()), reason=str(mpcli.bin_missing()))

HERE = Path(__file__).resolve().parent
PAIMON_PY = HERE.parent / ".venv-paimon" / "bin" / "python"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    try:
        srv = s3_server.start(tmp_path_factory.mktemp("s3"))
    except s3_server.S3Unavailable as e:
        pytest.skip(str(e))
    yield srv
    srv.stop()


@pytest.fixture
def bucket(server, request):
    name = "t-" + request.node.name.replace("_", "-")[:50].lower().strip("-")
    return server.make_bucket(name)


def run_env(warehouse, env, *args):
    p = subprocess.run([mpcli.BIN, "-w", str(warehouse), *map(str, args)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=mpcli.TIMEOUT)
    r = mpcli.Result(p)
    assert r.rc == 0, "millpond %s failed: %r" % (" ".join(map(str, args)), r)
    return r


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def scan(wh, table, tmp_path, *args, env=None):
    out = tmp_path / "scans"
    out.mkdir(exist_ok=True)
    f = out / ("scan-%d.parquet" % len(list(out.iterdir())))
    run_env(wh, env, "scan", table, "--format", "parquet", "--output", f, *args)
    return pq.read_table(str(f)).to_pylist()


def key(rows, *cols):
    return sorted(tuple(r[c] for c in cols) for r in rows)


def bucket_files(server, prefix, name_prefix):
    import pyarrow.fs as pafs
    infos = server.fs().get_file_info(pafs.FileSelector(prefix, recursive=True,
                                                        allow_not_found=True))
    return sorted(i.path for i in infos
                  if i.type == pafs.FileType.File and i.base_name.startswith(name_prefix))


def read_parquet_from_bucket(server, paths):
    fs = server.fs()
    rows = []
    for p in paths:
        rows += pq.read_table(p, filesystem=fs).to_pylist()
    return rows


def pypaimon_rows(server, bucket_prefix, table):
    """pypaimon (own venv) reading the table from the bucket: its fs.s3.* catalog options take
    the endpoint as a URL, so plain http works. Bytes come back base64-encoded, timestamps as
    text."""
    code = r"""
import base64, json, sys
from pypaimon import CatalogFactory
wh, table, endpoint, ak, sk, region = sys.argv[1:]
cat = CatalogFactory.create({"warehouse": wh, "fs.s3.endpoint": endpoint,
    "fs.s3.accessKeyId": ak, "fs.s3.accessKeySecret": sk, "fs.s3.region": region})
rb = cat.get_table(table).new_read_builder()
for r in rb.new_read().to_arrow(rb.new_scan().plan().splits()).to_pylist():
    print(json.dumps(r, default=lambda v: base64.b64encode(v).decode()
                     if isinstance(v, bytes) else str(v)))
"""
    p = subprocess.run([str(PAIMON_PY), "-c", code, "s3://" + bucket_prefix, table,
                        "http://" + server.endpoint, s3_server.ACCESS, s3_server.SECRET,
                        s3_server.REGION],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


def test_append_table_on_s3(server, bucket, tmp_path):
    wh = server.uri(bucket, "wh")
    ok(wh, "table", "create", "plant.readings", "--schema",
       "line STRING, sensor STRING, seq INT, value DOUBLE", "--partition", "line",
       "--bucket", "2", "--bucket-key", "sensor")
    written = []
    for c in range(3):
        rows = [{"line": "L%d" % (i % 2), "sensor": "s%d" % (i % 5), "seq": c * 100 + i,
                 "value": c + i / 4} for i in range(40)]
        written += rows
        assert "snapshot %d" % (c + 1) in ok(wh, "write", "plant.readings", "--input",
                                            jsonl(tmp_path / ("w%d.jsonl" % c), rows)).out
    cols = ("line", "sensor", "seq", "value")
    assert key(scan(wh, "plant.readings", tmp_path), *cols) == key(written, *cols)
    assert key(scan(wh, "plant.readings", tmp_path, "--snapshot", "1"), *cols) == \
        key(written[:40], *cols)
    got = scan(wh, "plant.readings", tmp_path, "--where", "line = 'L1' AND seq >= 200")
    assert key(got, *cols) == key([r for r in written if r["line"] == "L1" and r["seq"] >= 200],
                                  *cols)
    assert mpcli.snapshot_ids(wh, "plant.readings") == [1, 2, 3]

    # The data files are Parquet objects in the bucket, partitioned as Paimon lays them out.
    files = bucket_files(server, bucket + "/wh/plant.db/readings", "data-")
    assert files and all("/line=L" in f and "/bucket-" in f for f in files)
    from_files = read_parquet_from_bucket(server, files)
    assert key(from_files, "sensor", "seq", "value") == key(written, "sensor", "seq", "value")
    # The table's own files: no temp files or local leftovers.
    assert not bucket_files(server, bucket + "/wh", ".")

    if PAIMON_PY.exists():
        assert key(pypaimon_rows(server, bucket + "/wh", "plant.readings"), *cols) == \
            key(written, *cols)

    # Append tables have no compaction yet (on any file system); expire and tags work on S3.
    ok(wh, "tag", "create", "plant.readings", "first", "--snapshot", "1")
    assert key(scan(wh, "plant.readings", tmp_path, "--tag", "first"), *cols) == \
        key(written[:40], *cols)


def test_primary_key_table_on_s3(server, bucket, tmp_path):
    wh = server.uri(bucket, "wh")
    ok(wh, "table", "create", "plant.state", "--schema",
       "machine INT NOT NULL, state STRING, count BIGINT", "--primary-key", "machine",
       "--bucket", "2")
    expected = {}
    for c in range(3):  # with the delete below, 4 runs: under the automatic compaction trigger
        rows = [{"machine": m, "state": "run-%d" % c, "count": c * 1000 + m}
                for m in range(c * 5, c * 5 + 20)]
        for r in rows:
            expected[r["machine"]] = r
        ok(wh, "write", "plant.state", "--input", jsonl(tmp_path / ("u%d.jsonl" % c), rows))
    deleted = [{"machine": 3}, {"machine": 21}]
    ok(wh, "write", "plant.state", "--mode", "delete", "--input",
       jsonl(tmp_path / "del.jsonl", deleted))
    for d in deleted:
        expected.pop(d["machine"])
    cols = ("machine", "state", "count")
    want = key(expected.values(), *cols)
    assert key(scan(wh, "plant.state", tmp_path), *cols) == want  # merge on read

    out = ok(wh, "compact", "plant.state", "--full").out
    assert out.startswith("compacted 2 buckets"), out
    assert key(scan(wh, "plant.state", tmp_path), *cols) == want
    got = scan(wh, "plant.state", tmp_path, "--where", "machine = 7")
    assert key(got, *cols) == [(7, "run-1", 1007)]

    # pyarrow reads the key-value files straight from the bucket: every upsert is in some file
    # (Paimon's _KEY_machine, _SEQUENCE_NUMBER, _VALUE_KIND layout), and the compacted files
    # hold exactly the live rows.
    files = bucket_files(server, bucket + "/wh/plant.db/state", "data-")
    from_files = read_parquet_from_bucket(server, files)
    assert {"_KEY_machine", "_SEQUENCE_NUMBER", "_VALUE_KIND"} <= set(from_files[0])
    assert {r["_KEY_machine"] for r in from_files} == set(range(30))

    if PAIMON_PY.exists():
        assert key(pypaimon_rows(server, bucket + "/wh", "plant.state"), *cols) == want


def test_concurrent_writers_commit_every_row_once(server, bucket, tmp_path):
    # Writers racing for the same snapshot number: the S3 commit is a PUT with If-None-Match: *,
    # so exactly one wins each number and the others retry on the new base. A check-then-write
    # commit loses snapshots here (two writers both "create" snapshot-N; one's rows vanish).
    wh = server.uri(bucket, "wh")
    ok(wh, "table", "create", "db.events", "--schema", "writer INT, i INT")
    writers, rounds, per = 8, 2, 5
    inputs = {}
    for w in range(writers):
        for r in range(rounds):
            inputs[w, r] = jsonl(tmp_path / ("in-%d-%d.jsonl" % (w, r)),
                                 [{"writer": w, "i": r * per + i} for i in range(per)])

    def writer(w):
        return [mpcli.run(wh, "write", "db.events", "--input", inputs[w, r]) for r in range(rounds)]

    with ThreadPoolExecutor(writers) as pool:
        results = [res for batch in pool.map(writer, range(writers)) for res in batch]
    for res in results:
        assert res.rc == 0, res
    committed = sorted(int(res.out.rsplit("snapshot", 1)[1]) for res in results)
    assert committed == list(range(1, writers * rounds + 1))
    assert mpcli.snapshot_ids(wh, "db.events") == committed
    rows = scan(wh, "db.events", tmp_path)
    assert sorted((r["writer"], r["i"]) for r in rows) == \
        sorted((w, i) for w in range(writers) for i in range(rounds * per))


def test_create_if_absent_primitive_on_s3(server, bucket):
    # fs_test's S3 cases (skipped by ctest without a server): one winner among racing creators
    # of the same object, no overwrite, atomic replace, missing files and folders.
    fs_test = Path(mpcli.BIN).parent / "fs_test"
    if not os.access(str(fs_test), os.X_OK):
        pytest.skip("fs_test not built next to %s" % mpcli.BIN)
    env = dict(os.environ, MILLPOND_TEST_S3_URI=server.uri(bucket, "fs"))
    p = subprocess.run([str(fs_test), "--gtest_filter=S3FileSystemTest.*"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    out = p.stdout.decode()
    assert p.returncode == 0, out[-3000:]
    assert "[  PASSED  ] 3 tests." in out and "SKIPPED" not in out, out[-3000:]


def log_text(n):
    return b"".join(b"2026-11-25T10:00:%02d INFO spindle=%d temp=%d cycle done\n"
                    % (i % 60, i % 5, 20 + i % 50) for i in range(n // 40 + 1))[:n]


def test_blob_tiers_on_s3(server, bucket, tmp_path):
    # Hot stays a local folder; warm and cold are S3 prefixes, configured the way a user does it:
    # a policy file's `tiers:` (kept in _blobs/tiers.json), credentials from the environment.
    wh = tmp_path / "wh"
    env = server.env()
    src = tmp_path / "camera"
    (src / "day1").mkdir(parents=True)
    files = {
        "day1/a.jpg": b"\xff\xd8\xff\xe0" + os.urandom(300_000),
        "day1/b.log": log_text(500_000),
        "c.bin": os.urandom(100_000),
        "c-copy.bin": b"",
    }
    files["c-copy.bin"] = files["c.bin"]
    for name, data in files.items():
        (src / name).write_bytes(data)
    run_env(wh, env, "ingest", "files", src, "--table", "plant.images", "--recursive")
    before = {r["path"]: r["sha256"] for r in scan(wh, "plant.images", tmp_path)}
    assert before == {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}

    cold = server.uri(bucket, "archive/cold", credentials=False)
    warm = server.uri(bucket, "archive/warm", credentials=False)
    policy = tmp_path / "tiers.yaml"
    policy.write_text('tiers:\n  warm: "%s"\n  cold: "%s"\nrules:\n  - tier: warm\n' % (warm, cold))
    out = run_env(wh, env, "tier", "apply", "--policy", policy).out
    assert "now cold 0" in out and "hot 0" in out, out
    assert bucket_files(server, bucket + "/archive/warm/packs", "pack-")
    cold_policy = tmp_path / "cold.json"
    cold_policy.write_text(json.dumps({"rules": [{"tier": "cold", "min_age": "0s"}]}))
    out = run_env(wh, env, "tier", "apply", "--policy", cold_policy).out
    assert "hot 0" in out and "warm 0" in out, out
    assert not list((wh / "_blobs").rglob("pack-*.mpk")), "packs left in local tiers"
    assert not bucket_files(server, bucket + "/archive/warm/packs", "pack-")
    assert bucket_files(server, bucket + "/archive/cold/packs", "pack-")
    assert "s3://" in (wh / "_blobs" / "tiers.json").read_text()

    def get(blob_id):
        p = subprocess.run([mpcli.BIN, "-w", str(wh), "blob", "get", blob_id], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == 0, p.stderr.decode()
        return p.stdout

    for name, data in files.items():
        assert get("sha256:" + before[name]) == data, name
    # The table's rows (blob column included) still read, their ids unchanged.
    after = scan(wh, "plant.images", tmp_path, env=env)
    assert {r["path"]: r["sha256"] for r in after} == before
    assert {r["path"]: r["blob"] for r in after} == files
    assert "ok" in run_env(wh, env, "blob", "verify").out
    stat = run_env(wh, env, "blob", "stat", "sha256:" + before["day1/b.log"]).out
    assert "cold/pack-" in stat, stat

    # A blob no table references, moved to S3 too, is collected there; the live ones stay.
    extra = tmp_path / "extra.bin"
    extra.write_bytes(os.urandom(50_000))
    extra_id = run_env(wh, env, "blob", "put", extra).out.split()[0]
    run_env(wh, env, "tier", "apply", "--policy", cold_policy)
    packs_before = bucket_files(server, bucket + "/archive/cold/packs", "pack-")
    out = run_env(wh, env, "gc", "--grace", "0s").out
    assert out.startswith("deleted 1 of"), out
    assert bucket_files(server, bucket + "/archive/cold/packs", "pack-") != packs_before
    p = subprocess.run([mpcli.BIN, "-w", str(wh), "blob", "get", extra_id], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 1 and b"not found" in p.stderr
    for name, data in files.items():
        assert get("sha256:" + before[name]) == data, name
    assert {r["path"]: r["blob"] for r in scan(wh, "plant.images", tmp_path, env=env)} == files

    # And back to the local hot tier.
    back = tmp_path / "back.json"
    back.write_text(json.dumps({"rules": [{"tier": "hot"}]}))
    run_env(wh, env, "tier", "apply", "--policy", back)
    assert not bucket_files(server, bucket + "/archive", "pack-")
    assert list((wh / "_blobs" / "hot").rglob("pack-*.mpk"))
    assert "ok" in run_env(wh, env, "blob", "verify").out


def test_whole_warehouse_on_s3_with_blobs(server, bucket, tmp_path):
    # Tables and the blob store (hot tier included) in the bucket.
    wh = server.uri(bucket, "lake")
    src = tmp_path / "logs"
    src.mkdir()
    data = {"a.log": log_text(200_000), "b.bin": os.urandom(80_000)}
    for name, d in data.items():
        (src / name).write_bytes(d)
    ok(wh, "ingest", "files", src, "--table", "plant.logs")
    assert "0 new" in ok(wh, "ingest", "files", src, "--table", "plant.logs").out
    rows = scan(wh, "plant.logs", tmp_path)
    assert {r["path"]: r["sha256"] for r in rows} == \
        {n: hashlib.sha256(d).hexdigest() for n, d in data.items()}
    assert bucket_files(server, bucket + "/lake/_blobs/hot/packs", "pack-")
    for r in rows:
        p = subprocess.run([mpcli.BIN, "-w", wh, "blob", "get", "sha256:" + r["sha256"]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == 0 and p.stdout == data[r["path"]], p.stderr.decode()
    assert "ok" in ok(wh, "blob", "verify").out
    assert ok(wh, "gc", "--grace", "0s").out.startswith("deleted 0 of 2")


def test_pypaimon_reads_blobs_of_an_s3_warehouse(server, bucket, tmp_path):
    """Blob descriptors in an S3 warehouse are s3:// URIs of pack ranges: pypaimon, given the
    endpoint and keys as catalog options (as any Paimon reader of an S3 table is), gets the bytes.
    """
    if not PAIMON_PY.exists():
        pytest.skip("no .venv-paimon")
    wh = server.uri(bucket, "lake")
    src = tmp_path / "media"
    src.mkdir()
    data = {"a.jpg": b"\xff\xd8\xff\xe0" + os.urandom(50_000), "b.bin": os.urandom(30_000)}
    for name, d in data.items():
        (src / name).write_bytes(d)
    ok(wh, "ingest", "files", src, "--table", "plant.media")
    got = {r["path"]: base64.b64decode(r["blob"])
           for r in pypaimon_rows(server, bucket + "/lake", "plant.media")}
    assert got == data


def test_bad_s3_warehouses_are_one_error_line(server, bucket):
    bad_secret = server.uri(bucket, "wh").replace(s3_server.ACCESS + ":", s3_server.ACCESS + ":x")
    line = fails(bad_secret, "table", "create", "db.t", "--schema", "a INT")
    assert "ACCESS_DENIED" in line or "Access" in line, line
    line = fails(server.uri(bucket, "wh").replace("scheme=http", "scheme=ftp"), "tables")
    assert "scheme" in line and "***@" in line, line
    assert s3_server.SECRET not in line and s3_server._quote(s3_server.SECRET) not in line
    line = fails(server.uri("no-such-bucket", "wh"), "table", "create", "db.t", "--schema",
                 "a INT")
    assert "no-such-bucket" in line, line
    # No server at all: a connection error, not a hang or a crash.
    line = fails(server.uri(bucket, "wh").replace(server.endpoint, "127.0.0.1:1"), "tables")
    assert "connect" in line.lower(), line
