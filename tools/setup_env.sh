#!/usr/bin/env bash
# Builds the virtual environment sisieg runs in, once: `make setup` (and every other make
# target) calls this. Re-running is a no-op until requirements/lock.txt, setup.py or this
# script changes; then the environment is brought up to date.
#
# Steps (a failure names the step it happened in):
#   1. create .venv with python3 (>= 3.10)
#   2. install the exact versions pinned in requirements/lock.txt (torch, torchvision, ...)
#   3. build Detectron2 v0.6 from the pb1-detectron2 sdist without compiled ops
#   4. install sisieg itself, editable
#   5. check that the environment imports and is consistent
#
# A user who already has an official Detectron2 build does not need this script:
# `pip install -e .` into that environment is enough (see README.md).
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SISIEG_VENV:-$ROOT/.venv}"
LOCK="$ROOT/requirements/lock.txt"
STAMP="$VENV/.sisieg-setup-fingerprint"
PYTHON="${PYTHON:-python3}"
D2_SDIST="pb1-detectron2==0.6"
CURRENT_STEP="start"

fingerprint() { cat "$LOCK" "$ROOT/setup.py" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1; }
step() { CURRENT_STEP="$1"; echo "==> [setup] $1"; }
trap 'echo "setup FAILED at step: ${CURRENT_STEP} (see the messages above)" >&2' ERR

WANT="$(fingerprint)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    exit 0  # environment already matches the lock file
fi
START=$(date +%s)

step "1/5 create the virtual environment in $VENV"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), f"python >= 3.10 needed, found {sys.version.split()[0]}"'
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

step "2/5 install the pinned packages of requirements/lock.txt (torch, torchvision, numpy<1.24, ...)"
"${PIP[@]}" install --quiet -r "$LOCK"

step "3/5 build Detectron2 v0.6 from the $D2_SDIST sdist, without compiled ops"
if "${PIP[@]}" show --quiet pb1-detectron2 >/dev/null 2>&1; then
    echo "    already installed"
else
    WORK="$(mktemp -d)"
    trap 'rm -rf "$WORK"' EXIT
    "${PIP[@]}" download --quiet --no-deps --no-binary :all: --no-build-isolation "$D2_SDIST" -d "$WORK"
    tar -xzf "$WORK"/pb1-detectron2-0.6.tar.gz -C "$WORK"
    SRC="$WORK/pb1-detectron2-0.6"
    grep -q 'ext_modules=get_extensions(),' "$SRC/setup.py"  # the line we patch must exist
    sed -i 's/ext_modules=get_extensions(),/ext_modules=[],/' "$SRC/setup.py"
    mv "$SRC/detectron2/model_zoo/configs" "$SRC/configs"  # installed as model-zoo package data
    "${PIP[@]}" install --quiet --no-deps --no-build-isolation "$SRC"
fi

step "4/5 install sisieg (editable)"
"${PIP[@]}" install --quiet --no-deps --no-build-isolation -e "$ROOT"

step "5/5 check the environment"
"${PIP[@]}" check
"$VENV/bin/python" -c 'import sisieg, detectron2.model_zoo, torchvision.ops; print(f"    sisieg ready: detectron2 {detectron2.__version__}, compiled ops: {sisieg.HAS_COMPILED_OPS}")'

echo "$WANT" > "$STAMP"
echo "==> [setup] done in $(( $(date +%s) - START )) s"
