#!/usr/bin/env bash
# Create ./.venv (once) and install trialmatch into it. Sourced by quickstart.sh and test.sh.
# torch is pinned through constraints.txt: an unpinned torch pulls gigabytes of CUDA wheels.
# pip's own chatter (warnings about the machine's pip configuration, build backends) goes to
# .venv/install.log, shown only if the installation fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "Installing trialmatch and its dependencies into .venv (once; log: .venv/install.log)" >&2
  if ! {
    .venv/bin/python -m pip install --quiet --upgrade pip &&
    .venv/bin/python -m pip install --quiet -c constraints.txt "torch==2.13.0" &&
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev,dask]"
  } > .venv/install.log 2>&1; then
    tail -n 30 .venv/install.log >&2
    echo "installation failed: the whole log is in .venv/install.log" >&2
    exit 1
  fi
  rm -f .venv/.installed-* && touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
