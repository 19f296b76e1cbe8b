#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Python packages. Idempotent.
#
# PostgreSQL (issue 4): installs Debian's `postgresql`, starts a throw-away cluster
# under $TUIJIAN_PG_DIR (default /tmp/tuijian-pg) on 127.0.0.1:$TUIJIAN_PG_PORT, creates
# the role/database `tuijian` and writes TUIJIAN_TEST_POSTGRES_URL into
# var/test-services.env. scripts/run-tests.sh sources that file and stops the server.
# Any failure here exits non-zero: the PostgreSQL tests must never be skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_DIR="${TUIJIAN_PG_DIR:-/tmp/tuijian-pg}"
PG_PORT="${TUIJIAN_PG_PORT:-54329}"
ENV_FILE="var/test-services.env"
mkdir -p var

die() { echo "setup-services: ERROR: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root (or sudo) to run: $*"; fi
}

find_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# ---------------------------------------------------------------- PostgreSQL
PG_BIN="$(find_pg_bin || true)"
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "setup-services: installing Debian postgresql"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PG_BIN="$(find_pg_bin || true)"
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || die "postgresql installed but initdb not found under /usr/lib/postgresql"
fi

# The cluster runs as `postgres` when we are root (PostgreSQL refuses to run as root), else as ourselves.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "user 'postgres' missing (the postgresql package creates it)"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

if [ ! -f "$PG_DIR/PG_VERSION" ]; then
  mkdir -p "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR" -U postgres --auth=trust -E UTF8 >/dev/null \
    || die "initdb failed for $PG_DIR"
fi

if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR" -w -t 60 -l "$PG_DIR/server.log" \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2 || true; die "PostgreSQL did not start (log above)"; }
fi

psql_pg() { as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
psql_pg -c "SELECT 1" >/dev/null || die "cannot connect to PostgreSQL on 127.0.0.1:$PG_PORT"
if [ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname='tuijian'")" != 1 ]; then
  psql_pg -c "CREATE ROLE tuijian LOGIN PASSWORD 'tuijian' CREATEDB"
fi
if [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname='tuijian_test'")" != 1 ]; then
  psql_pg -c "CREATE DATABASE tuijian_test OWNER tuijian"
fi

cat > "$ENV_FILE" <<ENV
# written by scripts/setup-services.sh
export TUIJIAN_TEST_POSTGRES_URL=postgresql://tuijian:tuijian@127.0.0.1:$PG_PORT/tuijian_test
export TUIJIAN_PG_DIR=$PG_DIR
export TUIJIAN_PG_BIN=$PG_BIN
ENV
echo "setup-services: PostgreSQL ready on 127.0.0.1:$PG_PORT (see $ENV_FILE)"
