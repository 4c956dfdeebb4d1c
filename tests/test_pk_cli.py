"""Primary-key tables through the millpond CLI (issue 3, points 7 and 9).

(a) millpond writes primary-key tables with many random (seeded) upsert and delete commits, for
    every merge engine, partitioned and not; `millpond scan`, Paimon Java and pypaimon must all
    return the rows a Python model of the merge engine predicts.
(b) millpond reads primary-key tables pypaimon wrote, also after millpond appended upserts and
    deletes to them.
(c) bad input (null key, key-type mismatch, unknown merge engine or aggregate function, a
    manifest naming a missing data file): one `millpond: error:` line on stderr, exit 1, and the
    table unchanged (same snapshots, same rows, same files).

Rows are compared as sorted canonical JSON lines (tests/interop/canonical.py).
"""

import os
import random
import re
import shutil
from pathlib import Path

import pytest

import mpcli
from mpcli import canonical, harness

JAVA_MISSING = harness.java_missing()
PYPAIMON_MISSING = harness.pypaimon_missing()

pytestmark = pytest.mark.skipif(bool(mpcli.bin_missing()), reason=str(mpcli.bin_missing()))

# Column name, millpond type, Arrow type name. `dt` only in partitioned tables.
COLUMNS = [("dt", "STRING"), ("id", "BIGINT"), ("v", "DOUBLE"), ("s", "STRING"), ("n", "INT")]
DAYS = ["2024-05-01", "2024-05-02", "2024-05-03"]


def _arrow_types():
    import pyarrow as pa
    return {"STRING": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "INT": pa.int32()}


class Spec:
    def __init__(self, partitioned):
        self.partitioned = partitioned
        self.columns = [c for c in COLUMNS if partitioned or c[0] != "dt"]
        self.names = [c[0] for c in self.columns]
        self.key = ["dt", "id"] if partitioned else ["id"]
        self.values = [n for n in self.names if n not in self.key]

    def schema_text(self):
        return ", ".join("%s %s" % c for c in self.columns)

    def table(self, rows, kinds=None):
        """rows: dicts -> pyarrow Table in column order (plus _ROW_KIND when kinds given)."""
        import pyarrow as pa
        types = _arrow_types()
        t = pa.table({n: pa.array([r.get(n) for r in rows], type=types[ty])
                      for n, ty in self.columns})
        if kinds is not None:
            t = t.append_column("_ROW_KIND", pa.array(kinds, pa.string()))
        return t

    def keyof(self, row):
        return tuple(row[k] for k in self.key)


def _write_parquet(tmp_path, table):
    import pyarrow.parquet as pq
    path = tmp_path / ("in-%d.parquet" % len(list(tmp_path.glob("in-*.parquet"))))
    pq.write_table(table, str(path))
    return path


# ---------------------------------------------------------------------------------------------
# Models of the merge engines (Paimon's DeduplicateMergeFunction, PartialUpdateMergeFunction,
# AggregateMergeFunction with sum on v and last_non_null_value elsewhere, FirstRowMergeFunction).

class Model:
    def __init__(self, spec, engine):
        self.spec, self.engine, self.rows = spec, engine, {}

    def apply(self, row, kind):
        k = self.spec.keyof(row)
        retract = kind in ("-D", "-U")
        if self.engine == "deduplicate":
            if retract:
                self.rows.pop(k, None)
            else:
                self.rows[k] = dict(row)
        elif self.engine == "partial-update":  # deletes only with ignore-delete=true
            if retract:
                return
            old = self.rows.get(k)
            if old is None:
                self.rows[k] = dict(row)
            else:
                for n in self.spec.values:
                    if row.get(n) is not None:
                        old[n] = row[n]
        elif self.engine == "aggregation":  # upserts only (retraction is not modelled)
            assert not retract
            old = self.rows.get(k)
            if old is None:
                self.rows[k] = dict(row)
                return
            for n in self.spec.values:
                new = row.get(n)
                if n == "v":
                    if new is not None:
                        old[n] = new if old[n] is None else old[n] + new
                elif new is not None:
                    old[n] = new
        elif self.engine == "first-row":  # upserts only
            assert not retract
            self.rows.setdefault(k, dict(row))
        else:
            raise AssertionError(self.engine)

    def expected(self):
        return canonical.rows(self.spec.table([self.rows[k] for k in sorted(self.rows)]))


