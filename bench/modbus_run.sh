#!/usr/bin/env bash
# Modbus ingest benchmark: `millpond ingest modbus` polling BENCH_MODBUS_DEVICES simulated devices
# (bench/modbus_server.cc, libmodbus, one thread per device) back to back, against the raw
# libmodbus poll rate of the same registers measured in the same run (bench/modbus_poll.cc).
# Run by bench/run.sh (BENCH_MODBUS=0 skips it), or alone: bash bench/modbus_run.sh build/millpond
#   BENCH_MODBUS_DEVICES  devices (default 50)     BENCH_MODBUS_TAGS     registers per poll (20)
#   BENCH_MODBUS_SECONDS  seconds per measurement (10)
# Results: bench/out/modbus.txt (also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
MP=$(realpath "${1:-build/millpond}")
BIN=$(dirname "$MP")
DEVICES=${BENCH_MODBUS_DEVICES:-50}
TAGS=${BENCH_MODBUS_TAGS:-20}
SECS=${BENCH_MODBUS_SECONDS:-10}
OUT=bench/out
WH=$OUT/modbus-warehouse
for b in modbus_server modbus_poll; do
  [ -x "$BIN/$b" ] || { echo "bench: $BIN/$b not built (run make bench)" >&2; exit 1; }
done
mkdir -p "$OUT"
rm -rf "$WH"

# The simulator on DEVICES consecutive free ports (another try elsewhere when one is taken).
SERVER=
for _ in 1 2 3 4 5; do
  PORT=$((20000 + RANDOM % 12000))
  "$BIN/modbus_server" --base-port "$PORT" --devices "$DEVICES" --registers "$TAGS" > "$OUT/modbus-server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do
    grep -q ready "$OUT/modbus-server.log" && break
    kill -0 $SERVER 2>/dev/null || break
    sleep 0.1
  done
  grep -q ready "$OUT/modbus-server.log" && break
  wait $SERVER 2>/dev/null || true
  SERVER=
done
[ -n "$SERVER" ] || { echo "bench: the Modbus simulator could not start" >&2; exit 1; }
trap 'kill $SERVER 2>/dev/null || true' EXIT

MAP=$OUT/modbus-map.yaml
{
  echo "table: bench.modbus"
  echo "tags:"
  for i in $(seq 0 $((TAGS - 1))); do echo "  - {name: r$i, address: $i, type: uint16}"; done
} > "$MAP"
DEVARGS=()
for d in $(seq 0 $((DEVICES - 1))); do DEVARGS+=(--device "127.0.0.1:$((PORT + d))"); done

echo "bench: raw libmodbus poll loop, $DEVICES devices x $TAGS registers, ${SECS}s" >&2
RAW=$("$BIN/modbus_poll" --base-port "$PORT" --devices "$DEVICES" --registers "$TAGS" --seconds "$SECS")
echo "bench: millpond ingest modbus, same devices, --interval 0, ${SECS}s" >&2
START=$(date +%s.%N)
ING=$("$MP" -w "$WH" ingest modbus --map "$MAP" "${DEVARGS[@]}" --interval 0 \
      --duration "${SECS}s" --commit-interval 1s --commit-rows 500000 --buffer-rows 1000000)
END=$(date +%s.%N)
ROWS=$("$MP" -w "$WH" scan bench.modbus --columns poll --format csv | tail -n +2 | wc -l)

.venv/bin/python - "$RAW" "$ING" "$ROWS" "$START" "$END" "$SECS" "$DEVICES" "$TAGS" <<'PY' | tee "$OUT/modbus.txt"
import json, re, sys
raw, ing, rows, start, end, secs, devices, tags = sys.argv[1:]
raw = json.loads(raw)
rows, secs = int(rows), float(secs)
m = re.search(r"(\d+) polls, (\d+) failed, (\d+) skipped", ing)
polls, failed, skipped = map(int, m.groups())
pps = rows / secs
print("Modbus ingest, %s devices x %s registers, back to back, %.0f s each:" % (devices, tags, secs))
print("| what | points | points/s |")
print("|---|---|---|")
print("| raw libmodbus poll loop (no pipeline) | %d | %.0f |" % (raw["points"], raw["points_per_s"]))
print("| millpond ingest modbus (committed rows) | %d | %.0f |" % (rows, pps))
print("ratio millpond / raw poll loop: %.2f" % (pps / raw["points_per_s"]))
print("polls: %d complete, %d failed, %d cycles skipped (buffer full); wall %.1f s incl. start and final commit"
      % (polls, failed, skipped, float(end) - float(start)))
PY
rm -rf "$WH"
