// A private key carried in CI variables: GitLab cannot mask a multi-line value, so the key
// arrives one line per variable (or base64 in one). Its lines are checked here, armour
// first; problems name the line number and where it came from, never the line's text.
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { isShiplineError, ShiplineError } from '../util/errors';

export interface KeyLine {
  text: string;
  /** Where the line came from, for errors: a variable name, or the input that held the whole key. */
  source: string;
}

/** The file text: lines joined by LF with a final LF (OpenSSH rejects a key without it). */
export function keyText(lines: KeyLine[]): string {
  return lines.map((l) => l.text).join('\n') + '\n';
}

export interface KeyInfo {
  label: string;
  /** The body lines (base64), to mask one by one. */
  body: string[];
  /** `SHA256:…` like ssh-keygen -l, when derivable. */
  fingerprint?: string;
  type?: string;
}

const BEGIN_RE = /^-----BEGIN ([A-Z0-9 ]+)-----$/;
const END_RE = /^-----END ([A-Z0-9 ]+)-----$/;
const B64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;

/** Checks BEGIN/END lines, PEM headers and base64 body lines; throws naming every bad line. */
export function checkArmour(lines: KeyLine[]): KeyInfo {
  const problems: string[] = [];
  const at = (i: number) => `line ${i + 1} (from ${lines[i]!.source})`;
  const first = lines[0];
  const begin = first ? BEGIN_RE.exec(first.text) : null;
  if (!begin || !begin[1]!.endsWith('PRIVATE KEY')) {
    throw new ShiplineError(
      `the key's ${lines.length ? at(0) : 'first line'} is not a '-----BEGIN … PRIVATE KEY-----' line`,
      {
        kind: 'invalid',
        hint: 'the first variable must hold the BEGIN line of the private key (not the .pub file)',
      },
    );
  }
  const label = begin[1]!;
  let endAt = -1;
  for (let i = lines.length - 1; i > 0; i--) {
    if (END_RE.test(lines[i]!.text)) {
      endAt = i;
      break;
    }
  }
  if (endAt < 0) {
    throw new ShiplineError(`the key has no '-----END ${label}-----' line (last: ${at(lines.length - 1)})`, {
      kind: 'invalid',
      hint: 'a variable is missing at the end, or the END line was cut',
    });
  }
  const endLabel = END_RE.exec(lines[endAt]!.text)![1]!;
  if (endLabel !== label) problems.push(`${at(endAt)}: END label '${endLabel}' does not match BEGIN label '${label}'`);
  for (let i = endAt + 1; i < lines.length; i++)
    if (lines[i]!.text !== '') problems.push(`${at(i)}: text after the END line`);

  let i = 1;
  let encrypted = label.includes('ENCRYPTED');
  if (label !== 'OPENSSH PRIVATE KEY' && i < endAt && /^[A-Za-z-]+:/.test(lines[i]!.text)) {
    // RFC 1421 headers of legacy PEM keys, then one blank line.
    while (i < endAt && /^[A-Za-z-]+:/.test(lines[i]!.text)) {
      if (/^Proc-Type:.*ENCRYPTED/.test(lines[i]!.text)) encrypted = true;
      i++;
    }
    if (lines[i]?.text === '') i++;
    else problems.push(`${at(i)}: a blank line must follow the PEM headers`);
  }
  const body: string[] = [];
  const bodyStart = i;
  let width = 0;
  for (; i < endAt; i++) {
    const t = lines[i]!.text;
    if (t === '') {
      problems.push(`${at(i)}: empty line inside the key`);
      continue;
    }
    if (!B64_LINE.test(t)) {
      const col = [...t].findIndex((c) => !/[A-Za-z0-9+/=]/.test(c));
      problems.push(
        `${at(i)}: not base64${col >= 0 ? ` (character ${col + 1} is outside the base64 alphabet)` : ' (misplaced =)'}`,
      );
      continue;
    }
    if (i === bodyStart) width = t.length;
    const last = i === endAt - 1;
    if (!last && t.includes('=')) problems.push(`${at(i)}: '=' padding before the last body line`);
    else if (!last && t.length !== width)
      problems.push(`${at(i)}: ${t.length} characters where the lines before have ${width} (cut or joined?)`);
    else if (last && t.length > width)
      problems.push(`${at(i)}: the last body line is longer than the others (${t.length} > ${width})`);
    body.push(t);
  }
  if (body.length === 0 && problems.length === 0)
    problems.push(`${at(endAt)}: no key body between the BEGIN and END lines`);
  if (problems.length === 0 && body.join('').length % 4 !== 0)
    problems.push(
      `${at(endAt - 1)}: the body is ${body.join('').length} base64 characters, not a multiple of 4 (a line is cut)`,
    );
  if (problems.length) {
    throw new ShiplineError(
      `the assembled SSH key is malformed:\n  ${problems.slice(0, 8).join('\n  ')}${problems.length > 8 ? `\n  … ${problems.length - 8} more` : ''}`,
      {
        kind: 'invalid',
        hint: 'check those variables against the key file, one line per variable in order',
      },
    );
  }
  if (encrypted)
    throw new ShiplineError('the SSH key is passphrase-protected: a CI job cannot type the passphrase', {
      kind: 'invalid',
      hint: "store an unencrypted deploy key (ssh-keygen -p -N '' -f <file>)",
    });
  return { label, body, ...describeKey(label, lines, body) };
}

