#!/usr/bin/env bash
# The GPU checks of the CUDA-graph training step, in one go on a machine with a CUDA GPU:
# the CUDA tests of tests/engine, then `workbench bench --gpu --json`. Made for a copy of
# the repository on a machine with torch (CUDA), numpy, pytest and hypothesis but no Qt
# and no network; it runs in under five minutes.
#
#   bench/gpu_check.sh                 run the checks (from anywhere; it works in the repo root)
#   bench/gpu_check.sh --fetch-wheels  on a machine with network: download into .whl/ the
#                                      pure-Python wheels the engine needs that such a machine
#                                      may lack (platformdirs, tensorboardX), pinned to the
#                                      versions of $PYTHON (default .venv/bin/python or python3)
#   bench/gpu_check.sh --cpu-dry-run   the same steps without a GPU, to check the script itself:
#                                      the CUDA tests skip, the benchmark is a --device cpu --quick run
#
# The run installs the wheels of .whl/ whose module does not import (into a temporary
# folder on PYTHONPATH, never into the system), prints the Python, torch, CUDA and GPU it
# finds, and writes everything it prints, with the benchmark's JSON, to $OUT when set,
# else to ./gpu-check-out/. It exits 1 when a step failed (or there is no CUDA GPU), 0
# otherwise; whether the benchmark's goals were met is in its table and summary line.
# Environment: PYTHON (default python3), TEST_LIMIT and BENCH_LIMIT (seconds, default 120
# and 170).

# shellcheck disable=SC2317  # the steps are functions called through step()
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

#: The wheels --fetch-wheels downloads, with the versions used when $PYTHON lacks them.
WHEELS=(platformdirs tensorboardX)
declare -A FALLBACK_PINS=([platformdirs]=4.14.9 [tensorboardX]=2.6.5)

TEST_LIMIT=${TEST_LIMIT:-120}
BENCH_LIMIT=${BENCH_LIMIT:-170}

