"""Compaction of primary-key tables written by millpond, read by Paimon Java and pypaimon.

bench/pk_write_tool drives the writer: each `write` commits APPEND and, when Paimon's universal
compaction picks runs, a COMPACT snapshot right after it; `compact [--full]` compacts the whole
table; `runs` reports the largest number of sorted runs of any bucket. After many upsert and
delete commits (with automatic compaction, then full compaction) both readers must return exactly
the rows of an in-memory model, and no bucket may exceed num-sorted-run.stop-trigger (5 + 3) runs.
"""

import json
import random
from pathlib import Path

import pytest

from mpcli import canonical, harness
from test_pk_write_interop import (TOOL_MISSING, JAVA_MISSING, PYPAIMON_MISSING, _rows_table,
                                   check_readers, tool, write)

pytestmark = pytest.mark.skipif(bool(TOOL_MISSING or (JAVA_MISSING and PYPAIMON_MISSING)),
                                reason=str(TOOL_MISSING or JAVA_MISSING))


def runs(wh, name):
    out = tool(wh, name, "runs").stdout.decode().split()
    assert out[0] == "max_runs"
    return int(out[1]), [int(x) for x in out[3:]]


def commit_kinds(wh, name):
    db, t = name.split(".")
    snaps = sorted(Path(wh, db + ".db", t, "snapshot").glob("snapshot-*"),
                   key=lambda p: int(p.name.split("-")[1]))
    return [json.loads(p.read_text())["commitKind"] for p in snaps]


def test_upserts_deletes_auto_and_full_compaction(tmp_path):
    import pyarrow as pa
    wh = str(tmp_path / "wh")
    tool(wh, "db.t", "create", "id BIGINT NOT NULL, name STRING, v DOUBLE",
         "--primary-key", "id", "--bucket", "2")
    cols, types = ["id", "name", "v"], [pa.int64(), pa.string(), pa.float64()]
    model = {}
    rnd = random.Random(3)
    for commit in range(16):
        rows = []
        for _ in range(150):
            k = rnd.randrange(300)
            rows.append((k, "n%d-%d" % (k, commit), rnd.random() if rnd.random() < 0.8 else None))
        write(wh, "db.t", tmp_path, _rows_table(rows, cols, types))
        for r in rows:
            model[r[0]] = r
        deleted = rnd.sample(sorted(model), 20) + [10_000]
        write(wh, "db.t", tmp_path,
              _rows_table([(k, None, None) for k in deleted], cols, types), mode="delete")
        for k in deleted:
            model.pop(k, None)
        max_runs, _ = runs(wh, "db.t")
        assert max_runs <= 5 + 3
    kinds = commit_kinds(wh, "db.t")
    assert "COMPACT" in kinds, kinds
    _, levels = runs(wh, "db.t")
    assert any(level > 0 for level in levels), levels
    expected = _rows_table(sorted(model.values()), cols, types)
    # Mixed levels after automatic compaction: merge-on-read across level 0 and upper levels.
    check_readers(wh, "db.t", expected)
    out = tool(wh, "db.t", "compact", "--full").stdout.decode()
    assert out.startswith("compacted 2 buckets:"), out
    assert runs(wh, "db.t") == (1, [5])
    assert commit_kinds(wh, "db.t")[-1] == "COMPACT"
    check_readers(wh, "db.t", expected)
    # Writes continue after a full compaction; a second full compaction does nothing new.
    write(wh, "db.t", tmp_path, _rows_table([(1, "late", 1.0)], cols, types))
    model[1] = (1, "late", 1.0)
    check_readers(wh, "db.t", _rows_table(sorted(model.values()), cols, types))


