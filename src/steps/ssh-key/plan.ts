// Pure input handling for ssh-key: which variables hold the key (or its base64), the key
// lines in order, and the known_hosts text for StrictHostKeyChecking=yes without
// ssh-keyscan (which trusts whatever answers first): lines are given and checked, and bare
// `<type> <key>` lines get the `host` input as their host field. No file is written here.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { InputValues } from '../../runtime/define';
import { checkArmour, type KeyInfo, type KeyLine } from '../../lib/ssh/key';
import type { Env } from '../../lib/util/env';
import { isShiplineError, ShiplineError } from '../../lib/util/errors';
import { InputError } from '../../runtime/inputs';
import type { inputs } from './index';

export type Inputs = InputValues<typeof inputs>;

/** A bad input whose message starts with the input's name (these read as `key-variables: A_1 is missing`). */
function badInput(input: string, message: string, hint: string): ShiplineError {
  return new ShiplineError(message, { kind: 'input', hint, data: { input } });
}

export interface KeyPlan {
  lines: KeyLine[];
  /** The variables the key came from (none for key-base64). */
  variables: string[];
  knownHosts: string;
  /** The key's armour, type and fingerprint (checked here: a malformed key is an input error). */
  info: KeyInfo;
}

/**
 * The key lines and the known_hosts text, from the inputs and the job's variables.
 * `knownHostsLines` is the known-hosts input, or the lines of the file it names.
 */
export function planKey(
  i: Pick<Inputs, 'keyVariables' | 'keyBase64' | 'host'>,
  knownHostsLines: string[],
  env: Env,
): KeyPlan {
  const base64 = i.keyBase64?.trim();
  const given = (i.keyVariables.length ? 1 : 0) + (base64 ? 1 : 0);
  if (given !== 1) {
    throw new InputError(
      'key-variables',
      given ? 'give either key-variables or key-base64, not both' : 'no key: give key-variables or key-base64',
      'key-variables: SSH_KEY_LINE_ (variables SSH_KEY_LINE_1 … N), or key-base64: $SSH_PRIVATE_KEY_B64',
    );
  }
  const variables = base64 ? [] : expandKeyVariables(env, i.keyVariables);
  const lines = base64 ? linesFromBase64(base64) : linesFromVariables(env, variables);
  const knownHosts = buildKnownHosts(knownHostsLines, i.host?.trim() || undefined);
  return { lines, variables, knownHosts, info: checkKey(lines, base64 ? 'key-base64' : 'key-variables') };
}

/**
 * The armour and body of the key (the library's check), as an error of the input that
 * holds it: a malformed key is the user's to fix (exit 2). Messages name lines and
 * variables, never a line's text.
 */
export function checkKey(lines: KeyLine[], input: 'key-variables' | 'key-base64'): KeyInfo {
  try {
    return checkArmour(lines);
  } catch (err) {
    if (!isShiplineError(err) || err.kind !== 'invalid') throw err;
    const hint =
      input === 'key-base64'
        ? 'key-base64 holds the whole private key file base64-encoded: store the output of `base64 -w0 < id_ed25519`'
        : (err.hint ?? 'check the variables against the key file, one line per variable in order');
    throw badInput(input, `${input}: ${err.message}`, hint);
  }
}

/**
 * The known-hosts input as lines: the lines given, or those of the file it names (one
 * absolute path, e.g. a GitLab file variable). A path that is not a readable file is an
 * input error (a known_hosts line never starts with '/').
 */
export function readKnownHosts(given: string[]): string[] {
  const [only] = given;
  if (given.length !== 1 || only === undefined || !isAbsolute(only) || /\s/.test(only)) return given;
  const hint = 'give known_hosts lines, or the path of a readable known_hosts file (a GitLab file variable)';
  if (!existsSync(only)) throw badInput('known-hosts', `known-hosts: the file ${only} does not exist`, hint);
  try {
    return readFileSync(only, 'utf8').split(/\r?\n/);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw badInput('known-hosts', `known-hosts: ${only} cannot be read (${code})`, hint);
  }
}

const VAR_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Variable names from `key-variables` items: a name is taken as is; an item ending in `_`
 * or `*` is a prefix that expands to `<prefix>1 … <prefix>N` in numeric order (no gaps).
 */
