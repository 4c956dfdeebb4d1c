"""`millpond ingest files` and `millpond gc`, end to end with real media.

Images and a video are made by ffmpeg (testsrc2), EXIF is written into a JPEG by hand (APP1
segment with DateTimeOriginal), and every check reads back through `millpond scan`, Paimon Java
and pypaimon: one row per file with the right metadata and exactly the file's bytes; re-running
adds nothing; a changed file becomes a new version; hostile entries (links out of the folder, link
loops, unreadable files, a file written while being read) are reported by name and skipped while
the rest is committed; the garbage collector deletes only blobs no table references, also while a
writer keeps ingesting.
"""

import base64
import hashlib
import json
import os
import pty
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import mpcli
from mpcli import harness, ok, run, scan_table

pytestmark = [
    pytest.mark.skipif(bool(mpcli.bin_missing()), reason=str(mpcli.bin_missing())),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed"),
]

JAVA_MISSING = harness.java_missing()
PYPAIMON_MISSING = harness.pypaimon_missing()

EXIF_DATE = "2024:05:06 07:08:09"


def exif_app1(date):
    """An APP1 segment with a TIFF header, IFD0 -> Exif IFD -> DateTimeOriginal (ASCII)."""
    value = date.encode() + b"\0"
    tiff = b"II*\0" + struct.pack("<I", 8)
    tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 26) + struct.pack("<I", 0)
    tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x9003, 2, len(value), 44) + struct.pack("<I", 0)
    tiff += value
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", *args], check=True)


