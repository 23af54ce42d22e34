// SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104) in plain JS, for what a start would otherwise
// load node:crypto for: aws4's request signatures (scripts/build.mjs points aws4's
// `require('crypto')` here) and the CLI's run-directory key (runtime/private.ts). A signature's
// hashes cost a start 6-9 ms with node:crypto and under 3 ms with this (`node bench/sha256.mjs`:
// 1.18x against 1.01x of an empty script on Node 24). @noble/hashes 2.4 and @aws-crypto/sha256-js
// 5.2, tried in its place, cost as much as node:crypto: their per-call machinery runs in the
// interpreter, where a start's code runs. Nothing secret is derived with it beyond a request's
// signature, and tests compare it with node:crypto over every length. Where TLS is in use node
// loads its crypto anyway; a loopback or plain-HTTP endpoint no longer makes a step load it.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** The SHA-256 digest of `message` (32 bytes). */
export function sha256(message: Uint8Array): Buffer {
  const length = message.length;
  // the message, 0x80, zeros, and its bit length in the last 8 bytes of a 64-byte block
  const padded = new Uint8Array((((length + 8) >> 6) + 1) << 6);
  padded.set(message);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
  view.setUint32(padded.length - 4, (length << 3) >>> 0);
  const h = new Int32Array(IV);
  const w = new Int32Array(64);
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getInt32(block + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    // Written out (no destructuring, no rotate helper): this runs a few dozen times a process,
    // in the interpreter, where iterators and calls cost more than the arithmetic.
    let a = h[0]!;
    let b = h[1]!;
    let c = h[2]!;
    let d = h[3]!;
    let e = h[4]!;
    let f = h[5]!;
    let g = h[6]!;
    let hh = h[7]!;
    for (let i = 0; i < 64; i++) {
      const t1 =
        (hh +
          (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          ((e & f) ^ (~e & g)) +
          K[i]! +
          w[i]!) |
        0;
      const t2 =
        ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) ^ (a & c) ^ (b & c))) |
        0;
      hh = g;
      g = f;
      f = e;
      e = (d! + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0]! += a;
    h[1]! += b;
    h[2]! += c;
    h[3]! += d;
    h[4]! += e;
    h[5]! += f;
    h[6]! += g;
    h[7]! += hh;
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) out.writeInt32BE(h[i]!, i * 4);
  return out;
}

/** HMAC-SHA256 of `message` under `key` (32 bytes). */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Buffer {
  const k = new Uint8Array(64);
  k.set(key.length > 64 ? sha256(key) : key);
  const inner = new Uint8Array(64 + message.length);
  const outer = new Uint8Array(64 + 32);
  for (let i = 0; i < 64; i++) {
    inner[i] = k[i]! ^ 0x36;
    outer[i] = k[i]! ^ 0x5c;
  }
  inner.set(message, 64);
  outer.set(sha256(inner), 64);
  return sha256(outer);
}

type Data = string | Uint8Array;
type Encoding = 'hex' | 'base64';
const bytes = (d: Data): Uint8Array => (typeof d === 'string' ? Buffer.from(d, 'utf8') : d);

/** node:crypto's hash object, as far as aws4 uses it: update (utf8 strings or bytes) then digest. */
interface Hasher {
  update(data: Data, inputEncoding?: 'utf8'): Hasher;
  digest(): Buffer;
  digest(encoding: Encoding): string;
}

function hasher(algorithm: string, finish: (message: Uint8Array) => Buffer): Hasher {
  if (algorithm !== 'sha256') throw new Error(`sha256.ts computes sha256 only, not ${algorithm}`);
  const parts: Uint8Array[] = [];
  const self = {
    update: (data: Data) => (parts.push(bytes(data)), self),
    digest: (encoding?: Encoding) => {
      const out = finish(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      return encoding ? out.toString(encoding) : out;
    },
  };
  return self as Hasher;
}

export const createHash = (algorithm: string): Hasher => hasher(algorithm, sha256);
export const createHmac = (algorithm: string, key: Data): Hasher => hasher(algorithm, (m) => hmacSha256(bytes(key), m));