usage() {
    sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

fetch_wheels() {
    local py=${PYTHON:-}
    if [ -z "$py" ]; then
        if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
    fi
    local pins=() name version
    for name in "${WHEELS[@]}"; do
        version=$("$py" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' \
            "$name" 2>/dev/null) || version=${FALLBACK_PINS[$name]}
        pins+=("$name==$version")
    done
    echo "downloading ${pins[*]} into .whl/ (Python 3.12, manylinux x86_64 or pure Python)"
    mkdir -p .whl
    "$py" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
        --platform any -d .whl "${pins[@]}"
}

#: The steps that failed, by name.
FAILED=()

step() {
    local name=$1 rc
    shift
    echo
    echo "== $name"
    "$@"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "== $name: ok"
    else
        [ "$rc" -eq 124 ] && echo "(stopped after its time limit)"
        echo "== $name: FAILED (exit status $rc)"
        FAILED+=("$name")
    fi
    return "$rc"
}

limit() {
    # timeout where coreutils has it
    local seconds=$1
    shift
    if command -v timeout >/dev/null; then timeout "$seconds" "$@"; else "$@"; fi
}

install_wheels() {
    local site=$1 wheel module todo=()
    shopt -s nullglob
    for wheel in .whl/*.whl; do
        module=${wheel##*/}
        module=${module%%-*}
        # a wheel's name is its distribution's, lower-cased by some indexes
        [ "${module,,}" = tensorboardx ] && module=tensorboardX
        if "$PY" -c "import $module" 2>/dev/null; then
            echo "$module: installed already, ${wheel##*/} not needed"
        else
            todo+=("$wheel")
        fi
    done
    shopt -u nullglob
    [ "${#todo[@]}" -eq 0 ] && return 0
    echo "installing ${todo[*]##*/} into $site"
    if "$PY" -m pip --version >/dev/null 2>&1; then
        "$PY" -m pip install -q --no-index --no-deps --target "$site" "${todo[@]}"
    else
        # pure-Python wheels are zip files laid out for site-packages
        for wheel in "${todo[@]}"; do "$PY" -m zipfile -e "$wheel" "$site" || return 1; done
    fi
}

environment() {
    command -v nvidia-smi >/dev/null &&
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    "$PY" - <<'EOF'
import importlib.metadata
import os
import platform
import sys

import torch

print(f"python {platform.python_version()} ({sys.executable})")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
for name in ("numpy", "pytest", "hypothesis", "onnx", "onnxruntime", "platformdirs", "tensorboardX"):
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    print(f"  {name} {version}")
import workbench.engine.trainer  # noqa: E402, F401 - the engine imports without Qt

qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"))
if qt:
    sys.exit(f"the engine loaded Qt: {', '.join(qt)}")
if not torch.cuda.is_available():
    if os.environ.get("GPU_CHECK_DRY_RUN") == "1":
        print("no CUDA GPU is visible to torch (a dry run on the CPU)")
    else:
        sys.exit("no CUDA GPU is visible to torch: nothing to check here")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability {p.major}.{p.minor}")
EOF
}

cuda_tests() {
    # tests/engine/test_cuda_graphs.py whole ("cuda" is in its name), and the tests with
    # "cuda" in their names from the other files that mention CUDA and do not need Qt
    local files=() f
    for f in tests/engine/test_*.py; do
        grep -q cuda "$f" || continue
        grep -qE 'PySide6|pytestqt|qtbot|pyqtgraph|workbench\.ui' "$f" && continue
        files+=("$f")
    done
    [ -f tests/engine/test_cuda_graphs.py ] || echo "note: tests/engine/test_cuda_graphs.py is missing"
    echo "test files: ${files[*]}"
    limit "$TEST_LIMIT" "$PY" -m pytest -q -p no:cacheprovider -p no:pytest-qt -rs -k cuda \
        --junitxml "$OUT_DIR/pytest-cuda.xml" "${files[@]}"
}

bench_gpu() {
    local cpu=()
    [ "$GPU_CHECK_DRY_RUN" = 1 ] && cpu=(--device cpu --quick)
    limit "$BENCH_LIMIT" "$PY" -m workbench bench --gpu --json "${cpu[@]}" \
        >"$OUT_DIR/bench-gpu.json" 2>"$OUT_DIR/bench-gpu.log"
    local rc=$?
    cat "$OUT_DIR/bench-gpu.log"
    [ "$rc" -eq 0 ] || return "$rc"
    "$PY" -c 'import json, sys
from workbench.engine.bench_gpu import format_report
print(format_report(json.load(open(sys.argv[1]))))' "$OUT_DIR/bench-gpu.json" |
        tee "$OUT_DIR/bench-gpu.txt"
}

summary() {
    local goals=""
    if [ -s "$OUT_DIR/bench-gpu.json" ]; then
        goals=$("$PY" -c 'import json, sys
goals = json.load(open(sys.argv[1]))["goals"]
met = sum(g["met"] is True for g in goals)
print(f"; benchmark goals met: {met} of {len(goals)}")' "$OUT_DIR/bench-gpu.json" 2>/dev/null)
    fi
    echo
    if [ "${#FAILED[@]}" -eq 0 ]; then
        echo "gpu_check: every step passed$goals ($SECONDS s; output in $OUT_DIR)"
    else
        echo "gpu_check: FAILED: ${FAILED[*]}$goals ($SECONDS s; output in $OUT_DIR)"
    fi
}

run_checks() {
    local site
    site=$(mktemp -d "${TMPDIR:-/tmp}/workbench-site.XXXXXX") || return 1
    step "carried wheels" install_wheels "$site"
    export PYTHONPATH="$ROOT:$site${PYTHONPATH:+:$PYTHONPATH}"
    if ! step "environment" environment; then
        summary
        return 1
    fi
    step "CUDA tests" cuda_tests
    step "bench --gpu" bench_gpu
    rm -rf "$site"
    summary
    [ "${#FAILED[@]}" -eq 0 ]
}

case "${1:-}" in
    --fetch-wheels)
        fetch_wheels
        exit
        ;;
    --cpu-dry-run) export GPU_CHECK_DRY_RUN=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    "") ;;
    *)
        echo "gpu_check.sh: unknown option '$1' (see --help)" >&2
        exit 2
        ;;
esac

GPU_CHECK_DRY_RUN=${GPU_CHECK_DRY_RUN:-0}
PY=${PYTHON:-python3}
OUT_DIR=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT_DIR" || exit 1
OUT_DIR=$(cd "$OUT_DIR" && pwd)
export QT_QPA_PLATFORM=offscreen
run_checks 2>&1 | tee "$OUT_DIR/gpu-check.log"
exit "${PIPESTATUS[0]}"
