"""`millpond scan DB.T --follow` on primary-key tables: the merged full read, then every change with
its row kind, for changelog-producer none (delta files), input (changelog of the input rows) and
lookup (changelog against the previous state); consumer restart; and interop with Paimon Java
(batch reads of tables with changelog files, Java's own stream scan, Java-written changelogs)."""

import json
import signal

import pytest

import mpcli
from mpcli import ok
from harness import ToolError, java, java_missing, java_read
from test_follow import Follower, _follow_missing

pytestmark = pytest.mark.skipif(bool(_follow_missing()), reason=str(_follow_missing()))

SCHEMA = "id INT NOT NULL, name STRING, v INT"


def row(kind, id_, name=None, v=None):
    return {"_ROW_KIND": kind, "id": id_, "name": name, "v": v}


def key(r):
    """Sort key for rows of one snapshot: buckets are read in any order."""
    return (r["id"], json.dumps(r, sort_keys=True))


def norm(rows):
    return sorted(rows, key=key)


def create(wh, producer, *options):
    args = ["table", "create", "db.t", "--schema", SCHEMA, "--primary-key", "id", "--bucket", "2",
            "--option", "changelog-producer=%s" % producer]
    for o in options:
        args += ["--option", o]
    ok(wh, *args)


def write(wh, tmp_path, rows):
    """One `millpond write` of rows (dicts; `_ROW_KIND` optional) as JSON lines."""
    n = len(list(tmp_path.glob("in-*.jsonl")))
    f = tmp_path / ("in-%d.jsonl" % n)
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ok(wh, "write", "db.t", "--input", f)


def follow_bounded(wh, *args):
    rc, rows, err = Follower(wh, "--until-idle", "1s", *args).finish()
    assert rc == 0, err
    return rows


# The scenario every producer runs: the first write, then upserts (key 1 twice in one write),
# deletes of existing and missing keys, an insert, then a retraction by _ROW_KIND and an upsert.
W1 = [row("+I", 1, "a", 1), row("+I", 2, "b", 2), row("+I", 3, "c", 3)]
W2 = [row("+I", 1, "a", 5), row("+I", 1, "a", 10), row("-D", 3), row("+I", 4, "d", 4),
      row("-D", 9)]
W3 = [row("-D", 2), row("+I", 4, "d", 40)]

FULL_READ = [row("+I", 1, "a", 1), row("+I", 2, "b", 2), row("+I", 3, "c", 3)]
EXPECTED = {
    # Delta files as written, after the writer merged key 1 within its write buffer.
    "none": [
        [row("+I", 1, "a", 10), row("-D", 3), row("+I", 4, "d", 4), row("-D", 9)],
        [row("-D", 2), row("+I", 4, "d", 40)],
    ],
    # Every input row.
    "input": [W2, W3],
    # Changes against the committed state; the missing key's delete is no change.
    "lookup": [
        [row("-U", 1, "a", 1), row("+U", 1, "a", 10), row("-D", 3, "c", 3), row("+I", 4, "d", 4)],
        [row("-D", 2, "b", 2), row("-U", 4, "d", 4), row("+U", 4, "d", 40)],
    ],
}


def assert_update_pairs_in_order(rows):
    """-U of a key comes right before its +U (the order a consumer applies them in)."""
    for i, r in enumerate(rows):
        if r["_ROW_KIND"] == "-U":
            assert rows[i + 1]["_ROW_KIND"] == "+U" and rows[i + 1]["id"] == r["id"], rows


@pytest.mark.parametrize("producer", ["none", "input", "lookup"])
def test_follow_streams_changes_while_writes_land(tmp_path, producer):
    wh = tmp_path / "wh"
    create(wh, producer)
    write(wh, tmp_path, W1)
    f = Follower(wh, "--consumer-id", "live")
    assert norm(f.wait_rows(3)) == norm(FULL_READ)  # the merged rows of the latest snapshot
    seen = 3
    for rows, expected in zip([W2, W3], EXPECTED[producer]):
        write(wh, tmp_path, rows)
        got = f.wait_rows(seen + len(expected))[seen:]
        assert norm(got) == norm(expected), (producer, got)
        assert_update_pairs_in_order(got)
        seen += len(expected)
    # Nothing more than expected arrived: the next rows are exactly the sentinel's.
    write(wh, tmp_path, [row("+I", 100, "z", 0)])
    assert f.wait_rows(seen + 1)[seen:] == [row("+I", 100, "z", 0)]
    f.p.send_signal(signal.SIGINT)
    rc, rows, err = f.finish(timeout=20)
    assert rc == 0, err
    assert len(rows) == seen + 1, rows


@pytest.mark.parametrize("producer", ["none", "input", "lookup"])
def test_bounded_follow_from_the_first_snapshot(tmp_path, producer):
    wh = tmp_path / "wh"
    create(wh, producer)
    for rows in (W1, W2, W3):
        write(wh, tmp_path, rows)
    rows = follow_bounded(wh, "--from-snapshot", "1")
    first = [r for r in W1]
    expected = first + EXPECTED[producer][0] + EXPECTED[producer][1]
    assert norm(rows) == norm(expected)
    # Projection and filter apply to every changelog row by its own values.
    rows = follow_bounded(wh, "--from-snapshot", "1", "--columns", "id,v", "--where", "v >= 10")
    want = [{"_ROW_KIND": r["_ROW_KIND"], "id": r["id"], "v": r["v"]} for r in expected
            if r["v"] is not None and r["v"] >= 10]
    assert norm(rows) == norm(want)


