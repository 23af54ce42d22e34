// The shape scripts/build.mjs gives every step, checked on the committed dist/: index.js holds
// the declaration and the runtime; main.js (main.ts + post.ts) loads only once the inputs are
// valid, so a bad input compiles nothing else. Each step's bad input is bench/fail-fast.json's
// (the one bench/steps.mjs times). A later file (main.js, lazy.js) takes from index.js, through
// `require("./index.js").__shared`, the exports index.js already compiled, rather than a copy;
// lazy.js likewise from main.js, which is loaded before it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const FAIL_FAST = JSON.parse(readFileSync(join(root, 'bench/fail-fast.json'), 'utf8')) as Record<string, string[]>;
const steps = Object.keys(FAIL_FAST).sort();
/** The files of this step's folder node loaded, from NODE_DEBUG=module's `load "<file>"` lines. */
const loaded = (stderr: string, step: string) =>
  [...stderr.matchAll(/load "([^"]+)"/g)]
    .map((m) => m[1]!)
    .filter((f) => f.includes(`/dist/${step}/`))
    .map((f) => f.slice(f.lastIndexOf('/') + 1));

test('every step of src/steps has a bad input in bench/fail-fast.json', () => {
  const all = readdirSync(join(root, 'src/steps')).filter((n) => existsSync(join(root, 'src/steps', n, 'index.ts')));
  expect(steps).toEqual(all.sort());
});

test.each(steps)('%s: a bad input exits 2 naming an input, with a hint, having loaded index.js alone', (step) => {
  const args = FAIL_FAST[step]!;
  const r = spawnSync(process.execPath, [join(root, 'dist', step, 'index.js'), ...args], {
    env: { PATH: process.env.PATH, NODE_DEBUG: 'module' },
    encoding: 'utf8',
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^error: input '[a-z-]+': .*\nhint: /m);
  expect(loaded(r.stderr, step)).toEqual(['index.js']);
});

test.each(steps)('%s: main.js exports what main.ts and post.ts export, and index.js requires it', (step) => {
  const exported = ['main', 'post'].flatMap((f) => {
    const file = join(root, 'src/steps', step, `${f}.ts`);
    if (!existsSync(file)) return [];
    return [...readFileSync(file, 'utf8').matchAll(/^export (?:async )?(?:function|const) (\w+)/gm)].map((m) => m[1]!);
  });
  expect(exported.length).toBeGreaterThan(0);
  const mod = require(join(root, 'dist', step, 'main.js')) as Record<string, unknown>;
  expect(exported.filter((name) => typeof mod[name] !== 'function' && mod[name] === undefined)).toEqual([]);
  expect(readFileSync(join(root, 'dist', step, 'index.js'), 'utf8')).toContain('require("./main.js")');
});

/** The entries of `from`'s `__shared` list the later files of the step read. */
const takes = (step: string, from = 'index.js') =>
  ['main.js', 'lazy.js', 'aws-sdk.js'].flatMap((f) => {
    const file = join(root, 'dist', step, f);
    if (!existsSync(file) || f === from) return [];
    const re = new RegExp(`require\\("\\./${from.replace('.', '\\.')}"\\)\\.__shared\\[(\\d+)\\]`, 'g');
    return [...readFileSync(file, 'utf8').matchAll(re)].map((m) => Number(m[1]));
  });

test('the steps whose later files repeat much of index.js take it from index.js instead', () => {
  expect(steps.filter((s) => takes(s).length)).toEqual(
    expect.arrayContaining(['build-push', 'image-tags', 'kaniko-build']),
  );
});

test('the steps whose lazy.js repeats much of main.js (loaded before it) take it from main.js', () => {
  expect(steps.filter((s) => takes(s, 'main.js').length)).toEqual(
    expect.arrayContaining(['assume-role', 'retag', 'untag']),
  );
  // only lazy.js reads main.js's list: main.js is what requires it
  for (const s of steps)
    for (const f of ['aws-sdk.js'])
      if (existsSync(join(root, 'dist', s, f)))
        expect(readFileSync(join(root, 'dist', s, f), 'utf8')).not.toContain('require("./main.js")');
});

test.each(steps.flatMap((s) => [[s, 'index.js'] as const, [s, 'main.js'] as const]))(
  '%s: every export a later file takes from %s is there',
  (step, from) => {
    const wanted = takes(step, from);
    if (!wanted.length) return;
    const list = (require(join(root, 'dist', step, from)) as { __shared?: Record<string, unknown>[] }).__shared;
    expect(Array.isArray(list)).toBe(true);
    for (const i of wanted) {
      expect(list![i]).toBeDefined();
      const missing = Object.entries(list![i]!).filter(([, v]) => v === undefined);
      expect(missing).toEqual([]);
      expect(Object.keys(list![i]!).length).toBeGreaterThan(0);
    }
  },
);
