// GitLab CI and CLI runtime: files instead of a runner protocol. Nothing is read back from
// the checkout (docs/security.md); what must last between steps and phases lives in the
// job's private directory (private.ts):
//  - outputs: printed as `name=value` on stdout; non-secret ones are kept in
//    <run>/outputs.json and, from that record, the dotenv file SHIPLINE_OUTPUT_FILE
//    (default .shipline/outputs.env in the workspace, where GitLab reads
//    `artifacts:reports:dotenv`) is written fresh as <STEP>_<OUTPUT>=value lines;
//  - exported variables: kept in <run>/exports.json and written as POSIX
//    `export NAME='value'` lines to SHIPLINE_ENV_FILE (default <run>/env, mode 0600)
//    that the next script line sources; removed by --post;
//  - state between main and --post (after_script): <run>/state/<step>.json (0600),
//    written on every set.
// Logs go to stderr so stdout carries only outputs; GitLab shows both.
import { existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Logger, Platform } from './define';
import type { PlatformIO } from './platform';
import { isTerminal, writeErr, writeOut } from './stdio';
import {
  createExclusive,
  ensurePrivateDir,
  isUnder,
  readNoFollow,
  removeFile,
  writeFresh,
  writePrivateFile,
} from './private';
import { redact, registerSecret } from '../lib/util/redact';
import type { Env } from '../lib/util/env';
import { envName } from './inputs';

