// Fuzz/property testing of a step's real bundle (dist/<step>/index.js): a seeded PRNG,
// generators of hostile values, a runner and the property every run must keep.
//
// The runner starts a few driver processes (`node <driver> dist/<step>/index.js …`), each
// of which loads the bundle once and runs a batch of cases through the bundle's own
// `run()` (the exported runtime entry `dist/<step>/post.js` also uses), every case with its
// own environment (env -i style: PATH, HOME, TMPDIR, the platform's variables, the step's
// own), its own temp workspace and its own private run directory; every `spawnEvery`-th
// case is also run in a process of its own (`node dist/<step>/index.js`, exactly as a job
// runs it) and must exit with the same code. Network: AWS endpoints and DOCKER_HOST point at
// a closed loopback port / a missing socket, and a guard loaded into every process refuses
// connections to anything but loopback (as ENOTFOUND), so a fuzzed host name never leaves
// the machine.
//
// The property (violations()): every run exits 0, 1 or 2 (or a code the step allows);
// exit 1 only with the step's own failure wording for a call that failed after validation;
// exit 2 with an error that names an input (or a variable the step reads) and a hint; never
// the bug path ("this is a shipline bug", "unexpected error"), never a stack trace, never an
// unhandled rejection, no hang; no value marked secret in stdout, stderr or the dotenv
// report. Failures name the seed: `SHIPLINE_FUZZ_SEED=<seed>` reproduces them.
//
// Knobs: SHIPLINE_FUZZ_SEED (a number, or `random`), SHIPLINE_FUZZ_SCALE (multiplies the
// number of values per input, e.g. 0.2 for a quick run, 5 for a long one).
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const repoRoot = join(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------
// Seeded PRNG

export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  shuffle<T>(xs: readonly T[]): T[];
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): Rng {
  let s = seed | 0;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    seed,
    next,
    int,
    pick: (xs) => xs[int(xs.length)]!,
    chance: (p) => next() < p,
    shuffle: (xs) => {
      const a = [...xs];
      for (let i = a.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    },
  };
}

