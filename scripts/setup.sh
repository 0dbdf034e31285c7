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
  "$venv/bin/python" -m pip install --quiet -r requirements-dev.txt
  rm -f "$venv"/.ready-*
  touch "$venv/.ready-$hash"
fi

if [ "$venv" != ".venv" ]; then
  if [ -d .venv ] && [ ! -L .venv ]; then rm -rf .venv; fi
  ln -sfn "$venv" .venv
fi
