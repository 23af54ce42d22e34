// ssh-key's inputs: variable expansion and reassembly (errors name the variable, never a
// line), known_hosts building, and the input checks that fail before any file is written.
import { generateKeyPairSync } from 'node:crypto';
import { keyText } from '../../../../src/lib/ssh/key';
import { ShiplineError } from '../../../../src/lib/util/errors';
import {
  buildKnownHosts,
  expandKeyVariables,
  hostPattern,
  linesFromBase64,
  linesFromVariables,
  planKey,
  readKnownHosts,
} from '../../../../src/steps/ssh-key/plan';

const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs1',
  format: 'pem',
}) as string;
const edPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

/** `PREFIX1..N` variables, one per line of text. */
function asVariables(text: string, prefix = 'SSH_KEY_LINE_'): Record<string, string> {
  return Object.fromEntries(
    text
      .trimEnd()
      .split('\n')
      .map((l, i) => [`${prefix}${i + 1}`, l]),
  );
}

function thrown(fn: () => unknown): ShiplineError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ShiplineError);
    return e as ShiplineError;
  }
  throw new Error('expected an error');
}

describe('key variables', () => {
  test('a prefix expands in numeric order (10 after 9), not text order', () => {
    const env = asVariables(rsaPem);
    expect(Object.keys(env).length).toBeGreaterThan(10);
    const names = expandKeyVariables(env, ['SSH_KEY_LINE_']);
    expect(names.slice(8, 11)).toEqual(['SSH_KEY_LINE_9', 'SSH_KEY_LINE_10', 'SSH_KEY_LINE_11']);
    expect(keyText(linesFromVariables(env, names))).toBe(rsaPem);
  });

  test('explicit names keep their order; `*` also marks a prefix', () => {
    const env = { B: 'two', A: 'one', K_1: 'x', K_2: 'y' };
    expect(expandKeyVariables(env, ['B', 'A'])).toEqual(['B', 'A']);
    expect(expandKeyVariables(env, ['K_*'])).toEqual(['K_1', 'K_2']);
  });

  test('a gap in the numbering is named', () => {
    const env = asVariables(edPem);
    delete env.SSH_KEY_LINE_2;
    expect(thrown(() => expandKeyVariables(env, ['SSH_KEY_LINE_'])).message).toBe(
      'key-variables: SSH_KEY_LINE_2 is missing (found SSH_KEY_LINE_3 after SSH_KEY_LINE_1)',
    );
  });

  test('an unset variable is named; CRLF and trailing blanks are tolerated', () => {
    expect(thrown(() => linesFromVariables({}, ['NOPE'])).message).toMatch(/NOPE is not set/);
    const env = Object.fromEntries(Object.entries(asVariables(edPem)).map(([k, v]) => [k, `${v}\r\n`]));
    expect(keyText(linesFromVariables(env, expandKeyVariables(env, ['SSH_KEY_LINE_'])))).toBe(edPem);
  });

  test('base64 of the whole file', () => {
    expect(keyText(linesFromBase64(Buffer.from(edPem).toString('base64')))).toBe(edPem);
    expect(thrown(() => linesFromBase64('not base64!')).message).toBe('key-base64 is not base64');
  });
});

describe('the plan', () => {
  const kh = ['gitlab.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'];
  test('key from variables or from base64, with the known_hosts text', () => {
    const env = asVariables(edPem);
    const fromVars = planKey({ keyVariables: ['SSH_KEY_LINE_'], keyBase64: undefined, host: undefined }, kh, env);
    expect(fromVars.variables[0]).toBe('SSH_KEY_LINE_1');
    expect(keyText(fromVars.lines)).toBe(edPem);
    expect(fromVars.knownHosts).toBe(`${kh[0]}\n`);
    const fromB64 = planKey(
      { keyVariables: [], keyBase64: Buffer.from(edPem).toString('base64'), host: 'gitlab.com' },
      kh,
      {},
    );
    expect(fromB64.variables).toEqual([]);
    expect(keyText(fromB64.lines)).toBe(edPem);
  });

  test('input problems exit 2 and say which input', () => {
    const e = thrown(() => planKey({ keyVariables: ['SSH_KEY_LINE_'], keyBase64: undefined, host: undefined }, kh, {}));
    expect(e).toMatchObject({ kind: 'input', exitCode: 2, data: { input: 'key-variables' } });
    expect(thrown(() => planKey({ keyVariables: [], keyBase64: undefined, host: undefined }, kh, {})).exitCode).toBe(2);
    expect(
      thrown(() => planKey({ keyVariables: ['A'], keyBase64: undefined, host: 'bad host' }, kh, { A: 'x' })).message,
    ).toBe("input 'host': 'bad host' is not a host name or host:port");
  });
});

