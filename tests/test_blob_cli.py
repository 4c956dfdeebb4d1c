"""The blob store through the millpond CLI (issue 4): put/get/stat/stats across real processes,
byte ranges, dedup, compression by content type, corrupt and truncated packs, garbage collection
with a live set, tier moves with a policy file, and bad input (one 'millpond: error:' line, exit 1).
"""

import hashlib
import json
import os
import subprocess

import pytest

import mpcli
from mpcli import fails, ok

pytestmark = pytest.mark.skipif(bool(mpcli.bin_missing()), reason=str(mpcli.bin_missing()))


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def log_text(n):
    lines = []
    i = size = 0
    while size < n:
        lines.append("2026-11-25T10:%02d:%02d INFO line=%d spindle=%d temp=%d cycle done\n"
                     % (i // 60 % 60, i % 60, i % 7, i % 5, 20 + i % 50))
        size += len(lines[-1])
        i += 1
    return "".join(lines).encode()[:n]


@pytest.fixture
def files(tmp_path):
    rnd = os.urandom(700_000)
    jpeg = b"\xff\xd8\xff\xe0" + log_text(300_000)  # compressible, but a JPEG: stored as is
    paths = {
        "random.bin": rnd,
        "machine.log": log_text(900_000),
        "photo.jpg": jpeg,
        "empty.dat": b"",
        "tiny.txt": b"hello blob\n",
    }
    out = {}
    for name, data in paths.items():
        p = tmp_path / name
        p.write_bytes(data)
        out[name] = (p, data)
    return out


def stats(wh):
    return json.loads(ok(wh, "blob", "stats", "--format", "json").out)


def put(wh, *paths):
    r = ok(wh, "blob", "put", *paths)
    ids = [line.split()[0] for line in r.out.splitlines()]
    assert len(ids) == len(paths)
    return ids


def get_bytes(wh, *args):
    p = subprocess.run([mpcli.BIN, "-w", str(wh), "blob", "get", *map(str, args)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=mpcli.TIMEOUT)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def pack_files(wh):
    return sorted((wh / "_blobs").rglob("pack-*.mpk"))


def test_put_get_stat_and_ranges(tmp_path, files):
    wh = tmp_path / "wh"
    names = list(files)
    ids = put(wh, *[files[n][0] for n in names])
    for name, blob_id in zip(names, ids):
        data = files[name][1]
        assert blob_id == sha(data), name
        assert get_bytes(wh, blob_id) == data
    rnd = files["random.bin"][1]
    rid = sha(rnd)
    # Inclusive ranges that cross chunk boundaries (64 KiB average), and an open end.
    assert get_bytes(wh, rid, "--range", "100-299999") == rnd[100:300000]
    assert get_bytes(wh, rid, "--range", "699990-") == rnd[699990:]
    assert get_bytes(wh, rid, "--range", "0-0") == rnd[:1]
    out = tmp_path / "copy.bin"
    ok(wh, "blob", "get", rid, "--output", out)
    assert out.read_bytes() == rnd
    st = ok(wh, "blob", "stat", "blob:" + rid).out
    assert "size:          700000" in st
    assert "content class: binary" in st
    assert "hot/pack-" in st


def test_same_bytes_are_stored_once_across_processes(tmp_path, files):
    wh = tmp_path / "wh"
    put(wh, files["random.bin"][0], files["machine.log"][0])
    first = stats(wh)
    packs_before = pack_files(wh)
    # Other processes put the same bytes, once under another name: nothing new is stored.
    copy = tmp_path / "renamed.bin"
    copy.write_bytes(files["random.bin"][1])
    put(wh, copy)
    put(wh, files["machine.log"][0])
    second = stats(wh)
    assert second["stored_bytes"] == first["stored_bytes"]
    assert second["chunk_bytes"] == first["chunk_bytes"]
    assert pack_files(wh) == packs_before
    assert second["puts"] == first["puts"] + 2
    assert second["logical_bytes"] == first["logical_bytes"] + 700_000 + 900_000
    # An appended log shares all chunks but the last few.
    grown = tmp_path / "grown.log"
    grown.write_bytes(files["machine.log"][1] + log_text(50_000))
    put(wh, grown)
    third = stats(wh)
    assert third["chunk_bytes"] - second["chunk_bytes"] < 400_000
    assert ok(wh, "blob", "verify").out.rstrip().endswith("ok")


def test_compression_is_reported_per_content_type(tmp_path, files):
    wh = tmp_path / "wh"
    put(wh, files["machine.log"][0], files["photo.jpg"][0], files["random.bin"][0])
    s = stats(wh)
    classes = s["classes"]
    assert classes["text"]["stored_bytes"] * 5 < classes["text"]["raw_bytes"]
    assert classes["jpeg"]["stored_bytes"] == classes["jpeg"]["raw_bytes"]
    assert classes["binary"]["stored_bytes"] == classes["binary"]["raw_bytes"]
    text = ok(wh, "blob", "stats").out
    assert "dedup ratio" in text and "compression" in text
    assert any(line.startswith("text") for line in text.splitlines())


def test_corrupt_pack_is_reported_naming_the_file(tmp_path, files):
    wh = tmp_path / "wh"
    (rid,) = put(wh, files["random.bin"][0])
    (pack,) = pack_files(wh)
    data = bytearray(pack.read_bytes())
    data[5000] ^= 0xFF
    pack.write_bytes(bytes(data))
    line = fails(wh, "blob", "get", rid)
    assert str(pack) in line and "checksum mismatch" in line
    r = mpcli.run(wh, "blob", "verify")
    assert r.rc == 1
    assert "CORRUPT" in r.out and str(pack) in r.out
    assert str(pack) in r.err
    # Truncated: a clear error naming the file, never a crash.
    pack.write_bytes(bytes(data[:300_000]))
    line = fails(wh, "blob", "get", rid, "--range", "600000-600010")
    assert str(pack) in line and "truncated" in line
    assert mpcli.run(wh, "blob", "verify").rc == 1


def test_gc_deletes_what_the_live_set_does_not_hold(tmp_path, files):
    wh = tmp_path / "wh"
    keep, drop, log = put(wh, files["random.bin"][0], files["photo.jpg"][0],
                          files["machine.log"][0])
    live = tmp_path / "live.txt"
    live.write_text("# live blobs\n%s\n\n%s\n" % (keep, log))
    # Within the grace period nothing goes.
    r = ok(wh, "blob", "gc", "--live-file", live, "--grace", "1h")
    assert r.out.startswith("deleted 0 of 3 blobs")
    r = ok(wh, "blob", "gc", "--live-file", live, "--grace", "0s", "--dry-run")
    assert r.out.startswith("would delete 1 of 3 blobs")
    r = ok(wh, "blob", "gc", "--live-file", live, "--grace", "0s")
    assert r.out.startswith("deleted 1 of 3 blobs"), r.out
    assert "not found" in fails(wh, "blob", "get", drop)
    assert get_bytes(wh, keep) == files["random.bin"][1]
    assert get_bytes(wh, log) == files["machine.log"][1]
    assert ok(wh, "blob", "verify").out.rstrip().endswith("ok")
    bad = tmp_path / "bad.txt"
    bad.write_text(keep + "\nnot-an-id\n")
    line = fails(wh, "blob", "gc", "--live-file", bad, "--grace", "0s")
    assert "line 2" in line
    assert "duration" in fails(wh, "blob", "gc", "--live-file", live, "--grace", "soon")


def test_tier_apply_moves_packs_and_reads_stay_transparent(tmp_path, files):
    wh = tmp_path / "wh"
    ids = put(wh, files["machine.log"][0], files["random.bin"][0])
    # Default policy: fresh packs stay hot.
    r = ok(wh, "tier", "apply")
    assert "0 moved" in r.out
    archive = tmp_path / "archive"
    policy = tmp_path / "tiers.yaml"
    policy.write_text("tiers:\n  cold: %s\nzstd_level_cold: 15\nrules:\n"
                      "  - tier: cold\n    min_age: 0s\n" % archive)
    r = ok(wh, "tier", "apply", "--policy", policy)
    assert "1 recompressed into cold" in r.out, r.out
    assert list((archive / "packs").glob("pack-*.mpk"))
    assert not list((wh / "_blobs" / "hot" / "packs").glob("pack-*.mpk"))
    assert get_bytes(wh, ids[0]) == files["machine.log"][1]
    assert get_bytes(wh, ids[1], "--range", "5-9") == files["random.bin"][1][5:10]
    assert "cold/pack-" in ok(wh, "blob", "stat", ids[1]).out
    back = tmp_path / "hot.json"
    back.write_text(json.dumps({"rules": [{"tier": "hot"}]}))
    r = ok(wh, "tier", "apply", "--policy", back)
    assert "1 moved" in r.out
    assert get_bytes(wh, ids[0]) == files["machine.log"][1]
    assert ok(wh, "blob", "verify").out.rstrip().endswith("ok")
    typo = tmp_path / "typo.yaml"
    typo.write_text("rules:\n  - tier: freezer\n")
    assert str(typo) in fails(wh, "tier", "apply", "--policy", typo)


def test_bad_input_is_one_error_line(tmp_path, files):
    wh = tmp_path / "wh"
    (rid,) = put(wh, files["tiny.txt"][0])
    assert "not a blob id" in fails(wh, "blob", "get", "sha256:abc")
    assert "--range" in fails(wh, "blob", "get", rid, "--range", "9-1")
    assert "--range" in fails(wh, "blob", "get", rid, "--range", "x-")
    assert "outside blob" in fails(wh, "blob", "get", rid, "--range", "100-200")
    assert "not found" in fails(wh, "blob", "get", sha(b"never stored"))
    assert "not found" in fails(wh, "blob", "stat", sha(b"never stored"))
    assert "missing.jpg" in fails(wh, "blob", "put", tmp_path / "missing.jpg")
    assert "policy" in fails(wh, "tier", "apply", "--policy", tmp_path / "nope.yaml")
