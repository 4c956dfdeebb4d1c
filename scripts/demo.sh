#!/usr/bin/env bash
# millpond in two minutes: one day of factory sensor readings (3M rows) written as four shift
# commits into a Paimon table, then browsed: tables, schema, snapshots, a filtered scan and a
# time-travel read through a tag. Run through `make demo` (builds first):
#     bash scripts/demo.sh build/millpond
# The warehouse is $MILLPOND_WAREHOUSE, else ./warehouse. Only the demo's own table
# (plant.readings) is replaced; nothing else in the warehouse is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
MP=${1:-build/millpond}
WH=${MILLPOND_WAREHOUSE:-./warehouse}
ROWS=${DEMO_ROWS:-3000000}
PY=.venv/bin/python
TABLE=plant.readings

mp() { "$MP" --warehouse "$WH" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Reads Parquet from stdin and prints the row count and time range.
summarize() {
  "$PY" -c '
import sys, pyarrow as pa, pyarrow.parquet as pq, pyarrow.compute as pc
t = pq.read_table(pa.BufferReader(sys.stdin.buffer.read()))
lo, hi = pc.min_max(t["ts"]).as_py().values()
print(f"    {t.num_rows:,} rows, ts {lo:%Y-%m-%d %H:%M:%S} .. {hi:%Y-%m-%d %H:%M:%S}")'
}

DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT

step "Generating $ROWS sensor readings for 2026-11-24 (6 lines, 72 machines, 360 sensors)"
"$PY" bench/gen_sensor_data.py "$ROWS" "$DATA" --files 4

step "Creating $TABLE in $WH (partitioned by line, 4 buckets by sensor)"
rm -rf "$WH/plant.db/readings"
mp table create "$TABLE" --partition line --bucket 4 --bucket-key sensor \
  --schema 'ts TIMESTAMP(3), day DATE, site STRING, line STRING, machine STRING, sensor STRING, metric STRING, value DOUBLE, unit STRING, quality INT'

step "Writing the day as four commits, one per six-hour shift"
shifts=("00:00-06:00" "06:00-12:00" "12:00-18:00" "18:00-24:00")
for i in 0 1 2 3; do
  start=$(date +%s%N)
  mp write "$TABLE" --input "$DATA/part-0000$i.parquet"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '  shift %s written in %d.%03d s\n' "${shifts[$i]}" $((ms / 1000)) $((ms % 1000))
done

step "Tagging snapshot 2 (end of the 06:00-12:00 shift) as shift2-end"
mp tag create "$TABLE" shift2-end --snapshot 2
mp tag list "$TABLE"

step "millpond tables"
mp tables

step "millpond schema $TABLE"
mp schema "$TABLE"

step "millpond snapshots $TABLE"
mp snapshots "$TABLE"

step "Overheating on line L3: temperature above 90 °C (first 10, CSV)"
where="line = 'L3' AND metric = 'temperature' AND value > 90"
echo "  millpond scan $TABLE --where \"$where\" --columns ts,machine,sensor,value,unit,quality --limit 10"
mp scan "$TABLE" --where "$where" --columns ts,machine,sensor,value,unit,quality --limit 10
printf '  all such readings: '
mp scan "$TABLE" --where "$where" --columns ts --format csv | tail -n +2 | wc -l

step "Readings of uncertain or bad quality on machine L3-M07 (first 5)"
mp scan "$TABLE" --where "machine = 'L3-M07' AND quality != 0" --columns ts,sensor,value,unit,quality --limit 5

step "Time travel: the table as of tag shift2-end, and now"
echo "  as of tag shift2-end:"
mp scan "$TABLE" --tag shift2-end --columns ts --format parquet | summarize
echo "  as of snapshot 1:"
mp scan "$TABLE" --snapshot 1 --columns ts --format parquet | summarize
echo "  latest:"
mp scan "$TABLE" --columns ts --format parquet | summarize

step "Done. Try: $MP --warehouse $WH scan $TABLE --where \"sensor = 'L1-M01-vib'\" --limit 5"