def make_media(root):
    """a.jpg (EXIF), b.png, sub/c.mp4 (2 s, 30 fps, h264), sub/deep/note.txt."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sub" / "deep").mkdir(parents=True, exist_ok=True)
    ffmpeg("-i", "testsrc2=size=320x240", "-frames:v", "1", str(root / "plain.jpg"))
    jpg = (root / "plain.jpg").read_bytes()
    assert jpg[:2] == b"\xff\xd8"
    (root / "a.jpg").write_bytes(jpg[:2] + exif_app1(EXIF_DATE) + jpg[2:])
    (root / "plain.jpg").unlink()
    ffmpeg("-i", "testsrc2=size=64x48", "-frames:v", "1", str(root / "b.png"))
    ffmpeg("-i", "testsrc2=size=160x120:rate=30", "-t", "2", "-pix_fmt", "yuv420p",
           str(root / "sub" / "c.mp4"))
    (root / "sub" / "deep" / "note.txt").write_text("spindle alarm at 14:03\n")
    return root


def rows(wh, table, tmp_path, columns="path,version,size,content_type,sha256,captured_at,"
         "captured_from,width,height,duration,video_codec,frame_rate,blob"):
    t = scan_table(wh, table, "--columns", columns, out_dir=tmp_path / "scans")
    return sorted(t.to_pylist(), key=lambda r: (r["path"], r.get("version", 0)))


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot_count(wh, table):
    return len(mpcli.snapshot_ids(wh, table))


# ---- rows and metadata ---------------------------------------------------------------------------

def test_ingest_folder_one_row_per_file_with_metadata(tmp_path):
    media = make_media(tmp_path / "media")
    wh = tmp_path / "wh"
    r = ok(wh, "ingest", "files", media, "--table", "plant.files", "--recursive")
    assert "4 new" in r.out, r
    got = {x["path"]: x for x in rows(wh, "plant.files", tmp_path)}
    assert sorted(got) == ["a.jpg", "b.png", "sub/c.mp4", "sub/deep/note.txt"]
    for path, x in got.items():
        data = (media / path).read_bytes()
        assert x["blob"] == data, path
        assert x["size"] == len(data) and x["sha256"] == hashlib.sha256(data).hexdigest()
        assert x["version"] == 1
    a = got["a.jpg"]
    assert a["content_type"] == "image/jpeg" and (a["width"], a["height"]) == (320, 240)
    assert a["captured_from"] == "exif" and str(a["captured_at"]) == "2024-05-06 07:08:09"
    b = got["b.png"]
    assert b["content_type"] == "image/png" and (b["width"], b["height"]) == (64, 48)
    assert b["captured_from"] == "mtime"
    mtime = os.stat(media / "b.png").st_mtime_ns // 1_000_000
    assert int(b["captured_at"].timestamp() * 1000) == mtime  # naive timestamp read as UTC
    c = got["sub/c.mp4"]
    assert c["content_type"] == "video/mp4" and (c["width"], c["height"]) == (160, 120)
    assert c["video_codec"] == "h264" and c["frame_rate"] == 30
    assert abs(c["duration"] - 2.0) < 0.1
    n = got["sub/deep/note.txt"]
    assert n["content_type"] == "text/plain" and n["width"] is None and n["duration"] is None


def test_pattern_and_non_recursive(tmp_path):
    media = make_media(tmp_path / "media")
    wh = tmp_path / "wh"
    ok(wh, "ingest", "files", media, "--table", "db.top")
    assert [x["path"] for x in rows(wh, "db.top", tmp_path, "path")] == ["a.jpg", "b.png"]
    ok(wh, "ingest", "files", media, "--table", "db.mp4", "--recursive", "--pattern", "*.mp4")
    assert [x["path"] for x in rows(wh, "db.mp4", tmp_path, "path")] == ["sub/c.mp4"]
    ok(wh, "ingest", "files", media, "--table", "db.deep", "--recursive", "--pattern", "sub/*/*")
    assert [x["path"] for x in rows(wh, "db.deep", tmp_path, "path")] == ["sub/deep/note.txt"]
    for bad in ["../*", "/etc/*", "sub/../../x"]:
        assert "--pattern" in mpcli.fails(wh, "ingest", "files", media, "--table", "db.x", "--pattern", bad)
    assert "not-there" in mpcli.fails(wh, "ingest", "files", tmp_path / "not-there", "--table", "db.x")
    # An existing table that is not a files table is refused, not appended to.
    ok(wh, "table", "create", "db.other", "--schema", "id INT")
    assert "not a files table" in mpcli.fails(wh, "ingest", "files", media, "--table", "db.other")


def test_reingest_adds_nothing_and_changes_become_versions(tmp_path):
    media = make_media(tmp_path / "media")
    wh = tmp_path / "wh"
    ok(wh, "ingest", "files", media, "--table", "db.f", "--recursive")
    before = rows(wh, "db.f", tmp_path)
    snaps = snapshot_count(wh, "db.f")
    r = ok(wh, "ingest", "files", media, "--table", "db.f", "--recursive")
    assert "0 new, 0 new versions, 4 unchanged" in r.out, r
    assert rows(wh, "db.f", tmp_path) == before and snapshot_count(wh, "db.f") == snaps
    # Touched without a change: read again, still nothing added.
    os.utime(media / "b.png", ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    r = ok(wh, "ingest", "files", media, "--table", "db.f", "--recursive")
    assert "0 new, 0 new versions, 4 unchanged" in r.out, r
    # Changed bytes: version 2 beside version 1; a new file: version 1.
    (media / "sub" / "deep" / "note.txt").write_text("spindle alarm cleared\n")
    (media / "new.txt").write_text("shift B\n")
    r = ok(wh, "ingest", "files", media, "--table", "db.f", "--recursive")
    assert "1 new, 1 new versions, 3 unchanged" in r.out, r
    after = rows(wh, "db.f", tmp_path, "path,version,blob")
    notes = [x for x in after if x["path"] == "sub/deep/note.txt"]
    assert [(x["version"], x["blob"]) for x in notes] == [
        (1, b"spindle alarm at 14:03\n"), (2, b"spindle alarm cleared\n")]
    assert [x["version"] for x in after if x["path"] == "new.txt"] == [1]
    # Time travel still shows the first state.
    first = scan_table(wh, "db.f", "--snapshot", 1, "--columns", "path,blob", out_dir=tmp_path / "tt")
    assert {r["path"]: r["blob"] for r in first.to_pylist()}["sub/deep/note.txt"] == \
        b"spindle alarm at 14:03\n"


def test_concurrent_ingests_of_one_folder_add_each_file_once(tmp_path):
    # Four ingests of the same folder at once: each commit lands only on the snapshot its known
    # files came from, so a racing ingest re-reads them and drops what another one added.
    folder = tmp_path / "shared"
    folder.mkdir()
    rnd = __import__("random").Random(7)
    for i in range(40):
        (folder / ("part-%02d.bin" % i)).write_bytes(rnd.randbytes(300_000 + i))
    wh = tmp_path / "wh"

    def ingest_all():
        procs = [mpcli.start(wh, "ingest", "files", folder, "--table", "db.shared")
                 for _ in range(4)]
        return [mpcli.finish(p) for p in procs]

    outs = ingest_all()
    got = rows(wh, "db.shared", tmp_path, "path,version,sha256")
    assert sorted((r["path"], r["version"]) for r in got) == \
        sorted(("part-%02d.bin" % i, 1) for i in range(40)), outs
    assert all(r["sha256"] == sha(folder / r["path"]) for r in got)
    added = sum(int(o.split(" new,")[0].split()[-1]) for o in outs)
    assert added == 40, outs
    # Changed files become version 2 exactly once, whichever ingest commits them.
    for i in range(0, 40, 4):
        (folder / ("part-%02d.bin" % i)).write_bytes(rnd.randbytes(1000 + i))
    outs = ingest_all()
    got = rows(wh, "db.shared", tmp_path, "path,version,sha256")
    versions = {}
    for r in got:
        versions.setdefault(r["path"], []).append(r["version"])
    assert {p: sorted(v) for p, v in versions.items()} == {
        "part-%02d.bin" % i: ([1, 2] if i % 4 == 0 else [1]) for i in range(40)}, outs
    latest = {r["path"]: r["sha256"] for r in got if r["version"] == max(versions[r["path"]])}
    assert all(latest[p] == sha(folder / p) for p in latest)


# ---- hostile paths, unreadable and changing files --------------------------------------------------

def test_hostile_entries_are_named_and_skipped_the_rest_is_committed(tmp_path):
    media = make_media(tmp_path / "media")
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    (media / "abs-link").symlink_to(outside)                     # absolute, out of the folder
    (media / "dotdot-link").symlink_to("../secret.txt")          # .. out of the folder
    (media / "loop-a").symlink_to("loop-b")                      # a loop
    (media / "loop-b").symlink_to("loop-a")
    (media / "self").symlink_to("self")
    (media / "dangling").symlink_to("nowhere")
    (media / "dir-link").symlink_to("sub")                       # a folder: not followed
    (media / "inside-link.png").symlink_to("b.png")              # inside: followed
    os.mkfifo(media / "fifo")
    with open(os.path.join(bytes(media), b"bad\xffname.txt"), "wb") as f:  # not UTF-8
        f.write(b"x")
    wh = tmp_path / "wh"
    r = run(wh, "ingest", "files", media, "--table", "db.h", "--recursive")
    assert r.rc == 1, r
    err = r.err
    for name, why in [("abs-link", "outside the folder"), ("dotdot-link", "outside the folder"),
                      ("loop-a", "loop"), ("loop-b", "loop"), ("self", "loop"),
                      ("dangling", "broken"), ("dir-link", "folder; not followed"),
                      ("fifo", "not a regular file"), ("bad\\xffname.txt", "not valid UTF-8")]:
        assert any(line.startswith("millpond: skipped %s: " % name) and why in line
                   for line in err.splitlines()), (name, err)
    assert err.splitlines()[-1].startswith("millpond: error:") and \
        "9 files could not be ingested" in err.splitlines()[-1], err
    got = {x["path"]: x["blob"] for x in rows(wh, "db.h", tmp_path, "path,blob")}
    assert sorted(got) == ["a.jpg", "b.png", "inside-link.png", "sub/c.mp4", "sub/deep/note.txt"]
    assert got["inside-link.png"] == (media / "b.png").read_bytes()
    assert b"not yours" not in b"".join(got.values())


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv not installed")
def test_unreadable_file_is_named_and_skipped(tmp_path):
    # As an unprivileged user (root reads everything), so the permission check is real; in a
    # folder that user can reach (pytest's own temp root is private to its owner).
    base = Path(tempfile.mkdtemp(prefix="millpond-unreadable-"))
    try:
        os.chmod(base, 0o755)
        media = make_media(base / "media")
        (media / "locked.txt").write_text("locked")
        os.chmod(media / "locked.txt", 0)
        wh = base / "wh"
        wh.mkdir()
        os.chmod(wh, 0o777)
        cmd = [mpcli.BIN, "-w", str(wh), "ingest", "files", str(media), "--table", "db.u", "-r"]
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert p.returncode == 1, p
        assert "millpond: skipped locked.txt: cannot open: Permission denied" in p.stderr, p.stderr
        assert [x["path"] for x in rows(wh, "db.u", tmp_path, "path")] == [
            "a.jpg", "b.png", "sub/c.mp4", "sub/deep/note.txt"]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_file_changing_while_read_is_skipped_then_ingested_once_quiet(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "steady.bin").write_bytes(os.urandom(1000))
    grow = media / "growing.log"
    grow.write_bytes(os.urandom(8 << 20))
    stop = threading.Event()

    def append():
        with open(grow, "ab") as f:
            while not stop.is_set():
                f.write(b"line\n")
                f.flush()

    t = threading.Thread(target=append)
    t.start()
    try:
        r = run(tmp_path / "wh", "ingest", "files", media, "--table", "db.c")
    finally:
        stop.set()
        t.join()
    assert r.rc == 1, r
    assert "millpond: skipped growing.log: changed while being read" in r.err, r
    assert [x["path"] for x in rows(tmp_path / "wh", "db.c", tmp_path, "path")] == ["steady.bin"]
    # Once it is quiet, the next run takes it, whole.
    ok(tmp_path / "wh", "ingest", "files", media, "--table", "db.c")
    got = {x["path"]: x["blob"] for x in rows(tmp_path / "wh", "db.c", tmp_path, "path,blob")}
    assert got["growing.log"] == grow.read_bytes()


def test_progress_bar_only_on_a_terminal(tmp_path):
    media = make_media(tmp_path / "media")
    r = ok(tmp_path / "wh", "ingest", "files", media, "--table", "db.p", "--recursive")
    assert r.err == "", r  # not a terminal: quiet
    # stderr on a pseudo-terminal: the bar appears there, stdout keeps the summary.
    master, slave = pty.openpty()
    p = subprocess.Popen([mpcli.BIN, "-w", str(tmp_path / "wh2"), "ingest", "files", str(media),
                          "--table", "db.p", "--recursive"], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    out, _ = p.communicate(timeout=120)
    os.close(master)
    assert p.returncode == 0
    assert b"ingest [" in tty and b"4/4 files" in tty, tty
    assert b"ingested 4 files" in out and b"ingest [" not in out


# ---- other readers ----------------------------------------------------------------------------------

def _check_reader_rows(lines, media):
    got = {}
    for line in lines:
        r = json.loads(line)
        got[r["path"]] = base64.b64decode(r["blob"])
        assert hashlib.sha256(got[r["path"]]).hexdigest() == r["sha256"]
    assert sorted(got) == ["a.jpg", "b.png", "sub/c.mp4", "sub/deep/note.txt"]
    for path, data in got.items():
        assert data == (media / path).read_bytes(), path


@pytest.mark.skipif(bool(JAVA_MISSING), reason=str(JAVA_MISSING))
def test_paimon_java_reads_the_blobs(tmp_path):
    """The BLOB column holds Paimon BlobDescriptors that name pack ranges of the blob store:
    Paimon Java resolves them itself and gets every file's bytes."""
    media = make_media(tmp_path / "media")
    wh = tmp_path / "wh"
    ok(wh, "ingest", "files", media, "--table", "plant.files", "--recursive")
    _check_reader_rows(harness.java_read(str(wh), "plant.files"), media)


