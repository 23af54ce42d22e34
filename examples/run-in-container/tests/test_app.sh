#!/bin/sh
# Unit test of src/app.sh.
set -e
out=$(sh src/app.sh shipline)
[ "$out" = "hello, shipline" ] || { echo "FAIL: got '$out'"; exit 1; }
echo "ok - app greets by name"
