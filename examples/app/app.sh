#!/bin/sh
# The example app: prints its locked packages; --self-test checks it can read them.
set -e
cd "$(dirname "$0")"
if [ "$1" = "--self-test" ]; then
  test -s deps.lock || { echo "smoke test: deps.lock is missing or empty" >&2; exit 1; }
  echo "smoke test: ok ($(wc -l < deps.lock) packages)"
  exit 0
fi
echo "app running with:"
cat deps.lock
