#!/usr/bin/env bash
# MQTT ingest (issue 5, point 8): committed rows/s and publish-to-visible latency of
# `millpond ingest mqtt` (JSON, QoS 1, 500 ms commits) against the broker's own limit,
# mosquitto_sub draining the same stream (QoS 1) to /dev/null, in the same run, same broker.
# Run by bench/run.sh (make bench; BENCH_MQTT=0 skips it), or alone:
#   bash bench/mqtt_run.sh build/millpond
#   BENCH_MQTT_MESSAGES   messages per run (default 1,000,000)
# The publisher (bench/mqtt_bench.cc, libmosquitto) sends as fast as the broker takes QoS 1
# messages; a second ingest run is paced at half the drain rate, to show latency when the
# ingester is not behind a backlog.
# Results: bench/out/mqtt.jsonl and bench/out/mqtt-summary.txt (also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
MP=${1:-build/millpond}
MP=$(realpath "$MP")
BIN=$(dirname "$MP")/mqtt_bench
N=${BENCH_MQTT_MESSAGES:-1000000}
OUT=bench/out
WORK=$OUT/mqtt
[ -x "$BIN" ] || { echo "bench: $BIN not built (run make bench)" >&2; exit 1; }
command -v mosquitto >/dev/null || PATH=$PATH:/usr/sbin
command -v mosquitto >/dev/null || { echo "bench: mosquitto not installed" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"
: > "$OUT/mqtt.jsonl"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
  [ "$(id -u)" = 0 ] && echo "user $(id -un)"
  echo "listener $PORT 127.0.0.1"
  echo "allow_anonymous true"
  echo "max_queued_messages 0"
  echo "max_queued_bytes 0"
  echo "max_inflight_messages 100"
  echo "log_type error"
  echo "log_type subscribe"
  echo "log_dest file $PWD/$WORK/broker.log"
} > "$WORK/mosquitto.conf"
mosquitto -c "$WORK/mosquitto.conf" 2>> "$WORK/broker.err" &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
  sleep 0.1
done

wait_subscribed() {  # client id: until the broker logged its subscription
  for _ in $(seq 600); do
    grep -q "$1 1 bench/#" "$WORK/broker.log" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: $1 never subscribed" >&2
  exit 1
}
now_us() { date +%s%6N; }
jget() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read())[sys.argv[2]])" "$@"; }

echo "bench: MQTT, $N messages (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2

# 1. The broker's limit: mosquitto_sub, QoS 1, to /dev/null.
mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 1 -i drain -t 'bench/#' -C "$N" > /dev/null &
SUB=$!
wait_subscribed drain
"$BIN" publish --port "$PORT" --count "$N" > "$WORK/pub-drain.json"
wait $SUB
END=$(now_us)
START=$(jget "$WORK/pub-drain.json" start_us)
python3 - "$N" "$START" "$END" >> "$OUT/mqtt.jsonl" <<'EOF'
import json, sys
n, start, end = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(json.dumps({"what": "drain", "tool": "mosquitto_sub -q 1", "messages": n,
                  "seconds": (end - start) / 1e6, "rate": n / ((end - start) / 1e6)}))
EOF
DRAIN=$(python3 -c "import json; print([json.loads(l) for l in open('$OUT/mqtt.jsonl')][-1]['rate'])")

# 2. millpond ingest mqtt at the publisher's full rate, then 3. paced at half the drain rate.
run_ingest() {  # name, publisher args...
  local name=$1
  shift
  local wh=$WORK/wh-$name
  "$MP" -w "$wh" ingest mqtt --broker "tcp://127.0.0.1:$PORT" --topic 'bench/#' \
    --table bench.mqtt --client-id "ingest-$name" --commit-interval 500ms --until-idle 3s \
    > "$WORK/ingest-$name.log" 2>&1 &
  local ing=$!
  wait_subscribed "ingest-$name"
  "$BIN" publish --port "$PORT" --count "$N" "$@" > "$WORK/pub-$name.json"
  wait $ing
  "$BIN" visible --warehouse "$wh" --table bench.mqtt > "$WORK/visible-$name.json"
  python3 - "$name" "$WORK/pub-$name.json" "$WORK/visible-$name.json" >> "$OUT/mqtt.jsonl" <<'EOF'
import json, sys
name, pub, vis = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
secs = (vis["last_commit_us"] - pub["start_us"]) / 1e6
print(json.dumps({"what": "ingest", "run": name, "messages": pub["messages"],
                  "publish_rate": pub["rate"], "rows": vis["rows"], "distinct": vis["distinct"],
                  "seconds": secs, "rate": vis["rows"] / secs, "p50_s": vis["p50_s"],
                  "p99_s": vis["p99_s"], "max_s": vis["max_s"], "snapshots": vis["snapshots"]}))
EOF
  rm -rf "$wh"
}
run_ingest full
run_ingest paced --rate "$(python3 -c "print(int($DRAIN / 2))")"

python3 bench/mqtt_summary.py "$OUT/mqtt.jsonl" | tee "$OUT/mqtt-summary.txt"