def test_paimon_readers_follow_packs_that_tier_apply_moves(tmp_path):
    """Moving packs to another tier re-points the descriptors (a COMPACT snapshot writing only the
    blob column over the same row ids): Paimon Java and pypaimon still get every file's bytes, the
    rows do not change, and moving back supersedes the first rewrite instead of stacking files."""
    media = make_media(tmp_path / "media")
    wh = tmp_path / "wh"
    ok(wh, "ingest", "files", media, "--table", "plant.files", "--recursive")
    before = rows(wh, "plant.files", tmp_path)
    cold = tmp_path / "archive"
    policy = tmp_path / "cold.yaml"
    policy.write_text("tiers:\n  cold: %s\nrules:\n  - tier: cold\n    min_age: 0s\n" % cold)
    r = ok(wh, "tier", "apply", "--policy", policy)
    assert "relinked 4 blob descriptors in 1 of 1 tables" in r.out, r
    desc = rows(wh, "plant.files", tmp_path, "path,blob")
    assert rows(wh, "plant.files", tmp_path) == before
    ok(wh, "alter", "plant.files", "--set", "blob-as-descriptor=true")
    uris = [x["blob"] for x in rows(wh, "plant.files", tmp_path, "path,blob")]
    assert all(str(cold).encode() in u for u in uris), uris
    ok(wh, "alter", "plant.files", "--set", "blob-as-descriptor=false")
    assert desc == [{"path": x["path"], "blob": x["blob"]} for x in before]
    table = wh / "plant.db" / "files"
    assert json.loads((table / "snapshot" / "snapshot-2").read_text())["commitKind"] == "COMPACT"
    if not JAVA_MISSING:
        _check_reader_rows(harness.java_read(str(wh), "plant.files"), media)
    if not PYPAIMON_MISSING:
        _check_reader_rows(harness.pypaimon_read(str(wh), "plant.files"), media)
    # Back to hot: the second rewrite replaces the first (one data file + one descriptor file).
    back = tmp_path / "hot.json"
    back.write_text(json.dumps({"rules": [{"tier": "hot"}]}))
    r = ok(wh, "tier", "apply", "--policy", back)
    assert "relinked 4 blob descriptors" in r.out, r
    assert rows(wh, "plant.files", tmp_path) == before
    live = scan_table(wh, "plant.files", "--columns", "path", out_dir=tmp_path / "n").num_rows
    assert live == 4
    if not JAVA_MISSING:
        _check_reader_rows(harness.java_read(str(wh), "plant.files"), media)
    # Nothing to do when nothing moved.
    assert "relinked 0 blob descriptors in 0 of 1 tables" in ok(wh, "blob", "relink").out


