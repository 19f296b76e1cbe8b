#!/usr/bin/env bash
# Runs the whole suite. Services started by setup-services.sh are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 TUIJIAN_ENV=test
.venv/bin/python -m pytest -q "$@"
