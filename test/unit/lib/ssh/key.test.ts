// The key's armour checked line by line: problems name the line and where it came from,
// never its text; the body must decode to a key. Keys are generated in-process.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { checkArmour, type KeyLine } from '../../../../src/lib/ssh/key';
import { ShiplineError } from '../../../../src/lib/util/errors';

const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs1',
  format: 'pem',
}) as string;
const edPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

function thrown(fn: () => unknown): ShiplineError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ShiplineError);
    return e as ShiplineError;
  }
  throw new Error('expected an error');
}

describe('armour', () => {
  /** One line per variable SSH_KEY_LINE_1 … N, as ssh-key reads them. */
  const lines = (text: string): KeyLine[] =>
    text
      .trimEnd()
      .split('\n')
      .map((t, i) => ({ text: t, source: `SSH_KEY_LINE_${i + 1}` }));

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
        ? Buffer.concat([
            s(Buffer.from('ssh-rsa')),
            mp(Buffer.from(jwk.e!, 'base64url')),
            mp(Buffer.from(jwk.n!, 'base64url')),
          ])
        : Buffer.concat([s(Buffer.from('ssh-ed25519')), s(Buffer.from(jwk.x!, 'base64url'))]);
    expect(info.fingerprint).toBe(`SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`);
  });

  test('a changed character: line number and variable, column, never the content', () => {
    const l = lines(rsaPem);
    const original = l[4]!.text;
    l[4] = { ...l[4]!, text: `${original.slice(0, 9)}#${original.slice(10)}` };
    const e = thrown(() => checkArmour(l));
    expect(e.message).toContain(
      'line 5 (from SSH_KEY_LINE_5): not base64 (character 10 is outside the base64 alphabet)',
    );
    expect(e.message).not.toContain(original.slice(0, 9));
  });

  test('a cut line and a missing END line are reported', () => {
    const l = lines(rsaPem);
    l[3] = { ...l[3]!, text: l[3]!.text.slice(0, 40) };
    expect(thrown(() => checkArmour(l)).message).toContain(
      'line 4 (from SSH_KEY_LINE_4): 40 characters where the lines before have 64 (cut or joined?)',
    );
    const noEnd = lines(rsaPem).slice(0, -1);
    expect(thrown(() => checkArmour(noEnd)).message).toMatch(
      /no '-----END RSA PRIVATE KEY-----' line \(last: line \d+ \(from SSH_KEY_LINE_\d+\)\)/,
    );
  });

  test('a public key or a wrong first variable is refused at line 1', () => {
    expect(thrown(() => checkArmour([{ text: 'ssh-ed25519 AAAA', source: 'K_1' }])).message).toMatch(
      /line 1 \(from K_1\) is not a '-----BEGIN … PRIVATE KEY-----' line/,
    );
  });

  test('swapped body lines keep valid armour but do not decode', () => {
    const l = lines(rsaPem);
    [l[2], l[3]] = [l[3]!, l[2]!];
    expect(thrown(() => checkArmour(l)).message).toMatch(/does not decode to a key/);
  });

  test('an encrypted key is refused (CI cannot type a passphrase)', () => {
    const enc = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pw',
    }) as string;
    expect(thrown(() => checkArmour(lines(enc))).message).toMatch(/passphrase-protected/);
  });
});