@pytest.mark.skipif(bool(JAVA_MISSING) and bool(PYPAIMON_MISSING),
                    reason="neither Paimon Java nor pypaimon")
def test_tier_moves_relink_branches_too(tmp_path):
    """A branch holds the descriptors its snapshots had when it forked: `tier apply` re-points
    them on the branch's own snapshot line, so Paimon readers of the branch (`files$branch_b1`)
    still get every file's bytes."""
    media = make_media(tmp_path / "media")
    wh = tmp_path / "wh"
    ok(wh, "ingest", "files", media, "--table", "plant.files", "--recursive")
    ok(wh, "branch", "create", "plant.files", "b1", "--snapshot", "1")
    cold = tmp_path / "archive"
    policy = tmp_path / "cold.yaml"
    policy.write_text("tiers:\n  cold: %s\nrules:\n  - tier: cold\n    min_age: 0s\n" % cold)
    r = ok(wh, "tier", "apply", "--policy", policy)
    assert "relinked 8 blob descriptors in 2 of 2 tables" in r.out, r
    branch_snapshots = wh / "plant.db" / "files" / "branch" / "branch-b1" / "snapshot"
    latest = int((branch_snapshots / "LATEST").read_text())
    assert json.loads((branch_snapshots / ("snapshot-%d" % latest)).read_text())[
        "commitKind"] == "COMPACT"
    if not JAVA_MISSING:
        _check_reader_rows(harness.java_read(str(wh), "plant.files$branch_b1"), media)
    if not PYPAIMON_MISSING:
        _check_reader_rows(harness.pypaimon_read(str(wh), "plant.files$branch_b1"), media)


