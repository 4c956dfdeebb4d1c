"""millpond against the real Paimon implementations, row for row.

- millpond writes tables; Paimon Java and pypaimon read them and agree with millpond's own scan
  and with the source data (partitioned+bucketed, bucket-unaware, every type, several commits and
  time travel, schema evolution).
- millpond reads the Java-written golden tables in place (every append table) and agrees with
  Java (and, for a few, with the rows hand-translated from their READMEs).
- millpond reads tables pypaimon wrote.

Rows are compared as sorted canonical JSON lines (tests/interop/canonical.py).
"""

import datetime
import decimal
import glob
import json
import os
import random
from pathlib import Path

import pytest

import mpcli
from mpcli import canonical, fails, harness, ok, scan_rows

import test_interop_tools as golden_rows  # README rows, hand-translated (never from a tool)

pytestmark = pytest.mark.skipif(bool(mpcli.bin_missing()), reason=str(mpcli.bin_missing()))

JAVA_MISSING = harness.java_missing()
PYPAIMON_MISSING = harness.pypaimon_missing()
GOLDEN_MISSING = None if harness.GOLDEN.is_dir() else "golden tables not found at %s" % harness.GOLDEN
needs_java = pytest.mark.skipif(bool(JAVA_MISSING), reason=str(JAVA_MISSING))
needs_pypaimon = pytest.mark.skipif(bool(PYPAIMON_MISSING), reason=str(PYPAIMON_MISSING))
needs_golden = pytest.mark.skipif(bool(JAVA_MISSING or GOLDEN_MISSING), reason=str(JAVA_MISSING or GOLDEN_MISSING))


def write_parquet(table, path):
    import pyarrow.parquet as pq
    pq.write_table(table, str(path))
    return str(path)


def check_all_readers(wh, name, expected, tmp_path, snapshot=None):
    """millpond's scan, Paimon Java and pypaimon all return exactly `expected`."""
    args = ["--snapshot", snapshot] if snapshot is not None else []
    assert scan_rows(wh, name, *args, out_dir=tmp_path / "scans") == expected, "millpond scan"
    if not JAVA_MISSING:
        assert harness.java_read(wh, name, snapshot=snapshot) == expected, "Paimon Java"
    if not PYPAIMON_MISSING:
        assert harness.pypaimon_read(wh, name, snapshot=snapshot) == expected, "pypaimon"


# ---- millpond writes, Java and pypaimon read ----------------------------------------------------

def _simple_table(n, seed, id0=0):
    import pyarrow as pa
    rnd = random.Random(seed)
    parts = ["north", "south", "east"]
    return pa.table({
        "id": pa.array([id0 + i for i in range(n)], pa.int64()),
        "part": pa.array([parts[i % 3] for i in range(n)], pa.string()),
        "v": pa.array([None if i % 7 == 0 else rnd.uniform(-1e6, 1e6) for i in range(n)], pa.float64()),
        "s": pa.array(["s%d-%s" % (i, "x" * rnd.randint(0, 20)) for i in range(n)], pa.string()),
    }, schema=pa.schema([pa.field("id", pa.int64(), nullable=False), ("part", pa.string()),
                         ("v", pa.float64()), ("s", pa.string())]))


def test_partitioned_bucketed_table(tmp_path):
    t = _simple_table(300, 1)
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id BIGINT NOT NULL, part STRING, v DOUBLE, s STRING",
       "--partition", "part", "--bucket", "3", "--bucket-key", "id")
    ok(wh, "write", "db.t", "--input", write_parquet(t, tmp_path / "in.parquet"))
    table_dir = wh / "db.db" / "t"
    buckets = {p.parent.name for p in table_dir.glob("part=*/bucket-*/*.parquet")}
    assert buckets == {"bucket-0", "bucket-1", "bucket-2"}
    assert {p.name for p in table_dir.glob("part=*")} == {"part=north", "part=south", "part=east"}
    check_all_readers(str(wh), "db.t", canonical.rows(t), tmp_path)


def test_unpartitioned_bucket_unaware_table(tmp_path):
    t = _simple_table(200, 2)
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id BIGINT NOT NULL, part STRING, v DOUBLE, s STRING")
    ok(wh, "write", "db.t", "--input", write_parquet(t, tmp_path / "in.parquet"))
    assert list((wh / "db.db" / "t").glob("bucket-0/*.parquet"))
    check_all_readers(str(wh), "db.t", canonical.rows(t), tmp_path)


