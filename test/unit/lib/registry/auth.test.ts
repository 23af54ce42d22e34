// Registry authentication: WWW-Authenticate challenges and token scopes; which realm may
// see a credential (HTTPS anywhere, plain HTTP only on the registry's own loopback or
// insecure host), refused before anything is sent; the token answer read with a cap.
import {
  fetchToken,
  MAX_TOKEN_RESPONSE_BYTES,
  mergeScopes,
  parseChallenge,
  realmMayReceiveCredential,
  scopesCover,
  type TokenRequest,
} from '../../../../src/lib/registry/auth';
import { cannedResponse, type HttpRequest, type HttpSend } from '../../../../src/lib/util/http';
import type { ShiplineError } from '../../../../src/lib/util/errors';

describe('challenges and scopes', () => {
  test('parses Bearer and Basic challenges, quoted commas included', () => {
    expect(parseChallenge('Bearer realm="https://a/token",service="r",scope="repository:x:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://a/token', service: 'r', scope: 'repository:x:pull,push' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });

  test('scopes merge per resource and cover checks actions', () => {
    expect(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull'])).toEqual([
      'repository:a:pull,push',
      'repository:b:pull',
    ]);
    expect(scopesCover(['repository:a:pull,push'], ['repository:a:pull'])).toBe(true);
    expect(scopesCover(['repository:a:pull'], ['repository:a:push'])).toBe(false);
    expect(scopesCover(['repository:a:pull'], ['repository:b:pull'])).toBe(false);
  });
});

describe('which realm may receive the credential', () => {
  test.each([
    // [realm, registry base, allowed]
    ['https://auth.docker.io/token', 'https://registry-1.docker.io', true], // another host over HTTPS (docker's way)
    ['https://reg.example.com/token', 'https://reg.example.com', true],
    ['https://reg.example.com:8443/token', 'http://reg.example.com:5000', true],
    ['http://127.0.0.1:5001/token', 'http://127.0.0.1:5000', true], // same loopback host, another port
    ['http://localhost/token', 'http://localhost:5000', true],
    ['http://reg.internal:5001/token', 'http://reg.internal:5000', true], // an insecure registry's own host
    ['http://127.0.0.2:5001/token', 'http://127.0.0.1:5000', false], // another (loopback) host, plain HTTP
    ['http://localhost:5001/token', 'http://127.0.0.1:5000', false], // another name for it is another host
    ['http://auth.example.com/token', 'https://reg.example.com', false],
    ['http://reg.example.com/token', 'https://reg.example.com', false], // a downgrade on the same host
    ['http://auth.example.com/token', 'http://reg.example.com', false],
  ])('%s for %s: %s', (realm, registry, ok) => {
    expect(realmMayReceiveCredential(new URL(realm), new URL(registry)).ok).toBe(ok);
  });
});

describe('fetchToken', () => {
  const CRED = { username: 'ci', password: 'pa55-secret-value', source: 'auths["127.0.0.1:5000"] in /x/config.json' };
  function request(realm: string, over: Partial<TokenRequest> = {}) {
    const sent: { url: string; req: HttpRequest }[] = [];
    const send: HttpSend = async (url, req) => {
      sent.push({ url, req });
      return cannedResponse(200, { 'content-type': 'application/json' }, '{"token":"t-1","expires_in":300}');
    };
    const req: TokenRequest = {
      challenge: { scheme: 'bearer', params: { realm, service: 'svc' } },
      scopes: ['repository:team/app:pull'],
      credential: CRED,
      registry: '127.0.0.1:5000',
      registryUrl: 'http://127.0.0.1:5000',
      configPath: '/x/config.json',
      send,
      userAgent: 'test',
      now: () => 0,
      timeoutMs: 1000,
      deadlineMs: 5000,
      ...over,
    };
    return { req, sent };
  }

  test('a realm on plain HTTP on another host: kind invalid naming realm and registry; nothing is sent', async () => {
    const { req, sent } = request('http://127.0.0.2:5001/token');
    const err = (await fetchToken(req).catch((e: unknown) => e)) as ShiplineError;
    expect(err.message).toBe(
      '127.0.0.1:5000 asks for a token from http://127.0.0.2:5001/token, but it is on plain HTTP on another host than the registry (127.0.0.1:5000): shipline sends no credentials there (nothing was sent)',
    );
    expect(err).toMatchObject({
      kind: 'invalid',
      data: { registry: '127.0.0.1:5000', realm: 'http://127.0.0.2:5001/token', problem: 'untrusted-realm' },
    });
    expect(JSON.stringify(err.data)).not.toContain('pa55');
    expect(sent).toEqual([]);
  });

  test('the same realm without a credential is asked anonymously (docker does the same)', async () => {
    const { req, sent } = request('http://127.0.0.2:5001/token', { credential: undefined });
    expect((await fetchToken(req)).value).toBe('t-1');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.req.headers.authorization).toBeUndefined();
  });

  test('a realm on another host over HTTPS gets Basic credentials (as docker sends them to auth.docker.io)', async () => {
    const { req, sent } = request('https://auth.example.com/token', {
      registry: 'reg.example.com',
      registryUrl: 'https://reg.example.com',
    });
    await fetchToken(req);
    expect(sent[0]!.req.headers.authorization).toBe(`Basic ${Buffer.from('ci:pa55-secret-value').toString('base64')}`);
    expect(sent[0]!.req.deadlineMs).toBe(5000);
  });

  test('an identity token is refused to an untrusted realm too (the refresh_token grant sends nothing)', async () => {
    const { req, sent } = request('http://auth.example.com/token', {
      credential: { username: '<token>', password: 'refresh-secret', source: 's' },
      registry: 'reg.example.com',
      registryUrl: 'https://reg.example.com',
    });
    await expect(fetchToken(req)).rejects.toMatchObject({ kind: 'invalid', data: { problem: 'untrusted-realm' } });
    expect(sent).toEqual([]);
  });

  test('a realm that is not an http(s) URL is invalid', async () => {
    for (const realm of ['file:///etc/passwd', 'not a url']) {
      const { req, sent } = request(realm);
      await expect(fetchToken(req)).rejects.toMatchObject({ kind: 'invalid', data: { problem: 'bad-realm' } });
      expect(sent).toEqual([]);
    }
  });

  test('a token answer over 1 MiB is refused, not read whole', async () => {
    const { req } = request('http://127.0.0.1:5001/token', {
      send: async () => cannedResponse(200, {}, Buffer.alloc(MAX_TOKEN_RESPONSE_BYTES + 1, 'a')),
    });
    await expect(fetchToken(req)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining(
        'the answer of the token server http://127.0.0.1:5001/token for 127.0.0.1:5000 is larger than 1.0 MiB',
      ),
      data: { tooLarge: true, limit: 1024 * 1024 },
    });
  });
});