@pytest.mark.skipif(bool(JAVA_MISSING), reason=str(JAVA_MISSING))
def test_blob_relink_after_the_warehouse_moved(tmp_path):
    """Descriptors name packs by absolute path: after the warehouse folder moves, `blob relink`
    points them at the new place and Paimon Java reads the bytes again."""
    media = make_media(tmp_path / "media")
    ok(tmp_path / "wh", "ingest", "files", media, "--table", "plant.files", "--recursive")
    moved = tmp_path / "elsewhere"
    (tmp_path / "wh").rename(moved)
    with pytest.raises(Exception):
        harness.java_read(str(moved), "plant.files")
    assert "relinked 4 blob descriptors in 1 of 1 tables" in ok(moved, "blob", "relink").out
    _check_reader_rows(harness.java_read(str(moved), "plant.files"), media)


@pytest.mark.skipif(bool(PYPAIMON_MISSING), reason=str(PYPAIMON_MISSING))
def test_pypaimon_reads_the_blobs(tmp_path):
    media = make_media(tmp_path / "media")
    wh = tmp_path / "wh"
    ok(wh, "ingest", "files", media, "--table", "plant.files", "--recursive")
    _check_reader_rows(harness.pypaimon_read(str(wh), "plant.files"), media)


# ---- garbage collection ----------------------------------------------------------------------------

