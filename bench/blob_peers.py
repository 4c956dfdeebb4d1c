"""Blob benchmark peers and summary (bench/blob_run.sh).

  blob_peers.py lance --data DIR --work DIR [--repeat R]   -> JSON lines: Lance `take` of the
      same files, in the same random order blob_bench used (WORK/read_sample.json)
  blob_peers.py summarize RESULTS.jsonl --openssl-gbps X   -> the table printed by `make bench`
"""

import argparse
import json
import sys
import time


def lance_bench(args):
    import lance
    import pyarrow as pa

    manifest = json.load(open(args.data + "/manifest.json"))
    files = manifest["files"]
    sample = json.load(open(args.work + "/read_sample.json"))
    uri = args.work + "/lance"
    import shutil
    shutil.rmtree(uri, ignore_errors=True)

    def batches():
        for start in range(0, len(files), 64):
            chunk = files[start:start + 64]
            data = [open(f["path"], "rb").read() for f in chunk]
            yield pa.record_batch([pa.array(range(start, start + len(chunk)), pa.int64()),
                                   pa.array([f["kind"] for f in chunk]),
                                   pa.array(data, pa.large_binary())],
                                  names=["id", "kind", "data"])

    schema = pa.schema([("id", pa.int64()), ("kind", pa.string()), ("data", pa.large_binary())])
    t0 = time.perf_counter()
    ds = lance.write_dataset(pa.RecordBatchReader.from_batches(schema, batches()), uri)
    write_s = time.perf_counter() - t0
    total = sum(f["size"] for f in files)
    print(json.dumps({"what": "lance_write", "seconds": write_s, "bytes": total,
                      "gbps": total / write_s / 1e9}), flush=True)
    ds = lance.dataset(uri)
    nbytes = sum(files[i]["size"] for i in sample)

    def one_by_one():
        for i in sample:
            t = ds.take([i], columns=["data"])
            assert len(t.column(0)[0].as_buffer()) == files[i]["size"]

    def batch():
        t = ds.take(sample, columns=["data"])
        assert t.num_rows == len(sample)

    one_by_one()  # warm the page cache and the dataset
    for mode, fn in [("take-one", one_by_one), ("take-batch", batch)]:
        best = best_cpu = 1e30
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        print(json.dumps({"what": "read", "system": "lance-" + mode, "blobs": len(sample),
                          "bytes": nbytes, "seconds": best, "cpu_seconds": best_cpu,
                          "blobs_per_s": len(sample) / best, "mb_per_s": nbytes / best / 1e6,
                          "mb_per_cpu_s": nbytes / best_cpu / 1e6}), flush=True)


