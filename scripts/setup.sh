#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment at .venv with everything the app and the tests need.
# The environment is keyed by a hash of the requirements files: when they change, a fresh one is built.
# With PYLAB_CACHE_DIR set (CI does this), the environment lives there and .venv is a link to it, so repeated
# runs on one machine skip the install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
hash=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)

if [ -n "${PYLAB_CACHE_DIR:-}" ]; then
  venv="$PYLAB_CACHE_DIR/venv-$hash"
  mkdir -p "$PYLAB_CACHE_DIR"
else
  venv=".venv"
fi

if [ ! -f "$venv/.ready-$hash" ]; then
  echo "Setting up the virtual environment in $venv (torch is large: this takes a few minutes once) ..."
  # A local .venv from older requirements is updated in place; a cached one is built afresh under its new hash.
  if [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # requirements.txt points pip at PyTorch's CPU wheel index (a ~200 MB torch instead of the multi-GB CUDA build,
  # which is what Streamlit Community Cloud needs). Where that index cannot be reached, install from PyPI only.
  reqs=$(mktemp -d)
  cp requirements.txt requirements-dev.txt "$reqs/"
  if ! "$venv/bin/python" -c "import urllib.request as u; u.urlopen('https://download.pytorch.org/whl/cpu/', timeout=5)" \
      >/dev/null 2>&1; then
    echo "PyTorch's CPU wheel index is not reachable: installing torch from the default index."
    sed -i '/^--extra-index-url https:\/\/download.pytorch.org/d' "$reqs/requirements.txt"
  fi
  "$venv/bin/python" -m pip install --quiet -r "$reqs/requirements-dev.txt"
  rm -rf "$reqs"
  rm -f "$venv"/.ready-*
  touch "$venv/.ready-$hash"
fi

if [ "$venv" != ".venv" ]; then
  if [ -d .venv ] && [ ! -L .venv ]; then rm -rf .venv; fi
  ln -sfn "$venv" .venv
fi
