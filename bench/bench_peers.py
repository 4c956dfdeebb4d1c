"""The peers millpond's table_bench is compared with, on the same Parquet input and in the same run.

    .venv/bin/python bench/bench_peers.py --data DIR --millpond-table DIR --work DIR [--repeat 3]

pyarrow (.venv): loads the input into memory (not timed), then times
  - pyarrow_write: pq.write_table, zstd level 1, the row-group size millpond's files have;
  - pyarrow_read: pq.read_table of that file, all columns;
  - pyarrow_read_millpond_files: pq.read_table of the data files millpond wrote (the scan baseline:
    the same files, read raw), with threads (pyarrow's default) and without.
pypaimon (.venv-paimon, this script run again as a child with --pypaimon): times
  - pypaimon_write: create a bucket-unaware table, write_arrow, prepare_commit, commit;
  - pypaimon_read: plan + to_arrow of that table, all columns;
  - pypaimon_read_millpond: the same read of millpond's table (interop check).
Prints one JSON object per measurement (best of --repeat; every run is in "all_seconds").
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))


def data_files(folder):
    return sorted(glob.glob(os.path.join(folder, "*.parquet")))


def table_data_files(table_dir):
    """The Parquet data files of a Paimon table folder (every bucket of every partition)."""
    return sorted(p for p in glob.glob(os.path.join(table_dir, "**", "*.parquet"), recursive=True)
                  if os.path.basename(p).startswith("data-"))


def emit(bench, op, rows, nbytes, times, **extra):
    best = min(times)
    rec = {"bench": bench, "op": op, "rows": rows, "arrow_bytes": nbytes, "seconds": round(best, 4),
           "rows_per_s": round(rows / best), "mb_per_s": round(nbytes / best / 1e6, 1),
           "all_seconds": [round(t, 4) for t in times], **extra}
    print(json.dumps(rec), flush=True)


def timed(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def run_pyarrow(a):
    table = pq.read_table(data_files(a.data))
    rows, nbytes = table.num_rows, table.get_total_buffer_size()
    mp_files = table_data_files(a.millpond_table)
    if not mp_files:
        sys.exit(f"bench_peers: no data files under {a.millpond_table}")
    md = pq.ParquetFile(mp_files[0]).metadata
    row_group = md.row_group(0).num_rows

    os.makedirs(a.work, exist_ok=True)
    out = os.path.join(a.work, "pyarrow.parquet")
    write = lambda: pq.write_table(table, out, compression="zstd", compression_level=1,  # noqa
                                   row_group_size=row_group)
    times, _ = timed(write, a.repeat)
    emit("pyarrow", "write", rows, nbytes, times, row_group_rows=row_group,
         file_bytes=os.path.getsize(out), pyarrow=pa.__version__)

    times, t = timed(lambda: pq.read_table(out), a.repeat)
    assert t.num_rows == rows
    emit("pyarrow", "read", rows, nbytes, times, files=1)

    for threads in (True, False):
        times, t = timed(lambda: pq.read_table(mp_files, use_threads=threads), a.repeat)
        assert t.num_rows == rows, (t.num_rows, rows)
        emit("pyarrow", "read_millpond_files" + ("" if threads else "_1thread"), rows, nbytes,
             times, files=len(mp_files), file_bytes=sum(os.path.getsize(f) for f in mp_files),
             use_threads=threads)


def run_pypaimon(a):
    """Runs in .venv-paimon (pypaimon's own pyarrow)."""
    from pypaimon import CatalogFactory
    from pypaimon.schema.schema import Schema

    table = pq.read_table(data_files(a.data))
    rows, nbytes = table.num_rows, table.get_total_buffer_size()
    wh = os.path.join(a.work, "pypaimon_wh")

    def write():
        shutil.rmtree(wh, ignore_errors=True)
        catalog = CatalogFactory.create({"warehouse": wh})
        catalog.create_database("bench", True)
        schema = Schema.from_pyarrow_schema(table.schema, options={"bucket": "-1"})
        catalog.create_table("bench.readings", schema, False)
        t = catalog.get_table("bench.readings")
        wb = t.new_batch_write_builder()
        w, c = wb.new_write(), wb.new_commit()
        try:
            w.write_arrow(table)
            c.commit(w.prepare_commit())
        finally:
            w.close()
            c.close()

    times, _ = timed(write, a.repeat)
    files = table_data_files(os.path.join(wh, "bench.db", "readings"))
    emit("pypaimon", "write", rows, nbytes, times, files=len(files),
         file_bytes=sum(os.path.getsize(f) for f in files), pyarrow=pa.__version__)

    def read(warehouse, name):
        t = CatalogFactory.create({"warehouse": warehouse}).get_table(name)
        rb = t.new_read_builder()
        return rb.new_read().to_arrow(rb.new_scan().plan().splits())

    times, t = timed(lambda: read(wh, "bench.readings"), a.repeat)
    assert t.num_rows == rows, (t.num_rows, rows)
    emit("pypaimon", "read", rows, nbytes, times)

    mp_wh = os.path.dirname(os.path.dirname(os.path.abspath(a.millpond_table)))
    mp_name = (os.path.basename(os.path.dirname(os.path.abspath(a.millpond_table)))[:-3] + "."
               + os.path.basename(os.path.abspath(a.millpond_table)))
    times, t = timed(lambda: read(mp_wh, mp_name), a.repeat)
    assert t.num_rows == rows, (t.num_rows, rows)
    emit("pypaimon", "read_millpond", rows, nbytes, times, table=mp_name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder of input .parquet files")
    ap.add_argument("--millpond-table", required=True, help="folder of the table millpond wrote")
    ap.add_argument("--work", required=True, help="scratch folder for the peers' output")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--paimon-python", default=os.path.join(HERE, "..", ".venv-paimon", "bin",
                                                            "python"))
    ap.add_argument("--skip", default="", help="comma-separated: pyarrow,pypaimon")
    ap.add_argument("--pypaimon", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.pypaimon:
        run_pypaimon(a)
        return 0
    skip = set(a.skip.split(","))
    if "pyarrow" not in skip:
        run_pyarrow(a)
    if "pypaimon" not in skip:
        child = [a.paimon_python, os.path.abspath(__file__), "--pypaimon", "--data", a.data,
                 "--millpond-table", a.millpond_table, "--work", a.work,
                 "--repeat", str(a.repeat)]
        subprocess.run(child, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