# Every type: (name, millpond type, Arrow type of the Parquet input).
def _every_type_columns():
    import pyarrow as pa
    return [
        ("id", "INT NOT NULL", pa.int32()),
        ("b", "BOOLEAN", pa.bool_()),
        ("i8", "TINYINT", pa.int8()), ("i16", "SMALLINT", pa.int16()), ("i32", "INT", pa.int32()),
        ("i64", "BIGINT NOT NULL", pa.int64()),
        ("f32", "FLOAT", pa.float32()), ("f64", "DOUBLE", pa.float64()),
        ("d10", "DECIMAL(10,2)", pa.decimal128(10, 2)), ("d30", "DECIMAL(30,5)", pa.decimal128(30, 5)),
        ("c5", "CHAR(5)", pa.string()), ("vc", "VARCHAR(20)", pa.string()), ("s", "STRING NOT NULL", pa.string()),
        ("bin", "BINARY(4)", pa.binary()), ("vb", "VARBINARY(10)", pa.binary()), ("by", "BYTES", pa.binary()),
        ("dt", "DATE", pa.date32()), ("tm", "TIME(3)", pa.time32("ms")),
        ("ts3", "TIMESTAMP(3)", pa.timestamp("ms")), ("ts6", "TIMESTAMP(6)", pa.timestamp("us")),
        ("ts9", "TIMESTAMP(9)", pa.timestamp("ns")),
        ("lz3", "TIMESTAMP(3) WITH LOCAL TIME ZONE", pa.timestamp("ms", tz="UTC")),
        ("lz6", "TIMESTAMP(6) WITH LOCAL TIME ZONE", pa.timestamp("us", tz="UTC")),
        ("arr", "ARRAY<INT>", pa.list_(pa.int32())),
        ("m", "MAP<STRING, INT>", pa.map_(pa.string(), pa.int32())),
        ("r", "ROW<x INT, y STRING>", pa.struct([("x", pa.int32()), ("y", pa.string())])),
    ]


def _every_type_table():
    import pyarrow as pa
    D = decimal.Decimal
    rows = [
        dict(id=1, b=True, i8=-128, i16=32767, i32=-2147483648, i64=-9223372036854775808, f32=0.1, f64=0.1,
             d10=D("12345678.90"), d30=D("1234567890123456789012345.12345"), c5="ab", vc="h\u00e9llo \u20ac",
             s='q" \\ \n \U0001F600 \x7f', bin=b"\x00\x01\x02\x03", vb=b"\xff", by=b"abc",
             dt=datetime.date(1899, 12, 31), tm=datetime.time(23, 59, 59, 999000), ts3=-1, ts6=1700000000123456,
             ts9=1700000000123456789, lz3=0, lz6=1700000000000001, arr=[1, None, 3], m=[("k2", 2), ("k1", None)],
             r={"x": 1, "y": "z"}),
        dict(id=2, b=False, i8=127, i16=-32768, i32=2147483647, i64=9223372036854775807, f32=-0.0, f64=1e16,
             d10=D("-0.01"), d30=D("-99999999999999999999999.99999"), c5="abcde", vc="", s="", bin=b"abcd",
             vb=b"", by=b"", dt=datetime.date(2024, 2, 29), tm=datetime.time(0, 0), ts3=1700000000123, ts6=-1,
             ts9=-1, lz3=-1, lz6=-1, arr=[], m=[], r={"x": None, "y": None}),
        dict(id=3, b=None, i8=None, i16=None, i32=None, i64=3, f32=None, f64=None, d10=None, d30=None, c5=None,
             vc=None, s="x", bin=None, vb=None, by=None, dt=None, tm=None, ts3=None, ts6=None, ts9=None,
             lz3=None, lz6=None, arr=None, m=None, r=None),
        dict(id=4, b=True, i8=0, i16=0, i32=0, i64=0, f32=3.4028235e38, f64=float("nan"), d10=D("0.00"),
             d30=D("0.00001"), c5="\u00fc", vc="x" * 20, s="y", bin=b"\xff\xff\xff\xff", vb=b"0123456789",
             by=bytes(range(256)), dt=datetime.date(1970, 1, 1), tm=datetime.time(12, 0, 0, 1000),
             ts3=4102444800000, ts6=-2208988800000000, ts9=0, lz3=1, lz6=4102444800000001,
             arr=[None], m=[("only", -1)], r={"x": -5, "y": ""}),
    ]
    cols = _every_type_columns()
    schema = pa.schema([pa.field(n, t, nullable="NOT NULL" not in ty) for n, ty, t in cols])
    return pa.table({f.name: pa.array([r[f.name] for r in rows], type=f.type) for f in schema}, schema=schema)


