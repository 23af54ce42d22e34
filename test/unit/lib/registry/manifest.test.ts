// Registry verbs over a client with a stubbed HTTP layer: all four media types asked for,
// digest verification (sha256/sha512 only, each in its own algorithm), the 4 MiB manifest
// cap, HEAD, and blob mount with the streamed-upload fallback.
import { RegistryClient } from '../../../../src/lib/registry/client';
import {
  digestOf,
  getManifest,
  headManifest,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  copyBlob,
  mediaTypeOf,
  MEDIA_TYPES,
  putManifest,
  references,
  type Manifest,
} from '../../../../src/lib/registry/manifest';
import { fakeFetch } from '../../../support/fake-http';

describe('manifests', () => {
  const bytes = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}');
  const digest = digestOf(bytes);

  test('GET asks for all four media types and verifies the digest', async () => {
    const { f, calls } = fakeFetch(
      () =>
        new Response(bytes, {
          headers: { 'content-type': 'application/vnd.oci.image.index.v1+json', 'docker-content-digest': digest },
        }),
    );
    const m = (await getManifest(
      new RegistryClient({ registry: 'r.example.com', send: f }),
      'team/app',
      'v1',
    )) as Manifest;
    expect(calls[0]!.headers.accept).toBe(MANIFEST_ACCEPT);
    expect(MANIFEST_ACCEPT.split(', ')).toHaveLength(4);
    expect(m.digest).toBe(digest);
    expect(m.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(m.bytes.equals(bytes)).toBe(true);
  });

  test('bytes that do not hash to the claimed or asked digest are refused', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const { f } = fakeFetch(
      () =>
        new Response(bytes, {
          headers: { 'content-type': 'application/vnd.oci.image.index.v1+json', 'docker-content-digest': wrong },
        }),
    );
    await expect(
      getManifest(new RegistryClient({ registry: 'r.example.com', send: f }), 'team/app', 'v1'),
    ).rejects.toThrow(`does not match its digest: expected ${wrong}, the bytes hash to ${digest}`);
    const g = fakeFetch(
      () => new Response(bytes, { headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } }),
    );
    await expect(
      getManifest(new RegistryClient({ registry: 'r.example.com', send: g.f }), 'team/app', wrong),
    ).rejects.toThrow('does not match its digest');
  });

  test('HEAD: absent is undefined, present gives the digest', async () => {
    const { f } = fakeFetch((u) =>
      u.pathname.endsWith('/nope')
        ? new Response(null, { status: 404 })
        : new Response(null, {
            headers: { 'docker-content-digest': digest, 'content-type': 'application/vnd.oci.image.index.v1+json' },
          }),
    );
    const c = new RegistryClient({ registry: 'r.example.com', send: f });
    expect(await headManifest(c, 'team/app', 'nope')).toBeUndefined();
    expect(await headManifest(c, 'team/app', 'v1')).toEqual({
      digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
    });
  });

  test('blob mount: 201 is done; 202 falls back to streaming the blob to the upload URL', async () => {
    const blob = Buffer.from('layer bytes');
    const d = digestOf(blob);
    let mount = 201;
    const { f, calls } = fakeFetch((u, init) => {
      if (init.method === 'POST')
        return new Response(null, { status: mount, headers: { location: '/v2/team/dst/blobs/uploads/abc?_state=x' } });
      if (init.method === 'GET') return new Response(blob, { headers: { 'content-length': String(blob.length) } });
      return new Response(null, { status: 201 });
    });
    const c = new RegistryClient({ registry: 'r.example.com', send: f });
    expect(await copyBlob(c, 'team/src', c, 'team/dst', { digest: d, size: blob.length, mediaType: 'x' })).toBe(
      'mounted',
    );
    expect(calls.map((x) => `${x.method} ${new URL(x.url).pathname}${new URL(x.url).search}`)).toEqual([
      `POST /v2/team/dst/blobs/uploads/?mount=${encodeURIComponent(d)}&from=team%2Fsrc`,
    ]);
    mount = 202;
    calls.length = 0;
    expect(await copyBlob(c, 'team/src', c, 'team/dst', { digest: d, size: blob.length, mediaType: 'x' })).toBe(
      'uploaded',
    );
    expect(calls.map((x) => x.method)).toEqual(['POST', 'GET', 'PUT']);
    const put = new URL(calls[2]!.url);
    expect(put.pathname).toBe('/v2/team/dst/blobs/uploads/abc');
    expect(put.searchParams.get('_state')).toBe('x');
    expect(put.searchParams.get('digest')).toBe(d);
  });
});

