// The Node 24 binary the bench installs (npm package `node@24` under $STATE/node24, never a
// project dependency), so bundles can run on the runtime GitHub uses for `using: node24`.
import fs from 'node:fs';
import path from 'node:path';
import { isCI, loadBenchEnv } from './testbed';

/** Absolute path of the bench's Node 24 binary, or undefined when it is not installed. */
export function node24Path(): string | undefined {
  const env = loadBenchEnv();
  const candidates = [
    process.env.TB_NODE24,
    env?.TB_NODE24,
    env?.TB_STATE_DIR && path.join(env.TB_STATE_DIR, 'node24/node_modules/node/bin/node'),
  ];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  return undefined;
}

/** Node 24 path; throws with how to get it (under CI=true, or when `strict`). */
export function requireNode24(strict = isCI()): string | undefined {
  const p = node24Path();
  if (!p && strict)
    throw new Error(
      'Node 24 is not installed by the test bench (TB_NODE24 empty): run `bash scripts/testbed up` with npm registry access',
    );
  return p;
}