def test_every_type(tmp_path):
    t = _every_type_table()
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", ", ".join("%s %s" % (n, ty) for n, ty, _ in _every_type_columns()))
    ok(wh, "write", "db.t", "--input", write_parquet(t, tmp_path / "in.parquet"))
    # The schema file says what the columns are, NOT NULL included (Java reads it).
    schema = json.loads((wh / "db.db" / "t" / "schema" / "schema-0").read_text())
    types = {f["name"]: f["type"] for f in schema["fields"]}
    assert types["id"] == "INT NOT NULL" and types["s"] == "STRING NOT NULL" and types["b"] == "BOOLEAN"
    assert types["lz6"] == "TIMESTAMP(6) WITH LOCAL TIME ZONE" and types["ts9"] == "TIMESTAMP(9)"
    check_all_readers(str(wh), "db.t", canonical.rows(t), tmp_path)


def _extreme_timestamps(with_nanos):
    import pyarrow as pa
    cols = {
        "id": pa.array([1, 2, 3], pa.int32()),
        "ts3": pa.array([253402300799999, -62135596800000, None], pa.timestamp("ms")),  # 9999-12-31, 0001-01-01
        "ts6": pa.array([-62135596800000000, 253402300799999999, 0], pa.timestamp("us")),
        "lz6": pa.array([253402300799999999, -62135596800000000, None], pa.timestamp("us", tz="UTC")),
    }
    types = "id INT, ts3 TIMESTAMP(3), ts6 TIMESTAMP(6), lz6 TIMESTAMP(6) WITH LOCAL TIME ZONE"
    if with_nanos:
        cols["ts9"] = pa.array([1, None, -1], pa.timestamp("ns"))
        types += ", ts9 TIMESTAMP(9)"
    return pa.table(cols), types


@pytest.mark.parametrize("with_nanos", [False, True], ids=["millis_micros_only", "with_a_nanos_column"])
def test_timestamps_years_1_and_9999(tmp_path, with_nanos):
    """TIMESTAMP(3)/(6) span years 1..9999 (Paimon's range). Java writes them as INT64
    TIMESTAMP_MILLIS/MICROS whatever other columns the table has; an INT96 (nanos) column only
    holds 1677..2262 once read as Arrow nanos."""
    t, types = _extreme_timestamps(with_nanos)
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", types)
    ok(wh, "write", "db.t", "--input", write_parquet(t, tmp_path / "in.parquet"))
    expected = canonical.rows(t)
    if not with_nanos:
        check_all_readers(str(wh), "db.t", expected, tmp_path)
        return
    # Arrow's Parquet writer applies INT96 to every timestamp column of a file once one column
    # needs it (TIMESTAMP(7..9), as Paimon Java writes them). millpond and Paimon Java read the
    # INT96 millis/micros columns back exactly; pypaimon decodes every INT96 as Arrow nanos and
    # wraps years outside 1677..2262 — a pypaimon limitation, pinned here so a fix shows up.
    assert scan_rows(str(wh), "db.t", out_dir=tmp_path / "scans") == expected
    if not JAVA_MISSING:
        assert harness.java_read(str(wh), "db.t") == expected
    if not PYPAIMON_MISSING:
        assert harness.pypaimon_read(str(wh), "db.t") != expected


def test_every_type_partitioned_by_several_types(tmp_path):
    """Partition values of several types go through the partition path and the BinaryRow."""
    import pyarrow as pa
    t = pa.table({
        "p_int": pa.array([1, 1, -2, None], pa.int32()),
        "p_str": pa.array(["a b", "a b", "x/y=z", "q"], pa.string()),
        "p_date": pa.array([datetime.date(2024, 1, 1)] * 2 + [datetime.date(1969, 12, 31), None], pa.date32()),
        "p_bool": pa.array([True, True, False, None], pa.bool_()),
        "v": pa.array([1.5, 2.5, None, 4.0], pa.float64()),
    })
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "p_int INT, p_str STRING, p_date DATE, p_bool BOOLEAN, v DOUBLE",
       "--partition", "p_int,p_str,p_date,p_bool")
    ok(wh, "write", "db.t", "--input", write_parquet(t, tmp_path / "in.parquet"))
    check_all_readers(str(wh), "db.t", canonical.rows(t), tmp_path)


