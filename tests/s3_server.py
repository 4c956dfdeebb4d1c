"""versitygw (an S3 gateway over a folder, installed by scripts/setup.sh into .venv/bin) on a free
loopback port, for the S3 tests: buckets are folders under a temp root, one root access key.

    server = s3_server.start(tmp_path)          # raises SkipTest-worthy S3Unavailable if absent
    uri = server.uri("bucket", "prefix")       # what `millpond --warehouse` takes
    server.stop()
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import mpcli

ROOT = Path(__file__).resolve().parent.parent
ACCESS = "millpondtest"
SECRET = "millpond/secret+key"  # '/' and '+' as real AWS secrets have: must be URI-encoded
REGION = "us-east-1"


class S3Unavailable(Exception):
    pass


def binary():
    """Path of versitygw, or None: $MILLPOND_VERSITYGW, .venv/bin, $HOME/go/bin, PATH."""
    for cand in (os.environ.get("MILLPOND_VERSITYGW"), ROOT / ".venv" / "bin" / "versitygw",
                 Path.home() / "go" / "bin" / "versitygw", shutil.which("versitygw")):
        if cand and os.access(str(cand), os.X_OK):
            return str(cand)
    return None



def _quote(s):
    from urllib.parse import quote
    return quote(s, safe="")


class S3Server:
    def __init__(self, proc, port, root, log):
        self.proc, self.port, self.root, self.log = proc, port, root, log
        self.endpoint = "127.0.0.1:%d" % port

    def uri(self, bucket, prefix="", credentials=True):
        """s3://ACCESS:SECRET@bucket/prefix?endpoint_override=127.0.0.1:PORT&scheme=http&region=..
        (credentials=False leaves them to AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: env())."""
        auth = "%s:%s@" % (_quote(ACCESS), _quote(SECRET)) if credentials else ""
        path = bucket + ("/" + prefix.strip("/") if prefix else "")
        return "s3://%s%s?endpoint_override=%s&scheme=http&region=%s" % (
            auth, path, self.endpoint, REGION)

    def env(self):
        """The environment that gives Arrow (millpond) and pyarrow this server's credentials."""
        e = dict(os.environ)
        e.update(AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET,
                 AWS_EC2_METADATA_DISABLED="true")
        return e

    def fs(self):
        """A pyarrow S3FileSystem on this server (paths are "bucket/key")."""
        import pyarrow.fs as pafs
        return pafs.S3FileSystem(access_key=ACCESS, secret_key=SECRET, region=REGION,
                                 endpoint_override=self.endpoint, scheme="http",
                                 allow_bucket_creation=True)

    def make_bucket(self, name):
        self.fs().create_dir(name)
        return name

    def stop(self):
        mpcli.stop_process(self.proc)


def start(workdir):
    """Starts versitygw with a posix backend under `workdir`; waits until it accepts requests."""
    exe = binary()
    if not exe:
        raise S3Unavailable("versitygw is not installed (scripts/setup.sh installs it with "
                            "`go install`; a Go toolchain >= 1.21 is needed)")
    root = Path(workdir) / "s3root"
    root.mkdir(parents=True, exist_ok=True)
    last = ""
    for _ in range(3):  # the port may be taken between choosing and binding it
        port = mpcli.free_port()
        log = Path(workdir) / ("versitygw-%d.log" % port)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [exe, "--access", ACCESS, "--secret", SECRET, "--region", REGION,
                 "--port", "127.0.0.1:%d" % port, "--quiet", "posix", str(root)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return S3Server(proc, port, root, log)
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        last = log.read_text(errors="replace")[-2000:]
    raise RuntimeError("versitygw did not start: %s" % last)