export interface FileIOOptions {
  step: string;
  env: Env;
  workspace: string;
  platform: Extract<Platform, 'gitlab' | 'cli'>;
  /** The job's private directory, created (or checked) on first call. */
  runDir: () => string;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A path named by a variable (relative to the workspace), or undefined when unset. */
export function shipPath(env: Env, workspace: string, variable: string): string | undefined {
  const p = env[variable];
  if (!p) return undefined;
  return isAbsolute(p) ? p : join(workspace, p);
}

/**
 * Reads `export NAME='value'` / `NAME=value` lines back into a map of NAME -> the text
 * after `=` as written (quoted values may span lines, e.g. a key). For tests and tools:
 * the runtime itself never reads an env file back.
 */
export function readAssignments(file: string): Map<string, string> {
  const map = new Map<string, string>();
  if (!existsSync(file)) return map;
  const text = readFileSync(file, 'utf8');
  const re = /^(?:export )?([A-Za-z_][A-Za-z0-9_]*)=((?:'[^']*'|\\'|[^\s'])*)$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) map.set(m[1]!, m[2]!);
  return map;
}

/**
 * Why GitLab cannot carry a value through a dotenv report exactly, or undefined when it
 * can. GitLab's parser (Ci::ParseDotenvArtifactService#scan_line!) reads `KEY=value` per
 * line and strips whitespace around both; quotes are kept as they are, so values are
 * written unquoted and only single-line values without outer whitespace fit.
 */
export function dotenvProblem(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return 'it spans lines';
  if (/^\s|\s$/.test(value)) return 'it starts or ends with whitespace';
  return undefined;
}

/** The dotenv text GitLab reads back as exactly `values`. */
export function dotenvText(values: Iterable<[string, string]>): string {
  return [...values].map(([k, v]) => `${k}=${v}\n`).join('');
}

/**
 * The prefix of a step's variables in the dotenv report: `<JOB>` for a template's own step
 * (SHIPLINE_OUTPUT_PREFIX, the job name), `<JOB>_<STEP>` for a step it composes in the same
 * job, `<STEP>` without a prefix (the CLI). Two jobs of one step so never share a name.
 */
export function outputPrefix(step: string, env: Env): string {
  const given = env.SHIPLINE_OUTPUT_PREFIX?.trim();
  if (!given) return envName(step);
  let job = envName(given).replace(/^_+|_+$/g, '') || envName(step);
  if (/^[0-9]/.test(job)) job = `_${job}`;
  const own = !env.SHIPLINE_STEP || env.SHIPLINE_STEP === step;
  return own ? job : `${job}_${envName(step)}`;
}

type Record_ = Record<string, string>;

function readRecord(file: string): Record_ {
  const text = readNoFollow(file);
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const out: Record_ = {};
      for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
      return out;
    }
  } catch {
    // not ours: start over
  }
  return {};
}

export function fileIO(opts: FileIOOptions): PlatformIO {
  const { env, workspace, step } = opts;
  const out = opts.stdout ?? writeOut;
  const err = opts.stderr ?? writeErr;
  const gitlab = opts.platform === 'gitlab';
  // Not process.stderr.isTTY (the stream object is costly to create) nor node:tty (it loads
  // node:net): isTerminal looks with fstat first (stdio.ts).
  const color = !gitlab && isTerminal(2) && !env.NO_COLOR;
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const line = (s: string) => err(redact(s) + '\n');
  const checkoutDir = join(workspace, '.shipline');
  const outputFile = shipPath(env, workspace, 'SHIPLINE_OUTPUT_FILE') ?? join(checkoutDir, 'outputs.env');
  const givenEnvFile = shipPath(env, workspace, 'SHIPLINE_ENV_FILE');
  const givenStateDir = shipPath(env, workspace, 'SHIPLINE_STATE_DIR');
  const envFile = () => givenEnvFile ?? join(opts.runDir(), 'env');
  const stateFile = () => {
    const dir = givenStateDir ?? join(opts.runDir(), 'state');
    if (givenStateDir) mkdirSync(dir, { recursive: true, mode: 0o700 });
    else ensurePrivateDir(dir);
    return join(dir, `${step}.json`);
  };
  const outputsRecord = () => join(opts.runDir(), 'outputs.json');
  const exportsRecord = () => join(opts.runDir(), 'exports.json');
  const prefix = outputPrefix(step, env);
  const dotenv = new Map<string, string>();
  const exported = new Map<string, string>();
  let state: Record_ | undefined;
  let sectionSeq = 0;

  const loadState = (): Record_ => (state ??= readRecord(stateFile()));

  const writeEnvFile = (vars: Record_) => {
    const file = envFile();
    const names = Object.keys(vars);
    if (names.length === 0) {
      removeFile(file);
      return;
    }
    const text = names.map((k) => `export ${k}=${shellQuote(vars[k]!)}`).join('\n') + '\n';
    if (givenEnvFile === undefined) writePrivateFile(file, text);
    else writeFresh(file, text, 0o600, workspace, checkoutDir);
  };

  const log: Logger = {
    info: (m) => line(m),
    debug: (m) => {
      if (env.SHIPLINE_DEBUG === 'true' || env.CI_DEBUG_TRACE === 'true') line(paint('2', `debug: ${m}`));
    },
    warn: (m) => line(paint('33', `warning: ${m}`)),
    error: (m) => line(paint('31', `error: ${m}`)),
    async group(title, fn) {
      if (!gitlab) {
        line(paint('1', `▶ ${title}`));
        return fn();
      }
      const id = `shipline_${step.replace(/[^a-z0-9]/g, '_')}_${++sectionSeq}`;
      const ts = () => Math.floor(Date.now() / 1000);
      err(`\x1b[0Ksection_start:${ts()}:${id}[collapsed=true]\r\x1b[0K${redact(title)}\n`);
      try {
        return await fn();
      } finally {
        err(`\x1b[0Ksection_end:${ts()}:${id}\r\x1b[0K\n`);
      }
    },
  };

  return {
    platform: opts.platform,
    log,
    begin() {
      // The first shipline step of the job (or the first ever on this machine for the CLI):
      // say once that a `.shipline/` in the checkout is ignored, and drop a dotenv report
      // the checkout brought, so only what steps of this job wrote is uploaded.
      const run = opts.runDir();
      if (!createExclusive(join(run, 'checked'))) return; // an earlier step of this job did it
      let st;
      try {
        st = lstatSync(checkoutDir);
      } catch {
        return; // none: the usual case
      }
      log.warn(
        `ignoring ${checkoutDir} in the checkout: shipline keeps its code, state and variables in ${run} and writes only its dotenv report there`,
      );
      // A link or a file in its place is removed itself (never what it points to).
      if (!st.isDirectory()) removeFile(checkoutDir);
      else if (isUnder(checkoutDir, outputFile)) removeFile(outputFile);
    },
    setOutput(name, value, secret, local) {
      if (secret) {
        // Secret outputs never reach stdout or dotenv artifacts: only the 0600 env file.
        registerSecret(value);
        exported.set(`${prefix}_${envName(name)}`, value);
        return;
      }
      if (value.includes('\n')) out(`${name}<<SHIPLINE_EOF\n${redact(value)}\nSHIPLINE_EOF\n`);
      else out(`${name}=${redact(value)}\n`);
      if (local) return;
      // dotenv values are one line: lists become space-separated.
      dotenv.set(`${prefix}_${envName(name)}`, value.split(/\r?\n/).filter(Boolean).join(' '));
    },
    exportVariable(name, value, secret) {
      if (secret) registerSecret(value);
      exported.set(name, value);
    },
    secret: registerSecret,
    saveState(name, value) {
      const s = loadState();
      if (value === '') delete s[name];
      else s[name] = value;
      // On disk before the step goes on: --post can act on it after a SIGKILL.
      writePrivateFile(stateFile(), JSON.stringify(s));
    },
    getState(name) {
      return loadState()[name];
    },
    summary(markdown) {
      if (gitlab) {
        void log.group('Summary', async () => line(markdown));
      } else line(markdown);
    },
    exportedNames: () => [...exported.keys()],
    unexport(names) {
      for (const n of names) exported.delete(n);
      const vars = readRecord(exportsRecord());
      for (const n of names) delete vars[n];
      if (Object.keys(vars).length) writePrivateFile(exportsRecord(), JSON.stringify(vars));
      else removeFile(exportsRecord());
      writeEnvFile(vars);
    },
    fail(message, hint) {
      line(paint('31', `error: ${message}`));
      if (hint) line(`hint: ${hint}`);
    },
    finish() {
      if (dotenv.size) {
        // Every earlier step's values stay byte-exact: they come from the record, never
        // from the file in the workspace.
        const record = readRecord(outputsRecord());
        for (const [k, v] of dotenv) {
          const value = redact(v);
          const problem = dotenvProblem(value);
          if (problem) {
            log.warn(`output ${k} is left out of the dotenv report: ${problem}, which GitLab would not keep`);
            delete record[k];
          } else record[k] = value;
        }
        writePrivateFile(outputsRecord(), JSON.stringify(record));
        writeFresh(outputFile, dotenvText(Object.entries(record)), 0o644, workspace, checkoutDir);
        // `.shipline/` ignores itself: a job's report never shows in `git status` or a commit.
        if (isUnder(checkoutDir, outputFile))
          writeFresh(join(checkoutDir, '.gitignore'), '*\n', 0o644, workspace, checkoutDir);
      }
      if (exported.size) {
        const vars = readRecord(exportsRecord());
        for (const [k, v] of exported) vars[k] = v;
        writePrivateFile(exportsRecord(), JSON.stringify(vars));
        writeEnvFile(vars);
        const file = envFile();
        line(`exported ${[...exported.keys()].join(', ')} to ${file} (source it: . ${file})`);
      }
    },
  };
}
