#!/usr/bin/env bash
# Installs what this checkout needs on a fresh Debian machine, then builds. Safe to run again: it
# installs only what is missing and rebuilds only what changed.
#   scripts/setup.sh          everything the tests need (apt packages, npm ci, wasm, bundles)
#   scripts/setup.sh start    what `npm start` needs (no browser)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-test}"

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
[ -f /usr/include/librdkafka/rdkafka_mock.h ] || missing+=(librdkafka-dev)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
if [ "$profile" = test ]; then
  command -v websockify >/dev/null 2>&1 || missing+=(websockify)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # The real Apache Kafka broker of the integration tests (test/harness/kafka.ts), when this machine has it.
  if [ -d ../shared/kafka ]; then
    command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
    # Its compression jars are Debian's and load Debian's native libraries.
    ls /usr/lib/*/jni/libsnappyjava.so >/dev/null 2>&1 || missing+=(libsnappy-jni)
    ls /usr/lib/*/libzstd-jni.so >/dev/null 2>&1 || missing+=(libzstd-jni-java)
    ls /usr/lib/*/jni/liblz4-java.so >/dev/null 2>&1 || missing+=(liblz4-jni)
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

node scripts/build.mjs >&2

# The librdkafka mock cluster for tests and the demo (test/harness/README.md); rebuilt when stale.
if [ ! -x build/mock-cluster ] || [ test/harness/mock-cluster.c -nt build/mock-cluster ]; then
  echo "setup: building build/mock-cluster" >&2
  mkdir -p build
  gcc -O2 -Wall -o build/mock-cluster.tmp test/harness/mock-cluster.c -lrdkafka
  mv build/mock-cluster.tmp build/mock-cluster
fi
