#!/usr/bin/env bash
# Makes sure a Java 17+ runtime is there for the Spark tests (issue 15: PySpark runs on the JVM). Idempotent.
# Installs Debian's openjdk-17-jre-headless when `java` is missing or older than 17.
set -euo pipefail
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
  echo "setup-java: installing Debian openjdk-17-jre-headless"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
java -version 2>&1 | head -1