def test_several_commits_and_time_travel(tmp_path):
    import pyarrow as pa
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id BIGINT NOT NULL, part STRING, v DOUBLE, s STRING",
       "--partition", "part", "--bucket", "2", "--bucket-key", "id")
    batches = [_simple_table(50, 10 + i, id0=1000 * i) for i in range(4)]
    for i, b in enumerate(batches):
        ok(wh, "write", "db.t", "--input", write_parquet(b, tmp_path / ("in%d.parquet" % i)))
    assert mpcli.snapshot_ids(wh, "db.t") == [1, 2, 3, 4]
    for snap in [1, 2, 3, 4]:
        expected = canonical.rows(pa.concat_tables(batches[:snap]))
        check_all_readers(str(wh), "db.t", expected, tmp_path, snapshot=snap)
    check_all_readers(str(wh), "db.t", canonical.rows(pa.concat_tables(batches)), tmp_path)


def test_schema_evolution(tmp_path):
    """add column, rename, drop, widen INT->BIGINT; old files are read under the new schema."""
    import pyarrow as pa
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", "id INT NOT NULL, code INT, name STRING, old STRING",
       "--partition", "name")
    # schema 0
    t0 = pa.table({"id": pa.array([1, 2, 3], pa.int32()), "code": pa.array([10, None, -2147483648], pa.int32()),
                   "name": ["a", "b", "a"], "old": ["o1", "o2", None]})
    ok(wh, "write", "db.t", "--input", write_parquet(t0, tmp_path / "in0.parquet"))
    # schema 1: + extra DOUBLE
    ok(wh, "alter", "db.t", "--add-column", "extra DOUBLE")
    t1 = pa.table({"id": pa.array([4], pa.int32()), "code": pa.array([40], pa.int32()), "name": ["b"],
                   "old": ["o4"], "extra": [4.5]})
    ok(wh, "write", "db.t", "--input", write_parquet(t1, tmp_path / "in1.parquet"))
    # schema 2: rename old -> note
    ok(wh, "alter", "db.t", "--rename-column", "old=note")
    t2 = pa.table({"id": pa.array([5], pa.int32()), "code": pa.array([50], pa.int32()), "name": ["c"],
                   "note": ["n5"], "extra": [5.5]})
    ok(wh, "write", "db.t", "--input", write_parquet(t2, tmp_path / "in2.parquet"))
    # schema 3: drop extra
    ok(wh, "alter", "db.t", "--drop-column", "extra")
    # schema 4: code INT -> BIGINT
    ok(wh, "alter", "db.t", "--alter-type", "code BIGINT")
    t3 = pa.table({"id": pa.array([6], pa.int32()), "code": pa.array([2 ** 40], pa.int64()), "name": ["a"],
                   "note": [None]})
    ok(wh, "write", "db.t", "--input", write_parquet(t3, tmp_path / "in3.parquet"))

    schema_files = sorted((wh / "db.db" / "t" / "schema").glob("schema-*"))
    assert len(schema_files) >= 4
    latest = json.loads(max(schema_files, key=lambda p: int(p.name.split("-")[1])).read_text())
    assert [(f["name"], f["type"]) for f in latest["fields"]] == [
        ("id", "INT NOT NULL"), ("code", "BIGINT"), ("name", "STRING"), ("note", "STRING")]

    def row(i, code, name, note):
        return {"id": i, "code": code, "name": name, "note": note}
    expected = sorted(json.dumps(r, separators=(",", ":")) for r in [
        row(1, 10, "a", "o1"), row(2, None, "b", "o2"), row(3, -2147483648, "a", None), row(4, 40, "b", "o4"),
        row(5, 50, "c", "n5"), row(6, 2 ** 40, "a", None)])
    check_all_readers(str(wh), "db.t", expected, tmp_path)
    # Time travel to snapshot 1 gives its 3 rows, as Java gives them.
    snap1 = scan_rows(wh, "db.t", "--snapshot", 1, out_dir=tmp_path / "s")
    assert sorted(json.loads(x)["id"] for x in snap1) == [1, 2, 3]
    if not JAVA_MISSING:
        assert snap1 == harness.java_read(str(wh), "db.t", snapshot=1)


