#!/usr/bin/env bash
# Create ./.venv (if absent) and install panoworld with its test extras into it. Safe to re-run.
#
# torch: if the virtualenv has none yet, this installs one first. Override with PANOWORLD_TORCH, e.g.
#   PANOWORLD_TORCH="torch --index-url https://download.pytorch.org/whl/cpu" bash scripts/setup.sh
# Defaults: plain "torch" where an NVIDIA driver is present; otherwise torch==2.13.0, whose CPU-only
# build is served locally on panoworld's CI machines (anywhere else any torch >= 2.4 works).
set -euo pipefail
cd "$(dirname "$0")/.."
python_bin=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
py=.venv/bin/python
"$py" -m pip install -q --upgrade pip
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  if [ -n "${PANOWORLD_TORCH:-}" ]; then
    spec=$PANOWORLD_TORCH
  elif command -v nvidia-smi >/dev/null 2>&1; then
    spec="torch"
  else
    spec="torch==2.13.0"
  fi
  echo "installing $spec ..."
  # shellcheck disable=SC2086
  "$py" -m pip install -q $spec
fi
"$py" -m pip install -q -e ".[dev]"
echo "panoworld is installed in .venv ($("$py" -c 'import panoworld, torch; print("panoworld", panoworld.__version__, "torch", torch.__version__)'))"
