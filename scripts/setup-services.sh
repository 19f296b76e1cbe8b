#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages. Idempotent.
set -euo pipefail
# (the serving and browser issues add PostgreSQL and Chromium here)
exit 0
