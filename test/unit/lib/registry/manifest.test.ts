// Registry verbs over a client with a stubbed HTTP layer: all four media types asked for,
// digest verification, HEAD, and blob mount with the streamed-upload fallback.
import { RegistryClient } from '../../../../src/lib/registry/client';
import {
  digestOf,
  getManifest,
  headManifest,
  MANIFEST_ACCEPT,
  copyBlob,
  mediaTypeOf,
  MEDIA_TYPES,
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

test('mediaTypeOf: a specific Content-Type, else the manifest’s own field, else the generic header or Docker v2', () => {
  const oci = Buffer.from(JSON.stringify({ mediaType: MEDIA_TYPES.ociIndex }));
  expect(mediaTypeOf(oci, `${MEDIA_TYPES.ociManifest}; charset=utf-8`)).toBe(MEDIA_TYPES.ociManifest);
  expect(mediaTypeOf(oci, 'application/json')).toBe(MEDIA_TYPES.ociIndex);
  expect(mediaTypeOf(JSON.stringify({ mediaType: MEDIA_TYPES.ociIndex }))).toBe(MEDIA_TYPES.ociIndex);
  expect(mediaTypeOf('{}', 'application/json')).toBe('application/json');
  expect(mediaTypeOf('not json')).toBe(MEDIA_TYPES.dockerManifest);
});
