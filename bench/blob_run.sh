#!/usr/bin/env bash
# Blob store benchmark (issue 4, point 9): on mixed real data (photographs from Debian packages
# re-encoded by ffmpeg, H.264 clips, machine logs, sensor dumps) it measures chunk+hash+store
# throughput per core against `openssl speed sha256`, the dedup ratio of ten datasets sharing
# 80 % of their photos, and random blob reads against the same files in a plain folder and
# against Lance `take`. Run by bench/run.sh (make bench; BENCH_BLOB=0 skips it), or alone:
#   bash bench/blob_run.sh build/millpond
#   BENCH_BLOB_GIB (2)  BENCH_BLOB_READS (2000)  BENCH_REPEAT (3)
# Results: bench/out/blob.jsonl and bench/out/blob-summary.txt (also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
MP=${1:-build/millpond}
BIN=$(dirname "$MP")/blob_bench
GIB=${BENCH_BLOB_GIB:-2}
READS=${BENCH_BLOB_READS:-2000}
REPEAT=${BENCH_REPEAT:-3}
OUT=bench/out
DATA=$OUT/blob-data-$GIB
WORK=$OUT/blob-work
[ -x "$BIN" ] || { echo "bench: $BIN not built (run make bench)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "bench: ffmpeg missing (make setup)" >&2; exit 1; }
mkdir -p "$OUT"
if [ ! -f "$DATA/.done" ]; then
  rm -rf "$DATA"
  echo "bench: generating $GIB GiB of blob data in $DATA (once)" >&2
  .venv/bin/python bench/blob_gen.py "$DATA" --gib "$GIB"
  touch "$DATA/.done"
fi
rm -rf "$WORK"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: blob store (blob_bench; load: $LOAD)" >&2
"$BIN" --data "$DATA" --work "$WORK" --repeat "$REPEAT" --reads "$READS" > "$OUT/blob.jsonl"
echo "bench: blob store peers (Lance take)" >&2
.venv/bin/python bench/blob_peers.py lance --data "$DATA" --work "$WORK" --repeat "$REPEAT" \
  >> "$OUT/blob.jsonl"
# The hashing limit as OpenSSL itself reports it (last column: 64 KiB blocks, in kB/s).
OPENSSL=$(openssl speed -evp sha256 -bytes 65536 -seconds 2 2>/dev/null |
  awk '/^sha256/ {v=$NF; sub(/k$/, "", v); printf "%.3f", v * 1000 / 1e9}')
.venv/bin/python bench/blob_peers.py summarize "$OUT/blob.jsonl" --openssl-gbps "${OPENSSL:-0}" \
  --load "$LOAD on $(nproc) cores" |
  tee "$OUT/blob-summary.txt"
rm -rf "$WORK"
