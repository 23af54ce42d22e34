// src/lib/util/sha256.ts against node:crypto: every message length over several blocks, keys
// shorter and longer than a block, and aws4's signatures computed with each.
import { createHash as nodeHash, createHmac as nodeHmac, randomBytes } from 'node:crypto';
import { createHash, createHmac, hmacSha256, sha256 } from '../../../../src/lib/util/sha256';

test('FIPS 180-4 examples', () => {
  expect(sha256(Buffer.from('abc')).toString('hex')).toBe(
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  expect(sha256(Buffer.alloc(0)).toString('hex')).toBe(
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  expect(sha256(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toString('hex')).toBe(
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

test('the same digest as node:crypto for every length from 0 to 300 bytes, and a long message', () => {
  for (const length of [...Array(301).keys(), 4096, 100_003]) {
    const m = randomBytes(length);
    expect([length, sha256(m).toString('hex')]).toEqual([length, nodeHash('sha256').update(m).digest('hex')]);
  }
});

test('the same HMAC as node:crypto for keys of 0 to 150 bytes (RFC 4231 case 2 too)', () => {
  expect(hmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).toString('hex')).toBe(
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
  for (let k = 0; k <= 150; k += 7) {
    const key = randomBytes(k);
    const m = randomBytes(k * 3);
    expect(hmacSha256(key, m).toString('hex')).toBe(nodeHmac('sha256', key).update(m).digest('hex'));
  }
});

test("node:crypto's shape as aws4 calls it: utf8 strings, Buffer keys, hex or raw digests, several updates", () => {
  const key = 'AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const date = createHmac('sha256', key).update('20261201', 'utf8').digest();
  expect(date.equals(nodeHmac('sha256', key).update('20261201', 'utf8').digest())).toBe(true);
  expect(createHmac('sha256', date).update('é ü ✓', 'utf8').digest('hex')).toBe(
    nodeHmac('sha256', date).update('é ü ✓', 'utf8').digest('hex'),
  );
  expect(createHash('sha256').update('a').update(Buffer.from('b')).digest('base64')).toBe(
    nodeHash('sha256').update('ab').digest('base64'),
  );
  expect(() => createHash('md5')).toThrow(/sha256 only/);
});

test("aws4 signs the same with it as with node:crypto (the bundles' configuration)", () => {
  const request = () => ({
    host: 'sts.eu-west-1.amazonaws.com',
    path: '/',
    method: 'POST',
    service: 'sts',
    region: 'eu-west-1',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-amz-date': '20261201T120000Z' },
    body: 'Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fci',
  });
  const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret/with+chars', sessionToken: 'tok' };
  let shimmed: { headers: Record<string, unknown> } | undefined;
  jest.isolateModules(() => {
    jest.doMock('crypto', () => jest.requireActual('../../../../src/lib/util/sha256'));
    shimmed = (jest.requireActual('aws4') as typeof import('aws4')).sign(request(), credentials);
    jest.dontMock('crypto');
  });
  let real: { headers: Record<string, unknown> } | undefined;
  jest.isolateModules(() => {
    real = (jest.requireActual('aws4') as typeof import('aws4')).sign(request(), credentials);
  });
  expect(shimmed!.headers.Authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE\/20261201\/eu-west-1\/sts/);
  expect(shimmed!.headers.Authorization).toBe(real!.headers.Authorization);
});
