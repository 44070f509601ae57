#!/usr/bin/env bash
# Set up and run every check: ruff, mypy, the import contracts (lint-imports) and the test suite
# (against a real redis-server).
# Works on a fresh machine with Python 3.11+; installs redis-server and chromium from Debian when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "botkit needs Python 3.11+ (set PYTHON=...)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing redis-server (Debian package) for the tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "the tests need redis-server: sudo apt-get install redis-server" >&2
    exit 1
  fi
fi

# The simulator's browser test drives Debian's chromium (never a downloaded one: CI is offline).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (Debian package) for the simulator's browser test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "no /usr/bin/chromium: the simulator's browser test will be skipped" \
      "(sudo apt-get install chromium)" >&2
  fi
fi

.venv/bin/ruff check botkit bots tests
.venv/bin/mypy botkit
.venv/bin/lint-imports --no-cache
# Every test, the slow fault tests (Redis failover) included.
.venv/bin/python -m pytest -m "slow or not slow" "$@"
