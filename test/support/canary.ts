// Canary secrets and the leak scanner: plant unique values, record the argv of docker and
// other binaries through PATH shims, snapshot /proc/*/cmdline, then scan every captured
// stream, file, directory and argv for the canaries (raw and base64-encoded).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './exec';

// ------------------------------------------------------------------ canaries

/** A unique canary value: `CANARY-<purpose>-<random>`. */
export function canary(purpose: string): string {
  return `CANARY-${purpose.replace(/[^A-Za-z0-9]/g, '')}-${crypto.randomBytes(10).toString('hex')}`;
}

/** One canary per purpose: `{ password: 'CANARY-password-…', … }`. */
export function plantCanaries<K extends string>(...purposes: K[]): Record<K, string> {
  return Object.fromEntries(purposes.map((p) => [p, canary(p)])) as Record<K, string>;
}

// ------------------------------------------------------------------ argv recording

export interface ArgvRecord {
  bin: string;
  pid: string;
  cwd: string;
  argv: string[];
  /** 1-based call number of this binary in the log. */
  call: number;
}

export interface ArgvRecorder {
  /** Directory of shims; prepend to PATH (see env()). */
  binDir: string;
  logFile: string;
  /** Resolved real binaries by name. */
  real: Record<string, string>;
  /** `base` (default process.env) with PATH starting at binDir. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  records(): ArgvRecord[];
  cleanup(): void;
}

function findReal(name: string, exclude: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir || path.resolve(dir) === path.resolve(exclude)) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export function parseArgvLog(text: string): ArgvRecord[] {
  const parts = text.split('\0');
  const out: ArgvRecord[] = [];
  let i = 0;
  while (i + 3 < parts.length) {
    const bin = parts[i]!;
    const pid = parts[i + 1]!;
    const cwd = parts[i + 2]!;
    const argc = Number(parts[i + 3]);
    if (!Number.isInteger(argc) || argc < 0) break;
    const argv = parts.slice(i + 4, i + 4 + argc);
    out.push({ bin, pid, cwd, argv, call: out.filter((r) => r.bin === bin).length + 1 });
    i += 4 + argc;
  }
  return out;
}

/**
 * Shims that log every call's argv (NUL-separated records) and exec the real binary.
 * Default binaries: docker, skopeo, buildah, git, ssh-add.
 */
export function createArgvRecorder(
  opts: { binaries?: string[]; dir?: string; searchPath?: string } = {},
): ArgvRecorder {
  const binaries = opts.binaries ?? ['docker', 'skopeo', 'buildah', 'git', 'ssh-add'];
  const root = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-argv-'));
  const binDir = path.join(root, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  const logFile = path.join(root, 'argv.log');
  fs.writeFileSync(logFile, '', { mode: 0o600 });
  const searchPath = opts.searchPath ?? process.env.PATH ?? '';
  const real: Record<string, string> = {};
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  for (const name of binaries) {
    const target = findReal(name, binDir, searchPath);
    const body = target
      ? `exec ${q(target)} "$@"`
      : `echo ${q(`argv recorder: no real ${name} on PATH`)} >&2\nexit 127`;
    if (target) real[name] = target;
    fs.writeFileSync(
      path.join(binDir, name),
      `#!/usr/bin/env bash\n# argv recorder shim (shipline tests)\nprintf '%s\\0' ${q(name)} "$$" "$PWD" "$#" "$@" >> ${q(logFile)}\n${body}\n`,
      { mode: 0o755 },
    );
  }
  return {
    binDir,
    logFile,
    real,
    env: (base = process.env) => ({ ...base, PATH: `${binDir}${path.delimiter}${base.PATH ?? ''}` }),
    records: () => parseArgvLog(fs.readFileSync(logFile, 'utf8')),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** A `docker` shim: records argv of every docker call, then execs the real docker. */
export const createDockerShim = (opts: { dir?: string } = {}): ArgvRecorder =>
  createArgvRecorder({ ...opts, binaries: ['docker'] });

// ------------------------------------------------------------------ /proc cmdlines

export interface CmdlineSample {
  pid: number;
  argv: string[];
}

/** The argv of every process visible now (one read of /proc/*\/cmdline). */
export function snapshotCmdlines(): CmdlineSample[] {
  const out: CmdlineSample[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const pid of entries) {
    try {
      const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (raw) out.push({ pid: Number(pid), argv: raw.replace(/\0$/, '').split('\0') });
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Poll /proc while a step runs (catches argv of processes living longer than the interval). */
export function watchCmdlines(intervalMs = 25): { stop(): CmdlineSample[] } {
  const seen = new Map<string, CmdlineSample>();
  const take = () => {
    for (const s of snapshotCmdlines()) seen.set(`${s.pid}\0${s.argv.join('\0')}`, s);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return [...seen.values()];
    },
  };
}

// ------------------------------------------------------------------ scanning

export type Encoding = 'raw' | 'base64' | 'base64url' | 'url' | 'json';

export interface LeakHit {
  /** Name of the secret (key of `secrets`, or its index). */
  secret: string;
  encoding: Encoding;
  /** Where: `stdout:12`, `/path/file:3 (mode 644)`, `argv docker call #2 arg 5`, `cmdline pid 123`. */
  where: string;
  /** The offending line with the secret replaced by <name>. */
  excerpt: string;
}

export interface ScanOptions {
  /** Secrets by name (or a list). */
  secrets: Record<string, string> | string[];
  /** Captured streams by name (stdout, stderr, job log…). */
  texts?: Record<string, string | undefined>;
  files?: string[];
  /** Directories scanned recursively (symlinks not followed, files > 32 MB skipped). */
  dirs?: string[];
  /** Argv logs: recorders, or log file paths written by them. */
  argvLogs?: (ArgvRecorder | string)[];
  cmdlines?: CmdlineSample[];
  encodings?: Encoding[];
  /** Ignore `::add-mask::<secret>` lines (the GitHub way of announcing a secret). Default true. */
  ignoreAddMask?: boolean;
  /** Drop hits that are allowed (e.g. a 0600 credentials file the step must write). */
  allow?: (hit: LeakHit) => boolean;
}

export interface ScanResult {
  clean: boolean;
  hits: LeakHit[];
  scanned: { texts: number; files: number; argvCalls: number; cmdlines: number };
}

function b64Fragments(secret: string, url: boolean): string[] {
  const out: string[] = [];
  const bytes = Buffer.from(secret);
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k, 0x41), bytes]);
    const enc = url ? padded.toString('base64url') : padded.toString('base64');
    const start = Math.ceil((k * 8) / 6);
    const end = Math.floor(((k + bytes.length) * 8) / 6);
    const frag = enc.slice(start, end);
    if (frag.length >= 12) out.push(frag);
  }
  return out;
}

function needles(secret: string, encodings: Encoding[]): { encoding: Encoding; needle: string }[] {
  const out: { encoding: Encoding; needle: string }[] = [];
  const add = (encoding: Encoding, needle: string) => {
    if (needle && !out.some((n) => n.needle === needle)) out.push({ encoding, needle });
  };
  for (const e of encodings) {
    if (e === 'raw') add('raw', secret);
    if (e === 'base64') b64Fragments(secret, false).forEach((n) => add('base64', n));
    if (e === 'base64url') b64Fragments(secret, true).forEach((n) => add('base64url', n));
    if (e === 'url') add('url', encodeURIComponent(secret));
    if (e === 'json') add('json', JSON.stringify(secret).slice(1, -1));
  }
  return out;
}

function walk(dir: string, files: string[], limit = 100_000): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (files.length >= limit) return;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, files, limit);
    else if (e.isFile()) files.push(p);
  }
}

