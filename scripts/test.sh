#!/usr/bin/env bash
# The test command (`npm test`): lint, types, generated wrappers, then every jest project
# (unit, integration, clients) in one run. Integration and client tests need the bench
# (`bash scripts/testbed up`); without it they skip locally and fail under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format, lint and types"
npx prettier --check . >/dev/null || { npx prettier --list-different .; echo "run: npm run format" >&2; exit 1; }
npx eslint .
npx tsc --noEmit -p .
echo "== generated wrappers match the declarations"
node scripts/generate.mjs --check

if [ -x scripts/testbed ] && bash scripts/testbed status >/dev/null 2>&1; then
  eval "$(bash scripts/testbed env)"
fi

echo "== jest"
results=$(mktemp)
set +e
npx jest --runInBand --json --outputFile="$results" "$@"
rc=$?
set -e
# One closing line any CI reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$results" || echo "tests: 0 passed, 1 failed"
rm -f "$results"
exit "$rc"