# ---- millpond reads the Java-written golden tables ----------------------------------------------

# Every table without primary keys in the golden tree (branch folders are not tables).
GOLDEN_APPEND = [
    "parquet/append_09.db/append_09",
    "parquet/append_10.db/append_10",
    "orc/append_10.db/append_10",
    "parquet/append_complex_build_in_fieldid.db/append_complex_build_in_fieldid",
    "parquet/append_complex_data.db/append_complex_data",
    "parquet/append_table_alter_table_with_cast.db/append_table_alter_table_with_cast",
    "parquet/append_table_alter_table_with_cast_with_data_evolution.db/"
    "append_table_alter_table_with_cast_with_data_evolution",
    "parquet/append_table_row_tracking_with_compact.db/append_table_row_tracking_with_compact",
    "parquet/append_table_with_alter_table.db/append_table_with_alter_table",
    "parquet/append_table_with_append_pt_branch.db/append_table_with_append_pt_branch",
    "parquet/append_table_with_rt_branch.db/append_table_with_rt_branch",
    "parquet/append_with_bitmap.db/append_with_bitmap",
    "parquet/append_with_bitmap_alter_table.db/append_with_bitmap_alter_table",
    "parquet/append_with_bitmap_no_embedding.db/append_with_bitmap_no_embedding",
    "parquet/append_with_bitmap_v1.db/append_with_bitmap_v1",
    "parquet/append_with_bloomfilter.db/append_with_bloomfilter",
    "parquet/append_with_bsi.db/append_with_bsi",
    "parquet/append_with_bsi_bitmap_bloomfilter.db/append_with_bsi_bitmap_bloomfilter",
    "parquet/append_with_cast_timestamp.db/append_with_cast_timestamp",
    "parquet/append_with_empty_partition.db/append_with_empty_partition",
    "parquet/append_with_empty_partition_with_empty_value.db/append_with_empty_partition_with_empty_value",
    "parquet/append_with_empty_partition_with_specific_name.db/append_with_empty_partition_with_specific_name",
    "parquet/append_with_global_index.db/append_with_global_index",
    "parquet/append_with_global_index_with_partition.db/append_with_global_index_with_partition",
    "parquet/append_with_multiple_ts_precision_and_timezone.db/append_with_multiple_ts_precision_and_timezone",
    "avro/append_with_multiple_ts_precision_and_timezone.db/append_with_multiple_ts_precision_and_timezone",
    "append_table_with_multiple_file_format.db/append_table_with_multiple_file_format",
    "parquet/parquet_append_table.db/parquet_append_table",
    "parquet/blob_append_table_alter_table_with_cast_with_data_evolution.db/"
    "blob_append_table_alter_table_with_cast_with_data_evolution",
    "parquet/blob_data_evolution_with_dense_stats.db/blob_data_evolution_with_dense_stats",
    "parquet/data_evolution_with_dense_stats.db/data_evolution_with_dense_stats",
    "parquet/data_evolution_with_index.db/data_evolution_with_index",
    "db_with_blob.db/table_with_blob",
]

# Features millpond does not support yet. Each of these fails today; strict, so a fix shows up.
UNSUPPORTED = {
}


def _golden_param(path):
    name = path.split("/")[-1]
    marks = []
    if name in UNSUPPORTED:
        marks.append(pytest.mark.xfail(strict=True, reason=UNSUPPORTED[name]))
    top = path.split("/")[0]
    return pytest.param(path, marks=marks, id="%s-%s" % (name, top if top in ("parquet", "orc", "avro") else "db"))


def _golden_snapshots(path):
    return sorted(int(p.name.split("-")[1]) for p in (harness.GOLDEN / path / "snapshot").glob("snapshot-*"))


@needs_golden
def test_golden_list_is_complete():
    """Every table without primary keys under the golden tree is in GOLDEN_APPEND."""
    found = []
    for schema0 in glob.glob(str(harness.GOLDEN / "**" / "schema" / "schema-0"), recursive=True):
        table = Path(schema0).parents[1]
        rel = str(table.relative_to(harness.GOLDEN))
        if "/branch/" in rel or json.loads(Path(schema0).read_text()).get("primaryKeys"):
            continue
        found.append(rel)
    assert sorted(found) == sorted(GOLDEN_APPEND)


