"""`millpond scan DB.T --follow`: streaming reads with row kinds, consumer progress and resume,
clean stop on SIGINT, and snapshot expiration keeping what a consumer still needs."""

import json
import queue
import signal
import subprocess
import threading
import time

import pytest

import mpcli
from mpcli import ok


def _follow_missing():
    missing = mpcli.bin_missing()
    if missing:
        return missing
    r = subprocess.run([mpcli.BIN, "scan", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if b"--follow" not in r.stdout:
        return "scan --follow is not wired into %s yet" % mpcli.BIN
    return None


pytestmark = pytest.mark.skipif(bool(_follow_missing()), reason=str(_follow_missing()))

SCHEMA = "id INT NOT NULL, name STRING"


class Follower:
    """A `scan --follow --format jsonl` subprocess whose stdout lines are collected as they come."""

    def __init__(self, wh, *args):
        self.p = subprocess.Popen(
            [mpcli.BIN, "-w", str(wh), "scan", "db.t", "--follow", "--format", "jsonl",
             "--interval", "50ms", *[str(a) for a in args]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        self.rows = []
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        for line in self.p.stdout:
            self.lines.put(json.loads(line))

    def wait_rows(self, n, timeout=30):
        """Waits until at least n rows arrived (in total); returns all rows so far."""
        deadline = time.time() + timeout
        while len(self.rows) < n:
            left = deadline - time.time()
            assert left > 0, "only %d of %d rows arrived: %r" % (len(self.rows), n, self.rows)
            try:
                self.rows.append(self.lines.get(timeout=left))
            except queue.Empty:
                pass
        return self.rows

    def finish(self, timeout=30):
        """Waits for the process to exit; returns (rc, all rows, stderr)."""
        rc = self.p.wait(timeout=timeout)
        self.t.join(timeout)
        while not self.lines.empty():
            self.rows.append(self.lines.get())
        return rc, self.rows, self.p.stderr.read().decode()


def write(wh, tmp_path, ids):
    src = tmp_path / ("in-%d-%d.csv" % (ids[0], len(ids)))
    src.write_text("id,name\n" + "".join("%d,n%d\n" % (i, i) for i in ids))
    ok(wh, "write", "db.t", "--input", src)


def inserts(ids):
    return [{"_ROW_KIND": "+I", "id": i, "name": "n%d" % i} for i in ids]


def by_id(rows):
    return sorted(rows, key=lambda r: r["id"])


def consumer_next(wh, cid):
    return json.loads((wh / "db.db" / "t" / "consumer" / ("consumer-" + cid)).read_text())["nextSnapshot"]


@pytest.fixture
def wh(tmp_path):
    wh = tmp_path / "wh"
    ok(wh, "table", "create", "db.t", "--schema", SCHEMA,
       "--option", "snapshot.num-retained.min=1", "--option", "snapshot.time-retained=1ms")
    write(wh, tmp_path, [1, 2])  # snapshot 1
    return wh


def test_follow_streams_each_new_commit_in_order(wh, tmp_path):
    f = Follower(wh, "--until-idle", "3s")
    # The full read of the latest snapshot comes first.
    assert by_id(f.wait_rows(2)) == inserts([1, 2])
    batches = [[10, 11, 12], [20, 21], [30, 31, 32, 33]]
    for ids in batches:
        write(wh, tmp_path, ids)
    rows = f.wait_rows(2 + 9)
    rc, rows, err = f.finish()
    assert rc == 0, err
    assert len(rows) == 11, rows  # exactly the new rows, nothing twice
    pos = 2
    for ids in batches:  # in commit order, snapshot by snapshot
        assert by_id(rows[pos:pos + len(ids)]) == inserts(ids)
        pos += len(ids)


def test_from_snapshot_skips_the_full_read(wh, tmp_path):
    write(wh, tmp_path, [3])  # snapshot 2
    write(wh, tmp_path, [4])  # snapshot 3
    rc, rows, err = Follower(wh, "--from-snapshot", "2", "--until-idle", "500ms").finish()
    assert rc == 0, err
    assert rows == inserts([3, 4])


def test_consumer_resumes_without_duplicates_or_loss(wh, tmp_path):
    rc, rows, err = Follower(wh, "--consumer-id", "etl", "--until-idle", "500ms").finish()
    assert rc == 0, err
    assert by_id(rows) == inserts([1, 2])
    assert consumer_next(wh, "etl") == 2
    write(wh, tmp_path, [3, 4])  # snapshot 2, while nobody follows
    write(wh, tmp_path, [5])     # snapshot 3
    rc, rows, err = Follower(wh, "--consumer-id", "etl", "--until-idle", "500ms").finish()
    assert rc == 0, err
    assert by_id(rows[:2]) == inserts([3, 4]) and rows[2:] == inserts([5])
    assert consumer_next(wh, "etl") == 4
    rc, rows, err = Follower(wh, "--consumer-id", "etl", "--until-idle", "300ms").finish()
    assert rc == 0 and rows == [], (rows, err)


def test_sigint_stops_cleanly_and_saves_progress(wh, tmp_path):
    f = Follower(wh, "--consumer-id", "live")
    f.wait_rows(2)
    write(wh, tmp_path, [7])
    f.wait_rows(3)
    deadline = time.time() + 10  # the consumer is saved right after the rows are flushed
    while consumer_next(wh, "live") != 3 and time.time() < deadline:
        time.sleep(0.05)
    f.p.send_signal(signal.SIGINT)
    rc, rows, err = f.finish(timeout=10)
    assert rc == 0, err
    assert rows == inserts([1, 2]) + inserts([7]) or by_id(rows) == inserts([1, 2, 7])
    assert consumer_next(wh, "live") == 3


def test_expire_keeps_what_a_consumer_needs(wh, tmp_path):
    rc, _, err = Follower(wh, "--consumer-id", "slow", "--until-idle", "300ms").finish()
    assert rc == 0, err
    for i in range(4):
        write(wh, tmp_path, [100 + i])  # snapshots 2..5
    time.sleep(0.01)
    ok(wh, "expire", "db.t")
    assert mpcli.snapshot_ids(wh, "db.t") == [2, 3, 4, 5]  # 1 expired; 2 is the consumer's next
    rc, rows, err = Follower(wh, "--consumer-id", "slow", "--until-idle", "300ms").finish()
    assert rc == 0, err
    assert rows == inserts([100, 101, 102, 103])
    ok(wh, "expire", "db.t")
    assert mpcli.snapshot_ids(wh, "db.t") == [5]
    # A start that was expired fails with one clear line instead of skipping changes.
    line = mpcli.fails(wh, "scan", "db.t", "--follow", "--from-snapshot", "2", "--until-idle", "1s")
    assert "expired" in line


def test_bad_follow_arguments_fail_cleanly(wh):
    assert "consumer id" in mpcli.fails(wh, "scan", "db.t", "--follow", "--consumer-id", "../x",
                                        "--until-idle", "1s")
    assert "--interval" in mpcli.fails(wh, "scan", "db.t", "--follow", "--interval", "soon",
                                       "--until-idle", "1s")
