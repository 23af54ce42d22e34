// scripts/compile-hints.mjs against the bench: it runs every bench/steps.mjs case once under V8
// coverage (the happy paths against the loopback STS, ECR and OIDC issuer, on Node 24) and
// learns, by bundle file, the lines where the functions start that ran. What it learns from the
// committed code is what scripts/compile-hints.json holds: run it again after changing code
// those runs go through (README, Contributing).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run } from '../support/exec';
import { describeBench } from '../support/testbed';

jest.setTimeout(180_000);

type Hints = Record<string, Record<string, number[]>>;
const lines = (h: Record<string, number[]>) =>
  new Set(Object.entries(h).flatMap(([f, ls]) => ls.map((l) => `${f}:${l}`)));

describeBench(['aws', 'node24'], 'compile hints learned from the bench', () => {
  test('scripts/compile-hints.mjs learns the hints scripts/compile-hints.json holds', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-compile-hints-it-'));
    try {
      const out = path.join(dir, 'hints.json');
      const r = await run(process.execPath, [path.join(repoRoot, 'scripts/compile-hints.mjs'), '--out', out], {
        cwd: repoRoot,
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /compile-hints: lines by bundle file: index\.js \d+, main\.js \d+, lazy\.js \d+ \(17 runs\)/,
      );
      const learned = JSON.parse(fs.readFileSync(out, 'utf8')) as Hints;
      const committed = JSON.parse(fs.readFileSync(path.join(repoRoot, 'scripts/compile-hints.json'), 'utf8')) as Hints;
      expect(Object.keys(learned).sort()).toEqual(['index.js', 'lazy.js', 'main.js']);
      for (const file of Object.keys(committed)) {
        const a = lines(learned[file]!);
        const b = lines(committed[file]!);
        expect(a.size).toBeGreaterThan(40);
        // Line by line the same; a missing or extra one means the committed file is stale.
        expect({ file, missing: [...a].filter((l) => !b.has(l)), extra: [...b].filter((l) => !a.has(l)) }).toEqual({
          file,
          missing: [],
          extra: [],
        });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
