"""Summarizes bench/out/mqtt.jsonl (bench/mqtt_run.sh): rates, latency, ratios against targets."""

import json
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    drain = next(r for r in rows if r["what"] == "drain")
    runs = {r["run"]: r for r in rows if r["what"] == "ingest"}
    print("MQTT ingest, %d messages (QoS 1, JSON, 500 ms commit interval)" % drain["messages"])
    print()
    print("| what | seconds | msgs or rows/s | p50 / p99 publish-to-visible |")
    print("|---|---|---|---|")
    print("| mosquitto_sub -q 1 to /dev/null (broker's drain rate) | %.2f | %.0f | - |" %
          (drain["seconds"], drain["rate"]))
    for name, label in (("full", "millpond ingest, publisher at full rate"),
                        ("paced", "millpond ingest, publisher at half the drain rate")):
        r = runs.get(name)
        if r is None:
            continue
        print("| %s | %.2f | %.0f | %.3f s / %.3f s |" % (label, r["seconds"], r["rate"],
                                                        r["p50_s"], r["p99_s"]))
    full = runs["full"]
    print()
    ok = all(r["rows"] == r["messages"] == r["distinct"] for r in runs.values())
    print("every message committed exactly once: %s" % ("yes" if ok else "NO"))
    ratio = full["rate"] / drain["rate"]
    print("| ratio | measured | target |")
    print("|---|---|---|")
    print("| ingest rows/s / mosquitto_sub msgs/s | %.2f | >= 0.7 (%s) |" %
          (ratio, "met" if ratio >= 0.7 else "missed"))
    print("| p99 publish-to-visible, full rate | %.3f s | <= 1 s (%s) |" %
          (full["p99_s"], "met" if full["p99_s"] <= 1 else "missed"))
    if "paced" in runs:
        p = runs["paced"]["p99_s"]
        print("| p99 publish-to-visible, paced | %.3f s | <= 1 s (%s) |" %
              (p, "met" if p <= 1 else "missed"))


if __name__ == "__main__":
    main(sys.argv[1])
