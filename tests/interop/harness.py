"""Drives the reference Paimon implementations from pytest (.venv), for interop tests.

Every reader returns the table's rows as sorted canonical JSON lines (canonical.py), so
results compare with `==`:

    java_read(warehouse, "db.t")            Apache Paimon Java (tests/interop/java)
    pypaimon_read(warehouse, "db.t")        pypaimon, in .venv-paimon
    canonical.rows(pyarrow_table)           millpond's `scan --format parquet` output, etc.

`java_missing()` / `pypaimon_missing()` say why a tool cannot run (None when it can).
GOLDEN is the read-only tree of Java-written tables; read it in place, never copy it into the repo.
"""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import canonical  # noqa: E402,F401  (re-exported for tests)

GOLDEN = Path(os.environ.get("MILLPOND_GOLDEN", "/work/shared/interop/paimon-java"))
JAVA_DIR = HERE / "java"
JAVA_JAR = JAVA_DIR / "target" / "paimon-interop.jar"
JAVA_CP = "%s:%s" % (JAVA_JAR, JAVA_DIR / "target" / "lib" / "*")
PAIMON_PY = ROOT / ".venv-paimon" / "bin" / "python"
PYPAIMON_TOOL = HERE / "pypaimon_tool.py"
TIMEOUT = 300


class ToolError(RuntimeError):
    pass


def java_missing():
    if shutil.which("java") is None:
        return "no `java` on PATH (make setup installs openjdk-17)"
    if not JAVA_JAR.exists() or not glob.glob(str(JAVA_DIR / "target" / "lib" / "paimon-bundle-*.jar")):
        return "Paimon Java tool not built: %s missing (run `make setup`)" % JAVA_JAR
    return None


def pypaimon_missing():
    if not PAIMON_PY.exists():
        return "%s missing (run `make setup`)" % PAIMON_PY
    return None


def _run(cmd, env=None):
    p = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT, env=env)
    if p.returncode != 0:
        raise ToolError("%s failed (rc=%d):\n%s" % (" ".join(map(str, cmd)), p.returncode,
                                                   p.stderr.decode(errors="replace")[-4000:]))
    return p.stdout.decode("utf-8")


def _lines(text):
    return [line for line in text.split("\n") if line]


def java(*args, jvm_args=()):
    """Runs the Java tool: java [jvm_args] -cp ... millpond.interop.PaimonTool args..."""
    return _run(["java", *jvm_args, "-cp", JAVA_CP, "millpond.interop.PaimonTool", *args])


def java_read(warehouse, table, snapshot=None, jvm_args=()):
    args = ["read", warehouse, table] + (["--snapshot", snapshot] if snapshot is not None else [])
    return _lines(java(*args, jvm_args=jvm_args))


def java_write(warehouse, table, jsonl_path, schema_json=None):
    """One commit of the canonical JSON lines in jsonl_path; creates the table from schema_json."""
    java("write", warehouse, table, jsonl_path, *(["--schema", schema_json] if schema_json else []))


def java_schema(warehouse, table):
    return java("schema", warehouse, table)


def pypaimon(*args, env=None):
    return _run([PAIMON_PY, PYPAIMON_TOOL, *args], env=env)


def pypaimon_read(warehouse, table, snapshot=None, env=None):
    args = ["read", warehouse, table] + (["--snapshot", snapshot] if snapshot is not None else [])
    return _lines(pypaimon(*args, env=env))


def pypaimon_write(warehouse, table, parquet_path, schema_json=None, partition=None,
                   primary_key=None, bucket=None, bucket_key=None, options=None):
    """One commit of the Parquet file's rows; creates the table if absent."""
    args = ["write", warehouse, table, "--input", parquet_path]
    if schema_json:
        args += ["--schema", schema_json]
    if partition:
        args += ["--partition", ",".join(partition)]
    if primary_key:
        args += ["--primary-key", ",".join(primary_key)]
    if bucket is not None:
        args += ["--bucket", bucket]
    if bucket_key:
        args += ["--bucket-key", ",".join(bucket_key)]
    for k, v in (options or {}).items():
        args += ["--option", "%s=%s" % (k, v)]
    pypaimon(*args)


def golden(path):
    """'parquet/append_10.db/append_10' -> (warehouse, 'append_10.append_10')."""
    parts = Path(path).parts
    db_index = next(i for i, p in enumerate(parts) if p.endswith(".db"))
    warehouse = GOLDEN.joinpath(*parts[:db_index])
    return str(warehouse), "%s.%s" % (parts[db_index][:-3], parts[db_index + 1])


def tree_state(root):
    """(path, size, mtime_ns) of everything under root: proves a reader wrote nothing."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out.append((os.path.join(dirpath, name), st.st_size, st.st_mtime_ns))
    return sorted(out)
