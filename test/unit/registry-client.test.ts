// The registry transport and verbs with a stubbed HTTP layer: challenge parsing, one token for
// all scopes shared by parallel requests, reuse and renewal, Retry-After, auth errors that
// name the credential source (never the value), digest verification, loopback-only HTTP.
import { mergeScopes, parseChallenge, scopesCover } from '../../src/lib/registry/auth';
import { apiHost, isLoopback, RegistryClient } from '../../src/lib/registry/client';
import { digestOf, getManifest, headManifest, MANIFEST_ACCEPT, copyBlob, type Manifest } from '../../src/lib/registry/manifest';
import { cannedResponse, type HttpSend } from '../../src/lib/util/http';
import { parseEcrHost } from '../../src/lib/registry/ecr-host';

type Handler = (url: URL, init: RequestInit) => Response | Promise<Response>;

/** A fake HTTP layer answering with web Responses (handy to write), converted. */
function fakeFetch(handler: Handler) {
  const calls: { url: string; method: string; headers: Record<string, string> }[] = [];
  const f: HttpSend = async (input, req) => {
    const url = new URL(input);
    calls.push({ url: url.toString(), method: req.method, headers: { ...req.headers } });
    const r = await handler(url, { method: req.method, headers: req.headers });
    return cannedResponse(r.status, Object.fromEntries(r.headers), Buffer.from(await r.arrayBuffer()));
  };
  return { f, calls };
}

const CRED = { username: 'ci', password: 'pa55-secret-value', source: 'auths["reg.example.com"] in /home/ci/.docker/config.json' };
const bearer = 'Bearer realm="https://auth.example.com/token",service="reg.example.com",scope="repository:team/app:pull"';

function tokenRegistry(opts: { expiresIn?: number; tokenStatus?: number } = {}) {
  let issued = 0;
  const h: Handler = (url, init) => {
    if (url.host === 'auth.example.com') {
      if (opts.tokenStatus) return new Response('{"details":"nope"}', { status: opts.tokenStatus });
      issued++;
      return Response.json({ token: `tok-${issued}`, expires_in: opts.expiresIn ?? 300 });
    }
    const auth = (init.headers as Record<string, string>).authorization;
    if (!auth?.startsWith('Bearer tok-')) return new Response('', { status: 401, headers: { 'www-authenticate': bearer } });
    return new Response('{}', { status: 200, headers: { 'docker-content-digest': digestOf(Buffer.from('{}')), 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
  };
  return h;
}

const client = (f: HttpSend, extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) =>
  new RegistryClient({ registry: 'reg.example.com', scopes: ['repository:team/app:pull,push', 'repository:team/base:pull'], credential: async () => CRED, send: f, sleep: async () => undefined, ...extra });

describe('challenges and scopes', () => {
  test('parses Bearer and Basic challenges, quoted commas included', () => {
    expect(parseChallenge('Bearer realm="https://a/token",service="r",scope="repository:x:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://a/token', service: 'r', scope: 'repository:x:pull,push' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });

  test('scopes merge per resource and cover checks actions', () => {
    expect(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull'])).toEqual(['repository:a:pull,push', 'repository:b:pull']);
    expect(scopesCover(['repository:a:pull,push'], ['repository:a:pull'])).toBe(true);
    expect(scopesCover(['repository:a:pull'], ['repository:a:push'])).toBe(false);
    expect(scopesCover(['repository:a:pull'], ['repository:b:pull'])).toBe(false);
  });

  test('plain HTTP only for loopback (or when asked)', () => {
    for (const h of ['127.0.0.1:5000', '127.1.2.3', 'localhost:5000', 'localhost', '[::1]:5000']) expect(isLoopback(h)).toBe(true);
    for (const h of ['registry.example.com', '10.0.0.1:5000', 'localhost.example.com', '128.0.0.1']) expect(isLoopback(h)).toBe(false);
    expect(new RegistryClient({ registry: 'localhost:5000' }).base).toBe('http://localhost:5000');
    expect(new RegistryClient({ registry: 'reg.example.com' }).base).toBe('https://reg.example.com');
    expect(new RegistryClient({ registry: 'reg.example.com:5000', insecure: true }).base).toBe('http://reg.example.com:5000');
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
  });

  test('ECR host names give account and region', () => {
    expect(parseEcrHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({ account: '123456789012', region: 'eu-west-1' });
    expect(parseEcrHost('registry.example.com')).toBeUndefined();
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
    expect(tokenCalls[0]!.headers.authorization).toBe(`Basic ${Buffer.from('ci:pa55-secret-value').toString('base64')}`);
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
    expect(String(err)).toContain('refused the credentials (HTTP 401); credential source: auths["reg.example.com"] in /home/ci/.docker/config.json');
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
      return a === `Basic ${Buffer.from('ci:pa55-secret-value').toString('base64')}` ? new Response('ok') : new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } });
    });
    const c = client(f);
    expect((await c.request('GET', '/v2/')).status).toBe(200);
    expect(calls).toHaveLength(2);
    const bad = client(fakeFetch(() => new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } })).f);
    await expect(bad.request('GET', '/v2/')).rejects.toThrow(/refused the credentials.*credential source: auths\["reg.example.com"\]/);
  });

  test('no credentials: says none were found', async () => {
    const c = new RegistryClient({ registry: 'reg.example.com', configPath: '/x/config.json', send: fakeFetch(() => new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } })).f });
    await expect(c.request('GET', '/v2/')).rejects.toThrow('reg.example.com needs credentials and none were found (no credentials (anonymous; none found for this registry in /x/config.json))');
  });

  test('429 and 503 retry honouring Retry-After; 404 and 403 do not', async () => {
    const sleeps: number[] = [];
    const statuses = [429, 503, 200];
    const { f, calls } = fakeFetch(() => new Response('', { status: statuses.shift()!, headers: { 'retry-after': '3' } }));
    const c = new RegistryClient({ registry: 'reg.example.com', send: f, sleep: async (ms) => void sleeps.push(ms) });
    expect((await c.request('GET', '/v2/')).status).toBe(200);
    expect(calls).toHaveLength(3);
    expect(sleeps.every((ms) => ms >= 3000)).toBe(true);

    const denied = fakeFetch(() => Response.json({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }, { status: 403 }));
    const d = new RegistryClient({ registry: 'reg.example.com', send: denied.f, sleep: async () => undefined });
    await expect(d.request('PUT', '/v2/team/app/manifests/v1')).rejects.toThrow('PUT reg.example.com/v2/team/app/manifests/v1 → HTTP 403 (DENIED: requested access to the resource is denied)');
    expect(denied.calls).toHaveLength(1);
  });

  test('a network error names the address and retries', async () => {
    let n = 0;
    const f: HttpSend = async () => {
      n++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    };
    const c = new RegistryClient({ registry: '127.0.0.1:1', send: f, sleep: async () => undefined, maxAttempts: 3 });
    await expect(c.request('GET', '/v2/')).rejects.toThrow(/GET http:\/\/127.0.0.1:1\/v2\/ failed: connect ECONNREFUSED 127.0.0.1:1 \(gave up after 3 attempts/);
    expect(n).toBe(3);
  });
});