describe('what a registry may not make us believe', () => {
  const bytes = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}');
  const oci = { 'content-type': MEDIA_TYPES.ociManifest };
  const client = (h: Parameters<typeof fakeFetch>[0]) =>
    new RegistryClient({ registry: 'r.example.com', send: fakeFetch(h).f, sleep: async () => undefined });
  const md5 = `md5:${'0'.repeat(32)}`;

  test.each([
    ['GET', (c: RegistryClient) => getManifest(c, 'team/app', 'v1')],
    ['HEAD', (c: RegistryClient) => headManifest(c, 'team/app', 'v1')],
    [
      'PUT',
      (c: RegistryClient) =>
        putManifest(c, 'team/app', 'v2', { bytes, mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(bytes) }),
    ],
  ])('%s: a Docker-Content-Digest of md5 is refused (kind invalid, data.problem)', async (_m, call) => {
    const c = client(() => new Response(bytes, { status: 200, headers: { ...oci, 'docker-content-digest': md5 } }));
    await expect(call(c)).rejects.toMatchObject({
      kind: 'invalid',
      message: `r.example.com sent Docker-Content-Digest '${md5}', not a sha256 or sha512 digest; shipline accepts no other algorithm`,
      data: { registry: 'r.example.com', digest: md5, problem: 'digest-algorithm' },
    });
  });

  test('sha512: asked-for and claimed digests are each checked in their own algorithm', async () => {
    const sha512 = digestOf(bytes, 'sha512');
    const c = client(
      () => new Response(bytes, { headers: { ...oci, 'docker-content-digest': digestOf(bytes) } }), // sha256 claimed
    );
    const m = await getManifest(c, 'team/app', sha512);
    expect(m!.digest).toBe(sha512);
    const bad = `sha512:${'0'.repeat(128)}`;
    await expect(getManifest(c, 'team/app', bad)).rejects.toThrow(`expected ${bad}, the bytes hash to ${sha512}`);
    // A PUT answered with the sha256 of the same bytes is the same manifest.
    await expect(
      putManifest(
        client(() => new Response(null, { status: 201, headers: { 'docker-content-digest': digestOf(bytes) } })),
        'team/app',
        'v2',
        {
          bytes,
          mediaType: MEDIA_TYPES.ociManifest,
          digest: sha512,
        },
      ),
    ).resolves.toBeUndefined();
  });

  test('HEAD by digest answered with another digest is refused', async () => {
    const c = client(
      () => new Response(null, { headers: { ...oci, 'docker-content-digest': `sha256:${'1'.repeat(64)}` } }),
    );
    await expect(headManifest(c, 'team/app', digestOf(bytes))).rejects.toMatchObject({ kind: 'invalid' });
  });

  test.each([
    ['announced', true],
    ['unannounced', false],
  ])('a manifest over 4 MiB (%s) is refused, not retried, with a hint', async (_n, announce) => {
    let n = 0;
    const big = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 'a');
    const c = client(() => {
      n++;
      return new Response(big, { headers: { ...oci, ...(announce ? { 'content-length': String(big.length) } : {}) } });
    });
    const err = (await getManifest(c, 'team/app', 'v1').catch((e: unknown) => e)) as Error & {
      kind: string;
      hint: string;
      data: Record<string, unknown>;
    };
    expect(err.message).toContain('the manifest of r.example.com/team/app:v1 is larger than 4.0 MiB');
    expect(err.kind).toBe('invalid');
    expect(err.hint).toContain('4 MiB');
    expect(err.data).toMatchObject({
      tooLarge: true,
      limit: 4 * 1024 * 1024,
      registry: 'r.example.com',
      repository: 'team/app',
      ref: 'v1',
    });
    expect(n).toBe(1);
    expect(MAX_MANIFEST_BYTES).toBe(4 * 1024 * 1024);
  });

  test('a manifest of exactly 4 MiB is read', async () => {
    const exact = Buffer.concat([bytes, Buffer.alloc(MAX_MANIFEST_BYTES - bytes.length, ' ')]);
    const c = client(() => new Response(exact, { headers: oci }));
    expect((await getManifest(c, 'team/app', 'v1'))!.bytes.length).toBe(MAX_MANIFEST_BYTES);
  });

  test('descriptors whose digest is not sha256/sha512 (md5, a path) are refused before any URL is built', () => {
    for (const digest of [md5, '../../../v2/other/manifests/x']) {
      const doc = Buffer.from(
        JSON.stringify({ mediaType: MEDIA_TYPES.ociManifest, layers: [{ digest, size: 1, mediaType: 'x' }] }),
      );
      expect(() => references({ bytes: doc, mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(doc) })).toThrow(
        'not a sha256 or sha512 digest',
      );
    }
    expect(() =>
      references({ bytes: Buffer.from('nope'), mediaType: MEDIA_TYPES.ociManifest, digest: 'sha256:x' }),
    ).toThrow('is not JSON');
  });
});

test('mediaTypeOf: a specific Content-Type, else the manifest’s own field, else the generic header or Docker v2', () => {
  const oci = Buffer.from(JSON.stringify({ mediaType: MEDIA_TYPES.ociIndex }));
  expect(mediaTypeOf(oci, `${MEDIA_TYPES.ociManifest}; charset=utf-8`)).toBe(MEDIA_TYPES.ociManifest);
  expect(mediaTypeOf(oci, 'application/json')).toBe(MEDIA_TYPES.ociIndex);
  expect(mediaTypeOf(JSON.stringify({ mediaType: MEDIA_TYPES.ociIndex }))).toBe(MEDIA_TYPES.ociIndex);
  expect(mediaTypeOf('{}', 'application/json')).toBe('application/json');
  expect(mediaTypeOf('not json')).toBe(MEDIA_TYPES.dockerManifest);
});
