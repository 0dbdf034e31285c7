#!/usr/bin/env bash
# Install everything the tests need (venv, Debian chromium for the browser tests) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian chromium for the browser tests ..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ||
      echo "chromium could not be installed: browser tests will be skipped"
  else
    echo "chromium is not installed and this user cannot apt-get it: browser tests will be skipped"
  fi
fi

.venv/bin/python -m ruff check .
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# The tests without a browser spread over every core; the browser tests share one server and one chromium.
.venv/bin/python -m pytest -m "not browser" -n auto
.venv/bin/python -m pytest -m browser