describe('manifests', () => {
  const bytes = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}');
  const digest = digestOf(bytes);

  test('GET asks for all four media types and verifies the digest', async () => {
    const { f, calls } = fakeFetch(() => new Response(bytes, { headers: { 'content-type': 'application/vnd.oci.image.index.v1+json', 'docker-content-digest': digest } }));
    const m = (await getManifest(new RegistryClient({ registry: 'r.example.com', send: f }), 'team/app', 'v1')) as Manifest;
    expect(calls[0]!.headers.accept).toBe(MANIFEST_ACCEPT);
    expect(MANIFEST_ACCEPT.split(', ')).toHaveLength(4);
    expect(m.digest).toBe(digest);
    expect(m.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(m.bytes.equals(bytes)).toBe(true);
  });

  test('bytes that do not hash to the claimed or asked digest are refused', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const { f } = fakeFetch(() => new Response(bytes, { headers: { 'content-type': 'application/vnd.oci.image.index.v1+json', 'docker-content-digest': wrong } }));
    await expect(getManifest(new RegistryClient({ registry: 'r.example.com', send: f }), 'team/app', 'v1')).rejects.toThrow(`does not match its digest: expected ${wrong}, the bytes hash to ${digest}`);
    const g = fakeFetch(() => new Response(bytes, { headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } }));
    await expect(getManifest(new RegistryClient({ registry: 'r.example.com', send: g.f }), 'team/app', wrong)).rejects.toThrow('does not match its digest');
  });

  test('HEAD: absent is undefined, present gives the digest', async () => {
    const { f } = fakeFetch((u) => (u.pathname.endsWith('/nope') ? new Response(null, { status: 404 }) : new Response(null, { headers: { 'docker-content-digest': digest, 'content-type': 'application/vnd.oci.image.index.v1+json' } })));
    const c = new RegistryClient({ registry: 'r.example.com', send: f });
    expect(await headManifest(c, 'team/app', 'nope')).toBeUndefined();
    expect(await headManifest(c, 'team/app', 'v1')).toEqual({ digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
  });

  test('blob mount: 201 is done; 202 falls back to streaming the blob to the upload URL', async () => {
    const blob = Buffer.from('layer bytes');
    const d = digestOf(blob);
    let mount = 201;
    const { f, calls } = fakeFetch((u, init) => {
      if (init.method === 'POST') return new Response(null, { status: mount, headers: { location: '/v2/team/dst/blobs/uploads/abc?_state=x' } });
      if (init.method === 'GET') return new Response(blob, { headers: { 'content-length': String(blob.length) } });
      return new Response(null, { status: 201 });
    });
    const c = new RegistryClient({ registry: 'r.example.com', send: f });
    expect(await copyBlob(c, 'team/src', c, 'team/dst', { digest: d, size: blob.length, mediaType: 'x' })).toBe('mounted');
    expect(calls.map((x) => `${x.method} ${new URL(x.url).pathname}${new URL(x.url).search}`)).toEqual([`POST /v2/team/dst/blobs/uploads/?mount=${encodeURIComponent(d)}&from=team%2Fsrc`]);
    mount = 202;
    calls.length = 0;
    expect(await copyBlob(c, 'team/src', c, 'team/dst', { digest: d, size: blob.length, mediaType: 'x' })).toBe('uploaded');
    expect(calls.map((x) => x.method)).toEqual(['POST', 'GET', 'PUT']);
    const put = new URL(calls[2]!.url);
    expect(put.pathname).toBe('/v2/team/dst/blobs/uploads/abc');
    expect(put.searchParams.get('_state')).toBe('x');
    expect(put.searchParams.get('digest')).toBe(d);
  });
});