/** The seed of a fuzz file: SHIPLINE_FUZZ_SEED (a number, or `random`), else a fixed one from `name`. */
export function fuzzSeed(name: string): number {
  const given = process.env.SHIPLINE_FUZZ_SEED;
  if (given === 'random') return randomInt(2 ** 31);
  if (given !== undefined && /^\d+$/.test(given)) return Number(given);
  let h = 0x811c9dc5; // FNV-1a
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** How many values per input, scaled by SHIPLINE_FUZZ_SCALE. */
export function fuzzCount(n: number): number {
  const scale = Number(process.env.SHIPLINE_FUZZ_SCALE ?? '1');
  return Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

// ---------------------------------------------------------------------------------------
// Hostile values (no NUL: no environment variable can hold one)

const Z64 = '0'.repeat(64);

export const HOSTILE = {
  empty: ['', ' ', '\t', '   \t  '],
  huge: ['x'.repeat(20_000), 'a,'.repeat(3000), 'a\n'.repeat(3000), '🐳'.repeat(2000), '{{'.repeat(2000)],
  unicode: ['日本語', 'ü', 'ß/ẞ', 'Ω≈ç√', 'e\u0301', '\u202etxt', '\u200b', '\ufeffbom', '🐳', 'İı', 'ﬁ', '\u2028'],
  quotes: ['"', "'", '`', '""', "''", '"a,b"', "'a b'", 'a"b', "a'b", '\\', '\\"', '\\\\n', '"unclosed', "it's"],
  newlines: ['\n', '\r\n', '\r', 'a\nb', 'a\r\nb', '\n\n\n', 'a\n--b', 'a\n#b', ' a \n b '],
  control: ['\x01', '\x07', '\b', '\x1b[31mred\x1b[0m', '\x1b]0;t\x07', '\x7f', '\f', '\v', 'a\x02b'],
  templates: [
    '{{',
    '}}',
    '{{}}',
    '{{branch}}',
    '{{nope}}',
    '{{#if a}}b{{/if}}',
    "{{date 'YYYY' tz='Nowhere/Zone'}}",
    '{{{raw}}}',
    '${{ secrets.TOKEN }}',
    '${{',
    '${{ }}',
    '$[[ inputs.x ]]',
    '$[[',
    '$[[ ]]',
    '$(id)',
    '`id`',
    '${HOME}',
    '$HOME',
    '$$HOME',
    '%s%n%x',
    '%00',
    '%0A',
    '::error::x',
    '::add-mask::x',
  ],
  options: ['-', '--', '--x', '-x', '--help', '-h', '--post', '--privileged', '--images', '--x=1', '-rf', '--=x'],
  references: [
    'a//b',
    'UPPER/x',
    'x:tag@sha256:zz',
    'a:b:c',
    'a@sha256:' + Z64,
    'a:t@sha256:' + Z64,
    'a@sha256:' + 'Z'.repeat(64),
    'a@md5:abc',
    'localhost:5000/a',
    'localhost:99999/a',
    'host:0/a',
    'host:-1/a',
    'host:/a',
    '[::1]:5000/a',
    '[::1]/a',
    '::1',
    '[fe80::1%eth0]:5000/a',
    '[::ffff:127.0.0.1]:9/a:b',
    '127.0.0.1:9/a:b',
    '0.0.0.0/a',
    'a:' + 't'.repeat(200),
    'a/'.repeat(100) + 'b',
    '/a',
    'a/',
    '.a',
    '-a',
    'a..b',
    'a__b',
    'a___b',
    'a/b:-x',
    'a/b:.x',
    'a/b:',
    ':tag',
    '@sha256:' + Z64,
    'registry.example.com/a/b:c',
    'docker.io/library/x',
    'https://registry.example.com/a',
    'registry.example.com:443',
    'xn--bcher-kva.example/a',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1',
    'public.ecr.aws/a/b:1',
  ],
  numbers: ['0', '-1', '1e3', '0x10', 'NaN', 'Infinity', '-0', '99999999999999999999', '1.5', ' 5 ', '007', '1_000'],
  booleans: ['true', 'false', 'TRUE', 'False', 'yes', 'no', 'on', 'maybe', '1', '0', 'null', 'undefined'],
  paths: [
    '.',
    '..',
    '../x',
    '/etc/passwd',
    '/',
    '~',
    '~/x',
    'a/../../b',
    '.shipline',
    '.shipline/env',
    '/proc/self/environ',
    '/dev/null',
    'x:y',
    ':',
    '::',
    'C:\\x',
  ],
  misc: [
    '#comment',
    ',',
    ',,',
    '=',
    '==',
    'a=b',
    'a=',
    '=b',
    ';',
    '|',
    '&&',
    '*',
    '?',
    '[',
    ']',
    '<',
    '>',
    'null',
    '{}',
    '[]',
    '{"a":1}',
    'key: value',
    '- x',
  ],
} as const;

export const HOSTILE_VALUES: readonly string[] = Object.values(HOSTILE).flat();

/** Short pieces spliced into valid values. */
const FRAGMENTS = [
  ' ',
  '\n',
  '\r',
  '\t',
  ',',
  ';',
  ':',
  '=',
  '/',
  '//',
  '@',
  '#',
  '"',
  "'",
  '\\',
  '`',
  '$',
  '{{',
  '}}',
  '${{',
  '$[[',
  '-',
  '--',
  '.',
  '..',
  '*',
  '?',
  '[',
  ']',
  '%',
  '|',
  '\x1b',
  '\x01',
  'ü',
  '日',
  '🐳',
  '\u202e',
  'A',
  'Z',
  '0',
  '9',
  '@sha256:',
  ':latest',
  'x'.repeat(300),
];

/** Random text: mostly printable ASCII, some other planes, control characters (never NUL). */
export function randomText(r: Rng, max = 40): string {
  const n = r.int(max + 1);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = r.next();
    if (k < 0.6) s += String.fromCharCode(0x20 + r.int(0x5f));
    else if (k < 0.8) s += String.fromCharCode(0xa0 + r.int(0xd7ff - 0xa0));
    else if (k < 0.87) s += String.fromCodePoint(0x1f300 + r.int(0x300));
    else s += String.fromCharCode(1 + r.int(31));
  }
  return s;
}

/** A valid value, changed a little: the likeliest way past the first checks and into the code behind them. */
export function mutate(r: Rng, valid: string): string {
  const at = r.int(valid.length + 1);
  switch (r.int(12)) {
    case 0:
    case 1:
      return valid.slice(0, at) + r.pick(FRAGMENTS) + valid.slice(at);
    case 2: {
      const end = at + 1 + r.int(4);
      return valid.slice(0, at) + randomText(r, 3) + valid.slice(end);
    }
    case 3:
      return valid.slice(0, at) + valid.slice(at + 1 + r.int(Math.max(1, valid.length - at)));
    case 4:
      return r.chance(0.5) ? valid.toUpperCase() : valid.slice(0, at) + valid.slice(at).toUpperCase();
    case 5:
      return valid + r.pick(['\n', ',', ' ', ';', '\n\n']) + valid;
    case 6:
      return r.pick([' ', '\n', '\t', '-', '--', '.', '/', '"', '#', '$']) + valid;
    case 7:
      return valid + r.pick([' ', '\n', '\t', '-', '.', '/', ':', '@', '=', '\\', '"', '{{']);
    case 8:
      return valid.slice(0, at);
    case 9:
      return valid.slice(0, at) + (valid[at] ?? 'x').repeat(50 + r.int(300)) + valid.slice(at + 1);
    case 10:
      return valid.slice(0, at) + r.pick(HOSTILE_VALUES) + valid.slice(at);
    default:
      return mutate(r, mutate(r, valid));
  }
}

export interface ValueSpec {
  /** Valid values: kept as they are now and then, and mutated most of the time. */
  valid: readonly string[];
  /** More values worth trying for this input (its options, near misses). */
  also?: readonly string[];
  /** A list input: some values are several items (lines or comma-separated). */
  list?: boolean;
  /** Values for this input instead of StepFuzz.perInput (e.g. fewer for a boolean or a variable), scaled too. */
  count?: number;
}

/**
 * Each input's valid values mutated `n` times, offered beside the shared hostile values
 * (the runner takes `perInput` of them at random): near misses of valid values are the
 * likeliest way past the first checks and into the code behind them.
 */
export const withMutations = (r: Rng, fuzz: Record<string, ValueSpec>, n: number): Record<string, ValueSpec> =>
  Object.fromEntries(
    Object.entries(fuzz).map(([k, s]) => [
      k,
      { ...s, also: [...(s.also ?? []), ...Array.from({ length: n }, () => mutate(r, r.pick(s.valid)))] },
    ]),
  );

/**
 * `n` values for one input: half of them hostile values (the `also` values first, then a
 * shuffled pick of HOSTILE_VALUES, each once), the other half random text, mutations of
 * valid values and, for lists, mixes of valid and hostile items.
 */
export function valuesFor(r: Rng, spec: ValueSpec, n: number): string[] {
  const also = spec.also ?? [];
  const fixed = [...also, ...r.shuffle(HOSTILE_VALUES.filter((v) => !also.includes(v)))];
  const out: string[] = fixed.slice(0, Math.max(also.length, Math.ceil(n / 2)));
  while (out.length < n) {
    const k = r.next();
    const valid = r.pick(spec.valid);
    if (k < 0.12) out.push(randomText(r));
    else if (k < 0.22) out.push(valid);
    else if (spec.list && k < 0.4) {
      const items = Array.from({ length: 2 + r.int(3) }, () =>
        r.chance(0.5) ? r.pick(spec.valid) : r.chance(0.5) ? mutate(r, r.pick(spec.valid)) : r.pick(HOSTILE_VALUES),
      );
      out.push(items.join(r.pick(['\n', ',', '\n\n', ' , ', '\r\n'])));
    } else out.push(mutate(r, valid));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Cases and the runner

export type FuzzPlatform = 'gitlab' | 'cli' | 'github';

export interface FuzzCase {
  /** What is fuzzed, for the report: `input=value`. */
  label: string;
  /** Raw input values by input name (SHIPLINE_INPUT_<NAME>, or INPUT_<NAME> on GitHub). */
  inputs: Record<string, string>;
  /** More variables for the job (CI variables, the step's own); `@@WS@@` / `@@CASE@@` name the workspace / the case's directory. */
  env?: Record<string, string>;
  /** Values that must never appear in stdout, stderr or the dotenv report (besides the secret inputs). */
  secrets?: string[];
  /** Files to write in the workspace first (relative path → content). */
  files?: Record<string, string>;
  /** Run the step's cleanup (post / --post) after main, with main's state. */
  post?: boolean;
  /** A platform for this case (default: picked by the seed). */
  platform?: FuzzPlatform;
}

export interface PhaseResult {
  /** The exit code; null: it did not end within the case timeout. */
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

export interface CaseResult {
  id: number;
  case: FuzzCase;
  platform: FuzzPlatform;
  main: PhaseResult;
  post?: PhaseResult;
  /** The same case in a process of its own (`node dist/<step>/index.js`), when sampled. */
  alone?: PhaseResult;
  /** Unhandled rejections / uncaught exceptions while the case ran (driver). */
  rejections: string[];
  /** The GitLab / CLI dotenv report the case left, if any. */
  dotenv: string;
  /** Secret values of the case (secret inputs and case.secrets). */
  secrets: string[];
  /** Connections the network guard refused (host:port). */
  refused: string[];
  /** Output of the driver that no case captured (written straight to fd 1/2). */
  stray?: string;
  /** Connections the guard had refused in this case's driver when it ended (all cases of the driver so far). */
  refusedTotal?: number;
  /** The driver batch the case ran in. */
  batch?: number;
}

export interface FuzzOptions {
  /** The step (its declaration, for input names and secret inputs). */
  step: {
    name: string;
    inputs: Record<
      string,
      { description: string; secret?: boolean; aliases?: readonly string[]; negatedAliases?: readonly string[] }
    >;
    /** Anchor inputs the step refuses: their names count as input names. */
    unsupported?: Record<string, unknown>;
  };
  seed: number;
  /** Driver processes at once (default 2, the bench's cores). */
  concurrency?: number;
  /** Cases at once inside one driver (default 1: exact attribution; more for steps that wait on the network). */
  parallel?: number;
  /** Cases per driver process (default 80). */
  batch?: number;
  /** Every n-th case also runs in a process of its own (default: about 60 cases in all, at least every 12th; 0: never). */
  spawnEvery?: number;
  /** A case not done by then is a hang (default 30 s). */
  caseTimeoutMs?: number;
  /** Platform weights (default gitlab 3, cli 1, github 1). */
  platforms?: Partial<Record<FuzzPlatform, number>>;
}

// Loaded first into every process that runs a bundle: connections to anything but loopback
// fail as a failed name lookup would (nothing leaves the machine), and are recorded.
const GUARD = String.raw`'use strict';
const net = require('net');
const refused = (globalThis[Symbol.for('shipline.fuzz.refused')] ??= []);
const loopback = (h) => {
  h = String(h).replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '::1' ||
    /^(0:){7}1$/.test(h) || /^::ffff:127\./.test(h);
};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let o = args[0];
  if (Array.isArray(o)) o = o[0];
  let host;
  let port;
  if (o !== null && typeof o === 'object') {
    if (typeof o.path === 'string' && o.path !== '') return connect.apply(this, args); // a unix socket
    host = o.host ?? 'localhost';
    port = o.port;
  } else if (typeof o === 'number' || /^\d+$/.test(String(o))) {
    port = o;
    host = typeof args[1] === 'string' ? args[1] : 'localhost';
  } else return connect.apply(this, args); // a unix socket path
  if (loopback(host)) return connect.apply(this, args);
  refused.push(host + ':' + port);
  const err = Object.assign(new Error('getaddrinfo ENOTFOUND ' + host), {
    code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: host,
  });
  this.connecting = true;
  process.nextTick(() => this.destroy(err));
  return this;
};
// Name lookups of anything but loopback fail the same way, without asking a resolver.
const dns = require('dns');
const notFound = (host) =>
  Object.assign(new Error('getaddrinfo ENOTFOUND ' + host), {
    code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: host,
  });
const lookup = dns.lookup;
dns.lookup = function (host, ...rest) {
  if (loopback(host)) return lookup.call(this, host, ...rest);
  refused.push(String(host));
  const cb = rest[rest.length - 1];
  if (typeof cb === 'function') process.nextTick(() => cb(notFound(host)));
  return {};
};
const lookupPromise = dns.promises.lookup;
dns.promises.lookup = (host, ...rest) => {
  if (loopback(host)) return lookupPromise(host, ...rest);
  refused.push(String(host));
  return Promise.reject(notFound(host));
};
`;

// Runs a batch of cases through one bundle: node <driver> <bundle> <cases.json> <results.jsonl> <parallel> <timeoutMs>
const DRIVER = String.raw`'use strict';
const fs = require('fs');
const path = require('path');
const [bundle, casesFile, resultsFile, parallelArg, timeoutArg] = process.argv.slice(2);
const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
const parallel = Number(parallelArg) || 1;
const timeoutMs = Number(timeoutArg) || 30000;
const mod = require(bundle);
const refused = (globalThis[Symbol.for('shipline.fuzz.refused')] ??= []);
const inflight = new Map();
const problem = (what) => (e) => {
  const text = what + ': ' + (e && e.stack ? e.stack : String(e));
  for (const r of inflight.values()) r.rejections.push(text);
  if (inflight.size === 0) fs.writeSync(2, 'shipline-fuzz: ' + text + '\n');
};
process.on('unhandledRejection', problem('unhandled rejection'));
process.on('uncaughtException', problem('uncaught exception'));

function githubFile(file) {
  // name=value lines and name<<delim / value / delim records of GITHUB_STATE and GITHUB_ENV
  const out = {};
  let text = '';
  try { text = fs.readFileSync(file, 'utf8'); } catch { return out; }
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const one = /^([^<=]+)=(.*)$/.exec(lines[i]); // name=value, as the runner also reads it
    if (one) {
      out[one[1]] = one[2];
      continue;
    }
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const value = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]);
    out[m[1]] = value.join('\n');
  }
  return out;
}

async function phase(c, env, post) {
  let out = '';
  let err = '';
  const t0 = Date.now();
  let timer;
  const timeout = new Promise((r) => (timer = setTimeout(() => r(null), timeoutMs)));
  let code;
  try {
    code = await Promise.race([
      mod.run({ env, cwd: c.cwd, post, stdout: (s) => (out += s), stderr: (s) => (err += s) }),
      timeout,
    ]);
  } catch (e) {
    code = 1;
    err += '\nshipline-fuzz: run() rejected: ' + (e && e.stack ? e.stack : String(e)) + '\n';
  } finally {
    clearTimeout(timer);
  }
  return { code, out, err, ms: Date.now() - t0 };
}

async function runCase(c) {
  const r = { id: c.id, rejections: [], refused: [] };
  inflight.set(c.id, r);
  const secrets = globalThis[Symbol.for('shipline.secrets')];
  if (parallel === 1 && secrets) secrets.clear();
  const before = refused.length;
  fs.writeSync(2, '\n@@shipline-fuzz case ' + c.id + '@@\n');
  r.main = await phase(c, c.env, false);
  if (c.post && r.main.code !== null) {
    let env = c.env;
    if (c.platform === 'github') {
      env = { ...env, ...githubFile(env.GITHUB_ENV) };
      for (const [k, v] of Object.entries(githubFile(c.env.GITHUB_STATE))) env['STATE_' + k] = v;
    }
    r.post = await phase(c, env, true);
  }
  r.refused = parallel === 1 ? refused.slice(before) : [];
  r.refusedTotal = refused.length;
  inflight.delete(c.id);
  fs.appendFileSync(resultsFile, JSON.stringify(r) + '\n');
}

(async () => {
  let next = 0;
  const worker = async () => {
    while (next < cases.length) await runCase(cases[next++]);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  fs.writeSync(2, '\n@@shipline-fuzz done@@\n');
  process.exit(0);
})();
`;

interface Materialized {
  id: number;
  platform: FuzzPlatform;
  cwd: string;
  env: Record<string, string>;
  post: boolean;
}

const githubInputVar = (name: string) => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
const envName = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

function pickPlatform(r: Rng, weights: Partial<Record<FuzzPlatform, number>>): FuzzPlatform {
  const entries = (['gitlab', 'cli', 'github'] as const).map((p) => [p, weights[p] ?? 0] as const);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let k = r.next() * total;
  for (const [p, w] of entries) {
    if ((k -= w) < 0) return p;
  }
  return 'gitlab';
}

/** The case's directory, workspace, private directories and full environment. */
function materialize(c: FuzzCase, id: number, platform: FuzzPlatform, dir: string, step: string): Materialized {
  const ws = join(dir, 'ws');
  for (const d of ['ws', 'home', 'tmp', 'docker']) mkdirSync(join(dir, d), { recursive: true });
  const fill = (v: string) => v.split('@@WS@@').join(ws).split('@@CASE@@').join(dir);
  for (const [p, text] of Object.entries(c.files ?? {})) {
    const f = join(ws, fill(p));
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, fill(text));
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: join(dir, 'home'),
    TMPDIR: join(dir, 'tmp'),
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    DOCKER_CONFIG: join(dir, 'docker'),
    DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_CONFIG_FILE: join(dir, 'home', 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'home', 'no-aws-credentials'),
  };
  const sha = '4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d';
  if (platform === 'gitlab') {
    const run = join(dir, 'run');
    mkdirSync(run, { mode: 0o700 });
    chmodSync(run, 0o700);
    Object.assign(env, {
      CI: 'true',
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: ws,
      CI_JOB_ID: String(100000 + id),
      CI_JOB_NAME: 'fuzz',
      CI_PIPELINE_ID: '4242',
      CI_PROJECT_PATH: 'team/app',
      CI_COMMIT_SHA: sha,
      CI_COMMIT_SHORT_SHA: sha.slice(0, 8),
      CI_COMMIT_BRANCH: 'main',
      CI_COMMIT_REF_NAME: 'main',
      CI_DEFAULT_BRANCH: 'main',
      CI_PIPELINE_SOURCE: 'push',
      SHIPLINE_RUN_DIR: run,
      SHIPLINE_STEP: step,
    });
  } else if (platform === 'github') {
    const gh = join(dir, 'gh');
    mkdirSync(join(dir, 'rt'), { recursive: true });
    mkdirSync(gh, { recursive: true });
    for (const f of ['output', 'env', 'state', 'summary', 'path']) writeFileSync(join(gh, f), '');
    Object.assign(env, {
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: ws,
      RUNNER_TEMP: join(dir, 'rt'),
      GITHUB_OUTPUT: join(gh, 'output'),
      GITHUB_ENV: join(gh, 'env'),
      GITHUB_STATE: join(gh, 'state'),
      GITHUB_STEP_SUMMARY: join(gh, 'summary'),
      GITHUB_PATH: join(gh, 'path'),
      GITHUB_REPOSITORY: 'team/app',
      GITHUB_SHA: sha,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_RUN_ID: String(100000 + id),
      GITHUB_JOB: 'fuzz',
      GITHUB_ACTOR: 'octocat',
    });
  }
  for (const [k, v] of Object.entries(c.env ?? {})) env[k] = fill(v);
  for (const [name, value] of Object.entries(c.inputs)) {
    env[platform === 'github' ? githubInputVar(name) : `SHIPLINE_INPUT_${envName(name)}`] = fill(value);
  }
  return { id, platform, cwd: ws, env, post: c.post === true };
}

function runProcess(
  args: string[],
  opts: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<PhaseResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: timedOut ? null : (code ?? (signal ? 128 : 1)),
        out,
        err,
        ms: Date.now() - t0,
      });
    });
  });
}

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(n, items.length)) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Runs every case against dist/<step>/index.js; see the top of this file. */
export async function runFuzz(cases: FuzzCase[], opts: FuzzOptions): Promise<CaseResult[]> {
  const r = rng(opts.seed ^ 0x5eed);
  const root = mkdtempSync(join(tmpdir(), `shipline-fuzz-${opts.step.name}-`));
  // A copy of dist/<step>/ taken now: a build running meanwhile (others share the checkout) cannot change it mid-run.
  const dist = join(root, 'dist', opts.step.name);
  cpSync(join(repoRoot, 'dist', opts.step.name), dist, { recursive: true });
  const bundle = join(dist, 'index.js');
  const postEntry = join(dist, 'post.js');
  const guard = join(root, 'guard.js');
  const driver = join(root, 'driver.js');
  writeFileSync(guard, GUARD);
  writeFileSync(driver, DRIVER);
  const timeoutMs = opts.caseTimeoutMs ?? 30_000;
  // About 60 cases alone per file: a process per case costs ~50x a case in a driver.
  const spawnEvery = opts.spawnEvery ?? Math.max(12, Math.ceil(cases.length / 60));
  const weights = opts.platforms ?? { gitlab: 3, cli: 1, github: 1 };
  const secretInputs = Object.entries(opts.step.inputs)
    .filter(([, s]) => s.secret)
    .flatMap(([n, s]) => [n, ...(s.aliases ?? [])]);
  try {
    const made = cases.map((c, id) => {
      const platform = c.platform ?? pickPlatform(r, weights);
      return materialize(c, id, platform, join(root, `c${id}`), opts.step.name);
    });
    const results = new Map<number, Partial<CaseResult>>();
    const strays: string[] = [];
    const batchSize = opts.batch ?? 80;
    const batches: Materialized[][] = [];
    for (let i = 0; i < made.length; i += batchSize) batches.push(made.slice(i, i + batchSize));
    const jobs: (() => Promise<void>)[] = batches.map((batch, b) => async () => {
      const casesFile = join(root, `batch${b}.json`);
      const resultsFile = join(root, `batch${b}.jsonl`);
      writeFileSync(casesFile, JSON.stringify(batch));
      writeFileSync(resultsFile, '');
      const res = await runProcess(
        ['-r', guard, driver, bundle, casesFile, resultsFile, String(opts.parallel ?? 1), String(timeoutMs)],
        {
          cwd: root,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: join(root, 'home'),
            TMPDIR: tmpdir(),
            LANG: 'C.UTF-8',
          },
          timeoutMs: timeoutMs * batch.length + 60_000,
        },
      );
      for (const line of readFileSync(resultsFile, 'utf8').split('\n')) {
        if (!line) continue;
        const one = JSON.parse(line) as Partial<CaseResult>;
        results.set(one.id!, { ...results.get(one.id!), ...one, batch: b });
      }
      // What reached fd 1/2 outside a case's own streams, split by the case markers.
      const text = res.out + res.err;
      const parts = text.split(/\n@@shipline-fuzz (case \d+|done)@@\n/);
      for (let i = 0; i < parts.length; i += 2) {
        const stray = parts[i]!.trim();
        if (!stray) continue;
        const marker = parts[i - 1];
        const id = marker && /^case (\d+)$/.exec(marker)?.[1];
        if (id) {
          const prev = results.get(Number(id)) ?? {};
          results.set(Number(id), { ...prev, stray: `${prev.stray ?? ''}${stray}\n` });
        } else strays.push(stray);
      }
      if (res.code !== 0) strays.push(`driver of batch ${b} exited ${res.code}: ${res.err.slice(-2000)}`);
    });
    // Sampled cases again, each in a process of its own, as a job runs the bundle.
    for (const m of made) {
      if (spawnEvery <= 0 || m.id % spawnEvery !== 0) continue;
      jobs.push(async () => {
        const dir = join(root, `c${m.id}-alone`);
        const again = materialize(cases[m.id]!, m.id + 1_000_000, m.platform, dir, opts.step.name);
        const alone = await runProcess(['-r', guard, bundle], { cwd: again.cwd, env: again.env, timeoutMs });
        if (m.post && alone.code !== null) {
          // The cleanup as the platform runs it: post.js on GitHub, --post elsewhere.
          await runProcess(m.platform === 'github' ? ['-r', guard, postEntry] : ['-r', guard, bundle, '--post'], {
            cwd: again.cwd,
            env: again.env,
            timeoutMs,
          });
        }
        results.set(m.id, { ...results.get(m.id), alone });
      });
    }
    await pool(jobs, opts.concurrency ?? 2, (job) => job());

    return made.map((m) => {
      const got = results.get(m.id) ?? {};
      const c = cases[m.id]!;
      let dotenv = '';
      try {
        dotenv = readFileSync(join(m.cwd, '.shipline', 'outputs.env'), 'utf8');
      } catch {
        // none written
      }
      // A secret that a public input of the case also holds cannot be told apart from it: not checked.
      const publicValues = Object.entries(c.inputs)
        .filter(([n]) => !secretInputs.includes(n))
        .map(([n]) => m.env[inputVar(m.platform, n)] ?? '');
      const secrets = [
        ...secretInputs.flatMap((n) => (c.inputs[n] !== undefined ? [m.env[inputVar(m.platform, n)] ?? ''] : [])),
        ...(c.secrets ?? []),
      ].filter((s) => !publicValues.some((p) => s.trim() !== '' && p.includes(s.trim())));
      return {
        id: m.id,
        case: c,
        platform: m.platform,
        main: got.main ?? {
          code: null,
          out: '',
          err: `the driver ended before this case finished${strays.length ? `: ${strays.join('\n')}` : ''}`,
          ms: 0,
        },
        ...(got.post ? { post: got.post } : {}),
        ...(got.alone ? { alone: got.alone } : {}),
        rejections: got.rejections ?? [],
        dotenv,
        secrets,
        refused: got.refused ?? [],
        ...(got.refusedTotal !== undefined ? { refusedTotal: got.refusedTotal } : {}),
        ...(got.batch !== undefined ? { batch: got.batch } : {}),
        ...(got.stray ? { stray: got.stray } : {}),
      };
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const inputVar = (platform: FuzzPlatform, name: string) =>
  platform === 'github' ? githubInputVar(name) : `SHIPLINE_INPUT_${envName(name)}`;

// ---------------------------------------------------------------------------------------
// The property

export interface Property {
  /** Exit 1 is allowed only when the error says one of these (the step's wording for a call that failed after validation). */
  failures?: readonly RegExp[];
  /** Exit codes besides 0, 1, 2 a step may give (run-in-container: a command's own). */
  codes?: readonly number[];
  /** Names an exit-2 error may name besides the step's inputs (variables it reads, e.g. `V_`, `DOCKER_METADATA_`). */
  names?: readonly RegExp[];
  /** Runs slower than this are violations (default 10 s): a regex or a loop that blows up on big input. */
  slowMs?: number;
  /** The cleanup must exit with one of these (default 0). */
  postCodes?: readonly number[];
  /**
   * Violations already reported and not fixed yet (a step another engineer owns): logged
   * with their count, not failed. Remove an entry once its fix lands.
   */
  known?: readonly { violation: RegExp; why: string }[];
}

const STACK = /^\s+at (?:.+ \()?(?:\/|node:|file:|<anonymous>).*:\d+(?::\d+)?\)?$/m;
const BUG = /shipline bug|unexpected error|unhandled rejection|uncaught exception|UnhandledPromiseRejection/i;

/** GitHub workflow commands escape %, CR and LF: read them back before looking for a secret. */
const unescapeGithub = (s: string) => s.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');

/** What a masked secret registers: the value, and each of its lines, trimmed, of 4+ characters. */
function secretNeedles(value: string): string[] {
  const all = [value.trim(), ...value.split(/\r?\n/).map((l) => l.trim())];
  return [...new Set(all.filter((s) => s.length >= 4 && s !== '***' && !/^\*+$/.test(s)))];
}

/** The error lines of a phase (and with `hints`, its hint lines too). */
function errorText(platform: FuzzPlatform, p: PhaseResult, hints = false): string {
  const text = p.out + p.err;
  const lines =
    platform === 'github'
      ? [...text.matchAll(/^::error::(.*)$/gm)].map((m) => unescapeGithub(m[1]!))
      : [...text.matchAll(/^error: (.*)$/gm)].map((m) => m[1]!);
  if (hints) {
    // the hint may span lines: everything from the first error line on
    const at = text.search(platform === 'github' ? /^::error::/m : /^error: /m);
    if (at >= 0) return unescapeGithub(text.slice(at));
  }
  return lines.join('\n');
}

/** The log without the platform's own markup (section markers, workflow command names, line prefixes), which no secret can be masked out of. */
function withoutMarkup(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- GitLab section markers are escape sequences
      .replace(/\x1b\[0Ksection_(?:start|end):\d+:\w+(?:\[collapsed=true\])?\r\x1b\[0K/g, '')
      .replace(/^::(?:group|endgroup|error|warning|notice|debug)::/gm, '')
      .replace(/^(?:error|warning|hint|debug): /gm, '')
  );
}

/** Every way `r` breaks the property, worded for the report (empty: it keeps it). */
export function caseViolations(r: CaseResult, prop: Property, inputNames: readonly string[]): string[] {
  const v: string[] = [];
  const codes = new Set([0, 1, 2, ...(prop.codes ?? [])]);
  const phases: [string, PhaseResult | undefined][] = [
    ['main', r.main],
    ['post', r.post],
    ['alone', r.alone],
  ];
  for (const [name, p] of phases) {
    if (!p) continue;
    const text = p.out + p.err;
    if (p.code === null) v.push(`${name}: no exit within the case timeout (a hang)`);
    else if (name !== 'post' && !codes.has(p.code)) v.push(`${name}: exit ${p.code}`);
    if (BUG.test(text)) v.push(`${name}: the bug path: ${BUG.exec(text)![0]}`);
    if (STACK.test(text)) v.push(`${name}: a stack trace: ${STACK.exec(text)![0].trim()}`);
    if (p.ms > (prop.slowMs ?? 10_000)) v.push(`${name}: took ${p.ms} ms`);
    const decoded = withoutMarkup(r.platform === 'github' ? unescapeGithub(text) : text);
    const shown = decoded
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    for (const s of r.secrets.flatMap(secretNeedles)) {
      if (shown.includes(s)) v.push(`${name}: a secret value is in the output: ${JSON.stringify(s.slice(0, 40))}`);
    }
  }
  for (const s of r.secrets.flatMap(secretNeedles)) {
    if (r.dotenv.includes(s)) v.push(`a secret value is in the dotenv report: ${JSON.stringify(s.slice(0, 40))}`);
  }
  for (const x of r.rejections) v.push(x.split('\n').slice(0, 3).join(' | '));
  if (r.stray && (BUG.test(r.stray) || STACK.test(r.stray))) v.push(`stray output: ${r.stray.slice(0, 300)}`);
  const main = r.main;
  if (main.code === 1) {
    const err = errorText(r.platform, main, true);
    if (!(prop.failures ?? []).some((re) => re.test(err)))
      v.push(`exit 1 without the step's failure wording: ${JSON.stringify(err.slice(0, 300))}`);
  }
  if (main.code === 2) {
    const err = errorText(r.platform, main);
    const names = inputNames.map(
      (n) => new RegExp(`(^|[^A-Za-z0-9_-])${n.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')}($|[^A-Za-z0-9_-])`),
    );
    if (!err) v.push('exit 2 without an error line');
    else if (![...names, ...(prop.names ?? [])].some((re) => re.test(err)))
      v.push(`exit 2 naming no input: ${JSON.stringify(err.slice(0, 300))}`);
    if (!/^hint: /m.test(main.out + main.err))
      v.push(`exit 2 without a hint (what to do): ${JSON.stringify(err.slice(0, 200))}`);
  }
  if (r.alone && r.alone.code !== null && main.code !== null && r.alone.code !== main.code)
    v.push(`exit ${main.code} in the driver but ${r.alone.code} in a process of its own`);
  if (r.post && r.post.code !== null && !(prop.postCodes ?? [0]).includes(r.post.code))
    v.push(`post: exit ${r.post.code}: ${errorText(r.platform, r.post).slice(0, 200)}`);
  return v;
}

const show = (s: string, n = 120) => {
  const j = JSON.stringify(s);
  return j.length > n ? `${j.slice(0, n)}…(${s.length} chars)` : j;
};

/** Connections the network guard refused over all drivers (each driver's highest running total). */
export function refusedConnections(results: CaseResult[]): number {
  const byDriver = new Map<number, number>();
  for (const r of results) {
    const d = r.batch ?? -1;
    byDriver.set(d, Math.max(byDriver.get(d) ?? 0, r.refusedTotal ?? r.refused.length));
  }
  return [...byDriver.values()].reduce((a, b) => a + b, 0);
}

/** Exit-code counts and timing, for the log and the report. */
export function summarize(results: CaseResult[], ms: number): string {
  const codes: Record<string, number> = {};
  for (const r of results) codes[String(r.main.code)] = (codes[String(r.main.code)] ?? 0) + 1;
  const alone = results.filter((r) => r.alone).length;
  const posts = results.filter((r) => r.post).length;
  const refused = refusedConnections(results);
  const mean = (xs: number[]) => (xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) : 0);
  const inDriver = mean(results.map((r) => r.main.ms + (r.post?.ms ?? 0)));
  const aloneMs = mean(results.flatMap((r) => (r.alone ? [r.alone.ms] : [])));
  return `${results.length} cases in ${(ms / 1000).toFixed(1)} s; exit codes ${JSON.stringify(codes)}; ${alone} also alone; ${posts} with post; ${refused} outbound connections refused; mean ${inDriver} ms per case in a driver, ${aloneMs} ms alone`;
}

/** Throws a report of every case that breaks the property (the first ten in full), with the seed. */
export function assertProperty(results: CaseResult[], prop: Property, opts: Pick<FuzzOptions, 'step' | 'seed'>): void {
  const names = [
    ...Object.entries(opts.step.inputs).flatMap(([n, s]) => [n, ...(s.aliases ?? []), ...(s.negatedAliases ?? [])]),
    ...Object.keys(opts.step.unsupported ?? {}),
  ];
  const known = new Map<string, number>();
  const bad = results.flatMap((r) => {
    const v = caseViolations(r, prop, names).filter((x) => {
      const k = prop.known?.find((e) => e.violation.test(x));
      if (k) known.set(k.why, (known.get(k.why) ?? 0) + 1);
      return !k;
    });
    return v.length ? [{ r, v }] : [];
  });
  for (const [why, n] of known) console.log(`${opts.step.name} fuzz: ${n} × known, not failed: ${why}`);
  if (bad.length === 0) return;
  // One example per kind of violation first (its wording up to the first quote or colon), then the first ten cases.
  const kinds = new Map<string, { n: number; example: number }>();
  for (const { r, v } of bad)
    for (const x of v) {
      const kind = x.replace(/^((?:main|post|alone): )?(.*?)(: |["(]).*$/s, '$1$2').trim();
      const k = kinds.get(kind) ?? { n: 0, example: r.id };
      k.n++;
      kinds.set(kind, k);
    }
  const picked = [...new Set([...[...kinds.values()].map((k) => k.example), ...bad.slice(0, 10).map((b) => b.r.id)])];
  const lines = bad
    .filter((b) => picked.includes(b.r.id))
    .slice(0, 20)
    .map(({ r, v }) =>
      [
        `case ${r.id} (${r.platform}) ${show(r.case.label)}: exit ${r.main.code}`,
        ...v.map((x) => `  - ${x}`),
        `  inputs ${show(JSON.stringify(r.case.inputs), 400)}`,
        ...(r.case.env ? [`  env ${show(JSON.stringify(r.case.env), 300)}`] : []),
        `  output: ${show((r.main.out + r.main.err).slice(-1500), 1600)}`,
      ].join('\n'),
    );
  throw new Error(
    `${bad.length} of ${results.length} fuzz cases of ${opts.step.name} break the property (seed ${opts.seed}: rerun with SHIPLINE_FUZZ_SEED=${opts.seed})\n\n` +
      [...kinds].map(([k, { n, example }]) => `${n} × ${k} (e.g. case ${example})`).join('\n') +
      `\n\n${lines.join('\n\n')}`,
  );
}

// ---------------------------------------------------------------------------------------
// One input at a time

export interface StepFuzz {
  /** Valid inputs: every case starts from these. */
  base: Record<string, string>;
  /** Variables every case has (the step's credentials, CI variables). */
  env?: Record<string, string>;
  /** Values per fuzzed input (an input name, or `env:NAME` for a job variable); the others keep `base`. */
  fuzz: Record<string, ValueSpec>;
  /** Cases with several fuzzed inputs at once, besides one-at-a-time (default 0). */
  mixed?: number;
  /** Values per fuzzed input (default 150, scaled by SHIPLINE_FUZZ_SCALE). */
  perInput?: number;
  /** Secret values of every case (besides the secret inputs). */
  secrets?: string[];
  files?: Record<string, string>;
  /** Run the cleanup after main: in every case (true), or in every n-th (a cleanup that calls a slow tool). */
  post?: boolean | number;
  /** Change a case after it is built (e.g. add a file the fuzzed value names). */
  adjust?: (c: FuzzCase, r: Rng) => FuzzCase;
}

/** The cases of `spec`: each fuzzed input in turn with the others at `base`, then `mixed` ones. */
export function stepCases(spec: StepFuzz, r: Rng): FuzzCase[] {
  const perInput = fuzzCount(spec.perInput ?? 150);
  const cases: FuzzCase[] = [];
  const make = (set: Record<string, string>, label: string): FuzzCase => {
    const inputs = { ...spec.base };
    const env = { ...spec.env };
    for (const [k, v] of Object.entries(set)) {
      if (k.startsWith('env:')) env[k.slice(4)] = v;
      else inputs[k] = v;
    }
    const c: FuzzCase = {
      label,
      inputs,
      env,
      ...(spec.secrets ? { secrets: spec.secrets } : {}),
      ...(spec.files ? { files: spec.files } : {}),
      ...(spec.post === true || (typeof spec.post === 'number' && cases.length % spec.post === 0)
        ? { post: true }
        : {}),
    };
    return spec.adjust ? spec.adjust(c, r) : c;
  };
  const values = Object.fromEntries(
    Object.entries(spec.fuzz).map(([k, s]) => [
      k,
      valuesFor(r, s, s.count === undefined ? perInput : fuzzCount(s.count)),
    ]),
  );
  for (const [k, vs] of Object.entries(values)) for (const v of vs) cases.push(make({ [k]: v }, `${k}=${v}`));
  const keys = Object.keys(spec.fuzz);
  for (let i = 0; i < fuzzCount(spec.mixed ?? 0); i++) {
    const set: Record<string, string> = {};
    for (const k of keys) if (r.chance(0.3)) set[k] = r.pick(values[k]!);
    cases.push(make(set, `mixed ${JSON.stringify(set)}`));
  }
  return cases;
}

// ---------------------------------------------------------------------------------------
// A loopback server that answers every request at once (a call that fails without retries)

export interface AnsweringServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** Requests seen (method and path). */
  requests: string[];
  close(): Promise<void>;
}

/** Answers every request with `status`, `headers` and `body` (e.g. 403 for a login, 404 for a manifest). */
export async function answeringServer(
  status: number,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<AnsweringServer> {
  const http = await import('node:http');
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------
// One run in this process (src, not dist): the unit test that pins down what a fuzz case found

/** Runs `step` once through the CLI runtime with these inputs (SHIPLINE_INPUT_*) and variables, in a fresh temp workspace. */
export async function runOnce(
  step: Parameters<typeof import('../../src/runtime/run').runStep>[0],
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const { runStep } = await import('../../src/runtime/run');
  const dir = mkdtempSync(join(tmpdir(), `shipline-once-${step.name}-`));
  try {
    mkdirSync(join(dir, 'ws'));
    const full: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      TMPDIR: dir,
      SHIPLINE_RUN_DIR: join(dir, 'run'),
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      ...env,
    };
    const fill = (v: string) => v.split('@@WS@@').join(join(dir, 'ws'));
    for (const [k, v] of Object.entries(full)) full[k] = fill(v);
    for (const [n, v] of Object.entries(inputs)) full[`SHIPLINE_INPUT_${envName(n)}`] = fill(v);
    let out = '';
    let err = '';
    const code = await runStep(step, {
      env: full,
      cwd: join(dir, 'ws'),
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
    });
    return { code, out, err };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
