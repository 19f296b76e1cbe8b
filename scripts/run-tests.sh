#!/usr/bin/env bash
# Runs the whole suite. Services started by setup-services.sh are stopped on exit.
# PostgreSQL is required: if it cannot be started the run fails (TUIJIAN_REQUIRE_POSTGRES=1
# makes the storage tests fail instead of skipping when the URL is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 TUIJIAN_ENV=test TUIJIAN_REQUIRE_POSTGRES=1

bash scripts/setup-services.sh
# shellcheck disable=SC1091
source var/test-services.env

stop_services() {
  if [ -n "${TUIJIAN_PG_DIR:-}" ] && [ -f "$TUIJIAN_PG_DIR/postmaster.pid" ]; then
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$TUIJIAN_PG_BIN/pg_ctl" -D "$TUIJIAN_PG_DIR" -m fast -w stop >/dev/null || true
    else
      "$TUIJIAN_PG_BIN/pg_ctl" -D "$TUIJIAN_PG_DIR" -m fast -w stop >/dev/null || true
    fi
  fi
}
trap stop_services EXIT

.venv/bin/python -m pytest -q "$@"
