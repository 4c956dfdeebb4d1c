"""Summarizes table_bench and bench_peers.py JSON lines into a table of rates and target ratios.

    .venv/bin/python bench/summarize.py millpond.jsonl peers.jsonl > summary.txt

Every rate is the best of the repeated runs; a ratio is millpond's rows/s over the peer's.
"""

import json
import os
import sys

# (label, millpond op/layout, peer bench/op, target)
TARGETS = [
    ("millpond write / pypaimon write", ("write", "unpartitioned"), ("pypaimon", "write"), 5.0),
    ("millpond write / pyarrow write", ("write", "unpartitioned"), ("pyarrow", "write"), 0.8),
    # The baseline is pyarrow's faster way (with or without threads) on the same files.
    ("millpond scan / pyarrow read of the same files", ("scan", "unpartitioned"),
     ("pyarrow", ("read_millpond_files", "read_millpond_files_1thread")), 0.9),
    ("millpond scan / pypaimon read", ("scan", "unpartitioned"), ("pypaimon", "read"), 5.0),
]


def load(paths):
    recs = []
    for p in paths:
        with open(p) as f:
            recs += [json.loads(line) for line in f if line.startswith("{")]
    return recs


def best(recs, bench, op, layout=None):
    rs = [r for r in recs if r["bench"] == bench and r["op"] == op
          and (layout is None or r.get("layout") == layout)]
    return min(rs, key=lambda r: r["seconds"]) if rs else None


def main(argv):
    recs = load(argv[1:])
    mp = [r for r in recs if r["bench"] == "millpond"]
    if not mp:
        sys.exit("summarize: no millpond results")
    rows, nbytes = mp[0]["rows"], mp[0]["arrow_bytes"]
    out = []
    p = out.append
    p(f"millpond table bench: {rows:,} rows ({nbytes / 1e6:,.0f} MB as Arrow), "
      f"{os.cpu_count()} cores; best of repeated runs")
    p("")
    p(f"{'':6}{'what':58}{'seconds':>9}{'rows/s':>13}{'MB/s':>9}")

    def line(kind, label, r, note=""):
        if r:
            p(f"{kind:6}{label:58}{r['seconds']:9.3f}{r['rows_per_s']:13,.0f}{r['mb_per_s']:9.1f}"
              f"{note}")

    for layout in ("unpartitioned", "line", "line-bucket4"):
        r = best(recs, "millpond", "write", layout)
        if r:
            line("write", f"millpond {layout} ({r['files']} files, {r['file_bytes'] / 1e6:.0f} MB)",
                 r)
    r = best(recs, "pyarrow", "write")
    if r:
        line("write", f"pyarrow write_table zstd-1, {r['row_group_rows']:,}-row groups", r)
    r = best(recs, "pypaimon", "write")
    if r:
        line("write", f"pypaimon bucket-unaware ({r['files']} files, {r['file_bytes'] / 1e6:.0f} MB)",
             r)
    for layout in ("unpartitioned", "line", "line-bucket4"):
        r = best(recs, "millpond", "scan", layout)
        if r:
            line("scan", f"millpond {layout} ({r['files']} files)", r)
    line("read", "pyarrow read_table of its own file", best(recs, "pyarrow", "read"))
    line("read", "pyarrow read_table of millpond's files (threads)",
         best(recs, "pyarrow", "read_millpond_files"))
    line("read", "pyarrow read_table of millpond's files (1 thread)",
         best(recs, "pyarrow", "read_millpond_files_1thread"))
    line("read", "pypaimon read of its table", best(recs, "pypaimon", "read"))
    line("read", "pypaimon read of millpond's table", best(recs, "pypaimon", "read_millpond"))

    p("")
    p(f"{'ratio (rows/s, higher is better for millpond)':52}{'ratio':>8}{'target':>9}")
    misses = 0
    for label, (op, layout), (bench, peer_op), target in TARGETS:
        a = best(recs, "millpond", op, layout)
        peers = [best(recs, bench, o) for o in (peer_op if isinstance(peer_op, tuple) else (peer_op,))]
        peers = [x for x in peers if x]
        b = min(peers, key=lambda r: r["seconds"]) if peers else None
        if not (a and b):
            p(f"{label:52}{'n/a':>8}{'>= ' + str(target):>9}")
            continue
        ratio = a["rows_per_s"] / b["rows_per_s"]
        ok = ratio >= target
        misses += not ok
        p(f"{label:52}{ratio:8.2f}{'>= ' + str(target):>9}  {'met' if ok else 'MISSED'}")

    prof = {r["op"][len("profile_"):]: r["seconds"] for r in mp if r["op"].startswith("profile_")}
    w = best(recs, "millpond", "write", "unpartitioned")
    if prof and w:
        p("")
        p("where an unpartitioned millpond write goes (same batches, timed piece by piece):")
        ph = w["phases"]
        enc = prof["parquet_write_threads"]  # millpond encodes a row group's columns in parallel
        stats = prof["minmax_all_columns"]
        conform = prof["conform_to_schema"]
        rest = ph["write"] - enc - conform
        for label, s in [
            ("AppendWriter::Write, total", ph["write"]),
            ("  Parquet encoding+zstd (raw parquet::arrow, threaded columns)", enc),
            ("  ConformToSchema", conform),
            ("  remainder (routing, stats from the footer, noise)", rest),
            ("  (for reference: compute::MinMax on every column, not on the path)", stats),
            ("PrepareCommit (close files, footer)", ph["prepare_commit"]),
            ("Commit (manifests, snapshot)", ph["commit"]),
            ("create table", ph["create"]),
        ]:
            p(f"  {label:66}{s:8.3f} s {100 * s / w['seconds']:5.1f}%")
        strings = {k[len("minmax_"):]: v for k, v in prof.items()
                   if k.startswith("minmax_") and k != "minmax_all_columns"}
        top = sorted(strings.items(), key=lambda kv: -kv[1])[:5]
        p("  MinMax by column: " + ", ".join(f"{k} {v:.3f} s" for k, v in top))
        p("  raw Parquet write variants: " + ", ".join(
            f"{k} {prof['parquet_write_' + k]:.3f} s" for k in ("buffered", "table", "threads",
                                                             "nodict")
            if "parquet_write_" + k in prof))
        p("    (buffered: as millpond; table: as pq.write_table; threads: buffered with "
          "ArrowWriterProperties::set_use_threads; nodict: buffered, no dictionary for ts, value)")
        s = best(recs, "millpond", "scan", "unpartitioned")
        if s:
            p("where an unpartitioned millpond scan goes:")
            p(f"  TableScan plan {s['phases']['plan']:.3f} s, read {s['phases']['read']:.3f} s; "
              f"raw parquet::arrow ReadTable of the same file(s): 1 thread "
              f"{prof['parquet_read_1thread']:.3f} s, threads {prof['parquet_read_threads']:.3f} s")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
