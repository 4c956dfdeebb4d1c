#!/usr/bin/env bash
# millpond's table benchmark against pyarrow and pypaimon, on the same generated sensor data in
# the same run. Run through `make bench` (builds first):  bash bench/run.sh build/millpond
#   BENCH_ROWS   rows to generate (default 10,000,000)
#   BENCH_FILES  input files (default 4)
#   BENCH_REPEAT runs of each measurement; the best counts (default 3)
# Results: bench/out/{millpond,peers}.jsonl and bench/out/summary.txt (also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
MP=${1:-build/millpond}
BIN=$(dirname "$MP")/table_bench
ROWS=${BENCH_ROWS:-10000000}
FILES=${BENCH_FILES:-4}
REPEAT=${BENCH_REPEAT:-3}
OUT=bench/out
DATA=$OUT/data-$ROWS-$FILES
WH=$OUT/warehouse

[ -x "$BIN" ] || { echo "bench: $BIN not built (run make bench)" >&2; exit 1; }
mkdir -p "$OUT"
# The data is deterministic: generate once per size.
if [ ! -f "$DATA/.done" ]; then
  rm -rf "$DATA"
  .venv/bin/python bench/gen_sensor_data.py "$ROWS" "$DATA" --files "$FILES"
  touch "$DATA/.done"
fi
rm -rf "$WH" "$OUT/peers"

echo "bench: millpond (table_bench)" >&2
"$BIN" --data "$DATA" --warehouse "$WH" --write-repeat "$REPEAT" --scan-repeat "$REPEAT" \
  --profile > "$OUT/millpond.jsonl"
echo "bench: pyarrow and pypaimon (bench_peers.py)" >&2
.venv/bin/python bench/bench_peers.py --data "$DATA" --millpond-table "$WH/bench.db/unpartitioned" \
  --work "$OUT/peers" --repeat "$REPEAT" > "$OUT/peers.jsonl"
.venv/bin/python bench/summarize.py "$OUT/millpond.jsonl" "$OUT/peers.jsonl" | tee "$OUT/summary.txt"
rm -rf "$OUT/peers"

# Primary-key tables (issue 3, point 10): bench/pk_run.sh. BENCH_PK=0 skips it.
if [ "${BENCH_PK:-1}" != 0 ]; then
  bash bench/pk_run.sh "$MP"
fi

# Modbus ingest (issue 5): bench/modbus_run.sh. BENCH_MODBUS=0 skips it.
if [ "${BENCH_MODBUS:-1}" != 0 ]; then
  bash bench/modbus_run.sh "$MP"
fi

# Blob store (issue 4, point 9): bench/blob_run.sh. BENCH_BLOB=0 skips it.
if [ "${BENCH_BLOB:-1}" != 0 ]; then
  bash bench/blob_run.sh "$MP"
fi

# MQTT ingest (issue 5, point 8): bench/mqtt_run.sh. BENCH_MQTT=0 skips it.
if [ "${BENCH_MQTT:-1}" != 0 ]; then
  bash bench/mqtt_run.sh "$MP"
fi