export function expandKeyVariables(env: Env, items: string[]): string[] {
  const names: string[] = [];
  for (const raw of items.flatMap((i) => i.split(/\s+/)).filter(Boolean)) {
    if (!raw.endsWith('_') && !raw.endsWith('*')) {
      if (!VAR_RE.test(raw))
        throw badInput(
          'key-variables',
          `key-variables: '${raw}' is not a variable name`,
          'list variable names, or one prefix like SSH_KEY_LINE_',
        );
      names.push(raw);
      continue;
    }
    const prefix = raw.replace(/\*$/, '');
    const numbered = Object.keys(env)
      .map((k) => ({ k, m: k.startsWith(prefix) ? /^(\d+)$/.exec(k.slice(prefix.length)) : null }))
      .filter((x): x is { k: string; m: RegExpExecArray } => x.m !== null && env[x.k] !== undefined)
      .map(({ k, m }) => ({ k, n: Number(m[1]) }))
      .sort((a, b) => a.n - b.n);
    if (numbered.length === 0)
      throw badInput(
        'key-variables',
        `key-variables: no variables named ${prefix}1, ${prefix}2, … in the job`,
        `define ${prefix}1 … ${prefix}N, one key line each`,
      );
    numbered.forEach(({ k, n }, i) => {
      if (n !== i + 1)
        throw badInput(
          'key-variables',
          `key-variables: ${prefix}${i + 1} is missing (found ${k} after ${i ? numbered[i - 1]!.k : 'nothing'})`,
          `number the variables ${prefix}1 … ${prefix}N without gaps`,
        );
    });
    names.push(...numbered.map((x) => x.k));
  }
  return names;
}

/** The key lines from the named variables, in order (a value may hold several lines). */
export function linesFromVariables(env: Env, names: string[]): KeyLine[] {
  const lines: KeyLine[] = [];
  for (const name of names) {
    const value = env[name];
    if (value === undefined)
      throw badInput(
        'key-variables',
        `key-variables: ${name} is not set in this job`,
        'check the variable name, and that it is available to this branch (protected variables only reach protected refs)',
      );
    const parts = value
      .replace(/\r/g, '')
      .split('\n')
      .map((l) => l.trim());
    while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    if (parts.length === 1 && parts[0] === '' && !/:/.test(lines[lines.length - 1]?.text ?? '')) {
      throw badInput('key-variables', `key-variables: ${name} is empty`, 'each variable holds one line of the key');
    }
    for (const text of parts) lines.push({ text, source: name });
  }
  return lines;
}

/** The key from a base64 value (whitespace ignored), split into lines. */
export function linesFromBase64(value: string): KeyLine[] {
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw badInput('key-base64', 'key-base64 is not base64', 'store the output of `base64 -w0 < id_ed25519`');
  }
  const text = Buffer.from(compact, 'base64').toString('utf8');
  const parts = text.replace(/\r/g, '').split('\n');
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((t) => ({ text: t, source: 'key-base64' }));
}

const KEY_TYPE =
  /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `host` or `host:port` as known_hosts writes it (`[host]:port` for a port other than 22). */
export function hostPattern(host: string): string {
  const m = /^\[?([^\]\s]+?)\]?(?::(\d+))?$/.exec(host.trim());
  if (!m || /[\s,]/.test(host.trim()))
    throw new InputError(
      'host',
      `'${host}' is not a host name or host:port`,
      'e.g. gitlab.example.com or gitlab.example.com:2222',
    );
  const port = m[2];
  return port && port !== '22' ? `[${m[1]}]:${port}` : m[1]!;
}

/** The known_hosts file text; throws naming the first bad line (these lines are public). */
export function buildKnownHosts(lines: string[], host?: string): string {
  const pattern = host ? hostPattern(host) : undefined;
  const out: string[] = [];
  let coversHost = false;
  let hashed = false;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let rest = f;
    let marker = '';
    if (f[0] === '@cert-authority' || f[0] === '@revoked') {
      marker = `${f[0]} `;
      rest = f.slice(1);
    }
    let hosts: string;
    if (KEY_TYPE.test(rest[0] ?? '')) {
      if (!pattern)
        throw badInput(
          'known-hosts',
          `known-hosts line ${i + 1} has no host field`,
          'write `<host> <type> <key>`, or set the host input for bare `<type> <key>` lines',
        );
      hosts = pattern;
      rest = [pattern, ...rest];
    } else hosts = rest[0] ?? '';
    if (!KEY_TYPE.test(rest[1] ?? '') || !B64.test(rest[2] ?? '')) {
      throw badInput(
        'known-hosts',
        `known-hosts line ${i + 1} is not '<host> <key-type> <base64-key>'`,
        "copy the lines from `ssh-keyscan <host>` run somewhere you trust, or from your Git host's published fingerprints",
      );
    }
    if (hosts.startsWith('|1|')) hashed = true;
    if (pattern && hosts.split(',').includes(pattern)) coversHost = true;
    out.push(marker + rest.join(' '));
  });
  if (out.length === 0)
    throw badInput(
      'known-hosts',
      'known-hosts is empty',
      'StrictHostKeyChecking=yes needs the server host keys: give known_hosts lines',
    );
  if (pattern && !coversHost && !hashed)
    throw badInput(
      'known-hosts',
      `no known-hosts line is for '${pattern}'`,
      "add that host's key lines, or give bare `<type> <key>` lines with the host input",
    );
  return out.join('\n') + '\n';
}
