"""Generates one day of realistic factory sensor readings as Parquet files, deterministically.

    .venv/bin/python bench/gen_sensor_data.py ROWS OUT_DIR [--files N] [--seed S] [--day 2026-11-24]

One site, lines L1..L6, 12 machines per line, 5 sensors per machine (temperature, vibration,
pressure, spindle_speed, current): 360 sensors each sampled at a fixed period over the day, so the
rows are in time order (and in time order per sensor). The day is cut into N equal time windows,
one file each (part-00000.parquet ...), e.g. 4 files = 00-06h, 06-12h, 12-18h, 18-24h: one commit
each. Values follow each metric's physics loosely: a slow drift plus noise, a lunch break
(spindle stopped, current at idle), and short bursts of anomalies (overheating, vibration spikes,
pressure drops) whose readings are more often of uncertain quality. quality is an OPC-UA-like
code: 0 good, 1 uncertain, 2 bad.

Columns: ts TIMESTAMP(3), day DATE, site, line, machine, sensor, metric STRING, value DOUBLE,
unit STRING, quality INT. Vectorized numpy: 10M rows take a few seconds.
"""

import argparse
import datetime as dt
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SITE = "plant-leipzig"
LINES = [f"L{i}" for i in range(1, 7)]
MACHINES_PER_LINE = 12
# metric, sensor suffix, unit, decimals kept (sensor resolution)
METRICS = [
    ("temperature", "temp", "°C", 2),
    ("vibration", "vib", "mm/s", 3),
    ("pressure", "pres", "bar", 3),
    ("spindle_speed", "speed", "rpm", 1),
    ("current", "cur", "A", 2),
]
DAY_MS = 86_400_000

SCHEMA = pa.schema([
    ("ts", pa.timestamp("ms")),
    ("day", pa.date32()),
    ("site", pa.string()),
    ("line", pa.string()),
    ("machine", pa.string()),
    ("sensor", pa.string()),
    ("metric", pa.string()),
    ("value", pa.float64()),
    ("unit", pa.string()),
    ("quality", pa.int32()),
])

# The same schema in millpond's / Paimon's spelling (used by demo.sh and the benches).
PAIMON_SCHEMA = ("ts TIMESTAMP(3), day DATE, site STRING, line STRING, machine STRING, "
                 "sensor STRING, metric STRING, value DOUBLE, unit STRING, quality INT")


def sensors():
    """One entry per sensor: (line index, machine name, sensor name, metric index)."""
    out = []
    for li, line in enumerate(LINES):
        for m in range(1, MACHINES_PER_LINE + 1):
            machine = f"{line}-M{m:02d}"
            for mi, (_, suffix, _, _) in enumerate(METRICS):
                out.append((li, machine, f"{machine}-{suffix}", mi))
    return out


def bursts(rng, shape, p_start, length):
    """Boolean mask of anomaly bursts: each starts with probability p_start and lasts `length`
    consecutive readings of the same sensor (axis 0 is time)."""
    start = rng.random(shape) < p_start
    mask = start.copy()
    for k in range(1, length):
        mask[k:] |= start[:-k]
    return mask