def summarize(args):
    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    sha = next(r for r in rows if r["what"] == "sha256")
    cdc = next(r["gbps"] for r in rows if r["what"] == "fastcdc")
    openssl = args.openssl_gbps or sha["gbps"]
    out = []
    p = out.append
    p("Blob store (bench/blob_run.sh); load when started: %s" % args.load)
    p("")
    p("| put: chunk + hash + compress + store, from memory | GB/s (wall) | GB/s per core (wall) "
      "| GB/s per CPU-second |")
    p("|---|---|---|---|")
    for r in rows:
        if r["what"] == "put":
            label = ("all data" if r["kind"] == "all" else r["kind"] + " only")
            api = ("Put, one blob at a time" if r.get("batch", 1) == 1
                   else "PutMany, %d blobs a call" % r["batch"])
            p("| %s, %d thread(s), %s | %.2f | %.2f | %.2f |" % (
                label, r["threads"], api, r["gbps"], r["gbps_per_core"],
                r["gbps_per_cpu_second"]))
    for r in rows:
        if r["what"] == "put_durable":
            p("| all data, %d threads, with fsync at Flush | %.2f | | |" % (r["threads"], r["gbps"]))
    p("")
    lanes = next((r["gbps"] for r in rows if r["what"] == "sha256_lanes"), None)
    # Every new byte is hashed twice: once in the blob id's one SHA-256 stream (SHA-NI), once
    # in its chunk's id (AVX-512 lanes where present, else SHA-NI too).
    limit = 1 / (1 / openssl + 1 / (lanes or openssl))
    p("Hashing limit: `openssl speed -evp sha256 -bytes 65536` %.2f GB/s; in-process SHA-256 "
      "%.2f GB/s (%.2f per CPU-second); chunk ids in AVX-512 lanes %s; FastCDC alone %.2f GB/s. "
      "Every new byte is hashed twice (blob id, then chunk id), so one core cannot exceed "
      "1 / (1/SHA-256 + 1/lanes) = %.2f GB/s before chunking, compression and writing."
      % (openssl, sha["gbps"], sha.get("gbps_per_cpu_second", 0),
         "%.2f GB/s" % lanes if lanes else "unavailable (no AVX-512)", cdc, limit))
    fl = next((r for r in rows if r["what"] == "put_floor"), None)
    if fl:
        parts = fl["parts_seconds"]
        p("")
        p("The floor: each step of a put timed alone over all %.2f GB on one core (what PutMany "
          "does, without the store around it): %s; sum %.2f s = **%.2f GB/s**. A put cannot beat "
          "the sum of its parts." % (
              fl["bytes"] / 1e9,
              ", ".join("%s %.2f s" % (k.replace("_", " "), v) for k, v in parts.items()),
              fl["seconds"], fl["gbps"]))
    st = next((r for r in rows if r["what"] == "stats"), None)
    if st:
        p("")
        p("| content class | raw | stored | ratio |")
        p("|---|---|---|---|")
        for c, v in sorted(st["classes"].items()):
            p("| %s | %.1f MB | %.1f MB | %.2f |" % (c, v["raw_bytes"] / 1e6,
                                                   v["stored_bytes"] / 1e6, v["ratio"]))
    d = next((r for r in rows if r["what"] == "dedup"), None)
    if d:
        p("")
        p("Dedup: %d datasets sharing 80 %% of their photos, %.0f MB put, %.0f MB in packs: ratio "
          "%.2f (ideal %.2f)." % (d["datasets"], d["logical_bytes"] / 1e6, d["pack_bytes"] / 1e6,
                                  d["ratio"], d["ideal"]))
    def read_table(title, sel):
        if not sel:
            return
        p("")
        p("| %s | threads | blobs/s | MB/s | MB per CPU-second |" % title)
        p("|---|---|---|---|---|")
        for r in sel:
            p("| %s | %s | %.0f | %.0f | %.0f |" % (r["system"], r.get("threads", "-"),
                                                   r["blobs_per_s"], r["mb_per_s"],
                                                   r.get("mb_per_cpu_s", 0)))

    reads = [r for r in rows if r["what"] == "read"]
    if reads:
        read_table("random whole-blob reads (%d blobs, %.0f MB, warm cache)" % (
            reads[0]["blobs"], reads[0]["bytes"] / 1e6), reads)
    kinds = [r for r in rows if r["what"] == "read_kind"]
    if kinds:
        p("")
        p("| reads by kind, 1 thread | blobs | millpond MB/s | files MB/s | ratio (wall) "
          "| ratio (CPU) | without decoded cache: MB/s, ratio wall / CPU |")
        p("|---|---|---|---|---|---|---|")
        for k in sorted({r["kind"] for r in kinds}):
            m = next(r for r in kinds if r["kind"] == k and r["system"] == "millpond")
            f = next(r for r in kinds if r["kind"] == k and r["system"] == "files")
            u = next((r for r in kinds if r["kind"] == k and r["system"] == "millpond-nocache"),
                     None)
            p("| %s | %d | %.0f | %.0f | %.2f | %.2f | %s |" % (
                k, m["blobs"], m["mb_per_s"], f["mb_per_s"], m["mb_per_s"] / f["mb_per_s"],
                m["mb_per_cpu_s"] / f["mb_per_cpu_s"],
                "%.0f, %.2f / %.2f" % (u["mb_per_s"], u["mb_per_s"] / f["mb_per_s"],
                                       u["mb_per_cpu_s"] / f["mb_per_cpu_s"]) if u else "-"))

    colds = [r for r in rows if r["what"] == "read_cold"]
    read_table("random whole-blob reads, cold cache (packs and files dropped from the page "
               "cache)", colds)

    def get(system, threads=None, key="mb_per_s"):
        for r in reads:
            if r["system"] == system and (threads is None or r.get("threads") == threads):
                return r.get(key)
        return None

    # The verdict is on PutMany (what `ingest files` calls); Put one at a time is in the table.
    put1 = next((r for r in rows if r["what"] == "put" and r["kind"] == "all"
                 and r["threads"] == 1 and r.get("batch", 1) > 1), None) or next(
        (r for r in rows if r["what"] == "put" and r["kind"] == "all" and r["threads"] == 1),
        None)
    nthreads = max((r.get("threads", 1) for r in reads if "threads" in r), default=1)
    p("")
    p("| ratio | wall clock | per CPU-second | target |")
    p("|---|---|---|---|")

    def verdict(x, target):
        return "met" if x >= target else "missed"

    if put1:
        p("| put GB/s per core (1 thread, PutMany) | %.2f | %.2f | >= 1.0 (%s) |" % (
            put1["gbps"], put1["gbps_per_cpu_second"],
            verdict(max(put1["gbps"], put1["gbps_per_cpu_second"]), 1.0)))
        if fl:
            p("| put per core / the floor (sum of its parts timed alone: %.2f GB/s) | %.2f | | |"
              % (fl["gbps"], put1["gbps"] / fl["gbps"]))
        p("| put per core / SHA-256 limit | %.2f | %.2f | |" % (
            put1["gbps"] / openssl, put1["gbps_per_cpu_second"] / openssl))
        p("| put per core / two-hash limit (blob id on SHA-NI + chunk ids in lanes: %.2f GB/s) "
          "| %.2f | %.2f | |" % (limit, put1["gbps"] / limit, put1["gbps_per_cpu_second"] / limit))
    for n in sorted({1, nthreads}):
        for unit, key in [("MB/s", "mb_per_s"), ("blobs/s", "blobs_per_s")]:
            m, f = get("millpond", n, key), get("files", n, key)
            if not (m and f):
                continue
            if key == "mb_per_s":
                mc, fc = get("millpond", n, "mb_per_cpu_s"), get("files", n, "mb_per_cpu_s")
                p("| reads %s, %d thread(s): millpond / plain files | %.2f | %.2f | >= 0.8 (%s) |"
                  % (unit, n, m / f, mc / fc, verdict(min(m / f, mc / fc), 0.8)))
            else:
                p("| reads %s, %d thread(s): millpond / plain files | %.2f | | >= 0.8 (%s) |"
                  % (unit, n, m / f, verdict(m / f, 0.8)))
        u, f = get("millpond-nocache", n), get("files", n)
        if u and f:
            p("| reads MB/s, %d thread(s), decoded cache off (every compressed chunk decoded): "
              "millpond / plain files | %.2f | %.2f | reported |" % (
                  n, u / f, get("millpond-nocache", n, "mb_per_cpu_s") /
                  get("files", n, "mb_per_cpu_s")))
    raw = [k for k in ("photo", "video", "sensor") if any(r["kind"] == k for r in kinds)]
    if raw:
        def rate(system):
            sel = [r for r in kinds if r["kind"] in raw and r["system"] == system]
            return sum(r["bytes"] for r in sel) / sum(r["seconds"] for r in sel)
        x = rate("millpond") / rate("files")
        p("| reads MB/s, content stored as is (%s), 1 thread: millpond / plain files | %.2f | "
          "| >= 0.8 (%s) |" % (", ".join(raw), x, verdict(x, 0.8)))
    for n in sorted({r["threads"] for r in colds}):
        mc = next((r for r in colds if r["system"] == "millpond" and r["threads"] == n), None)
        fc = next((r for r in colds if r["system"] == "files" and r["threads"] == n), None)
        if mc and fc:
            x = mc["mb_per_s"] / fc["mb_per_s"]
            p("| cold-cache reads MB/s, %d thread(s): millpond / plain files | %.2f | %.2f "
              "| >= 0.8 (%s) |" % (n, x, mc["mb_per_cpu_s"] / fc["mb_per_cpu_s"], verdict(x, 0.8)))
    m1, l1 = get("millpond", 1), get("lance-take-one")
    if m1 and l1:
        p("| reads one at a time: millpond / Lance take | %.2f | %.2f | >= 1 (%s) |" % (
            m1 / l1, get("millpond", 1, "mb_per_cpu_s") / get("lance-take-one", None, "mb_per_cpu_s"),
            verdict(m1 / l1, 1)))
    mb, lb = get("millpond-getmany"), get("lance-take-batch")
    if mb and lb:
        p("| batch reads: millpond GetMany / Lance take(all) | %.2f | %.2f | >= 1 (%s) |" % (
            mb / lb, get("millpond-getmany", None, "mb_per_cpu_s") /
            get("lance-take-batch", None, "mb_per_cpu_s"), verdict(mb / lb, 1)))
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("lance")
    a.add_argument("--data", required=True)
    a.add_argument("--work", required=True)
    a.add_argument("--repeat", type=int, default=3)
    s = sub.add_parser("summarize")
    s.add_argument("results")
    s.add_argument("--openssl-gbps", type=float, default=0)
    s.add_argument("--load", default="?")
    args = ap.parse_args()
    (lance_bench if args.cmd == "lance" else summarize)(args)


if __name__ == "__main__":
    sys.exit(main())