def _random_row(spec, rnd, nkeys, commit):
    row = {"id": rnd.randrange(nkeys),
           "v": None if rnd.random() < 0.15 else float(rnd.randrange(-1000, 1000)) / 4,
           "s": None if rnd.random() < 0.15 else "s%d-%d" % (commit, rnd.randrange(100)),
           "n": None if rnd.random() < 0.15 else rnd.randrange(-50, 50)}
    if spec.partitioned:
        row["dt"] = rnd.choice(DAYS)
    return row


def check_all_readers(wh, name, expected, tmp_path, java=True, pypaimon=True):
    got = mpcli.scan_rows(wh, name, out_dir=tmp_path / "scan")
    assert got == expected, "millpond scan differs from the model"
    if java and not JAVA_MISSING:
        assert harness.java_read(wh, name) == expected, "Paimon Java differs from the model"
    if pypaimon and not PYPAIMON_MISSING:
        assert harness.pypaimon_read(wh, name) == expected, "pypaimon differs from the model"


def _compact_full(wh, name):
    """`millpond compact DB.T --full` when millpond has it; None when it does not (yet)."""
    r = mpcli.run(wh, "compact", name, "--full")
    if r.rc != 0 and ("compact" in r.err and ("not found" in r.err.lower()
                                              or "extra" in r.err.lower()
                                              or "subcommand" in r.err.lower())):
        return None
    assert r.rc == 0, "compact --full failed: %r" % r
    return r


# ---------------------------------------------------------------------------------------------
# (a) millpond writes, everyone reads

# name -> (merge engine, create options, deletes in the input, pypaimon can read it)
ENGINES = {
    "deduplicate": ("deduplicate", [], True, True),
    "partial-update": ("partial-update", [], False, True),
    # pypaimon 2.1 refuses partial-update with ignore-delete (NotImplementedError).
    "partial-update-ignore-delete": ("partial-update", ["--option", "ignore-delete=true"], True,
                                     False),
    "aggregation": ("aggregation", ["--option", "fields.v.aggregate-function=sum"], False, True),
    "first-row": ("first-row", [], False, True),
}