def test_aggregation_partial_compactions(tmp_path):
    # A low trigger compacts subsets of runs into middle levels: sums must merge across levels.
    import pyarrow as pa
    wh = str(tmp_path / "wh")
    tool(wh, "db.a", "create", "id BIGINT NOT NULL, total BIGINT, last STRING",
         "--primary-key", "id", "--bucket", "1",
         "--option", "merge-engine=aggregation",
         "--option", "fields.total.aggregate-function=sum",
         "--option", "fields.last.aggregate-function=last_non_null_value",
         "--option", "num-sorted-run.compaction-trigger=3")
    cols, types = ["id", "total", "last"], [pa.int64(), pa.int64(), pa.string()]
    model = {}
    rnd = random.Random(5)
    for commit in range(14):
        rows = []
        for _ in range(40):
            k = rnd.randrange(50)
            v = rnd.randrange(100)
            s = "s%d" % commit if rnd.random() < 0.7 else None
            rows.append((k, v, s))
            old = model.get(k, (k, None, None))
            model[k] = (k, (old[1] or 0) + v, s if s is not None else old[2])
        write(wh, "db.a", tmp_path, _rows_table(rows, cols, types))
        assert runs(wh, "db.a")[0] <= 3 + 3
    assert "COMPACT" in commit_kinds(wh, "db.a")
    expected = _rows_table(sorted(model.values()), cols, types)
    check_readers(wh, "db.a", expected)
    tool(wh, "db.a", "compact", "--full")
    check_readers(wh, "db.a", expected)


def test_write_stall_bounds_sorted_runs(tmp_path):
    # A 1-byte write buffer flushes a run per input batch: the writer must compact while writing.
    import pyarrow as pa
    import pyarrow.parquet as pq
    wh = str(tmp_path / "wh")
    tool(wh, "db.s", "create", "id BIGINT NOT NULL, v BIGINT", "--primary-key", "id",
         "--bucket", "1", "--option", "write-buffer-size=1b")
    model = {}
    batches = []
    for b in range(30):
        ids = list(range(b * 3, b * 3 + 10))
        batches.append(pa.table({"id": pa.array(ids, pa.int64()),
                                 "v": pa.array([b] * len(ids), pa.int64())}))
        for k in ids:
            model[k] = (k, b)
    path = tmp_path / "stall.parquet"
    pq.write_table(pa.concat_tables(batches), str(path), row_group_size=10)
    tool(wh, "db.s", "write", path)
    assert runs(wh, "db.s")[0] <= 5 + 3
    check_readers(wh, "db.s", _rows_table(sorted(model.values()), ["id", "v"],
                                          [pa.int64(), pa.int64()]))


def test_deletion_vectors(tmp_path):
    # With deletion-vectors.enabled readers skip level 0: every write is compacted right away,
    # older rows of rewritten keys are marked in deletion vectors (index files + index manifest).
    import pyarrow as pa
    wh = str(tmp_path / "wh")
    tool(wh, "db.dv", "create", "id BIGINT NOT NULL, name STRING", "--primary-key", "id",
         "--bucket", "2", "--option", "deletion-vectors.enabled=true",
         "--option", "num-sorted-run.compaction-trigger=3")
    cols, types = ["id", "name"], [pa.int64(), pa.string()]
    model = {}
    rnd = random.Random(9)
    for commit in range(10):
        rows = [(k, "c%d" % commit) for k in rnd.sample(range(120), 30)]
        write(wh, "db.dv", tmp_path, _rows_table(rows, cols, types))
        model.update({r[0]: r for r in rows})
        deleted = rnd.sample(sorted(model), 5)
        write(wh, "db.dv", tmp_path, _rows_table([(k, None) for k in deleted], cols, types),
              mode="delete")
        for k in deleted:
            model.pop(k)
        if commit % 3 == 2:
            check_readers(wh, "db.dv", _rows_table(sorted(model.values()), cols, types))
    db_dir = Path(wh, "db.db", "dv")
    assert list((db_dir / "index").glob("index-*")), "no deletion-vector index files"
    last = json.loads(sorted(db_dir.glob("snapshot/snapshot-*"),
                             key=lambda p: int(p.name.split("-")[1]))[-1].read_text())
    assert last["commitKind"] == "COMPACT" and last.get("indexManifest")
    expected = _rows_table(sorted(model.values()), cols, types)
    check_readers(wh, "db.dv", expected)
    tool(wh, "db.dv", "compact", "--full")
    assert runs(wh, "db.dv")[1] == [3]
    check_readers(wh, "db.dv", expected)