def test_gc_deletes_only_unreferenced_blobs(tmp_path):
    media = make_media(tmp_path / "media")
    other = tmp_path / "other"
    other.mkdir()
    (other / "only-here.bin").write_bytes(os.urandom(5000))
    shutil.copy(media / "b.png", other / "shared.png")  # same bytes as in db.keep: stored once
    wh = tmp_path / "wh"
    ok(wh, "ingest", "files", media, "--table", "db.keep", "--recursive")
    old_note = (media / "sub" / "deep" / "note.txt").read_bytes()
    ok(wh, "tag", "create", "db.keep", "v1")
    (media / "sub" / "deep" / "note.txt").write_text("rewritten\n")
    ok(wh, "ingest", "files", media, "--table", "db.keep", "--recursive")
    ok(wh, "ingest", "files", other, "--table", "db.drop")
    r = ok(wh, "gc", "--grace", "0s")
    assert r.out.startswith("deleted 0 of 6 blobs"), r
    shutil.rmtree(wh / "db.db" / "drop")  # the table is gone; its own blob is garbage now
    r = ok(wh, "gc", "--grace", "0s", "--dry-run")
    assert r.out.startswith("would delete 1 of 6 blobs"), r
    r = ok(wh, "gc", "--grace", "1d")
    assert r.out.startswith("deleted 0 of 6 blobs"), r  # still within the grace period
    r = ok(wh, "gc", "--grace", "0s")
    assert r.out.startswith("deleted 1 of 6 blobs"), r
    # Every version and the tagged snapshot still read, bytes intact.
    got = rows(wh, "db.keep", tmp_path, "path,version,blob")
    assert [x["blob"] for x in got if x["path"] == "sub/deep/note.txt"] == [old_note, b"rewritten\n"]
    tagged = scan_table(wh, "db.keep", "--tag", "v1", "--columns", "path,blob", out_dir=tmp_path / "t")
    assert {x["path"]: x["blob"] for x in tagged.to_pylist()}["sub/deep/note.txt"] == old_note
    ok(wh, "blob", "verify")


def test_gc_pack_rewrite_relinks_descriptors_for_paimon_readers(tmp_path):
    """Two small blobs share a pack with a large one nobody references: the GC rewrites the pack
    and re-points the table's descriptors, so Paimon Java still reads the bytes."""
    folder = tmp_path / "keep"
    folder.mkdir()
    (folder / "a.bin").write_bytes(os.urandom(3000))
    (folder / "b.bin").write_bytes(os.urandom(4000))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2_000_000))
    wh = tmp_path / "wh"
    ok(wh, "blob", "put", folder / "a.bin", folder / "b.bin", big)  # one pack for all three
    ok(wh, "ingest", "files", folder, "--table", "db.t")  # deduplicated: rows name that pack
    r = ok(wh, "gc", "--grace", "0s")
    assert r.out.startswith("deleted 1 of 3 blobs") and "1 rewritten" in r.out, r
    assert "relinked 2 blob descriptors in 1 of 1 tables" in r.out, r
    got = {x["path"]: x["blob"] for x in rows(wh, "db.t", tmp_path, "path,blob")}
    assert got == {p: (folder / p).read_bytes() for p in ("a.bin", "b.bin")}
    if not JAVA_MISSING:
        lines = [json.loads(x) for x in harness.java_read(str(wh), "db.t")]
        assert {x["path"]: base64.b64decode(x["blob"]) for x in lines} == got
    ok(wh, "blob", "verify")


GRACE_S = 5


