#!/usr/bin/env bash
# Primary-key tables (issue 3, point 10): 10M upserts over 1M keys in 10 commits, millpond
# (bench/pk_bench.cc, C++ API) against pypaimon (bench/pk_peers.py) and Paimon Java
# single-threaded (PaimonTool bench), same rows (a function of the row index), same run.
# Run by bench/run.sh (make bench), or alone:  bash bench/pk_run.sh build/millpond
#   BENCH_PK_ROWS (10,000,000)  BENCH_PK_KEYS (1,000,000)  BENCH_PK_COMMITS (10)
# Results: bench/out/pk.jsonl and bench/out/pk-summary.txt (also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
MP=${1:-build/millpond}
OUT=bench/out
mkdir -p "$OUT"
PKBIN=$(dirname "$MP")/pk_bench
PKROWS=${BENCH_PK_ROWS:-10000000}
PKKEYS=${BENCH_PK_KEYS:-1000000}
PKC=${BENCH_PK_COMMITS:-10}
PKWH=$OUT/pk-warehouse
: > "$OUT/pk.jsonl"
echo "bench: primary-key upserts (pk_bench; load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
# Peak memory against write-buffer-size: a small buffer first, then the default (256mb) whose
# table is compacted and read.
for BUF in 8mb 64mb default; do
  rm -rf "$PKWH"
  "$PKBIN" write --warehouse "$PKWH" --rows "$PKROWS" --keys "$PKKEYS" --commits "$PKC" \
    $([ "$BUF" = default ] || echo --buffer "$BUF") >> "$OUT/pk.jsonl"
done
"$PKBIN" compact --warehouse "$PKWH" >> "$OUT/pk.jsonl"
"$PKBIN" read --warehouse "$PKWH" --keys "$PKKEYS" --lookups 200 >> "$OUT/pk.jsonl"
rm -rf "$PKWH"
echo "bench: primary-key upserts (pypaimon)" >&2
.venv-paimon/bin/python bench/pk_peers.py --warehouse "$PKWH-py" --rows "$PKROWS" \
  --keys "$PKKEYS" --commits "$PKC" --lookups 200 >> "$OUT/pk.jsonl"
rm -rf "$PKWH-py"
JDIR=tests/interop/java/target
if command -v java >/dev/null && [ -f "$JDIR/paimon-interop.jar" ]; then
  echo "bench: primary-key upserts (Paimon Java, one CPU)" >&2
  java -XX:ActiveProcessorCount=1 -XX:+UseSerialGC -Xmx8g \
    -cp "$JDIR/paimon-interop.jar:$JDIR/lib/*" millpond.interop.PaimonTool bench \
    "$PKWH-java" bench.pk --rows "$PKROWS" --keys "$PKKEYS" --commits "$PKC" --lookups 200 \
    >> "$OUT/pk.jsonl"
  rm -rf "$PKWH-java"
fi
.venv/bin/python bench/pk_peers.py summarize "$OUT/pk.jsonl" | tee "$OUT/pk-summary.txt"