GOLDEN = Path(__file__).resolve().parents[1].parent / "shared" / "interop" / "paimon-java" / "parquet"


# pk_table_scan_and_read_dv ends with two uncompacted commits (level 0), which readers of a
# deletion-vector table do not see; a full compaction makes them visible, giving the final state
# its README describes (Tony and Alex deleted, Alice updated, Skye/Marco/Skye2/Marco2 added).
AFTER_FULL_COMPACTION = {
    "pk_table_scan_and_read_dv": [
        ("Alice", 19.1), ("Bob", 12.1), ("David", 17.1), ("Emily", 13.1), ("Lucy", 14.1),
        ("Marco", 21.1), ("Marco2", 31.1), ("Paul", 18.1), ("Skye", 21.0), ("Skye2", 31.0),
        ("Two roads diverged in a wood, and I took the one less traveled by, And that has made "
         "all the difference.", 11.0)],
}


@pytest.mark.parametrize("name", ["pk_table_scan_and_read_mor", "pk_table_scan_and_read_dv",
                                  "pk_dv_index_not_in_data_no_external",
                                  "pk_table_with_dv_cardinality"])
def test_full_compaction_of_java_written_tables(tmp_path, name):
    # Tables Paimon Java wrote (merge-on-read and deletion vectors): a full compaction by
    # millpond keeps exactly the rows Paimon Java read before it.
    import shutil
    src = GOLDEN / (name + ".db") / name
    if not src.exists():
        pytest.skip("golden table %s missing" % src)
    wh = tmp_path / "wh"
    shutil.copytree(src, wh / (name + ".db") / name)
    ident = "%s.%s" % (name, name)
    reader = harness.java_read if not JAVA_MISSING else harness.pypaimon_read
    before = reader(str(wh), ident)
    assert before
    out = tool(str(wh), ident, "compact", "--full").stdout.decode()
    assert out.startswith("compacted "), out
    assert commit_kinds(str(wh), ident)[-1] == "COMPACT"
    def check(rows):
        if name in AFTER_FULL_COMPACTION:
            got = sorted((r["f0"], r["f3"]) for r in map(json.loads, rows))
            return got == sorted(AFTER_FULL_COMPACTION[name])
        return rows == before
    if not JAVA_MISSING:
        assert check(harness.java_read(str(wh), ident)), "Paimon Java"
    if not PYPAIMON_MISSING:
        assert check(harness.pypaimon_read(str(wh), ident)), "pypaimon"


def test_key_lookups_prune_row_groups_under_deletion_vectors(tmp_path):
    # A compacted file holds 100k keys in several 32K-row groups; later upserts and deletes mark
    # rows of its later row groups in deletion vectors. Lookups by key skip row groups by their
    # key statistics and must map deletion-vector positions through the skipped groups: every
    # lookup returns exactly the model's row, the same as a full scan filtered afterwards.
    import pyarrow as pa
    import mpcli
    wh = str(tmp_path / "wh")
    tool(wh, "db.lk", "create", "id BIGINT NOT NULL, v BIGINT", "--primary-key", "id",
         "--bucket", "1", "--option", "deletion-vectors.enabled=true")
    cols, types = ["id", "v"], [pa.int64(), pa.int64()]
    model = {k: (k, k) for k in range(100_000)}
    write(wh, "db.lk", tmp_path, _rows_table(sorted(model.values()), cols, types))
    tool(wh, "db.lk", "compact", "--full")
    rnd = random.Random(5)
    touched = rnd.sample(range(40_000, 100_000), 300)
    updated, deleted = touched[:200], touched[200:]
    write(wh, "db.lk", tmp_path, _rows_table([(k, -k) for k in updated], cols, types))
    write(wh, "db.lk", tmp_path, _rows_table([(k, None) for k in deleted], cols, types),
          mode="delete")
    for k in updated:
        model[k] = (k, -k)
    for k in deleted:
        model.pop(k)
    db_dir = Path(wh, "db.db", "lk")
    assert list((db_dir / "index").glob("index-*")), "no deletion vectors were written"
    import pyarrow.parquet as pq
    groups = max(pq.ParquetFile(str(f)).metadata.num_row_groups
                 for f in db_dir.glob("bucket-0/*.parquet"))
    assert groups >= 3, "expected a file of several row groups, got %d" % groups
    probes = updated[:20] + deleted[:20] + [1, 39_999, 65_536, 99_999]
    for k in probes:
        got = mpcli.scan_rows(wh, "db.lk", "--where", "id = %d" % k,
                              out_dir=tmp_path / "out")
        want = [model[k]] if k in model else []
        assert got == canonical.rows(_rows_table(want, cols, types)), "lookup of id %d" % k
    ranged = mpcli.scan_rows(wh, "db.lk", "--where", "id BETWEEN 60000 AND 70000",
                             out_dir=tmp_path / "out")
    assert ranged == canonical.rows(_rows_table(
        [model[k] for k in sorted(model) if 60_000 <= k <= 70_000], cols, types))
    check_readers(wh, "db.lk", _rows_table(sorted(model.values()), cols, types))


