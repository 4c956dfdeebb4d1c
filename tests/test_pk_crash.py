"""Crash tests for primary-key tables: SIGKILL the millpond CLI at random points of `write`
(level-0 flushes, automatic compaction, the commit), `compact --full` and `expire`, many times,
and check after every kill that the table

  1. opens: `snapshots` and `scan` succeed;
  2. holds exactly the merged rows of its committed writes: a write is committed iff an APPEND
     snapshot appeared while it ran, and the table then reads as every committed upsert and
     delete applied in order (no lost, no half-applied and no resurrected rows); a killed
     compaction or expiration changes nothing a reader sees;
  3. takes the next write (the next iteration) with sequence numbers that still order it last;
  4. after `orphans --older-than 0s`, still reads the same rows, and Paimon Java reads the same rows.

Random delays come from a fixed seed (MILLPOND_CRASH_SEED); MILLPOND_CRASH_ITERATIONS sets the
number of kills (default 30). On a failure the warehouse is left under pytest's tmp_path.
"""

import os
import random
import signal
import subprocess
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mpcli
from mpcli import BIN, ok, run

harness = mpcli.harness

SEED = int(os.environ.get("MILLPOND_CRASH_SEED", "20251125"))
ITERATIONS = int(os.environ.get("MILLPOND_CRASH_ITERATIONS", "30"))
KEYS = 200_000          # key space
WRITE_ROWS = 120_000    # rows per killed write (~0.3-0.5 s)
DELETE_SHARE = 0.1      # share of each write's rows that are deletes

pytestmark = pytest.mark.skipif(mpcli.bin_missing() is not None, reason=mpcli.bin_missing() or "")