def generate(rows, seed, day):
    """Returns (columns dict of numpy arrays / index arrays, string dictionaries) for `rows` rows."""
    rng = np.random.default_rng(seed)
    sens = sensors()
    S = len(sens)
    R = -(-rows // S)  # readings per sensor
    period = DAY_MS / R
    line_of = np.array([s[0] for s in sens])
    metric_of = np.array([s[3] for s in sens])
    machine_of = np.arange(S) // len(METRICS)

    # Time: sensor s reads at r*period + its phase (s/S of a period) + a little jitter.
    day0 = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp() * 1000)
    phase = (np.arange(S) * (period / S))
    jitter_max = max(1.0, min(period / S, 250.0))  # stays inside the sensor's slot: rows sorted
    t_of_day = (np.arange(R)[:, None] * period + phase[None, :]
                + rng.random((R, S)) * jitter_max)  # ms since midnight, float
    ts = day0 + t_of_day.astype(np.int64)

    hours = t_of_day / 3_600_000.0
    # Lunch break: 30 minutes, staggered by line (11:30 + 10 min per line).
    brk_start = 11.5 + line_of / 6.0
    on_break = (hours >= brk_start[None, :]) & (hours < brk_start[None, :] + 0.5)
    # Machines warm up over the morning shift and cool at night.
    load = 0.5 + 0.5 * np.clip(np.sin(np.pi * (hours - 5.0) / 16.0), 0, None)

    value = np.empty((R, S))
    quality = np.zeros((R, S), dtype=np.int32)
    anomalies = np.zeros((R, S), dtype=bool)
    for mi, (metric, _, _, decimals) in enumerate(METRICS):
        cols = np.nonzero(metric_of == mi)[0]
        shape = (R, cols.size)
        mrng = np.random.default_rng([seed, mi])
        base = mrng.uniform(0, 1, cols.size)[None, :]
        ld = load[:, cols]
        brk = on_break[:, cols]
        if metric == "temperature":
            drift = np.cumsum(mrng.normal(0, 0.01, shape), axis=0)
            v = 38 + 25 * base + 12 * ld + drift + mrng.normal(0, 0.3, shape)
            v -= 6 * brk
            a = bursts(mrng, shape, 4e-5, 6)
            v += a * mrng.uniform(25, 45, shape)  # overheating
        elif metric == "vibration":
            v = (1.0 + 2.5 * base) * (0.6 + 0.6 * ld) * mrng.lognormal(0, 0.15, shape)
            v = np.where(brk, 0.05 + 0.02 * mrng.random(shape), v)
            a = bursts(mrng, shape, 8e-5, 4)
            v *= np.where(a, mrng.uniform(3, 7, shape), 1.0)  # bearing / imbalance spikes
        elif metric == "pressure":
            v = 5.5 + 2.0 * base + mrng.normal(0, 0.04, shape)
            a = bursts(mrng, shape, 3e-5, 8)
            v -= a * mrng.uniform(1.5, 3.0, shape)  # leaks
        elif metric == "spindle_speed":
            setpoint = mrng.choice([6000.0, 8000.0, 10000.0, 12000.0], cols.size)[None, :]
            v = setpoint * (0.97 + 0.03 * ld) + mrng.normal(0, 6, shape)
            v = np.where(brk, 0.0, v)
            a = bursts(mrng, shape, 2e-5, 5)
            v = np.where(a, v * mrng.uniform(0.5, 0.8, shape), v)  # stalls
        else:  # current
            v = (10 + 25 * base) * (0.5 + 0.5 * ld) * (1 + mrng.normal(0, 0.02, shape))
            v = np.where(brk, 1.5 + 0.1 * mrng.random(shape), v)
            a = bursts(mrng, shape, 3e-5, 5)
            v *= np.where(a, mrng.uniform(1.4, 2.0, shape), 1.0)  # overcurrent
        scale = 10.0 ** decimals
        value[:, cols] = np.round(v * scale) / scale
        anomalies[:, cols] = a

    # Quality: mostly good; anomalies are often uncertain; a few bad readings everywhere.
    u = rng.random((R, S))
    quality[u < 0.004] = 1
    quality[u < 0.001] = 2
    quality[anomalies & (u < 0.35)] = 1

    flat = lambda a: a.reshape(-1)[:rows]  # noqa: E731  (row-major: time-interleaved)
    sensor_idx = flat(np.broadcast_to(np.arange(S)[None, :], (R, S)))
    cols = {
        "ts": flat(ts),
        "value": flat(value),
        "quality": flat(quality),
        "sensor_idx": sensor_idx,
    }
    dicts = {
        "line": (LINES, line_of),
        "machine": (sorted({s[1] for s in sens}), machine_of),
        "sensor": ([s[2] for s in sens], np.arange(S)),
        "metric": ([m[0] for m in METRICS], metric_of),
        "unit": ([m[2] for m in METRICS], metric_of),
    }
    return cols, dicts


def to_table(cols, dicts, lo, hi, day):
    sidx = cols["sensor_idx"][lo:hi]
    n = hi - lo
    arrays = {
        "ts": pa.array(cols["ts"][lo:hi], type=pa.timestamp("ms")),
        "day": pa.array(np.full(n, (day - dt.date(1970, 1, 1)).days, dtype=np.int32),
                        type=pa.int32()).view(pa.date32()),
        "site": pa.array(np.full(n, 0, dtype=np.int32)),
        "value": pa.array(cols["value"][lo:hi]),
        "quality": pa.array(cols["quality"][lo:hi]),
    }
    arrays["site"] = pa.array([SITE]).take(arrays["site"])
    for name, (values, of_sensor) in dicts.items():
        arrays[name] = pa.array(values, type=pa.string()).take(pa.array(of_sensor[sidx]))
    return pa.table([arrays[f.name] for f in SCHEMA], schema=SCHEMA)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rows", type=int)
    ap.add_argument("out_dir")
    ap.add_argument("--files", type=int, default=1, help="time windows / files (commits)")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--day", default="2026-11-24")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    day = dt.date.fromisoformat(a.day)
    cols, dicts = generate(a.rows, a.seed, day)
    os.makedirs(a.out_dir, exist_ok=True)
    # Cut at reading boundaries so each file is one time window of the whole plant.
    S = len(dicts["sensor"][0])
    R = -(-a.rows // S)
    for k in range(a.files):
        lo = min(a.rows, (R * k // a.files) * S)
        hi = min(a.rows, (R * (k + 1) // a.files) * S)
        table = to_table(cols, dicts, lo, hi, day)
        pq.write_table(table, os.path.join(a.out_dir, f"part-{k:05d}.parquet"),
                       compression="zstd", compression_level=1)
    print(f"gen_sensor_data: {a.rows} rows, {a.files} file(s) in {a.out_dir} "
          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
