#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks to build and test millpond. Idempotent:
# each step checks whether its result is already there. Run through `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PYARROW_VERSION=26.0.1
PYPAIMON_VERSION=2.1.0
PAIMON_JAVA_VERSION=1.4.2

APT_PACKAGES=(build-essential cmake ninja-build pkg-config python3-venv python3-dev
  libavro-dev libzstd-dev zlib1g-dev liblz4-dev libssl-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  libmagic-dev libavformat-dev libavcodec-dev libavutil-dev libexif-dev ffmpeg libisal-dev
  libmosquitto-dev mosquitto mosquitto-clients libprotobuf-dev protobuf-compiler libyaml-cpp-dev
  libmodbus-dev prometheus-cpp-dev ccache
  openjdk-17-jdk-headless maven)

need_apt=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

PY=${PYTHON:-python3}
# .venv: the pyarrow whose bundled Arrow C++ the build links, plus pytest.
if [ ! -f .venv/.millpond-ok ] || ! grep -qx "$PYARROW_VERSION" .venv/.millpond-ok; then
  echo "setup: creating .venv (pyarrow $PYARROW_VERSION)"
  rm -rf .venv
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q "pyarrow==$PYARROW_VERSION" pytest numpy pandas
  .venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"
  echo "$PYARROW_VERSION" > .venv/.millpond-ok
fi

# .venv extras for the blob and ingest tests and benchmarks: Lance (random-read baseline), the
# OPC UA connector and test server (asyncua), a Modbus TCP test server (pymodbus), MQTT publishers.
PY_EXTRAS="pylance asyncua pymodbus paho-mqtt pyyaml protobuf"
if [ ! -f .venv/.millpond-extras ] || ! grep -qxF "$PY_EXTRAS" .venv/.millpond-extras; then
  echo "setup: installing into .venv: $PY_EXTRAS"
  .venv/bin/pip install -q $PY_EXTRAS
  echo "$PY_EXTRAS" > .venv/.millpond-extras
fi

# versitygw: the S3 server (an S3 gateway over a folder) that tests/test_s3.py runs on loopback,
# built by `go install` into .venv/bin. It needs Go >= 1.25 (a Go >= 1.21 fetches that toolchain
# from the module proxy by itself); without Go the S3 tests skip, naming this step.
VERSITYGW_VERSION=v1.8.0
if [ ! -x .venv/bin/versitygw ] || ! grep -qx "$VERSITYGW_VERSION" .venv/.millpond-versitygw 2>/dev/null; then
  GO=$(command -v go || true)
  [ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
  if [ -z "$GO" ]; then
    echo "setup: warning: no Go toolchain, versitygw not installed; tests/test_s3.py will skip"
  else
    echo "setup: installing versitygw $VERSITYGW_VERSION (go install, into .venv/bin)"
    if GOBIN="$ROOT/.venv/bin" GOTOOLCHAIN=auto "$GO" install \
        "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"; then
      echo "$VERSITYGW_VERSION" > .venv/.millpond-versitygw
    else
      echo "setup: warning: go install of versitygw failed; tests/test_s3.py will skip"
    fi
  fi
fi

# .venv-paimon: pypaimon pins its own pyarrow, so it lives apart.
if [ ! -f .venv-paimon/.millpond-ok ] || ! grep -qx "$PYPAIMON_VERSION" .venv-paimon/.millpond-ok; then
  echo "setup: creating .venv-paimon (pypaimon $PYPAIMON_VERSION)"
  rm -rf .venv-paimon
  "$PY" -m venv .venv-paimon
  .venv-paimon/bin/pip install -q --upgrade pip
  .venv-paimon/bin/pip install -q "pypaimon==$PYPAIMON_VERSION" pytest
  echo "$PYPAIMON_VERSION" > .venv-paimon/.millpond-ok
fi

# Paimon Java: the bundle jar and Hadoop client jars from Maven Central, into the local repository.
# target/lib holds the runtime classpath, so tests run `java -cp 'target/paimon-interop.jar:target/lib/*'`
# offline. The stamp records a hash of the sources: an edited pom or tool rebuilds, nothing else does.
JAVA_DIR=tests/interop/java
if [ -f "$JAVA_DIR/pom.xml" ]; then
  java_hash=$(cd "$JAVA_DIR" && cat pom.xml $(find src -type f | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)
  if [ ! -f "$JAVA_DIR/target/.millpond-ok" ] || ! grep -qx "$java_hash" "$JAVA_DIR/target/.millpond-ok"; then
    echo "setup: fetching Paimon Java $PAIMON_JAVA_VERSION and building the interop tool"
    (cd "$JAVA_DIR" && mvn -q -B package -DskipTests -Dpaimon.version="$PAIMON_JAVA_VERSION" \
      && echo "$java_hash" > target/.millpond-ok)
  fi
fi
echo "setup: ok"