function sshString(buf: Buffer, off: number): { value: Buffer; next: number } {
  if (off + 4 > buf.length) throw new Error('truncated');
  const len = buf.readUInt32BE(off);
  if (off + 4 + len > buf.length) throw new Error('truncated');
  return { value: buf.subarray(off + 4, off + 4 + len), next: off + 4 + len };
}

const fp = (blob: Buffer) => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

function str(b: Buffer | string): Buffer {
  const v = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(v.length);
  return Buffer.concat([len, v]);
}

function mpint(b: Buffer): Buffer {
  let v = b;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return str(v);
}

/** Type and fingerprint; a body that does not decode to a key is an error (lines swapped?). */
function describeKey(label: string, lines: KeyLine[], body: string[]): { fingerprint?: string; type?: string } {
  const broken = () =>
    new ShiplineError('the assembled SSH key has valid armour but does not decode to a key', {
      kind: 'invalid',
      hint: 'two key lines may be swapped, or a line was changed; compare the variables with the key file in order',
    });
  if (label === 'OPENSSH PRIVATE KEY') {
    const raw = Buffer.from(body.join(''), 'base64');
    const magic = Buffer.from('openssh-key-v1\0');
    if (!raw.subarray(0, magic.length).equals(magic)) throw broken();
    try {
      let off = magic.length;
      const cipher = sshString(raw, off);
      off = sshString(raw, cipher.next).next; // kdfname
      off = sshString(raw, off).next; // kdfoptions
      off += 4; // number of keys
      const pub = sshString(raw, off).value;
      if (cipher.value.toString() !== 'none')
        throw new ShiplineError('the SSH key is passphrase-protected: a CI job cannot type the passphrase', {
          kind: 'invalid',
          hint: "store an unencrypted deploy key (ssh-keygen -p -N '' -f <file>)",
        });
      const type = sshString(pub, 0).value.toString();
      if (!privateSectionMatches(sshString(raw, sshString(raw, off).next).value, type, pub)) throw broken();
      return { fingerprint: fp(pub), type };
    } catch (err) {
      if (isShiplineError(err)) throw err;
      throw broken();
    }
  }
  let jwk: { kty?: string; n?: string; e?: string; crv?: string; x?: string; y?: string };
  try {
    const key = createPrivateKey({ key: keyText(lines), format: 'pem' });
    // DER still parses when two lines inside one number are swapped: a signature does not verify.
    const probe = Buffer.from('shipline key check');
    const algo = key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256';
    if (!verify(algo, probe, createPublicKey(key), sign(algo, probe, key))) throw new Error('inconsistent key');
    jwk = key.export({ format: 'jwk' }) as typeof jwk;
  } catch {
    throw broken();
  }
  const b = (s: string | undefined) => Buffer.from(s ?? '', 'base64url');
  if (jwk.kty === 'RSA')
    return { type: 'ssh-rsa', fingerprint: fp(Buffer.concat([str('ssh-rsa'), mpint(b(jwk.e)), mpint(b(jwk.n))])) };
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519')
    return { type: 'ssh-ed25519', fingerprint: fp(Buffer.concat([str('ssh-ed25519'), str(b(jwk.x))])) };
  const curves: Record<string, string> = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' };
  const curve = jwk.kty === 'EC' && jwk.crv ? curves[jwk.crv] : undefined;
  if (curve) {
    const point = Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]);
    return {
      type: `ecdsa-sha2-${curve}`,
      fingerprint: fp(Buffer.concat([str(`ecdsa-sha2-${curve}`), str(curve), str(point)])),
    };
  }
  return {};
}

const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The unencrypted private section of an openssh-key-v1 file: equal check words, the same
 * key type, and a private key that matches the public one (seed -> public key for
 * Ed25519, p*q = n for RSA). Swapped or edited lines fail here before ssh would.
 */
function privateSectionMatches(sec: Buffer, type: string, pub: Buffer): boolean {
  if (sec.length < 8 || sec.readUInt32BE(0) !== sec.readUInt32BE(4)) return false;
  let off = 8;
  const next = () => {
    const r = sshString(sec, off);
    off = r.next;
    return r.value;
  };
  if (next().toString() !== type) return false;
  if (type === 'ssh-ed25519') {
    const publicKey = next();
    const secret = next();
    if (secret.length !== 64 || !secret.subarray(32).equals(publicKey)) return false;
    const derived = createPublicKey(
      createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, secret.subarray(0, 32)]), format: 'der', type: 'pkcs8' }),
    ).export({ format: 'jwk' }) as { x?: string };
    return (
      Buffer.from(derived.x ?? '', 'base64url').equals(publicKey) &&
      Buffer.concat([str('ssh-ed25519'), str(publicKey)]).equals(pub)
    );
  }
  if (type === 'ssh-rsa') {
    const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
    const n = next();
    next(); // e
    next(); // d
    next(); // iqmp
    const p = next();
    const q = next();
    return big(p) * big(q) === big(n);
  }
  // Other types: the section must at least parse to its comment.
  return off <= sec.length;
}