def test_consumer_restarts_where_it_stopped(tmp_path):
    wh = tmp_path / "wh"
    create(wh, "lookup", "snapshot.num-retained.min=1", "snapshot.time-retained=1ms")
    write(wh, tmp_path, W1)
    assert norm(follow_bounded(wh, "--consumer-id", "etl")) == norm(FULL_READ)
    write(wh, tmp_path, W2)  # snapshots 3, 4 while nobody follows
    ok(wh, "expire", "db.t")  # keeps what the consumer still needs, with its changelog
    assert norm(follow_bounded(wh, "--consumer-id", "etl")) == norm(EXPECTED["lookup"][0])
    write(wh, tmp_path, W3)
    rows = follow_bounded(wh, "--consumer-id", "etl")
    assert norm(rows) == norm(EXPECTED["lookup"][1])
    assert follow_bounded(wh, "--consumer-id", "etl") == []
    # The table still reads back right after expiration removed the old changelog files.
    assert mpcli.scan_rows(wh, "db.t", out_dir=tmp_path / "scan") == [
        '{"id":1,"name":"a","v":10}', '{"id":4,"name":"d","v":40}']


def test_bad_changelog_producer_fails_cleanly(tmp_path):
    wh = tmp_path / "wh"
    line = mpcli.fails(wh, "table", "create", "db.t", "--schema", SCHEMA, "--primary-key", "id",
                       "--bucket", "1", "--option", "changelog-producer=lookupp")
    assert "unknown changelog-producer 'lookupp'" in line
    line = mpcli.fails(wh, "table", "create", "db.a", "--schema", SCHEMA,
                       "--option", "changelog-producer=input")
    assert "primary" in line
    create(wh, "none")
    line = mpcli.fails(wh, "alter", "db.t", "--set", "changelog-producer=everything")
    assert "unknown changelog-producer 'everything'" in line


# --- interop with Paimon Java ----------------------------------------------------------------

needs_java = pytest.mark.skipif(bool(java_missing()), reason=str(java_missing()))


def java_stream(wh, table, *args):
    try:
        out = java("stream", str(wh), table, *args)
    except ToolError as e:
        if "usage: PaimonTool" in str(e):
            pytest.skip("the Paimon Java tool has no `stream` command yet (rebuild it)")
        raise
    return [json.loads(line) for line in out.split("\n") if line]


@needs_java
@pytest.mark.parametrize("producer,options", [("none", []), ("input", []), ("lookup", []),
                                              ("lookup", ["deletion-vectors.enabled=true"])],
                         ids=["none", "input", "lookup", "lookup-dv"])
def test_java_reads_and_streams_what_millpond_wrote(tmp_path, producer, options):
    wh = tmp_path / "wh"
    create(wh, producer, *options)
    for rows in (W1, W2, W3):
        write(wh, tmp_path, rows)
    # Batch reads are identical with changelog files in the table.
    assert java_read(str(wh), "db.t") == mpcli.scan_rows(wh, "db.t", out_dir=tmp_path / "scan")
    # Paimon's own stream scan (Delta/ChangelogFollowUpScanner) sees the same changes.
    ours = follow_bounded(wh, "--from-snapshot", "1")
    theirs = java_stream(wh, "db.t", "--from-snapshot", "1")
    assert norm(theirs) == norm(ours)
    if producer == "lookup":
        # And the same starting full read (lookup: only the files above level 0).
        assert norm(java_stream(wh, "db.t")) == norm(follow_bounded(wh))


@needs_java
@pytest.mark.parametrize("producer", ["input", "lookup"])
def test_millpond_streams_a_changelog_paimon_java_wrote(tmp_path, producer):
    wh = tmp_path / "wh"
    schema = json.dumps({
        "fields": [{"name": "id", "type": "INT NOT NULL"}, {"name": "name", "type": "STRING"},
                   {"name": "v", "type": "INT"}],
        "primaryKeys": ["id"], "options": {"bucket": "2", "changelog-producer": producer}})
    files = []
    for i, rows in enumerate((W1, W2, W3)):
        files.append(tmp_path / ("java-%d.jsonl" % i))
        files[-1].write_text("".join(json.dumps(r) + "\n" for r in rows))
    java("write", str(wh), "db.t", *files, "--schema", schema)  # one commit per file
    ours = follow_bounded(wh, "--from-snapshot", "1")
    theirs = java_stream(wh, "db.t", "--from-snapshot", "1")
    assert norm(ours) == norm(theirs)
    if producer == "input":
        # Java wrote every input row (its writer merges nothing into the changelog).
        assert norm(ours) == norm(W1 + W2 + W3)
    else:
        assert norm(ours) == norm(W1 + EXPECTED["lookup"][0] + EXPECTED["lookup"][1])
    assert java_read(str(wh), "db.t") == mpcli.scan_rows(wh, "db.t", out_dir=tmp_path / "scan")