def test_first_row_with_deletion_vectors_is_refused_as_paimon_does(tmp_path):
    import mpcli
    r = mpcli.run(tmp_path / "wh", "table", "create", "db.f", "--schema", "id BIGINT NOT NULL, v INT",
                  "--primary-key", "id", "--bucket", "1", "--merge-engine", "first-row",
                  "--option", "deletion-vectors.enabled=true")
    assert r.rc != 0 and "first-row" in r.err and "deletion-vectors" in r.err, r
    assert "\n" not in r.err.strip(), r


@pytest.mark.parametrize("engine", ["partial-update", "aggregation", "sequence-field"])
def test_deletion_vectors_with_every_merge_engine(tmp_path, engine):
    # Deletion-vector compaction merges each touched key's live older record into the output
    # (Paimon's lookup rewriter) before marking the old one deleted, so partial-update, aggregation,
    # first-row and sequence.field keep their whole state. Paimon Java, pypaimon and millpond must
    # all read the model's rows after every few commits.
    import pyarrow as pa
    import mpcli
    wh = str(tmp_path / "wh")
    options = {
        "partial-update": ["merge-engine=partial-update"],
        "aggregation": ["merge-engine=aggregation", "fields.a.aggregate-function=sum"],
        "sequence-field": ["sequence.field=b"],
    }[engine]
    args = []
    for o in options + ["deletion-vectors.enabled=true", "num-sorted-run.compaction-trigger=3"]:
        args += ["--option", o]
    tool(wh, "db.e", "create", "id BIGINT NOT NULL, a BIGINT, b BIGINT", "--primary-key", "id",
         "--bucket", "2", *args)
    cols, types = ["id", "a", "b"], [pa.int64(), pa.int64(), pa.int64()]
    model = {}
    rnd = random.Random(17)
    for commit in range(12):
        rows = []
        for k in rnd.sample(range(150), 40):
            a = rnd.choice([None, rnd.randrange(100)]) if engine == "partial-update" else rnd.randrange(100)
            b = rnd.choice([None, rnd.randrange(100)]) if engine == "partial-update" else rnd.randrange(1000)
            rows.append((k, a, b))
        write(wh, "db.e", tmp_path, _rows_table(rows, cols, types))
        for k, a, b in rows:
            old = model.get(k)
            if engine == "partial-update":
                model[k] = (k, a if a is not None else (old[1] if old else None),
                            b if b is not None else (old[2] if old else None))
            elif engine == "aggregation":
                model[k] = (k, a + (old[1] if old else 0), b)
            elif old is None or b >= old[2]:
                model[k] = (k, a, b)
        if commit % 4 == 3:
            expected = _rows_table(sorted(model.values()), cols, types)
            check_readers(wh, "db.e", expected)
            assert mpcli.scan_rows(wh, "db.e", out_dir=tmp_path / "out") == canonical.rows(expected)
    db_dir = Path(wh, "db.db", "e")
    assert list((db_dir / "index").glob("index-*")), "no deletion vectors were written"
    tool(wh, "db.e", "compact", "--full")
    check_readers(wh, "db.e", _rows_table(sorted(model.values()), cols, types))
