// ssh-key logic: variable expansion, reassembly, armour checks that name the line (and its
// variable) without printing it, known_hosts building. Keys are generated in-process.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { checkArmour, expandKeyVariables, keyText, linesFromBase64, linesFromVariables, type KeyLine } from '../../src/lib/ssh/key';
import { buildKnownHosts, hostPattern } from '../../src/lib/ssh/known-hosts';
import { gitSshCommand } from '../../src/lib/ssh/setup';
import { ShiplineError } from '../../src/lib/util/errors';

const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const edPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

/** `PREFIX1..N` variables, one per line of text. */
function asVariables(text: string, prefix = 'SSH_KEY_LINE_'): Record<string, string> {
  return Object.fromEntries(text.trimEnd().split('\n').map((l, i) => [`${prefix}${i + 1}`, l]));
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
    expect(thrown(() => expandKeyVariables(env, ['SSH_KEY_LINE_'])).message).toBe('key-variables: SSH_KEY_LINE_2 is missing (found SSH_KEY_LINE_3 after SSH_KEY_LINE_1)');
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

describe('armour', () => {
  const lines = (text: string): KeyLine[] => linesFromVariables(asVariables(text), expandKeyVariables(asVariables(text), ['SSH_KEY_LINE_']));

  test.each([
    ['RSA (PKCS#1)', rsaPem, 'ssh-rsa'],
    ['Ed25519 (PKCS#8)', edPem, 'ssh-ed25519'],
  ])('%s passes, with the ssh fingerprint of its public key', (_n, pem, type) => {
    const info = checkArmour(lines(pem));
    expect(info.type).toBe(type);
    // Independent check: OpenSSH's fingerprint is sha256 of the SSH wire blob of the public key.
    const jwk = createPublicKey(pem).export({ format: 'jwk' });
    const s = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, (b.length >> 8) & 255, b.length & 255]), b]);
    const mp = (b: Buffer) => s(b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
    const blob =
      type === 'ssh-rsa'
        ? Buffer.concat([s(Buffer.from('ssh-rsa')), mp(Buffer.from(jwk.e!, 'base64url')), mp(Buffer.from(jwk.n!, 'base64url'))])
        : Buffer.concat([s(Buffer.from('ssh-ed25519')), s(Buffer.from(jwk.x!, 'base64url'))]);
    expect(info.fingerprint).toBe(`SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`);
  });

  test('a changed character: line number and variable, column, never the content', () => {
    const l = lines(rsaPem);
    const original = l[4]!.text;
    l[4] = { ...l[4]!, text: `${original.slice(0, 9)}#${original.slice(10)}` };
    const e = thrown(() => checkArmour(l));
    expect(e.message).toContain('line 5 (from SSH_KEY_LINE_5): not base64 (character 10 is outside the base64 alphabet)');
    expect(e.message).not.toContain(original.slice(0, 9));
  });

  test('a cut line and a missing END line are reported', () => {
    const l = lines(rsaPem);
    l[3] = { ...l[3]!, text: l[3]!.text.slice(0, 40) };
    expect(thrown(() => checkArmour(l)).message).toContain('line 4 (from SSH_KEY_LINE_4): 40 characters where the lines before have 64 (cut or joined?)');
    const noEnd = lines(rsaPem).slice(0, -1);
    expect(thrown(() => checkArmour(noEnd)).message).toMatch(/no '-----END RSA PRIVATE KEY-----' line \(last: line \d+ \(from SSH_KEY_LINE_\d+\)\)/);
  });

  test('a public key or a wrong first variable is refused at line 1', () => {
    expect(thrown(() => checkArmour([{ text: 'ssh-ed25519 AAAA', source: 'K_1' }])).message).toMatch(/line 1 \(from K_1\) is not a '-----BEGIN … PRIVATE KEY-----' line/);
  });

  test('swapped body lines keep valid armour but do not decode', () => {
    const l = lines(rsaPem);
    [l[2], l[3]] = [l[3]!, l[2]!];
    expect(thrown(() => checkArmour(l)).message).toMatch(/does not decode to a key/);
  });

  test('an encrypted key is refused (CI cannot type a passphrase)', () => {
    const enc = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    expect(thrown(() => checkArmour(lines(enc))).message).toMatch(/passphrase-protected/);
  });
});

describe('known_hosts', () => {
  const key = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  test('bare lines take the host; ports use [host]:port', () => {
    expect(hostPattern('git.example.com:2222')).toBe('[git.example.com]:2222');
    expect(hostPattern('git.example.com:22')).toBe('git.example.com');
    expect(buildKnownHosts([`ssh-ed25519 ${key}`], 'git.example.com:2222')).toBe(`[git.example.com]:2222 ssh-ed25519 ${key}\n`);
    expect(buildKnownHosts([`# comment`, `gitlab.com,1.2.3.4 ssh-ed25519 ${key}`])).toBe(`gitlab.com,1.2.3.4 ssh-ed25519 ${key}\n`);
  });
  test('errors name the line; a host no line covers is refused', () => {
    expect(thrown(() => buildKnownHosts([`ssh-ed25519 ${key}`])).message).toBe('known-hosts line 1 has no host field');
    expect(thrown(() => buildKnownHosts(['', 'gitlab.com ssh-ed25519 not*b64'])).message).toBe("known-hosts line 2 is not '<host> <key-type> <base64-key>'");
    expect(thrown(() => buildKnownHosts([`gitlab.com ssh-ed25519 ${key}`], 'github.com')).message).toBe("no known-hosts line is for 'github.com'");
  });
});

test('GIT_SSH_COMMAND quotes paths for the shell git runs it through', () => {
  expect(gitSshCommand("/tmp/a b/id", "/tmp/it's/kh")).toBe(`ssh -i '/tmp/a b/id' -o IdentitiesOnly=yes -o UserKnownHostsFile='/tmp/it'\\''s/kh' -o StrictHostKeyChecking=yes`);
});

describe('step inputs (fail before any file is written)', () => {
  const runIt = async (env: Record<string, string>, argv: string[]) => {
    const { runStep } = await import('../../src/runtime/run');
    const step = (await import('../../src/steps/ssh-key/index')).default;
    const err: string[] = [];
    const code = await runStep(step as never, { env, argv, viaCli: true, cwd: require('node:os').tmpdir(), stdout: () => undefined, stderr: (s) => void err.push(s) });
    return { code, stderr: err.join('') };
  };
  test.each([
    [['--known-hosts', 'h ssh-ed25519 AAAA'], /no key: give key-variables or key-base64/],
    [['--known-hosts', 'h ssh-ed25519 AAAA', '--key-variables', 'A', '--key-base64', 'QUJD'], /give either key-variables or key-base64, not both/],
    [['--key-variables', 'A'], /input 'known-hosts': is required/],
    [['--key-variables', 'bad-name', '--known-hosts', 'x'], /input 'key-variables': 'bad-name' is not valid/],
  ])('%j exits 2', async (argv, msg) => {
    const r = await runIt({ PATH: '/usr/bin' }, argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });
});