@needs_golden
@pytest.mark.parametrize("path", [_golden_param(p) for p in GOLDEN_APPEND])
def test_millpond_reads_golden(path, tmp_path):
    warehouse, table = harness.golden(path)
    expected = harness.java_read(warehouse, table)
    assert expected, "Java returned no rows"
    assert scan_rows(warehouse, table, out_dir=tmp_path) == expected


@needs_golden
@pytest.mark.parametrize("path", [p for p in GOLDEN_APPEND if p.split("/")[-1] in UNSUPPORTED])
def test_unsupported_golden_features_are_refused_not_misread(path):
    """Until branches, BLOB and data evolution land, millpond says so instead of returning rows
    that differ from Paimon Java's."""
    warehouse, table = harness.golden(path)
    assert "NotImplemented" in fails(warehouse, "scan", table, "--format", "csv")


GOLDEN_PK = [
    "parquet/pk_09.db/pk_09",
    "parquet/pk_table_with_mor.db/pk_table_with_mor",
    "parquet/pk_table_scan_and_read_mor.db/pk_table_scan_and_read_mor",
    "parquet/pk_table_scan_and_read_dv.db/pk_table_scan_and_read_dv",
    "parquet/pk_table_scan_and_read_first_row.db/pk_table_scan_and_read_first_row",
    "parquet/pk_table_partial_update.db/pk_table_partial_update",
    "parquet/pk_table_with_dv_cardinality.db/pk_table_with_dv_cardinality",
    "parquet/pk_dv_index_in_data_no_external.db/pk_dv_index_in_data_no_external",
    "parquet/pk_dv_index_not_in_data_no_external.db/pk_dv_index_not_in_data_no_external",
    "parquet/pk_table_nested_type.db/pk_table_nested_type",
    "parquet/pk_table_with_alter_table.db/pk_table_with_alter_table",
    "parquet/pk_with_bitmap_dv.db/pk_with_bitmap_dv",
    "orc/pk_09.db/pk_09",
    "orc/pk_table_partial_update.db/pk_table_partial_update",
    "orc/pk_table_with_alter_table.db/pk_table_with_alter_table",
]


@needs_golden
@pytest.mark.parametrize("path", GOLDEN_PK)
def test_millpond_reads_golden_primary_key_tables(path, tmp_path):
    """Merge-on-read (deduplicate, partial-update, first-row), deletion vectors and schema changes
    on primary-key tables written by Paimon Java: the same rows as Java returns."""
    warehouse, table = harness.golden(path)
    expected = harness.java_read(warehouse, table)
    assert expected, "Java returned no rows"
    assert scan_rows(warehouse, table, out_dir=tmp_path) == expected


# (golden path, snapshot, rows from the README)
README_CASES = golden_rows.BOTH_READ + golden_rows.JAVA_ONLY_READ


@needs_golden
@pytest.mark.parametrize("case", README_CASES, ids=golden_rows._id)
def test_millpond_reads_golden_as_readme_says(case, tmp_path):
    path, snapshot, expected = case
    warehouse, table = harness.golden(path)
    args = ["--snapshot", snapshot] if snapshot is not None else []
    assert scan_rows(warehouse, table, *args, out_dir=tmp_path) == expected


TIME_TRAVEL = [p for p in GOLDEN_APPEND if p.split("/")[-1] not in UNSUPPORTED and len(
    list((harness.GOLDEN / p / "snapshot").glob("snapshot-*"))) > 1] if not GOLDEN_MISSING else []


@needs_golden
@pytest.mark.parametrize("path", [_golden_param(p) for p in TIME_TRAVEL])
def test_millpond_time_travel_on_golden(path, tmp_path):
    warehouse, table = harness.golden(path)
    snaps = _golden_snapshots(path)
    assert len(snaps) > 1
    for snap in snaps:
        try:
            expected = harness.java_read(warehouse, table, snapshot=snap)
        except harness.ToolError as e:
            if "Required column is missing" in str(e):
                # Data evolution: at this snapshot a NOT NULL column (a BLOB written later) has no
                # file for some rows. Java refuses the read; so does millpond, naming the column.
                assert "is NOT NULL but no file holds it" in fails(
                    warehouse, "scan", table, "--snapshot", snap, "--format", "csv")
                continue
            # Paimon Java 1.4.2 refuses time travel on a scan.fallback-branch table once the
            # branches' schemas differ ("does not have the same row type"); at the latest snapshot
            # the plain read is the reference.
            assert "does not have the same row type" in str(e) and snap == snaps[-1], e
            expected = harness.java_read(warehouse, table)
        assert scan_rows(warehouse, table, "--snapshot", snap, out_dir=tmp_path) == expected, \
            "snapshot %d" % snap


