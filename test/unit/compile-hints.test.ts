// scripts/lib/compile-hints.cjs: the functions scripts/compile-hints.json names are written so
// that V8 compiles them with the file (checked with V8's own function events), the code does what
// it did (hoisting, names, async, generators), nothing else changes, and the committed hints
// still point at lines where functions start.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { buildSync } from 'esbuild';
import ts from 'typescript';

const root = join(__dirname, '../..');
const { markEager } = require(join(root, 'scripts/lib/compile-hints.cjs')) as {
  markEager: (
    code: string,
    map: string,
    mapDir: string,
    root: string,
    hints: Record<string, number[]>,
  ) => { code: string; marked: number };
};

// A module of every function shape a bundle has; `late()` is called at the top level before its
// declaration, as hoisting allows. Each line's number is its place in the hints below.
const SOURCE = [
  /* 1 */ `export const early = late();`,
  /* 2 */ `export function late() { return 'late:' + helper(2); }`,
  /* 3 */ `function helper(n: number): number { return n <= 0 ? 0 : n + helper(n - 1); }`,
  /* 4 */ `export const arrow = (x: number) => x * 2;`,
  /* 5 */ `export const cold = (x: number) => x * 3;`,
  /* 6 */ `export async function later(x: number) { await null; return x + 1; }`,
  /* 7 */ `export function* gen() { yield 1; yield 2; }`,
  /* 8 */ `export const obj = { method(x: number) { return x + 4; }, get g() { return 5; }, prop: function (x: number) { return x + 6; } };`,
  /* 9 */ `export function outer() { return inner(); function inner() { return 'inner'; } }`,
  /* 10 */ `export function coldDecl() { return 'cold'; }`,
  /* 11 */ `export const names = [late.name, helper.name, arrow.name, later.name, gen.name, obj.prop.name, outer.name].join();`,
  /* 12 */ "export function dollars() { return '$&' + \"$`\" + \"$'\" + '$$' + '$1'; }",
].join('\n');
const HOT = [2, 3, 4, 6, 7, 8, 9, 12];

let dir: string;
let bundle: string;
let map: string;
/** esbuild's bundle of SOURCE (minified, as dist/'s, or not) and its source map. */
function bundleOf(name: string, minify: boolean): [string, string] {
  buildSync({
    entryPoints: [join(dir, 'mod.ts')],
    bundle: true,
    minify,
    format: 'cjs',
    platform: 'node',
    sourcemap: 'external',
    outfile: join(dir, name),
    logLevel: 'silent',
  });
  return [readFileSync(join(dir, name), 'utf8'), readFileSync(join(dir, `${name}.map`), 'utf8')];
}
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipline-compile-hints-'));
  writeFileSync(join(dir, 'mod.ts'), SOURCE);
  [bundle, map] = bundleOf('out.js', true);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Hints name files as the project's paths: the fixture's path from `root`.
const mark = (lines: number[], code = bundle, sourceMap = map) =>
  markEager(code, sourceMap, dir, root, { [relative(root, join(dir, 'mod.ts')).split(sep).join('/')]: lines });

/** What the module exports, each value made comparable (functions called). */
function evaluate(file: string): string {
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `const m = require(${JSON.stringify(file)});
       (async () => console.log(JSON.stringify([m.early, m.arrow(2), m.cold(2), await m.later(1), [...m.gen()],
         m.obj.method(1), m.obj.g, m.obj.prop(1), m.outer(), m.coldDecl(), m.names, m.dollars()])))();`,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout;
}

test('no hints: the bundle comes out byte for byte as esbuild wrote it', () => {
  expect(markEager(bundle, map, dir, root, {}).code).toBe(bundle);
});

