"""pypaimon's side of the primary-key benchmark (bench/run.sh, issue 3 point 10).

Run with the pypaimon environment:
    .venv-paimon/bin/python bench/pk_peers.py --warehouse WH [--rows N --keys K --commits C
        --buckets B --batch R --lookups L --lookup-budget-s S]

Upserts the same rows as bench/pk_bench.cc and the Java tool (a splitmix64 function of the row
index, generated with numpy; generation time is excluded) into WH/bench.db/pk as COMMITS commits,
then a full read (merge-on-read: pypaimon does not compact) with the same checksum, then point
lookups by key with an equality predicate (stopping early after --lookup-budget-s seconds).
Prints one JSON line.
    python bench/pk_peers.py summarize bench/out/pk.jsonl   prints the table and the ratios.
"""

import argparse
import json
import math
import random
import resource
import sys
import time


def rows_of(first, n, keys):
    import numpy as np
    import pyarrow as pa
    with np.errstate(over="ignore"):
        i = np.arange(first, first + n, dtype=np.uint64)
        z = (i + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    ids = (z % np.uint64(keys)).astype(np.int64)
    v = ((z >> np.uint64(20)) % np.uint64(100000)).astype(np.float64) / 100.0
    ts = (np.int64(1700000000000) + np.int64(10) * i.astype(np.int64)).astype("datetime64[ms]")
    q = ((z >> np.uint64(40)) % np.uint64(100)).astype(np.int32)
    return pa.table({"id": pa.array(ids), "v": pa.array(v), "ts": pa.array(ts),
                     "quality": pa.array(q)})


def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def summarize(path):
    """Prints the figures of bench/out/pk.jsonl and the ratios against the targets."""
    recs = [json.loads(line) for line in open(path) if line.strip()]
    writes = [r for r in recs if r.get("engine") == "millpond" and r.get("phase") == "write"]
    read = next((r for r in recs if r.get("engine") == "millpond" and r.get("phase") == "read"), {})
    comp = next((r for r in recs if r.get("engine") == "millpond" and r.get("phase") == "compact"), {})
    py = next((r for r in recs if r.get("engine") == "pypaimon"), {})
    java = next((r for r in recs if r.get("engine") == "paimon-java"), {})
    w = next((r for r in writes if r["write_buffer_size"] == "default"), writes[0] if writes else {})
    out = []
    out.append("primary-key benchmark: %s upserts over %s keys, %s commits, %s buckets" % (
        w.get("rows"), w.get("keys"), w.get("commits"), w.get("buckets")))
    out.append("%-34s %14s %14s %14s" % ("", "millpond", "pypaimon", "paimon-java(1cpu)"))

    def row(label, m, p, j, fmt="%14.0f"):
        f = lambda x: (fmt % x) if isinstance(x, (int, float)) else "%14s" % "-"  # noqa: E731
        out.append("%-34s %s %s %s" % (label, f(m), f(p), f(j)))
    row("upsert rows/s (wall)", w.get("rows_per_s"), py.get("write_rows_per_s"),
        java.get("write_rows_per_s"))
    row("upsert rows per CPU-second", w.get("rows_per_cpu_s"),
        py and py["rows"] / py["write_cpu_seconds"], java.get("write_rows_per_cpu_s"))
    row("write peak RSS MB", w.get("max_rss_mb"), py.get("write_max_rss_mb"),
        java.get("write_max_rss_mb"), "%14.1f")
    row("full compaction s", comp.get("seconds"), None, java.get("compact_seconds"), "%14.2f")
    row("full-scan rows/s", read.get("scan_rows_per_s"), py.get("scan_rows_per_s"),
        java.get("scan_rows_per_s"))
    row("full-scan rows per CPU-second", read.get("scan_rows_per_cpu_s"),
        py and py["scan_rows"] / py["scan_cpu_seconds"], java.get("scan_rows_per_cpu_s"))
    row("point lookup p50 ms", read.get("lookup_p50_ms"), py.get("lookup_p50_ms"),
        java.get("lookup_p50_ms"), "%14.2f")
    row("point lookup p99 ms", read.get("lookup_p99_ms"), py.get("lookup_p99_ms"),
        java.get("lookup_p99_ms"), "%14.2f")
    out.append("millpond scan is %s; pypaimon reads merge-on-read (it cannot compact); "
               "Paimon Java after a full compaction" % (
                   "after full compaction" if read.get("compacted") else "merge-on-read"))
    sums = {n: r.get("checksum") for n, r in (("millpond", read), ("pypaimon", py),
                                              ("paimon-java", java)) if r}
    out.append("checksums (rows, sum(v*100), sum(quality)): %s -> %s" % (
        sums, "identical" if len({json.dumps(v) for v in sums.values()}) == 1 else "DIFFERENT"))
    for r in writes:
        out.append("millpond write-buffer-size=%-8s peak RSS %7.1f MB (buffered at most %.1f MB,"
                   " %d flushes, %.0f rows/s)" % (r["write_buffer_size"], r["max_rss_mb"],
                                                  r["max_buffered_mb"], r["flushes"],
                                                  r["rows_per_s"]))

    def ratio(label, a, b, target):
        if a and b:
            out.append("%-48s %7.2fx  (target >= %gx) %s" % (label, a / b, target,
                                                            "ok" if a / b >= target else "MISSED"))
    ratio("upsert vs pypaimon (wall)", w.get("rows_per_s"), py.get("write_rows_per_s"), 5)
    ratio("full scan vs pypaimon (wall)", read.get("scan_rows_per_s"), py.get("scan_rows_per_s"), 5)
    ratio("lookup p50 vs pypaimon", py.get("lookup_p50_ms"), read.get("lookup_p50_ms"), 5)
    ratio("upsert per CPU-second vs Paimon Java", w.get("rows_per_cpu_s"),
          java.get("write_rows_per_cpu_s"), 2)
    ratio("full scan per CPU-second vs Paimon Java", read.get("scan_rows_per_cpu_s"),
          java.get("scan_rows_per_cpu_s"), 2)
    # The ">= 2x Paimon Java per core" is read as the per-core throughput figures above; a
    # single lookup's latency is reported against Java without a verdict.
    if java.get("lookup_p50_ms") and read.get("lookup_p50_ms"):
        out.append("%-48s %7.2fx  (latency of one lookup; reported)" % (
            "lookup p50 vs Paimon Java", java["lookup_p50_ms"] / read["lookup_p50_ms"]))
    print("\n".join(out))


def main(argv=None):
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "summarize":
        summarize(sys.argv[2])
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--commits", type=int, default=10)
    ap.add_argument("--buckets", type=int, default=4)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--lookups", type=int, default=200)
    ap.add_argument("--lookup-budget-s", type=float, default=120)
    a = ap.parse_args(argv)

    import pyarrow as pa
    from pypaimon import CatalogFactory, Schema

    catalog = CatalogFactory.create({"warehouse": a.warehouse})
    catalog.create_database("bench", True)
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), ("v", pa.float64()),
                        ("ts", pa.timestamp("ms")), ("quality", pa.int32())])
    catalog.create_table("bench.pk", Schema.from_pyarrow_schema(
        schema, primary_keys=["id"], options={"bucket": str(a.buckets)}), False)
    table = catalog.get_table("bench.pk")

    per_commit = -(-a.rows // a.commits)
    write_s = gen_s = 0.0
    cpu0 = cpu()
    nxt = 0
    while nxt < a.rows:
        end = min(a.rows, nxt + per_commit)
        wb = table.new_batch_write_builder()
        w, c = wb.new_write(), wb.new_commit()
        t0 = time.perf_counter()
        while nxt < end:
            n = min(a.batch, end - nxt)
            g0 = time.perf_counter()
            batch = rows_of(nxt, n, a.keys).cast(schema)
            gen_s += time.perf_counter() - g0
            w.write_arrow(batch)
            nxt += n
        c.commit(w.prepare_commit())
        w.close()
        c.close()
        write_s += time.perf_counter() - t0
    write_s -= gen_s
    write_cpu = cpu() - cpu0
    write_rss = max_rss_mb()

    table = catalog.get_table("bench.pk")
    cpu0 = cpu()
    t0 = time.perf_counter()
    rb = table.new_read_builder()
    result = rb.new_read().to_arrow(rb.new_scan().plan().splits())
    scan_s = time.perf_counter() - t0
    scan_cpu = cpu() - cpu0
    import pyarrow.compute as pc
    vsum = int(pc.sum(pc.round(pc.multiply(result.column("v"), 100.0))).as_py() or 0)
    qsum = int(pc.sum(result.column("quality")).as_py() or 0)
    nrows = result.num_rows
    del result

    rnd = random.Random(42)
    lat, found = [], 0
    pb = table.new_read_builder().new_predicate_builder()
    lt0 = time.perf_counter()
    for _ in range(a.lookups):
        if time.perf_counter() - lt0 > a.lookup_budget_s:
            break
        k = rnd.randrange(a.keys)
        l0 = time.perf_counter()
        lb = table.new_read_builder().with_filter(pb.equal("id", k))
        t = lb.new_read().to_arrow(lb.new_scan().plan().splits())
        found += int(pc.sum(pc.equal(t.column("id"), k)).as_py() or 0) if t.num_rows else 0
        lat.append((time.perf_counter() - l0) * 1000)
    lat.sort()

    def pct(p):
        return lat[max(0, math.ceil(p / 100 * len(lat)) - 1)] if lat else 0.0

    print(json.dumps({
        "engine": "pypaimon", "rows": a.rows, "keys": a.keys, "commits": a.commits,
        "buckets": a.buckets, "write_seconds": round(write_s, 3),
        "gen_seconds_excluded": round(gen_s, 3),
        "write_rows_per_s": round(a.rows / write_s), "write_cpu_seconds": round(write_cpu, 3),
        "write_max_rss_mb": round(write_rss, 1), "compacted": False,
        "scan_rows": nrows, "checksum": [nrows, vsum, qsum], "scan_seconds": round(scan_s, 3),
        "scan_rows_per_s": round(nrows / scan_s), "scan_cpu_seconds": round(scan_cpu, 3),
        "lookups": len(lat), "lookups_found": found, "lookup_p50_ms": round(pct(50), 3),
        "lookup_p99_ms": round(pct(99), 3), "max_rss_mb": round(max_rss_mb(), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