@pytest.mark.parametrize("partitioned", [False, True], ids=["unpartitioned", "partitioned"])
@pytest.mark.parametrize("variant", list(ENGINES))
def test_millpond_writes_random_commits_all_readers_agree(tmp_path, variant, partitioned):
    engine, opts, deletes_allowed, with_pypaimon = ENGINES[variant]
    seed = sum(map(ord, variant)) * 2 + int(partitioned)
    rnd = random.Random(seed)
    spec = Spec(partitioned)
    wh = tmp_path / "wh"
    name = "db.t"
    opts = list(opts)
    if engine == "partial-update" or rnd.random() < 0.5:
        opts += ["--option", "write-buffer-size=%s" % rnd.choice(["64kb", "256mb"])]
    mpcli.ok(wh, "table", "create", name, "--schema", spec.schema_text(),
             "--primary-key", ",".join(spec.key), "--bucket", str(rnd.choice([1, 2, 4])),
             *(["--partition", "dt"] if partitioned else []),
             "--merge-engine", engine, *opts)
    model = Model(spec, engine)
    nkeys = 300
    commits = 14 if engine != "first-row" else 6
    for commit in range(commits):
        style = rnd.choice(["upsert", "upsert", "delete", "rowkind"]) if deletes_allowed else "upsert"
        if commit == 0:
            style = "upsert"
        n = rnd.choice([1, 50, 400, 1500])
        rows = [_random_row(spec, rnd, nkeys, commit) for _ in range(n)]
        if style == "upsert":
            path = _write_parquet(tmp_path, spec.table(rows))
            r = mpcli.run(wh, "write", name, "--input", path)
            if engine == "first-row" and r.rc != 0 and "first-row" in r.err:
                pytest.skip("millpond refuses first-row writes: %s" % r.err.strip())
            assert r.rc == 0, r
            for row in rows:
                model.apply(row, "+I")
        elif style == "delete":
            # Deletes by key: existing keys, keys never written, value columns present or not.
            for row in rows[: n // 2]:
                row.update({c: None for c in spec.values if rnd.random() < 0.5})
            existing = list(model.rows)
            for row in rows:
                if existing and rnd.random() < 0.7:
                    k = rnd.choice(existing)
                    row.update(dict(zip(spec.key, k)))
            path = _write_parquet(tmp_path, spec.table(rows))
            mpcli.ok(wh, "write", name, "--input", path, "--mode", "delete")
            for row in rows:
                model.apply(row, "-D")
        else:
            kinds = [rnd.choice(["+I", "+U", "+U", "-U", "-D"]) for _ in rows]
            path = _write_parquet(tmp_path, spec.table(rows, kinds))
            mpcli.ok(wh, "write", name, "--input", path)
            for row, kind in zip(rows, kinds):
                model.apply(row, kind)
        if commit in (commits // 2, commits - 1):
            # Check mid-way too: a later commit must not be needed to make earlier ones readable.
            check_all_readers(wh, name, model.expected(), tmp_path, pypaimon=with_pypaimon)
    if "ignore-delete=true" not in opts:  # there, a delete-only commit is empty: no snapshot
        assert len(mpcli.snapshot_ids(wh, name)) >= commits
    if engine == "first-row":
        if _compact_full(wh, name) is None:
            pytest.skip("no `millpond compact --full` yet: Paimon readers skip level-0 first-row files")
        check_all_readers(wh, name, model.expected(), tmp_path)


def test_csv_and_jsonl_upserts_match_parquet(tmp_path):
    """The same upserts from CSV and JSON Lines give the same table as from Parquet."""
    spec = Spec(False)
    wh = tmp_path / "wh"
    for name in ("db.csv", "db.jsonl"):
        mpcli.ok(wh, "table", "create", name, "--schema", spec.schema_text(),
                 "--primary-key", "id", "--bucket", "2")
    (tmp_path / "a.csv").write_text("id,v,s,n\n1,1.5,a,1\n2,2.5,b,2\n1,3.5,c,3\n")
    (tmp_path / "a.jsonl").write_text('{"id":1,"v":1.5,"s":"a","n":1}\n{"id":2,"v":2.5,"s":"b","n":2}\n'
                                      '{"id":1,"v":3.5,"s":"c","n":3}\n')
    (tmp_path / "d.csv").write_text("id\n2\n")
    (tmp_path / "d.jsonl").write_text('{"id":2}\n')
    mpcli.ok(wh, "write", "db.csv", "--input", tmp_path / "a.csv")
    mpcli.ok(wh, "write", "db.csv", "--input", tmp_path / "d.csv", "--mode", "delete")
    mpcli.ok(wh, "write", "db.jsonl", "--input", tmp_path / "a.jsonl")
    mpcli.ok(wh, "write", "db.jsonl", "--input", tmp_path / "d.jsonl", "--mode", "delete")
    expected = canonical.rows(spec.table([{"id": 1, "v": 3.5, "s": "c", "n": 3}]))
    for name in ("db.csv", "db.jsonl"):
        check_all_readers(wh, name, expected, tmp_path)


# ---------------------------------------------------------------------------------------------
# (b) pypaimon writes, millpond reads (and appends)

@pytest.mark.skipif(bool(PYPAIMON_MISSING), reason=str(PYPAIMON_MISSING))
@pytest.mark.parametrize("partitioned", [False, True], ids=["unpartitioned", "partitioned"])
def test_millpond_reads_and_extends_pypaimon_pk_table(tmp_path, partitioned):
    rnd = random.Random(31 + int(partitioned))
    spec = Spec(partitioned)
    wh = str(tmp_path / "wh")
    name = "db.py"
    model = Model(spec, "deduplicate")
    for commit in range(4):
        rows = [_random_row(spec, rnd, 200, commit) for _ in range(rnd.choice([10, 300, 800]))]
        # pypaimon keeps the last of duplicate keys within one commit, as Paimon does.
        path = _write_parquet(tmp_path, spec.table(rows))
        harness.pypaimon_write(wh, name, str(path), partition=["dt"] if partitioned else None,
                               primary_key=spec.key, bucket=3)
        for row in rows:
            model.apply(row, "+I")
    expected = model.expected()
    assert harness.pypaimon_read(wh, name) == expected, "pypaimon disagrees with the model"
    assert mpcli.scan_rows(wh, name, out_dir=tmp_path / "scan") == expected
    # millpond appends upserts, deletes and a row-kind commit on top of pypaimon's files.
    for commit in range(4, 8):
        rows = [_random_row(spec, rnd, 200, commit) for _ in range(300)]
        if commit == 6:
            existing = list(model.rows)
            for row in rows:
                row.update(dict(zip(spec.key, rnd.choice(existing))))
            mpcli.ok(wh, "write", name, "--input", _write_parquet(tmp_path, spec.table(rows)),
                     "--mode", "delete")
            for row in rows:
                model.apply(row, "-D")
        elif commit == 7:
            kinds = [rnd.choice(["+I", "+U", "-D"]) for _ in rows]
            mpcli.ok(wh, "write", name, "--input",
                     _write_parquet(tmp_path, spec.table(rows, kinds)))
            for row, kind in zip(rows, kinds):
                model.apply(row, kind)
        else:
            mpcli.ok(wh, "write", name, "--input", _write_parquet(tmp_path, spec.table(rows)))
            for row in rows:
                model.apply(row, "+I")
    check_all_readers(wh, name, model.expected(), tmp_path)
    # ... and pypaimon can keep writing after millpond (sequence numbers continue).
    rows = [_random_row(spec, rnd, 200, 9) for _ in range(200)]
    harness.pypaimon_write(wh, name, str(_write_parquet(tmp_path, spec.table(rows))))
    for row in rows:
        model.apply(row, "+I")
    check_all_readers(wh, name, model.expected(), tmp_path)


# ---------------------------------------------------------------------------------------------
# (c) bad input: one clear line, exit 1, table unchanged

def _files(root):
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in Path(root).rglob("*")
                  if p.is_file())


class Committed:
    """A committed PK table (two commits) whose state a failing command must leave untouched."""

    def __init__(self, tmp_path, extra=()):
        self.spec = Spec(False)
        self.wh = tmp_path / "wh"
        self.name = "db.t"
        self.tmp = tmp_path
        mpcli.ok(self.wh, "table", "create", self.name, "--schema", self.spec.schema_text(),
                 "--primary-key", "id", "--bucket", "2", *extra)
        rows = [{"id": i, "v": i / 2, "s": "r%d" % i, "n": i} for i in range(20)]
        mpcli.ok(self.wh, "write", self.name, "--input",
                 _write_parquet(tmp_path, self.spec.table(rows)))
        mpcli.ok(self.wh, "write", self.name, "--input",
                 _write_parquet(tmp_path, self.spec.table(
                     [{"id": i, "v": -1.0, "s": "u", "n": 0} for i in range(0, 20, 3)])))
        self.table_dir = self.wh / "db.db" / "t"
        self.before = self.state()

    def state(self):
        return (mpcli.snapshot_ids(self.wh, self.name),
                mpcli.scan_rows(self.wh, self.name, out_dir=self.tmp / "scan"),
                _files(self.table_dir))

    def assert_unchanged(self):
        assert self.state() == self.before, "a failed command changed the table"


def test_null_primary_key_in_parquet_names_row_and_column(tmp_path):
    t = Committed(tmp_path)
    rows = [{"id": 100, "v": 1.0}, {"id": 101, "v": 2.0}, {"id": None, "v": 3.0}, {"id": 103}]
    line = mpcli.fails(t.wh, "write", t.name, "--input", _write_parquet(tmp_path, t.spec.table(rows)))
    assert "'id'" in line or '"id"' in line or " id " in line, line
    assert "null" in line.lower(), line
    assert re.search(r"\brow 3\b", line), "the third row (1-based) should be named: " + line
    t.assert_unchanged()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_null_primary_key_in_text_input(tmp_path, fmt):
    t = Committed(tmp_path)
    path = tmp_path / ("bad." + fmt)
    if fmt == "csv":
        path.write_text("id,v\n100,1.0\n,2.0\n")
    else:
        path.write_text('{"id":100,"v":1.0}\n{"id":null,"v":2.0}\n')
    line = mpcli.fails(t.wh, "write", t.name, "--input", path)
    assert "id" in line and "null" in line.lower(), line
    assert re.search(r"\b(row|line) 2\b", line), "the second row should be named: " + line
    t.assert_unchanged()


def test_null_primary_key_in_delete_mode(tmp_path):
    t = Committed(tmp_path)
    path = _write_parquet(tmp_path, t.spec.table([{"id": 1}, {"id": None}]))
    line = mpcli.fails(t.wh, "write", t.name, "--input", path, "--mode", "delete")
    assert "id" in line and "null" in line.lower(), line
    t.assert_unchanged()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_key_type_mismatch(tmp_path, fmt):
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = Committed(tmp_path)
    path = tmp_path / ("bad." + fmt)
    if fmt == "csv":
        path.write_text("id,v\n100,1.0\nabc,2.0\n")
    elif fmt == "jsonl":
        path.write_text('{"id":100,"v":1.0}\n{"id":"abc","v":2.0}\n')
    else:
        pq.write_table(pa.table({"id": pa.array(["100", "abc"]), "v": [1.0, 2.0]}), str(path))
    line = mpcli.fails(t.wh, "write", t.name, "--input", path)
    assert "id" in line, line
    if fmt == "csv":
        assert "abc" in line and "row 2" in line, "the bad value should be named: " + line
    elif fmt == "jsonl":  # Arrow's JSON reader types the column from the first row
        assert "abc" in line or re.search(r"\b(row|line) 2\b", line), line
    t.assert_unchanged()


@pytest.mark.parametrize("how", [["--merge-engine", "nope"], ["--option", "merge-engine=nope"]],
                         ids=["flag", "option"])
def test_unknown_merge_engine_at_create(tmp_path, how):
    wh = tmp_path / "wh"
    mpcli.ok(wh, "table", "create", "db.other", "--schema", "id BIGINT", "--primary-key", "id",
             "--bucket", "1")
    before = _files(wh)
    line = mpcli.fails(wh, "table", "create", "db.t", "--schema", "id BIGINT, v DOUBLE",
                       "--primary-key", "id", "--bucket", "2", *how)
    assert "nope" in line and "merge" in line, line
    assert _files(wh) == before, "a refused create left files behind"
    assert "db.t" not in mpcli.ok(wh, "tables").out


def test_unknown_aggregate_function(tmp_path):
    """An unknown `fields.v.aggregate-function` must be refused before anything is committed:
    at create (as Paimon's option validation would), or at the first write. A table that accepts
    writes and then cannot be read by anyone is the failure this test catches."""
    wh = tmp_path / "wh"
    spec = Spec(False)
    r = mpcli.run(wh, "table", "create", "db.t", "--schema", spec.schema_text(),
                  "--primary-key", "id", "--bucket", "2", "--merge-engine", "aggregation",
                  "--option", "fields.v.aggregate-function=nope")
    if r.rc != 0:
        line = mpcli.fails(wh, "table", "create", "db.t", "--schema", spec.schema_text(),
                           "--primary-key", "id", "--bucket", "2", "--merge-engine",
                           "aggregation", "--option", "fields.v.aggregate-function=nope")
        assert "nope" in line, line
        assert not (wh / "db.db" / "t").exists() or not list((wh / "db.db" / "t").rglob("schema-*"))
        return
    # Accepted at create: the first write must then refuse it, committing nothing.
    path = _write_parquet(tmp_path, spec.table([{"id": 1, "v": 1.0}, {"id": 1, "v": 2.0}]))
    w = mpcli.run(wh, "write", "db.t", "--input", path)
    snaps = mpcli.snapshot_ids(wh, "db.t")
    s = mpcli.run(wh, "scan", "db.t")
    assert w.rc != 0, (
        "unknown aggregate function 'nope' accepted at create AND at write (snapshots %s); "
        "the table is now unreadable: scan rc=%d stderr=%r" % (snaps, s.rc, s.err.strip()))
    line = mpcli.fails(wh, "write", "db.t", "--input", path)
    assert "nope" in line and "v" in line, line
    assert snaps == [], "a refused write committed snapshots %s" % snaps


def test_aggregate_function_nope_on_read_names_it(tmp_path):
    """Whatever the write path does, a read of such a table is one line naming the function."""
    wh = tmp_path / "wh"
    spec = Spec(False)
    r = mpcli.run(wh, "table", "create", "db.t", "--schema", spec.schema_text(),
                  "--primary-key", "id", "--bucket", "2", "--merge-engine", "aggregation",
                  "--option", "fields.v.aggregate-function=nope")
    if r.rc != 0:
        pytest.skip("refused at create (the better behaviour)")
    path = _write_parquet(tmp_path, spec.table([{"id": 1, "v": 1.0}, {"id": 1, "v": 2.0}]))
    if mpcli.run(wh, "write", "db.t", "--input", path).rc != 0:
        pytest.skip("refused at write")
    line = mpcli.fails(wh, "scan", "db.t")
    assert "nope" in line and "'v'" in line, line


def test_manifest_names_missing_data_file(tmp_path):
    t = Committed(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(t.wh, broken)
    data = sorted(p for p in (broken / "db.db" / "t").rglob("data-*") if p.is_file())
    assert data, "no data files found"
    victim = data[len(data) // 2]
    os.remove(victim)
    snaps = mpcli.snapshot_ids(broken, t.name)
    files = _files(broken / "db.db" / "t")
    r = mpcli.run(broken, "scan", t.name)
    assert r.rc == 1, r
    line = mpcli.fails(broken, "scan", t.name, "--format", "jsonl")
    assert victim.name in line, "the missing file should be named: " + line
    # Writing to the broken table must not make things worse either way; it is not required to
    # fail (the new files do not need the missing one), but the state we compare stays intact.
    assert mpcli.snapshot_ids(broken, t.name) == snaps
    assert _files(broken / "db.db" / "t") == files
    t.assert_unchanged()  # the original is untouched by all of this


def test_manifest_names_missing_data_file_partial_scan(tmp_path):
    """A filtered scan whose key lands in the broken bucket also fails with one line."""
    t = Committed(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(t.wh, broken)
    data = sorted(p for p in (broken / "db.db" / "t").rglob("data-*") if p.is_file())
    for p in data:
        if "bucket-0" in str(p):
            os.remove(p)
            break
    # Some key lives in bucket 0; scanning every key one by one must hit it.
    failures = []
    for k in range(20):
        r = mpcli.run(broken, "scan", t.name, "--where", "id = %d" % k, "--format", "jsonl")
        if r.rc != 0:
            failures.append(r)
    assert failures, "no point lookup noticed the missing file"
    for r in failures:
        assert r.rc == 1, r
        lines = [x for x in r.err.split("\n") if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("millpond: error:"), r
