// GitHub Actions runtime: the runner's file commands (GITHUB_OUTPUT, GITHUB_ENV,
// GITHUB_STATE, GITHUB_STEP_SUMMARY) and workflow commands (::add-mask::, ::group::).
// Written against the documented protocol rather than @actions/core, whose import alone
// costs ~60 ms of start-up (it loads an HTTP client for OIDC); see docs/architecture.md.
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';
import type { Logger } from './define';
import type { PlatformIO } from './platform';
import { writeOut } from './stdio';
import { maskable, redact, registerSecret } from '../lib/util/redact';
import type { Env } from '../lib/util/env';

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** `name<<delim\nvalue\ndelim` as the runner's file commands expect. */
export function fileCommand(name: string, value: string): string {
  // One line needs no delimiter: the runner splits `name=value` at the first `=`, and our
  // names hold neither `=` nor `<<`.
  if (!/[\r\n]/.test(value)) return `${name}=${value}${EOL}`;
  // crypto is required on use: loading it costs ~4 ms of every start.
  const { randomUUID } = require('node:crypto') as typeof import('node:crypto');
  const delim = `ghadelimiter_${randomUUID()}`;
  return `${name}<<${delim}${EOL}${value}${EOL}${delim}${EOL}`;
}

export function githubIO(env: Env, write: (s: string) => void = writeOut): PlatformIO {
  const line = (s: string) => write(redact(s) + EOL);
  const fileOrCommand = (fileVar: string, name: string, value: string, command: string) => {
    const file = env[fileVar];
    if (file) appendFileSync(file, fileCommand(name, value), { encoding: 'utf8' });
    else write(`::${command} name=${name}::${escapeData(value)}${EOL}`);
  };
  const exported = new Set<string>();
  const setEnv = (name: string, value: string) => {
    const file = env.GITHUB_ENV;
    if (file) appendFileSync(file, fileCommand(name, value), 'utf8');
    else write(`::set-env name=${name}::${escapeData(value)}${EOL}`);
  };
  const mask = (value: string) => {
    // `::add-mask::` of a 1–3 character value masks every such character in the log.
    if (!registerSecret(value)) return;
    for (const part of value.split(/\r?\n/)) if (maskable(part.trim())) write(`::add-mask::${escapeData(part)}${EOL}`);
  };
  const log: Logger = {
    info: (m) => line(m),
    debug: (m) => write(`::debug::${escapeData(redact(m))}${EOL}`),
    warn: (m) => write(`::warning::${escapeData(redact(m))}${EOL}`),
    error: (m) => write(`::error::${escapeData(redact(m))}${EOL}`),
    async group(title, fn) {
      write(`::group::${redact(title)}${EOL}`);
      try {
        return await fn();
      } finally {
        write(`::endgroup::${EOL}`);
      }
    },
  };
  return {
    platform: 'github',
    log,
    setOutput(name, value, secret) {
      if (secret) mask(value);
      fileOrCommand('GITHUB_OUTPUT', name, value, 'set-output');
    },
    exportVariable(name, value, secret) {
      if (secret) mask(value);
      setEnv(name, value);
      exported.add(name);
    },
    secret: mask,
    saveState(name, value) {
      fileOrCommand('GITHUB_STATE', name, value, 'save-state');
    },
    getState(name) {
      const v = env[`STATE_${name}`];
      return v === undefined || v === '' ? undefined : v;
    },
    summary(markdown) {
      const file = env.GITHUB_STEP_SUMMARY;
      if (file) appendFileSync(file, redact(markdown) + EOL, 'utf8');
    },
    exportedNames: () => [...exported],
    unexport(names, before = {}) {
      // Post steps of the actions that ran earlier run after this one, with GITHUB_ENV
      // applied: give back what the job had before main (or blank it) so they run with that.
      for (const n of names) setEnv(n, before[n] ?? '');
    },
    fail(message, hint) {
      write(`::error::${escapeData(redact(message))}${EOL}`);
      if (hint) line(`hint: ${hint}`);
    },
    finish() {},
  };
}
