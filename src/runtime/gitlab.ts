// GitLab CI and CLI runtime: files instead of a runner protocol.
//  - outputs: printed as `name=value` on stdout and, non-secret only, written to the dotenv
//    file SHIPLINE_OUTPUT_FILE (default .shipline/outputs.env) as <STEP>_<OUTPUT>=value
//    for `artifacts:reports:dotenv`;
//  - exported variables: POSIX `export NAME='value'` lines in SHIPLINE_ENV_FILE (default
//    .shipline/env, mode 0600) that the next script line sources; removed by --post;
//  - state between main and --post (after_script): a 0600 JSON file.
// Logs go to stderr so stdout carries only outputs; GitLab shows both.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { isatty } from 'node:tty';
import type { Logger, Platform } from './define';
import type { PlatformIO } from './platform';
import { writeErr, writeOut } from './stdio';
import { redact, registerSecret } from '../lib/util/redact';
import type { Env } from '../lib/util/env';
import { envName } from './inputs';

export interface FileIOOptions {
  step: string;
  env: Env;
  workspace: string;
  platform: Extract<Platform, 'gitlab' | 'cli'>;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shipPath(env: Env, workspace: string, variable: string, fallback: string): string {
  const p = env[variable] || fallback;
  return isAbsolute(p) ? p : join(workspace, p);
}

function ensureDir(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
}

/**
 * Reads `export NAME='value'` / `NAME=value` lines back into a map of NAME -> the text
 * after `=` as written (quoted values may span lines, e.g. a key).
 */
export function readAssignments(file: string): Map<string, string> {
  const map = new Map<string, string>();
  if (!existsSync(file)) return map;
  const text = readFileSync(file, 'utf8');
  const re = /^(?:export )?([A-Za-z_][A-Za-z0-9_]*)=((?:'[^']*'|\\'|[^\s'])*)$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) map.set(m[1]!, m[2]!);
  return map;
}

/** Removes NAMEs from an env file; deletes the file when nothing is left. */
export function removeAssignments(file: string, names: string[]): void {
  const map = readAssignments(file);
  for (const n of names) map.delete(n);
  if (map.size === 0) rmSync(file, { force: true });
  else writePrivate(file, [...map].map(([k, v]) => `export ${k}=${v}`).join('\n') + '\n');
}

function writePrivate(file: string, text: string): void {
  ensureDir(file);
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export function fileIO(opts: FileIOOptions): PlatformIO {
  const { env, workspace, step } = opts;
  const out = opts.stdout ?? writeOut;
  const err = opts.stderr ?? writeErr;
  const gitlab = opts.platform === 'gitlab';
  // isatty, not process.stderr.isTTY: the stream object is costly to create (see stdio.ts).
  const color = !gitlab && isatty(2) && !env.NO_COLOR;
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const line = (s: string) => err(redact(s) + '\n');
  const outputFile = shipPath(env, workspace, 'SHIPLINE_OUTPUT_FILE', '.shipline/outputs.env');
  const envFile = shipPath(env, workspace, 'SHIPLINE_ENV_FILE', '.shipline/env');
  const stateFile = shipPath(env, workspace, 'SHIPLINE_STATE_DIR', '.shipline/state') + `/${step}.json`;
  const dotenv = new Map<string, string>();
  const exported = new Map<string, string>();
  let state: Record<string, string> | undefined;
  let sectionSeq = 0;

  const loadState = (): Record<string, string> => {
    if (state) return state;
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, string>;
    } catch {
      state = {};
    }
    return state;
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
    setOutput(name, value, secret) {
      if (secret) {
        // Secret outputs never reach stdout or dotenv artifacts: only the 0600 env file.
        registerSecret(value);
        exported.set(`${envName(step)}_${envName(name)}`, value);
        return;
      }
      if (value.includes('\n')) out(`${name}<<SHIPLINE_EOF\n${redact(value)}\nSHIPLINE_EOF\n`);
      else out(`${name}=${redact(value)}\n`);
      // dotenv values are one line: lists become space-separated.
      dotenv.set(`${envName(step)}_${envName(name)}`, value.split(/\r?\n/).filter(Boolean).join(' '));
    },
    exportVariable(name, value, secret) {
      if (secret) registerSecret(value);
      exported.set(name, value);
    },
    secret: registerSecret,
    saveState(name, value) {
      loadState()[name] = value;
      writePrivate(stateFile, JSON.stringify(state));
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
      removeAssignments(envFile, names);
    },
    fail(message, hint) {
      line(paint('31', `error: ${message}`));
      if (hint) line(`hint: ${hint}`);
    },
    finish() {
      if (dotenv.size) {
        const merged = readAssignments(outputFile);
        for (const [k, v] of dotenv) merged.set(k, redact(v));
        ensureDir(outputFile);
        writeFileSync(outputFile, [...merged].map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
      }
      if (exported.size) {
        const merged = new Map<string, string>();
        for (const [k, v] of readAssignments(envFile)) merged.set(k, v);
        for (const [k, v] of exported) merged.set(k, shellQuote(v));
        writePrivate(envFile, [...merged].map(([k, v]) => `export ${k}=${v}`).join('\n') + '\n');
        line(`exported ${[...exported.keys()].join(', ')} to ${envFile} (source it: . ${envFile})`);
      }
    },
  };
}