@needs_golden
def test_millpond_leaves_golden_untouched_and_ignores_time_zone(tmp_path):
    path = "parquet/append_with_multiple_ts_precision_and_timezone.db/append_with_multiple_ts_precision_and_timezone"
    warehouse, table = harness.golden(path)
    before = harness.tree_state(harness.GOLDEN / "parquet")
    for tz in ["UTC", "Asia/Shanghai", "America/Los_Angeles"]:
        r = mpcli.run(warehouse, "scan", table, "--format", "parquet", "--output", tmp_path / ("o-%s.parquet" % tz.replace("/", "_")),
                      env=dict(os.environ, TZ=tz))
        assert r.rc == 0, r
        import pyarrow.parquet as pq
        assert canonical.rows(pq.read_table(str(tmp_path / ("o-%s.parquet" % tz.replace("/", "_"))))) == \
            golden_rows.TS_PRECISION
    mpcli.ok(warehouse, "snapshots", table)
    mpcli.ok(warehouse, "schema", table)
    assert harness.tree_state(harness.GOLDEN / "parquet") == before


# ---- millpond reads what pypaimon wrote ---------------------------------------------------------

@needs_pypaimon
def test_millpond_reads_pypaimon_tables(tmp_path):
    """pypaimon writes a partitioned table with 2 buckets in two commits; millpond reads every row
    and time-travels to snapshot 1. (pypaimon writes no Parquet field ids: read by name.)"""
    import pyarrow.parquet as pq
    t = golden_rows._sample_table(with_nanos=True)
    wh = str(tmp_path / "wh")
    for i, part in enumerate([t.slice(0, 2), t.slice(2)]):
        f = str(tmp_path / ("in%d.parquet" % i))
        pq.write_table(part, f)
        harness.pypaimon_write(wh, "db.t", f, partition=["part"], bucket=2, bucket_key=["id"])
    assert harness.pypaimon_read(wh, "db.t") == canonical.rows(t)
    assert scan_rows(wh, "db.t", out_dir=tmp_path / "s") == canonical.rows(t)
    assert scan_rows(wh, "db.t", "--snapshot", 1, out_dir=tmp_path / "s") == canonical.rows(t.slice(0, 2))
    assert mpcli.snapshot_ids(wh, "db.t") == [1, 2]
    # ...and millpond can append to it; pypaimon reads the result.
    extra = t.slice(0, 1)
    pq.write_table(extra, str(tmp_path / "extra.parquet"))
    ok(wh, "write", "db.t", "--input", tmp_path / "extra.parquet")
    import pyarrow as pa
    both = canonical.rows(pa.concat_tables([t, extra]))
    assert scan_rows(wh, "db.t", out_dir=tmp_path / "s") == both
    assert harness.pypaimon_read(wh, "db.t") == both


@needs_pypaimon
def test_millpond_reads_pypaimon_unaware_table_three_commits(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    wh = str(tmp_path / "wh")
    batches = [_simple_table(40, 20 + i, id0=100 * i) for i in range(3)]
    for i, b in enumerate(batches):
        f = str(tmp_path / ("in%d.parquet" % i))
        pq.write_table(b, f)
        harness.pypaimon_write(wh, "db.t", f, partition=["part"])
    for snap in [1, 2, 3]:
        assert scan_rows(wh, "db.t", "--snapshot", snap, out_dir=tmp_path / "s") == \
            canonical.rows(pa.concat_tables(batches[:snap]))
    import pyarrow.compute as pc
    allrows = pa.concat_tables(batches)
    assert scan_rows(wh, "db.t", "--where", "part = 'north'", out_dir=tmp_path / "s") == \
        canonical.rows(allrows.filter(pc.equal(allrows["part"], "north")))