def test_gc_with_a_concurrent_writer_loses_nothing(tmp_path):
    """A writer ingests in a loop (new files, and copies of blobs that are garbage) while gc runs
    in a loop with a short grace period: every committed row keeps its bytes, garbage nobody
    re-stored is collected meanwhile, and garbage the writer re-stored stays (the store's dedup
    race: a condemned blob put again is stored again, never lost). The grace period only has to
    cover one ingest's flush-to-commit time (milliseconds)."""
    wh = tmp_path / "wh"
    dead = tmp_path / "dead"
    dead.mkdir()
    dead_bytes = [os.urandom(3000 + i) for i in range(10)]
    for i, data in enumerate(dead_bytes):
        (dead / ("d%d.bin" % i)).write_bytes(data)
    ok(wh, "ingest", "files", dead, "--table", "db.dead")
    shutil.rmtree(wh / "db.db" / "dead")
    time.sleep(GRACE_S + 0.5)  # the dropped table's blobs are now past the grace period
    feed = tmp_path / "feed"
    feed.mkdir()
    failures = []
    rounds = 30

    def writer():
        for i in range(rounds):
            (feed / ("f%03d.bin" % i)).write_bytes(os.urandom(2000 + i))
            if i % 3 == 0 and i // 3 < 5:  # re-put dead blobs 0, 2, 4, 6, 8
                (feed / ("copy%d.bin" % i)).write_bytes(dead_bytes[2 * (i // 3)])
            r = run(wh, "ingest", "files", feed, "--table", "db.live")
            if r.rc != 0:
                failures.append(r)

    t = threading.Thread(target=writer)
    t.start()
    deleted = 0
    try:
        while t.is_alive():
            r = run(wh, "gc", "--grace", "%ds" % GRACE_S)
            assert r.rc == 0 or "maintenance.lock" in r.err, r
            if r.rc == 0:
                deleted += int(r.out.split()[1])
    finally:
        t.join()
    assert not failures, failures[0]
    r = ok(wh, "gc", "--grace", "%ds" % GRACE_S)  # one more run: deferred deletions happen
    deleted += int(r.out.split()[1])
    assert deleted >= 5, "the 5 blobs nobody re-stored are collected"
    got = rows(wh, "db.live", tmp_path, "path,sha256,blob")
    assert len(got) == rounds + 5
    for x in got:
        assert hashlib.sha256(x["blob"]).hexdigest() == x["sha256"], x["path"]
    copies = sorted(x["blob"] for x in got if x["path"].startswith("copy"))
    assert copies == sorted(dead_bytes[0:10:2])
    # Nothing the tables reference is garbage.
    r = ok(wh, "gc", "--grace", "0s", "--dry-run")
    assert r.out.startswith("would delete 0 of"), r


def test_watch_follows_the_folder_until_sigterm(tmp_path):
    # --watch ingests new and changed files every interval; SIGTERM ends it cleanly (exit 0) and
    # every file seen before is committed exactly once per version.
    import signal
    wh = tmp_path / "wh"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.log").write_text("first\n")
    p = subprocess.Popen([mpcli.BIN, "-w", str(wh), "ingest", "files", str(folder), "--table",
                          "db.watch", "--watch", "--interval", "200ms"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def rows():
        r = run(wh, "scan", "db.watch", "--columns", "path,version,size", "--format", "jsonl")
        if r.rc != 0:
            return []
        return sorted((d["path"], d["version"], d["size"])
                      for d in map(json.loads, filter(None, r.out.split("\n"))))

    def wait_for(want):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if rows() == want:
                return
            assert p.poll() is None, p.communicate()
            time.sleep(0.1)
        raise AssertionError("table never reached %r; has %r" % (want, rows()))

    try:
        wait_for([("a.log", 1, 6)])
        (folder / "b.log").write_text("second!\n")
        wait_for([("a.log", 1, 6), ("b.log", 1, 8)])
        time.sleep(0.05)
        (folder / "a.log").write_text("first, changed\n")
        wait_for([("a.log", 1, 6), ("a.log", 2, 15), ("b.log", 1, 8)])
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err.decode()
    assert rows() == [("a.log", 1, 6), ("a.log", 2, 15), ("b.log", 1, 8)]
    # --until-idle ends a watch by itself once nothing changes.
    r = run(wh, "ingest", "files", str(folder), "--table", "db.watch", "--watch", "--interval",
            "100ms", "--until-idle", "500ms")
    assert r.rc == 0, r
    assert rows() == [("a.log", 1, 6), ("a.log", 2, 15), ("b.log", 1, 8)]