class PkTable:
    def __init__(self, root, name, options):
        self.wh = root / "wh"
        self.name = name
        self.inputs = root / "in"
        self.inputs.mkdir(parents=True, exist_ok=True)
        self.out = root / "out"
        self.out.mkdir(exist_ok=True)
        self.state = {}  # id -> v of every committed, not deleted key
        # With deletion vectors, readers skip level-0 files (as Paimon's do): a committed write is
        # visible once a COMPACT snapshot after it has moved it up. `visible` is what reads see.
        self.dv = any(o.startswith("deletion-vectors.enabled=true") for o in options)
        self.visible = {}
        ok(self.wh, "table", "create", name, "--schema", "id BIGINT NOT NULL, p INT, v BIGINT",
           "--primary-key", "id", "--bucket", "4", *sum((["--option", o] for o in options), []))

    def where(self):
        return "table %s in %s" % (self.name, self.wh)

    def snapshots(self):
        """[(id, kind)] from `millpond snapshots`; the table must open."""
        r = run(self.wh, "snapshots", self.name)
        assert r.rc == 0, "table does not open after the kill (%s): %r" % (self.where(), r)
        out = []
        for line in r.out.split("\n")[1:]:
            parts = line.split()
            if parts and parts[0].isdigit():
                out.append((int(parts[0]), parts[2]))
        return out

    def make_input(self, w, rng):
        keys = np.array(sorted(rng.sample(range(KEYS), WRITE_ROWS)), dtype=np.int64)
        kinds = np.where(np.array([rng.random() < DELETE_SHARE for _ in keys]), "-D", "+I")
        order = np.array(rng.sample(range(len(keys)), len(keys)))  # unsorted input
        t = pa.table({
            "_ROW_KIND": pa.array(kinds[order]),
            "id": pa.array(keys[order]),
            "p": pa.array((keys[order] % 7).astype(np.int32)),
            "v": pa.array(keys[order] * 1000 + w),
        })
        path = self.inputs / ("w%d.parquet" % w)
        pq.write_table(t, str(path), row_group_size=16_384)
        return path, t

    @staticmethod
    def apply(state, t):
        for kind, k, v in zip(t.column("_ROW_KIND").to_pylist(), t.column("id").to_pylist(),
                              t.column("v").to_pylist()):
            if kind == "-D":
                state.pop(k, None)
            else:
                state[k] = v

    def read(self, *args):
        f = self.out / "rows.parquet"
        r = run(self.wh, "scan", self.name, "--columns", "id,v", "--format", "parquet",
                "--output", f, *args)
        assert r.rc == 0, "scan failed after the kill (%s): %r" % (self.where(), r)
        t = pq.read_table(str(f))
        return dict(zip(t.column("id").to_pylist(), t.column("v").to_pylist()))

    def committed(self, data, compacted_after):
        """A write's APPEND snapshot exists; `compacted_after`: a COMPACT snapshot followed it."""
        self.apply(self.state, data)
        if not self.dv or compacted_after:
            self.visible = dict(self.state)

    def compacted(self):
        self.visible = dict(self.state)

    def check(self, what):
        got = self.read()
        want = self.visible
        if got == want:
            return
        lost = sorted(set(want) - set(got))[:5]
        extra = sorted(set(got) - set(want))[:5]
        wrong = sorted(k for k in set(got) & set(want) if got[k] != want[k])[:5]
        raise AssertionError("%s (%s): %d rows, expected %d; lost %r, resurrected/foreign %r, "
                             "stale values %r" % (what, self.where(), len(got), len(want),
                                                  lost, extra, wrong))

    def start(self, *args):
        return subprocess.Popen([BIN, "-w", str(self.wh), *[str(a) for a in args]],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_after(p, delay):
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
    out, err = p.communicate()
    return p.returncode, err.decode(errors="replace")


def timed(p):
    t0 = time.monotonic()
    _, err = p.communicate()
    assert p.returncode == 0, err.decode(errors="replace")
    return time.monotonic() - t0


@pytest.mark.parametrize("variant", ["plain", "deletion-vectors"])
def test_kill_pk_write_compact_expire(tmp_path, variant):
    options = ["num-sorted-run.compaction-trigger=3", "snapshot.num-retained.min=2",
               "snapshot.num-retained.max=3", "target-file-size=256kb",
               "write-buffer-size=2mb"]
    if variant == "deletion-vectors":
        options.append("deletion-vectors.enabled=true")
    t = PkTable(tmp_path, "db.pk", options)
    rng = random.Random(SEED + (1 if variant != "plain" else 0))

    # Typical durations (unkilled), so that kill delays land inside each command.
    w = 0
    durations = {}
    for op in ("write", "write", "compact", "write", "expire"):
        if op == "write":
            path, data = t.make_input(w, rng)
            durations["write"] = timed(t.start("write", t.name, "--input", path))
            t.committed(data, compacted_after=t.snapshots()[-1][1] == "COMPACT")
            w += 1
        elif op == "compact":
            durations["compact"] = timed(t.start("compact", t.name, "--full"))
            t.compacted()
        else:
            durations["expire"] = timed(t.start("expire", t.name))
    t.check("before any kill")

    outcomes = {}
    for i in range(ITERATIONS):
        op = rng.choices(["write", "compact", "expire"], weights=[3, 2, 1])[0]
        if op == "expire":
            # Something to expire: one unkilled write first.
            path, data = t.make_input(w, rng)
            timed(t.start("write", t.name, "--input", path))
            t.committed(data, compacted_after=t.snapshots()[-1][1] == "COMPACT")
            w += 1
        delay = rng.uniform(0, 1.2 * durations[op])
        before = t.snapshots()
        last = before[-1][0] if before else 0
        if op == "write":
            path, data = t.make_input(w, rng)
            p = t.start("write", t.name, "--input", path)
        elif op == "compact":
            p = t.start("compact", t.name, "--full")
        else:
            p = t.start("expire", t.name)
        rc, err = kill_after(p, delay)
        what = "iteration %d: %s killed after %.3f s (typical %.3f s, rc %d)" % (
            i, op, delay, durations[op], rc)
        assert rc in (0, -signal.SIGKILL), "%s: failed by itself: %s" % (what, err)
        after = t.snapshots()
        new = [(s, kind) for s, kind in after if s > last]
        if op == "write":
            appended = [s for s, kind in new if kind == "APPEND"]
            assert len(appended) <= 1, "%s: one write made %r" % (what, new)
            if appended:
                t.committed(data, compacted_after=any(
                    s > appended[0] and kind == "COMPACT" for s, kind in new))
            w += 1
        else:
            assert all(kind == "COMPACT" for _, kind in new), "%s: made %r" % (what, new)
            if new:
                t.compacted()
        outcomes.setdefault(op, []).append("killed" if rc else "finished")
        t.check(what)

    # Every kind of command was killed at least once somewhere.
    for op in ("write", "compact"):
        assert "killed" in outcomes.get(op, []), "no %s was killed: %r" % (op, outcomes)

    # Leftovers of killed commands go, committed rows stay; a retained snapshot still reads.
    ok(t.wh, "orphans", t.name, "--older-than", "0s")
    t.check("after orphans")
    ok(t.wh, "compact", t.name, "--full")
    t.compacted()
    t.check("after a final full compaction")
    if harness.java_missing() is None:
        rows = harness.java_read(str(t.wh), t.name)
        mine = mpcli.scan_rows(t.wh, t.name, out_dir=t.out / "java")
        assert len(rows) == len(mine) == len(t.visible), (len(rows), len(mine), len(t.visible))
        assert rows == mine, "Paimon Java and millpond differ (%s)" % t.where()
