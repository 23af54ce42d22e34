// The registry transport with a stubbed HTTP layer: one token for all scopes shared by
// parallel requests, reuse and renewal, Retry-After, errors classified by kind that keep
// every registry diagnostic and name the credential source (never the value),
// loopback-only HTTP.
import { apiHost, MAX_ERROR_BODY_BYTES, RegistryClient } from '../../../../src/lib/registry/client';
import { isLoopbackRegistry as isLoopback } from '../../../../src/lib/registry/reference';
import { digestOf } from '../../../../src/lib/registry/manifest';
import { cannedResponse, type HttpSend } from '../../../../src/lib/util/http';
import type { ShiplineError } from '../../../../src/lib/util/errors';
import { fakeFetch, type Handler } from '../../../support/fake-http';

const CRED = {
  username: 'ci',
  password: 'pa55-secret-value',
  source: 'auths["reg.example.com"] in /home/ci/.docker/config.json',
};
const bearer =
  'Bearer realm="https://auth.example.com/token",service="reg.example.com",scope="repository:team/app:pull"';

function tokenRegistry(opts: { expiresIn?: number; tokenStatus?: number } = {}) {
  let issued = 0;
  const h: Handler = (url, init) => {
    if (url.host === 'auth.example.com') {
      if (opts.tokenStatus) return new Response('{"details":"nope"}', { status: opts.tokenStatus });
      issued++;
      return Response.json({ token: `tok-${issued}`, expires_in: opts.expiresIn ?? 300 });
    }
    const auth = (init.headers as Record<string, string>).authorization;
    if (!auth?.startsWith('Bearer tok-'))
      return new Response('', { status: 401, headers: { 'www-authenticate': bearer } });
    return new Response('{}', {
      status: 200,
      headers: {
        'docker-content-digest': digestOf(Buffer.from('{}')),
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
      },
    });
  };
  return h;
}

const client = (f: HttpSend, extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) =>
  new RegistryClient({
    registry: 'reg.example.com',
    scopes: ['repository:team/app:pull,push', 'repository:team/base:pull'],
    credential: async () => CRED,
    send: f,
    sleep: async () => undefined,
    ...extra,
  });

describe('scheme', () => {
  test('plain HTTP only for loopback (or when asked)', () => {
    for (const h of ['127.0.0.1:5000', '127.1.2.3', 'localhost:5000', 'localhost', '[::1]:5000'])
      expect(isLoopback(h)).toBe(true);
    for (const h of ['registry.example.com', '10.0.0.1:5000', 'localhost.example.com', '128.0.0.1'])
      expect(isLoopback(h)).toBe(false);
    expect(new RegistryClient({ registry: 'localhost:5000' }).base).toBe('http://localhost:5000');
    expect(new RegistryClient({ registry: 'reg.example.com' }).base).toBe('https://reg.example.com');
    expect(new RegistryClient({ registry: 'reg.example.com:5000', insecure: true }).base).toBe(
      'http://reg.example.com:5000',
    );
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
  });
});

