// stdio.ts: isTerminal answers as node:tty's isatty does, without loading node:tty for a pipe
// or a file (what a CI job's stdout and stderr are).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isatty } from 'node:tty';
import { isTerminal } from '../../../src/runtime/stdio';

test('a file, /dev/null, the test runner’s own descriptors, a closed one: as isatty', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-stdio-'));
  const file = fs.openSync(path.join(dir, 'f'), 'w');
  const devnull = fs.openSync('/dev/null', 'r');
  try {
    for (const fd of [file, devnull, 0, 1, 2]) expect(isTerminal(fd)).toBe(isatty(fd));
    expect(isTerminal(file)).toBe(false);
    expect(isTerminal(devnull)).toBe(false);
    expect(isTerminal(987654)).toBe(false);
  } finally {
    fs.closeSync(file);
    fs.closeSync(devnull);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('stderr a pipe (a CI job): false, without loading node:tty', () => {
  // stdio.ts compiled as the bundles are (esbuild), run in a node whose fd 2 is a pipe.
  const { transformSync } = require('esbuild') as typeof import('esbuild');
  const src = fs.readFileSync(path.join(__dirname, '../../../src/runtime/stdio.ts'), 'utf8');
  const js = transformSync(src, { loader: 'ts', format: 'cjs', platform: 'node' }).code;
  const probe = `const m = { exports: {} }; new Function('module', 'exports', 'require', ${JSON.stringify(js)})(m, m.exports, require);
    const t = m.exports.isTerminal(2);
    process.stdout.write(JSON.stringify({ t, tty: process.moduleLoadList.some((x) => / tty$/.test(x)) }));`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ t: false, tty: false });
});
