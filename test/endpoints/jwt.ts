// Minimal JWS (RS256) signing and verification on node:crypto, for the bench's issuers.
import crypto from 'node:crypto';

export type Claims = Record<string, unknown>;

export const b64url = (buf: Buffer | string): string => Buffer.from(buf).toString('base64url');

export interface SigningKey {
  kid: string;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  /** Extra protected-header fields (e.g. x5c). */
  header?: Record<string, unknown>;
}

/** RFC 7638 thumbprint of an RSA public key, used as `kid`. */
export function rsaThumbprint(publicKey: crypto.KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as { e: string; n: string };
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return b64url(crypto.createHash('sha256').update(canonical).digest());
}

export function loadSigningKey(privatePem: string, header?: Record<string, unknown>): SigningKey {
  const privateKey = crypto.createPrivateKey(privatePem);
  const publicKey = crypto.createPublicKey(privateKey);
  const key: SigningKey = { kid: rsaThumbprint(publicKey), privateKey, publicKey };
  if (header) key.header = header;
  return key;
}

export function publicJwk(key: SigningKey): Record<string, string> {
  const jwk = key.publicKey.export({ format: 'jwk' }) as { e: string; n: string };
  return { kty: 'RSA', use: 'sig', alg: 'RS256', kid: key.kid, n: jwk.n, e: jwk.e };
}

export function signJwt(key: SigningKey, claims: Claims, header: Record<string, unknown> = {}): string {
  const h = { alg: 'RS256', typ: 'JWT', kid: key.kid, ...key.header, ...header };
  const input = `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(claims))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${b64url(sig)}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Claims;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('token is not a JWS compact serialisation (expected 3 parts)');
  const [h, c, s] = parts as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as Claims;
  return { header, claims, signingInput: `${h}.${c}`, signature: Buffer.from(s, 'base64url') };
}

/** Verify an RS256 signature against a set of public keys by `kid`. Throws with a reason. */
export function verifyJwtSignature(decoded: DecodedJwt, keys: SigningKey[]): SigningKey {
  if (decoded.header.alg !== 'RS256') throw new Error(`unsupported alg ${String(decoded.header.alg)}`);
  const key = keys.find((k) => k.kid === decoded.header.kid);
  if (!key) throw new Error(`no key with kid ${String(decoded.header.kid)}`);
  const ok = crypto.verify('sha256', Buffer.from(decoded.signingInput), key.publicKey, decoded.signature);
  if (!ok) throw new Error('signature does not verify');
  return key;
}