export function scan(opts: ScanOptions): ScanResult {
  const secrets: [string, string][] = Array.isArray(opts.secrets)
    ? opts.secrets.map((s, i) => [String(i), s])
    : Object.entries(opts.secrets);
  const encodings = opts.encodings ?? ['raw', 'base64', 'base64url', 'url', 'json'];
  const table = secrets
    .filter(([, v]) => v.length >= 6)
    .map(([name, value]) => ({ name, value, needles: needles(value, encodings) }));
  const ignoreAddMask = opts.ignoreAddMask !== false;
  const hits: LeakHit[] = [];
  const scanned = { texts: 0, files: 0, argvCalls: 0, cmdlines: 0 };

  const redact = (line: string) => {
    let s = line;
    for (const t of table)
      for (const n of t.needles)
        s = s.split(n.needle).join(`<${t.name}${n.encoding === 'raw' ? '' : `:${n.encoding}`}>`);
    return s.length > 240 ? `${s.slice(0, 240)}…` : s;
  };
  const scanText = (text: string, where: (line: number) => string) => {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (ignoreAddMask && /^::add-mask::/.test(line.trim())) continue;
      for (const t of table) {
        for (const n of t.needles) {
          if (line.includes(n.needle))
            hits.push({ secret: t.name, encoding: n.encoding, where: where(i + 1), excerpt: redact(line) });
        }
      }
    }
  };

  for (const [name, text] of Object.entries(opts.texts ?? {})) {
    if (text === undefined) continue;
    scanned.texts++;
    scanText(text, (l) => `${name}:${l}`);
  }
  const files = [...(opts.files ?? [])];
  for (const d of opts.dirs ?? []) walk(d, files);
  for (const f of files) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(f);
    } catch {
      continue;
    }
    if (!st.isFile() || st.size > 32 * 1024 * 1024) continue;
    scanned.files++;
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
    scanText(fs.readFileSync(f).toString('utf8'), (l) => `${f}:${l} (mode ${mode})`);
  }
  for (const log of opts.argvLogs ?? []) {
    const records = typeof log === 'string' ? parseArgvLog(fs.readFileSync(log, 'utf8')) : log.records();
    for (const r of records) {
      scanned.argvCalls++;
      const label = redact(`${r.bin} ${r.argv.slice(0, 2).join(' ')} …`);
      r.argv.forEach((arg, i) => scanText(arg, () => `argv ${r.bin} call #${r.call} arg ${i + 1} (${label})`));
    }
  }
  for (const c of opts.cmdlines ?? []) {
    scanned.cmdlines++;
    scanText(c.argv.join(' '), () => `cmdline pid ${c.pid} (${redact(c.argv[0] ?? '')})`);
  }
  const kept = opts.allow ? hits.filter((h) => !opts.allow!(h)) : hits;
  return { clean: kept.length === 0, hits: kept, scanned };
}

