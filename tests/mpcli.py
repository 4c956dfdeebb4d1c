"""Helpers for the millpond CLI tests: run the binary, read its scans as canonical rows."""

import os
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "interop"))

import harness  # noqa: E402
from harness import canonical  # noqa: E402

BIN = os.environ.get("MILLPOND_BIN", "/work/main/build/millpond")
TIMEOUT = 300


def bin_missing():
    if not os.access(BIN, os.X_OK):
        return "millpond binary not found at %s (build it, or set MILLPOND_BIN)" % BIN
    return None


class Result:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", errors="replace")
        self.err = p.stderr.decode("utf-8", errors="replace")

    def __repr__(self):
        return "rc=%d\nstdout: %s\nstderr: %s" % (self.rc, self.out[-2000:], self.err[-2000:])


def run(warehouse, *args, env=None):
    """millpond -w WAREHOUSE args...; returns Result (never raises on a non-zero exit)."""
    p = subprocess.run([BIN, "-w", str(warehouse), *[str(a) for a in args]],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, env=env)
    return Result(p)


def ok(warehouse, *args):
    r = run(warehouse, *args)
    assert r.rc == 0, "millpond %s failed: %r" % (" ".join(map(str, args)), r)
    return r


def fails(warehouse, *args):
    """Runs a command that must fail cleanly: exit code 1 (not a signal), exactly one line on
    stderr starting with 'millpond: error:'. Returns that line."""
    r = run(warehouse, *args)
    assert r.rc != 0, "expected failure: %r" % r
    assert r.rc > 0, "killed by signal %d: %r" % (-r.rc, r)
    assert r.rc == 1, "exit code %d (expected 1): %r" % (r.rc, r)
    lines = [x for x in r.err.split("\n") if x.strip()]
    assert len(lines) == 1, "expected one stderr line: %r" % r
    assert lines[0].startswith("millpond: error:"), r
    return lines[0]


def scan_table(warehouse, table, *args, out_dir):
    """`scan --format parquet --output F` -> pyarrow Table."""
    import pyarrow.parquet as pq
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = len(list(out_dir.glob("scan-*.parquet")))
    f = out_dir / ("scan-%d.parquet" % n)
    ok(warehouse, "scan", table, "--format", "parquet", "--output", f, *args)
    return pq.read_table(str(f))


def scan_rows(warehouse, table, *args, out_dir):
    return canonical.rows(scan_table(warehouse, table, *args, out_dir=out_dir))


def snapshot_ids(warehouse, table):
    """Snapshot ids listed by `millpond snapshots` (first column of each data line)."""
    r = ok(warehouse, "snapshots", table)
    ids = []
    for line in r.out.split("\n")[1:]:
        parts = line.split()
        if parts and parts[0].isdigit():
            ids.append(int(parts[0]))
    return ids


# --- long-running commands (ingest, follow) ---------------------------------------------------

def start(warehouse, *args):
    """Starts `millpond -w WAREHOUSE ARGS...` in the background (stdout/stderr piped)."""
    return subprocess.Popen([BIN, "-w", str(warehouse), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc, timeout=120):
    """Waits for a started command, which must succeed; returns its stdout."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, "command failed (%d): %s" % (proc.returncode, err.decode())
    return out.decode()


def table_rows(warehouse, table, out_dir):
    """Every row of `table` as dicts, or [] while it does not exist yet."""
    if run(warehouse, "schema", table).rc != 0:
        return []
    return scan_table(warehouse, table, out_dir=Path(out_dir) / "scan").to_pylist()


def wait_for(what, fn, timeout=60):
    """Polls fn() until it returns something truthy (a guard against hangs, not a timing check)."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError("gave up waiting for " + what)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (for servers the tests start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, timeout=10):
    """Terminates a server the tests started (SIGTERM, then SIGKILL), if it still runs."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