describe('known_hosts', () => {
  const key = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  test('bare lines take the host; ports use [host]:port', () => {
    expect(hostPattern('git.example.com:2222')).toBe('[git.example.com]:2222');
    expect(hostPattern('git.example.com:22')).toBe('git.example.com');
    expect(buildKnownHosts([`ssh-ed25519 ${key}`], 'git.example.com:2222')).toBe(
      `[git.example.com]:2222 ssh-ed25519 ${key}\n`,
    );
    expect(buildKnownHosts([`# comment`, `gitlab.com,1.2.3.4 ssh-ed25519 ${key}`])).toBe(
      `gitlab.com,1.2.3.4 ssh-ed25519 ${key}\n`,
    );
  });
  test('errors name the line; a host no line covers is refused', () => {
    expect(thrown(() => buildKnownHosts([`ssh-ed25519 ${key}`])).message).toBe('known-hosts line 1 has no host field');
    expect(thrown(() => buildKnownHosts(['', 'gitlab.com ssh-ed25519 not*b64'])).message).toBe(
      "known-hosts line 2 is not '<host> <key-type> <base64-key>'",
    );
    expect(thrown(() => buildKnownHosts([`gitlab.com ssh-ed25519 ${key}`], 'github.com')).message).toBe(
      "no known-hosts line is for 'github.com'",
    );
  });
});

describe('step inputs (fail before any file is written)', () => {
  const runIt = async (env: Record<string, string>, argv: string[]) => {
    const { runStep } = await import('../../../../src/runtime/run');
    const step = (await import('../../../../src/steps/ssh-key/index')).default;
    const err: string[] = [];
    const code = await runStep(step as never, {
      env,
      argv,
      viaCli: true,
      cwd: require('node:os').tmpdir(),
      stdout: () => undefined,
      stderr: (s) => void err.push(s),
    });
    return { code, stderr: err.join('') };
  };
  test.each([
    [['--known-hosts', 'h ssh-ed25519 AAAA'], /no key: give key-variables or key-base64/],
    [
      ['--known-hosts', 'h ssh-ed25519 AAAA', '--key-variables', 'A', '--key-base64', 'QUJD'],
      /give either key-variables or key-base64, not both/,
    ],
    [['--key-variables', 'A'], /input 'known-hosts': is required/],
    [['--key-variables', 'bad-name', '--known-hosts', 'x'], /input 'key-variables': 'bad-name' is not valid/],
  ])('%j exits 2', async (argv, msg) => {
    const r = await runIt({ PATH: '/usr/bin' }, argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});

describe('what the fuzz test found: a malformed key or known-hosts path is exit 2 naming the input', () => {
  const kh = ['gitlab.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'];
  test.each([
    ['the BEGIN line missing', (l: string[]) => l.slice(1)],
    ['the END line cut', (l: string[]) => l.slice(0, -1)],
    ['a body line changed', (l: string[]) => [l[0]!, l[1]!.replace(/^./, '*'), ...l.slice(2)]],
    ['two body lines swapped', (l: string[]) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)]],
  ])('key-variables: %s', (_what, change) => {
    const lines = change(rsaPem.trimEnd().split('\n'));
    const env = asVariables(lines.join('\n'));
    const e = thrown(() =>
      planKey({ keyVariables: ['SSH_KEY_LINE_'], keyBase64: undefined, host: undefined }, kh, env),
    );
    expect(e).toMatchObject({ kind: 'input', exitCode: 2, data: { input: 'key-variables' } });
    expect(e.message).toMatch(/^key-variables: /);
    expect(e.hint).toBeTruthy();
    for (const l of lines.slice(1, -1)) expect(e.message).not.toContain(l);
  });

  test('key-base64 of something that is not a private key', () => {
    const e = thrown(() =>
      planKey({ keyVariables: [], keyBase64: Buffer.from('not a key\n').toString('base64'), host: undefined }, kh, {}),
    );
    expect(e).toMatchObject({ exitCode: 2, data: { input: 'key-base64' } });
    expect(e.hint).toMatch(/base64 -w0/);
  });

  test('known-hosts naming a directory, or a file that is not there', () => {
    const dir = thrown(() => readKnownHosts([require('node:os').tmpdir()]));
    expect(dir).toMatchObject({ exitCode: 2, data: { input: 'known-hosts' } });
    expect(dir.message).toMatch(/cannot be read \(EISDIR\)/);
    const missing = thrown(() => readKnownHosts(['/nonexistent/known_hosts']));
    expect(missing.message).toBe('known-hosts: the file /nonexistent/known_hosts does not exist');
    // lines are lines: nothing is read
    expect(readKnownHosts(kh)).toEqual(kh);
  });
});