export function formatHits(result: ScanResult): string {
  return result.hits.map((h) => `  - ${h.secret} (${h.encoding}) at ${h.where}: ${h.excerpt}`).join('\n');
}

/** Throw (failing the test) with every place a canary leaked. */
export function assertNoLeaks(result: ScanResult, label = 'canary scan'): void {
  if (!result.clean) throw new Error(`${label}: ${result.hits.length} secret leak(s):\n${formatHits(result)}`);
}

export function expectNoLeaks(opts: ScanOptions, label?: string): ScanResult {
  const r = scan(opts);
  assertNoLeaks(r, label);
  return r;
}

/**
 * The argv of this test's own processes (descendants of the jest worker) while a run goes on,
 * polling /proc, and with `containersMounting`, of the processes inside containers that
 * mount that host directory (the job containers of a docker-executor run, found by
 * `docker ps --filter volume=`): the processes of other sessions on the machine are not this run's.
 */
export function watchOwnCmdlines(
  opts: { containersMounting?: string } = {},
  intervalMs = 25,
): { stop(): Promise<CmdlineSample[]> } {
  const seen = new Map<string, CmdlineSample & { container: string | undefined }>();
  const containers = new Set<string>();
  const take = () => {
    const parent = new Map<number, number>();
    let pids: number[] = [];
    try {
      pids = fs
        .readdirSync('/proc')
        .filter((e) => /^\d+$/.test(e))
        .map(Number);
    } catch {
      return;
    }
    for (const pid of pids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        /* exited */
      }
    }
    const ours = (pid: number) => {
      for (let p = parent.get(pid), n = 0; p !== undefined && p > 1 && n < 64; p = parent.get(p), n++)
        if (p === process.pid) return true;
      return false;
    };
    for (const pid of parent.keys()) {
      let container: string | undefined;
      if (!ours(pid)) {
        if (!opts.containersMounting) continue;
        try {
          container = /:\/docker\/([0-9a-f]{64})/.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
        } catch {
          continue;
        }
        if (!container) continue;
      }
      try {
        const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (raw) seen.set(`${pid}\0${raw}`, { pid, argv: raw.replace(/\0$/, '').split('\0'), container });
      } catch {
        /* exited */
      }
    }
  };
  let listing: Promise<unknown> = Promise.resolve();
  const list = () => {
    if (!opts.containersMounting) return;
    listing = run('docker', ['ps', '-aq', '--no-trunc', '--filter', `volume=${opts.containersMounting}`]).then((r) => {
      for (const id of r.stdout.split('\n').filter(Boolean)) containers.add(id);
    });
  };
  take();
  const timer = setInterval(take, intervalMs);
  const lister = setInterval(list, 500);
  return {
    stop: async () => {
      clearInterval(timer);
      clearInterval(lister);
      take();
      await listing;
      return [...seen.values()]
        .filter((s) => !s.container || containers.has(s.container))
        .map(({ pid, argv }) => ({ pid, argv }));
    },
  };
}

/**
 * Without gitlab-ci-local's own `docker create` calls (run directly, by `bash -c` or by the harness's security-opt wrapper): its docker executor (4.73) hands every
 * job variable, file variables too, to the job container as `-e NAME=value` arguments (GitLab's
 * runner gives them to the container through the engine's API, not in argv). What the
 * templates and steps run, on the host or in the job container, stays scanned.
 */
export const notGclCreate = (cmdlines: CmdlineSample[]) =>
  cmdlines.filter((c) => !/(^|[\s/'"])docker[\w-]*['"]?\s+create\s/.test(c.argv.join(' ')));