describe('bearer tokens', () => {
  test('one token request for every scope; parallel cold requests wait for it; the token is reused', async () => {
    const { f, calls } = fakeFetch(tokenRegistry());
    const c = client(f);
    const rs = await Promise.all([1, 2, 3, 4].map(() => c.request('GET', '/v2/team/app/manifests/v1')));
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const tokenCalls = calls.filter((x) => x.url.startsWith('https://auth.example.com'));
    expect(tokenCalls).toHaveLength(1);
    const u = new URL(tokenCalls[0]!.url);
    expect(u.searchParams.getAll('scope')).toEqual(['repository:team/app:pull,push', 'repository:team/base:pull']);
    expect(u.searchParams.get('service')).toBe('reg.example.com');
    expect(tokenCalls[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('ci:pa55-secret-value').toString('base64')}`,
    );
    // only the first request met a 401
    expect(c.requests.filter((r) => r.status === 401)).toHaveLength(1);
    await c.request('GET', '/v2/team/app/manifests/v2');
    expect(c.tokenRequests).toBe(1);
    expect(c.requests.slice(-1)).toEqual([{ method: 'GET', path: '/v2/team/app/manifests/v2', status: 200 }]);
  });

  test('an expired token is renewed before use', async () => {
    let now = 1_000_000;
    const { f } = fakeFetch(tokenRegistry({ expiresIn: 60 }));
    const c = client(f, { now: () => now });
    await c.request('GET', '/v2/team/app/manifests/v1');
    now += 55_000; // within the 10 s safety margin
    await c.request('GET', '/v2/team/app/manifests/v1');
    expect(c.tokenRequests).toBe(2);
  });

  test('a token server refusal names the credential source, never the password', async () => {
    const { f } = fakeFetch(tokenRegistry({ tokenStatus: 401 }));
    const err = await client(f)
      .request('GET', '/v2/team/app/manifests/v1')
      .catch((e: Error & { hint?: string }) => e);
    expect(String(err)).toContain(
      'refused the credentials (HTTP 401); credential source: auths["reg.example.com"] in /home/ci/.docker/config.json',
    );
    expect(`${String(err)} ${(err as { hint?: string }).hint}`).not.toContain('pa55-secret-value');
  });

  test('tokens and passwords are handed to the masker before use', async () => {
    const masked: string[] = [];
    const { f } = fakeFetch(tokenRegistry());
    await client(f, { secret: (v) => masked.push(v) }).request('GET', '/v2/team/app/manifests/v1');
    expect(masked).toEqual(['pa55-secret-value', 'tok-1']);
  });
});

describe('basic auth and retries', () => {
  test('Basic challenge: credentials sent once asked; a second 401 is an auth error', async () => {
    const { f, calls } = fakeFetch((_u, init) => {
      const a = (init.headers as Record<string, string>).authorization;
      return a === `Basic ${Buffer.from('ci:pa55-secret-value').toString('base64')}`
        ? new Response('ok')
        : new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } });
    });
    const c = client(f);
    expect((await c.request('GET', '/v2/')).status).toBe(200);
    expect(calls).toHaveLength(2);
    const bad = client(
      fakeFetch(() => new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } })).f,
    );
    await expect(bad.request('GET', '/v2/')).rejects.toThrow(
      /refused the credentials.*credential source: auths\["reg.example.com"\]/,
    );
  });

  test('no credentials: says none were found', async () => {
    const c = new RegistryClient({
      registry: 'reg.example.com',
      configPath: '/x/config.json',
      send: fakeFetch(() => new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } })).f,
    });
    await expect(c.request('GET', '/v2/')).rejects.toThrow(
      'reg.example.com needs credentials and none were found (no credentials (anonymous; none found for this registry in /x/config.json))',
    );
  });

  test('429 and 503 retry honouring Retry-After; 404 and 403 do not', async () => {
    const sleeps: number[] = [];
    const statuses = [429, 503, 200];
    const { f, calls } = fakeFetch(
      () => new Response('', { status: statuses.shift()!, headers: { 'retry-after': '3' } }),
    );
    const c = new RegistryClient({ registry: 'reg.example.com', send: f, sleep: async (ms) => void sleeps.push(ms) });
    expect((await c.request('GET', '/v2/')).status).toBe(200);
    expect(calls).toHaveLength(3);
    expect(sleeps.every((ms) => ms >= 3000)).toBe(true);

    const denied = fakeFetch(() =>
      Response.json(
        { errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] },
        { status: 403 },
      ),
    );
    const d = new RegistryClient({ registry: 'reg.example.com', send: denied.f, sleep: async () => undefined });
    await expect(d.request('PUT', '/v2/team/app/manifests/v1')).rejects.toThrow(
      'PUT reg.example.com/v2/team/app/manifests/v1 → HTTP 403 (DENIED: requested access to the resource is denied)',
    );
    expect(denied.calls).toHaveLength(1);
  });

  test('a network error names the address and retries', async () => {
    let n = 0;
    const f: HttpSend = async () => {
      n++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    };
    const c = new RegistryClient({ registry: '127.0.0.1:1', send: f, sleep: async () => undefined, maxAttempts: 3 });
    await expect(c.request('GET', '/v2/')).rejects.toThrow(
      /GET http:\/\/127.0.0.1:1\/v2\/ failed: connect ECONNREFUSED 127.0.0.1:1 \(gave up after 3 attempts/,
    );
    expect(n).toBe(3);
  });
});

describe('errors classify themselves', () => {
  test.each([
    [401, 'auth'],
    [403, 'denied'],
    [404, 'not-found'],
    [400, 'invalid'],
    [405, 'failed'],
  ])('HTTP %d is kind %s, not retried', async (status, kind) => {
    const { f, calls } = fakeFetch(
      () =>
        new Response('', { status, ...(status === 401 ? { headers: { 'www-authenticate': 'Basic realm="r"' } } : {}) }),
    );
    const c = new RegistryClient({
      registry: 'reg.example.com',
      send: f,
      sleep: async () => undefined,
      ...(status === 401 ? { credential: async () => CRED } : {}),
    });
    const err = (await c.request('GET', '/v2/team/app/manifests/v1').catch((e: unknown) => e)) as ShiplineError;
    expect(err.kind).toBe(kind);
    expect(err.retryable).toBe(false);
    expect(calls.length).toBeLessThanOrEqual(2);
  });

  test('every diagnostic the registry sent is kept: in the message and in data', async () => {
    const errors = [
      { code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:aaaa' },
      { code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: { reason: 'layer missing' } },
    ];
    const { f } = fakeFetch(() => Response.json({ errors }, { status: 400 }));
    const c = new RegistryClient({ registry: 'reg.example.com', send: f });
    const err = (await c.request('PUT', '/v2/team/app/manifests/v1').catch((e: unknown) => e)) as ShiplineError;
    expect(err.message).toBe(
      'PUT reg.example.com/v2/team/app/manifests/v1 → HTTP 400 (MANIFEST_BLOB_UNKNOWN: blob unknown to registry (sha256:aaaa); MANIFEST_INVALID: manifest invalid ({"reason":"layer missing"}))',
    );
    expect(err.kind).toBe('invalid');
    expect(err.data).toMatchObject({
      status: 400,
      registry: 'reg.example.com',
      codes: ['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID'],
      diagnostics: errors,
    });
    expect(err.hint).toContain('rejected the manifest');
  });

  test('503 until the attempts run out: kind transient, worded once by retry, status kept', async () => {
    const { f, calls } = fakeFetch(() =>
      Response.json({ errors: [{ code: 'UNAVAILABLE', message: 'try later' }] }, { status: 503 }),
    );
    const c = new RegistryClient({
      registry: 'reg.example.com',
      send: f,
      sleep: async () => undefined,
      maxAttempts: 2,
    });
    const err = (await c.request('GET', '/v2/').catch((e: unknown) => e)) as ShiplineError;
    expect(calls).toHaveLength(2);
    expect(err.kind).toBe('transient');
    expect(err.message).toBe(
      'GET https://reg.example.com/v2/ failed: GET reg.example.com/v2/ → HTTP 503 (UNAVAILABLE: try later) (gave up after 2 attempts: HTTP 503)',
    );
    expect(err.data).toMatchObject({ status: 503, codes: ['UNAVAILABLE'], attempts: 2 });
  });

  test('a token server refusal is kind auth with the credential source in data', async () => {
    const { f } = fakeFetch(tokenRegistry({ tokenStatus: 401 }));
    const err = (await client(f)
      .request('GET', '/v2/team/app/manifests/v1')
      .catch((e: unknown) => e)) as ShiplineError;
    expect(err.kind).toBe('auth');
    expect(err.data).toMatchObject({
      status: 401,
      registry: 'reg.example.com',
      anonymous: false,
      credentialSource: CRED.source,
    });
  });

  test('no credentials: kind auth, data.anonymous', async () => {
    const c = new RegistryClient({
      registry: 'reg.example.com',
      configPath: '/x/config.json',
      send: fakeFetch(() => new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } })).f,
    });
    const err = (await c.request('GET', '/v2/').catch((e: unknown) => e)) as ShiplineError;
    expect(err.kind).toBe('auth');
    expect(err.data).toMatchObject({ anonymous: true, registry: 'reg.example.com' });
  });

  test('a TLS failure is not retried; data says whether plain HTTP was used, the hint names no input', async () => {
    let n = 0;
    const f: HttpSend = async () => {
      n++;
      throw Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    };
    const err = (await new RegistryClient({ registry: 'reg.example.com:5000', send: f, sleep: async () => undefined })
      .request('GET', '/v2/')
      .catch((e: unknown) => e)) as ShiplineError;
    expect(n).toBe(1);
    expect(err.message).toBe('cannot reach https://reg.example.com:5000 (GET /v2/): wrong version number');
    expect(err.data).toEqual({ registry: 'reg.example.com:5000', unreachable: true, plainHttp: false });
    expect(err.hint).not.toMatch(/input/);
  });
});

describe('deadlines and caps', () => {
  /** A send that records each request's deadline and takes `takes` ms of the fake clock per request. */
  function slowSend(clock: { now: number }, takes: number, answer: () => Promise<never> | ReturnType<HttpSend>) {
    const deadlines: number[] = [];
    const f: HttpSend = async (_url, req) => {
      deadlines.push(req.deadlineMs!);
      clock.now += Math.min(takes, req.deadlineMs!);
      return answer();
    };
    return { f, deadlines };
  }
  const late = () =>
    Promise.reject(
      Object.assign(new Error("127.0.0.1:5000 did not answer completely within 30 s (the request's deadline)"), {
        code: 'ETIMEDOUT',
        deadline: true,
        deadlineMs: 30_000,
      }),
    );

  test('each attempt gets 30 s, and no attempt runs past the 60 s of all attempts', async () => {
    const clock = { now: 1_000_000 };
    const { f, deadlines } = slowSend(clock, 30_000, late);
    const c = new RegistryClient({
      registry: '127.0.0.1:5000',
      send: f,
      sleep: async (ms) => void (clock.now += ms),
      now: () => clock.now,
      maxAttempts: 4,
    });
    const err = (await c.request('GET', '/v2/team/app/manifests/v1').catch((e: unknown) => e)) as ShiplineError;
    expect(deadlines[0]).toBe(30_000);
    expect(deadlines.length).toBeLessThanOrEqual(2);
    expect(deadlines.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(60_000);
    expect(clock.now - 1_000_000).toBeLessThanOrEqual(61_000);
    expect(err.kind).toBe('transient');
    expect(err.message).toMatch(
      /^GET http:\/\/127.0.0.1:5000\/v2\/team\/app\/manifests\/v1 failed: 127.0.0.1:5000 did not answer completely within 30 s/,
    );
    expect(err.data).toMatchObject({ registry: '127.0.0.1:5000', timedOut: true, deadlineMs: 30_000 });
  });

  test('the per-request deadline is an option; a blob stream passes its own (bounding its attempts too)', async () => {
    const clock = { now: 0 };
    const { f, deadlines } = slowSend(clock, 0, async () => cannedResponse(200));
    const c = new RegistryClient({
      registry: '127.0.0.1:5000',
      send: f,
      now: () => clock.now,
      requestDeadlineMs: 5000,
    });
    await c.request('GET', '/v2/');
    await c.request('GET', '/v2/team/app/blobs/x', { deadlineMs: 3_600_000 });
    expect(deadlines).toEqual([5000, 3_600_000]);
  });

  test('a body read inside the attempt (read:) that trickles past the deadline is retried like no answer', async () => {
    let n = 0;
    const f: HttpSend = async () => {
      n++;
      const res = cannedResponse(200, {}, '{}');
      return { ...res, buffer: late, text: late };
    };
    const c = new RegistryClient({ registry: '127.0.0.1:5000', send: f, sleep: async () => undefined, maxAttempts: 3 });
    await expect(c.request('GET', '/v2/team/app/manifests/v1', { read: { maxBytes: 100 } })).rejects.toMatchObject({
      kind: 'transient',
      data: { timedOut: true, attempts: 3 },
    });
    expect(n).toBe(3);
  });

  test('an error body over 64 KiB is dropped, not read whole; the status still classifies', async () => {
    const { f } = fakeFetch(() => new Response('x'.repeat(MAX_ERROR_BODY_BYTES + 1), { status: 400 }));
    const c = new RegistryClient({ registry: 'reg.example.com', send: f });
    const err = (await c.request('GET', '/v2/team/app/manifests/v1').catch((e: unknown) => e)) as ShiplineError;
    expect(err.message).toBe('GET reg.example.com/v2/team/app/manifests/v1 → HTTP 400');
    expect(err.kind).toBe('invalid');
  });

  test('a bearer realm on plain HTTP on another host gets nothing: kind invalid, nothing sent to the realm', async () => {
    const { f, calls } = fakeFetch(
      () =>
        new Response('', {
          status: 401,
          headers: { 'www-authenticate': 'Bearer realm="http://127.0.0.2:5001/token",service="s"' },
        }),
    );
    const c = new RegistryClient({ registry: '127.0.0.1:5000', send: f, credential: async () => CRED });
    await expect(c.request('GET', '/v2/team/app/manifests/v1')).rejects.toMatchObject({
      kind: 'invalid',
      data: { registry: '127.0.0.1:5000', realm: 'http://127.0.0.2:5001/token', problem: 'untrusted-realm' },
    });
    expect(calls.map((x) => new URL(x.url).host)).toEqual(['127.0.0.1:5000']);
    expect(calls.every((x) => !x.headers.authorization)).toBe(true);
  });
});
