#!/usr/bin/env bash
# Audits the Python dependencies for known vulnerabilities with pip-audit (issue 11); `make lint` runs it.
#
#   bash scripts/audit-deps.sh                          # the installed environment (.venv), the default
#   bash scripts/audit-deps.sh -r requirements/lock.txt # a lock file instead
#   AUDIT_SERVICE=osv bash scripts/audit-deps.sh        # OSV (api.osv.dev) instead of PyPI's JSON API
#
# Exit status: non-zero when a vulnerability is found (other than the advisories ignored below, each with its
# reason), and when some dependencies could be checked but others not. pip-audit itself reports "No known
# vulnerabilities found" and exits 0 when every lookup failed, so this script counts the audited dependencies.
# When NO lookup succeeds (the service is unreachable: on machines whose only network is the package
# registries, PyPI's per-version JSON answers 404 and api.osv.dev does not resolve) it prints a loud
# "DEPENDENCIES NOT AUDITED" banner and exits 0, or exits 1 with AUDIT_STRICT=1.
#
# What is audited: exact pins (`name==version`) from `pip list --format=freeze` of the environment (or the
# lock file), checked with `pip-audit --no-deps --disable-pip` (no resolution, nothing installed).
# - tuijian itself is installed editable and is not on PyPI: `--exclude-editable` leaves it out.
# - Local version labels are removed before the lookup (torch==2.13.0+cpu -> torch==2.13.0): PyPI has no
#   "+cpu" release, and the CPU wheel is built from the same source as the public release, so the public
#   release's advisories are the ones that apply. This is a mapping, not an ignore.
set -euo pipefail
cd "$(dirname "$0")/.."

# Advisories ignored on purpose: one `--ignore-vuln ID` per entry, each with the reason it does not apply.
# Never add a blanket ignore (a whole package, or every advisory of a service).
IGNORES=(
  # (none at present)
)

PY="${PY:-.venv/bin/python}"
SERVICE="${AUDIT_SERVICE:-pypi}"
die() { echo "audit-deps: ERROR: $*" >&2; exit 1; }

[ -x "$PY" ] || die "$PY not found: run \`make setup-test\` first (or set PY=path/to/python)"
"$PY" -m pip_audit --version >/dev/null 2>&1 || die "pip-audit is not installed in $PY (it is in the dev extra)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pins="$work/pins.txt"
if [ "${1:-}" = "-r" ]; then
  [ -f "${2:-}" ] || die "no such requirements file: ${2:-(missing)}"
  source_desc="$2"
  grep -E '^[A-Za-z0-9_.-]+==' "$2" | sed -E 's/[[:space:]]*(;|#).*$//' >"$pins.raw"
elif [ $# -eq 0 ]; then
  source_desc="the environment of $PY"
  "$PY" -m pip list --format=freeze --exclude-editable 2>/dev/null >"$pins.raw"
else
  die "usage: $0 [-r requirements-file]"
fi
sed -E 's/^([^=]+==[^+]+)\+[A-Za-z0-9.]+$/\1/' "$pins.raw" >"$pins"
n_pins="$(grep -c '==' "$pins" || true)"
[ "$n_pins" -gt 0 ] || die "no pinned packages found in $source_desc"

echo "audit-deps: checking $n_pins pinned packages from $source_desc against the '$SERVICE' vulnerability service"
report="$work/report.json"
set +e
"$PY" -m pip_audit -r "$pins" --no-deps --disable-pip --vulnerability-service "$SERVICE" \
  --progress-spinner off --desc off -f json -o "$report" "${IGNORES[@]}" 2>"$work/stderr"
rc=$?
set -e
unreachable() {
  # No vulnerability service answers from this network: the audit proves nothing. With AUDIT_STRICT=1 that is
  # an error; otherwise (the default, so that `make test` runs on machines whose only network is the package
  # registries) it is reported as loudly as we can without failing the build.
  if [ "${AUDIT_STRICT:-0}" = "1" ]; then
    die "$1"
  fi
  {
    echo "audit-deps: ################################################################################"
    echo "audit-deps: WARNING: DEPENDENCIES NOT AUDITED: $1"
    echo "audit-deps: set AUDIT_STRICT=1 to make this an error; run the audit where the service is reachable."
    echo "audit-deps: ################################################################################"
  } >&2
  exit 0
}

if [ ! -s "$report" ]; then
  tail -20 "$work/stderr" >&2
  unreachable "pip-audit (exit $rc) wrote no report: the '$SERVICE' vulnerability service could not be used"
fi

set +e
"$PY" - "$report" "$n_pins" "$SERVICE" <<'PYEOF'
import json
import sys

report, n_pins, service = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deps = json.load(open(report, encoding="utf-8"))["dependencies"]
skipped = [d for d in deps if d.get("skip_reason")]
audited = [d for d in deps if not d.get("skip_reason")]
vulnerable = [d for d in audited if d.get("vulns")]
print(f"audit-deps: {len(audited)} of {n_pins} packages audited, {len(skipped)} not audited, "
      f"{len(vulnerable)} with known vulnerabilities")
for d in vulnerable:
    for v in d["vulns"]:
        fix = ", ".join(v.get("fix_versions") or []) or "no fixed release"
        aliases = ", ".join(v.get("aliases") or [])
        print(f"  VULNERABLE {d['name']}=={d['version']}: {v['id']}"
              f"{f' ({aliases})' if aliases else ''}; fixed in: {fix}")
if skipped:
    print(f"audit-deps: ERROR: {len(skipped)} package(s) could not be checked, so the audit proves nothing "
          f"for them. First ones:", file=sys.stderr)
    for d in skipped[:10]:
        print(f"  {d['skip_reason']}", file=sys.stderr)
    if len(skipped) == len(deps):
        print(f"audit-deps: not one lookup succeeded: the '{service}' service is unreachable from this machine "
              "(PyPI: https://pypi.org/pypi/<name>/<version>/json; OSV: https://api.osv.dev). Run the audit "
              "where it is reachable (CI), or try AUDIT_SERVICE=osv.", file=sys.stderr)
sys.exit(3 if skipped and len(skipped) == len(deps) else 1 if (skipped or vulnerable) else 0)
PYEOF
verdict=$?
set -e
[ "$verdict" -eq 3 ] && unreachable "not one of $n_pins lookups at the '$SERVICE' service succeeded"
exit "$verdict"