test('hinted functions are marked, the others and methods are not; the code does what it did', () => {
  const { code, marked } = mark(HOT);
  // late, helper, later, gen, outer, inner, dollars: declarations moved up; arrow, prop: wrapped
  expect(marked).toBe(9);
  expect(code).not.toBe(bundle);
  const file = join(dir, 'marked.js');
  writeFileSync(file, code);
  const out = evaluate(file);
  expect(out).toBe(evaluate(join(dir, 'out.js')));
  expect(JSON.parse(out)).toEqual([
    'late:3',
    4,
    6,
    2,
    [1, 2],
    5,
    5,
    7,
    'inner',
    'cold',
    // esbuild's minified names, the same as before the marks: a marked function keeps its name
    expect.any(String),
    // moved into a `var` as written: no `$` pattern of String#replace
    "$&$`$'$$$1",
  ]);
  // methods and getters are left as they are: `(…)` there would not parse
  expect(code).toMatch(/method\([a-z]\)\{return [a-z]\+4\}/);
  // The top level's six moved declarations join the `var` the bundle opens with, each for `=(`,
  // `)` and a comma less the space after `function` (`function*i` has none); `inner` gets a `var`
  // of its own in outer's body; the two expressions their parentheses.
  expect(code.startsWith('var ')).toBe(true);
  expect(code.match(/\bvar /g)!.length - bundle.match(/\bvar /g)!.length).toBe(1);
  expect(code.length - bundle.length).toBe(6 * 3 + 1 + 7 + 2 * 2);
});

test('unminified code (statements on lines of their own) keeps its statements apart', () => {
  const [code, sourceMap] = bundleOf('readable.js', false);
  const file = join(dir, 'readable-marked.js');
  const { code: marked } = mark(HOT, code, sourceMap);
  writeFileSync(file, marked);
  expect(marked).not.toBe(code);
  expect(evaluate(file)).toBe(evaluate(join(dir, 'readable.js')));
});

test('V8 compiles a hinted function with the file and an unhinted one on its first call', () => {
  const file = join(dir, 'events.js');
  writeFileSync(file, mark(HOT).code);
  const log = join(dir, 'v8.log');
  const r = spawnSync(
    process.execPath,
    [
      '--log-function-events',
      `--logfile=${log}`,
      '--no-logfile-per-isolate',
      '-e',
      `const m = require(${JSON.stringify(file)}); m.arrow(1); m.cold(1); m.coldDecl(); m.outer();`,
    ],
    { encoding: 'utf8' },
  );
  expect(r.status).toBe(0);
  const events = readFileSync(log, 'utf8');
  const script = new RegExp(`^script-details,(\\d+),${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},`, 'm').exec(
    events,
  )![1];
  // `function,<event>,<script>,<start>,<end>,<time>,<timestamp>,<name>`: a lazy compile on a first
  // call is a `parse-function` event; the names are esbuild's, so functions are found by place.
  const code = readFileSync(file, 'utf8');
  const at = (needle: string) => code.indexOf(needle);
  const lazy = [...events.matchAll(new RegExp(`^function,parse-function,${script},(\\d+),`, 'gm'))].map((m) =>
    Number(m[1]),
  );
  // Declarations and function expressions: V8 before 13 (Node 20) compiles a parenthesized arrow
  // function on its first call all the same; Node 24's compiles it with the file.
  const cold = at('"cold"'); // the body of `coldDecl`
  const hot = at('"late:"'); // the body of `late`
  expect(cold).toBeGreaterThan(0);
  expect(hot).toBeGreaterThan(0);
  const compiledLazily = (inside: number) => lazy.some((start) => start < inside && inside - start < 30);
  expect(compiledLazily(cold)).toBe(true);
  expect(compiledLazily(hot)).toBe(false);
});

test('every line scripts/compile-hints.json names starts a function in that file', () => {
  const byBundle = JSON.parse(readFileSync(join(root, 'scripts/compile-hints.json'), 'utf8')) as Record<
    string,
    Record<string, number[]>
  >;
  expect(Object.keys(byBundle).sort()).toEqual(['index.js', 'lazy.js', 'main.js']);
  const stale: string[] = [];
  for (const [file, lines] of Object.values(byBundle).flatMap((h) => Object.entries(h))) {
    const text = readFileSync(join(root, file), 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    // Line 1: the wrapper esbuild puts around a module it initializes on first use.
    const starts = new Set([1]);
    const visit = (n: ts.Node) => {
      // A class's fields are set by a function of their own, which starts at the first field.
      const field = ts.isPropertyDeclaration(n) || (ts.isParameter(n) && ts.isConstructorDeclaration(n.parent));
      if (field || (ts.isFunctionLike(n) && !ts.isFunctionTypeNode(n) && !ts.isMethodSignature(n)))
        starts.add(sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1);
      ts.forEachChild(n, visit);
    };
    visit(sf);
    for (const line of lines) if (!starts.has(line)) stale.push(`${file}:${line}`);
  }
  // Stale after an edit: run `node scripts/compile-hints.mjs` (bench up), then `npm run build`.
  expect(stale).toEqual([]);
});
