// Untagging over the Distribution API against a fake registry with Distribution's
// semantics (DELETE by digest takes every tag on it; tags/list pages by Link header):
// a tag alone goes, a tag sharing its digest or being an index's child stays, a missing
// tag is nothing to do, a dry run deletes nothing, and 405 says deletes are disabled.
import { RegistryClient } from '../../../../src/lib/registry/client';
import { deleteManifest, listTags, nextPage, untagViaRegistry } from '../../../../src/lib/registry/delete';
import { digestOf, MEDIA_TYPES } from '../../../../src/lib/registry/manifest';
import { fakeFetch } from '../../../support/fake-http';

const image = (n: number) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { n }, layers: [] }));
const index = (children: Buffer[]) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: children.map((c) => ({ mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(c), size: c.length })),
    }),
  );

/** A Distribution-like registry for one repository `team/app`: tags → manifest bytes. */
function fakeRegistry(tags: Record<string, Buffer>, opts: { pageSize?: number; deleteStatus?: number } = {}) {
  const held = new Map(Object.entries(tags));
  const blobs = new Map([...held.values()].map((b) => [digestOf(b), b]));
  const deletes: string[] = [];
  const { f, calls } = fakeFetch((url, init) => {
    const list = /^\/v2\/team\/app\/tags\/list$/.exec(url.pathname);
    if (list) {
      const all = [...held.keys()].sort();
      const n = Number(url.searchParams.get('n') ?? all.length);
      if (opts.pageSize && n > opts.pageSize)
        return new Response('{"errors":[{"code":"PAGINATION_NUMBER_INVALID"}]}', { status: 400 });
      const last = url.searchParams.get('last');
      const from = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(from, from + n);
      const headers: Record<string, string> = {};
      if (from + n < all.length) headers.link = `</v2/team/app/tags/list?last=${page.at(-1)}&n=${n}>; rel="next"`;
      return new Response(JSON.stringify({ name: 'team/app', tags: page }), { headers });
    }
    const m = /^\/v2\/team\/app\/manifests\/(.+)$/.exec(url.pathname);
    if (!m) return new Response(null, { status: 404 });
    const ref = m[1]!;
    if (init.method === 'DELETE') {
      if (opts.deleteStatus) return new Response(null, { status: opts.deleteStatus });
      if (!ref.startsWith('sha256:')) return new Response('{"errors":[{"code":"DIGEST_INVALID"}]}', { status: 400 });
      deletes.push(ref);
      if (!blobs.has(ref)) return new Response(null, { status: 404 });
      blobs.delete(ref);
      for (const [t, b] of held) if (digestOf(b) === ref) held.delete(t);
      return new Response(null, { status: 202 });
    }
    const bytes = ref.startsWith('sha256:') ? blobs.get(ref) : held.get(ref);
    if (!bytes) return new Response(null, { status: 404 });
    const mediaType = (JSON.parse(bytes.toString()) as { mediaType: string }).mediaType;
    return new Response(init.method === 'HEAD' ? null : bytes, {
      headers: { 'content-type': mediaType, 'docker-content-digest': digestOf(bytes) },
    });
  });
  const client = new RegistryClient({ registry: 'r.example.com', send: f, sleep: async () => undefined });
  const shown = () => calls.map((c) => `${c.method} ${new URL(c.url).pathname}${new URL(c.url).search}`);
  return { client, held, deletes, calls, shown };
}

const run = (r: ReturnType<typeof fakeRegistry>, tags: string[], dryRun = false) =>
  untagViaRegistry({ client: r.client, repository: 'team/app', tags, dryRun, log: () => undefined });

describe('untagViaRegistry', () => {
  test('a tag alone: its digest is deleted; the other images and their tags stay', async () => {
    const mr = image(1);
    const r = fakeRegistry({ 'MR-12': mr, latest: image(2), 'sha-1': image(2) });
    expect(await run(r, ['MR-12'])).toEqual([{ tag: 'MR-12', outcome: 'deleted', digest: digestOf(mr) }]);
    expect(r.deletes).toEqual([digestOf(mr)]);
    expect([...r.held.keys()].sort()).toEqual(['latest', 'sha-1']);
  });

  test('a tag sharing its digest with latest is kept, naming the tag, and nothing is deleted', async () => {
    const shared = image(1);
    const r = fakeRegistry({ 'MR-12': shared, latest: shared, other: image(3) });
    expect(await run(r, ['MR-12'])).toEqual([
      { tag: 'MR-12', outcome: 'kept', digest: digestOf(shared), sharedWith: ['latest'] },
    ]);
    expect(r.deletes).toEqual([]);
    expect(r.shown().filter((c) => c.startsWith('DELETE'))).toEqual([]);
  });

  test('a platform image of an index tagged by another tag is kept (deleting it would break the index)', async () => {
    const child = image(1);
    const r = fakeRegistry({ 'MR-12': child, latest: index([child, image(2)]) });
    expect(await run(r, ['MR-12'])).toEqual([
      { tag: 'MR-12', outcome: 'kept', digest: digestOf(child), childOf: ['latest'] },
    ]);
    expect(r.deletes).toEqual([]);
  });

  test('two asked tags on one digest, held by no other tag: one DELETE, both deleted', async () => {
    const mr = image(1);
    const r = fakeRegistry({ 'MR-12': mr, 'MR-12-tools': mr, latest: image(2) });
    const out = await run(r, ['MR-12', 'MR-12-tools']);
    expect(out.map((t) => t.outcome)).toEqual(['deleted', 'deleted']);
    expect(r.deletes).toEqual([digestOf(mr)]);
  });

  test('a missing tag is nothing to do: one HEAD, no listing, no DELETE', async () => {
    const r = fakeRegistry({ latest: image(2) });
    expect(await run(r, ['MR-12'])).toEqual([{ tag: 'MR-12', outcome: 'missing' }]);
    expect(r.shown()).toEqual(['HEAD /v2/team/app/manifests/MR-12']);
  });

  test('a re-run after a removal is a no-op', async () => {
    const r = fakeRegistry({ 'MR-12': image(1), latest: image(2) });
    await run(r, ['MR-12']);
    const before = r.calls.length;
    expect(await run(r, ['MR-12'])).toEqual([{ tag: 'MR-12', outcome: 'missing' }]);
    expect(r.calls.length - before).toBe(1);
  });

  test('dry run: reports would-delete and sends no DELETE', async () => {
    const mr = image(1);
    const r = fakeRegistry({ 'MR-12': mr, latest: image(2) });
    expect(await run(r, ['MR-12'], true)).toEqual([{ tag: 'MR-12', outcome: 'would-delete', digest: digestOf(mr) }]);
    expect(r.shown().filter((c) => c.startsWith('DELETE'))).toEqual([]);
    expect(r.held.has('MR-12')).toBe(true);
  });
});

describe('listTags', () => {
  test('follows Link pages', async () => {
    const tags = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`t${i}`, image(i)]));
    const r = fakeRegistry(tags);
    expect(await listTags(r.client, 'team/app', { pageSize: 2 })).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(r.shown()).toEqual([
      'GET /v2/team/app/tags/list?n=2',
      'GET /v2/team/app/tags/list?last=t1&n=2',
      'GET /v2/team/app/tags/list?last=t3&n=2',
    ]);
  });

  test('a registry with a smaller page limit is asked again without n', async () => {
    const r = fakeRegistry({ a: image(1), b: image(2) }, { pageSize: 100 });
    expect(await listTags(r.client, 'team/app')).toEqual(['a', 'b']);
    expect(r.shown()).toEqual(['GET /v2/team/app/tags/list?n=1000', 'GET /v2/team/app/tags/list']);
  });

  test('bounded: more pages than allowed is an error, not an endless loop', async () => {
    const tags = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`t${i}`, image(i)]));
    const r = fakeRegistry(tags);
    await expect(listTags(r.client, 'team/app', { pageSize: 1, maxPages: 3 })).rejects.toMatchObject({
      kind: 'failed',
      data: { tooManyTags: true },
    });
  });

  test('an unknown repository has no tags', async () => {
    const { f } = fakeFetch(() => new Response('{"errors":[{"code":"NAME_UNKNOWN"}]}', { status: 404 }));
    expect(await listTags(new RegistryClient({ registry: 'r.example.com', send: f }), 'team/none')).toEqual([]);
  });

  test.each([
    ['</v2/team/app/tags/list?last=b&n=2>; rel="next"', '/v2/team/app/tags/list?last=b&n=2'],
    ['<https://r.example.com/v2/team/app/tags/list?last=b>; rel=next', '/v2/team/app/tags/list?last=b'],
    ['</v2/team/other/tags/list?last=b>; rel="next"', undefined],
    ['</v2/team/app/tags/list?last=b>; rel="prev"', undefined],
    [null, undefined],
  ])('nextPage(%p)', (link, want) => {
    expect(nextPage(link, 'team/app')).toBe(want);
  });
});

describe('deleteManifest', () => {
  const d = `sha256:${'1'.repeat(64)}`;
  test('405: deletes disabled, kind denied with data.deleteDisabled', async () => {
    const r = fakeRegistry({}, { deleteStatus: 405 });
    await expect(deleteManifest(r.client, 'team/app', d)).rejects.toMatchObject({
      kind: 'denied',
      data: { deleteDisabled: true, status: 405 },
    });
  });
  test('404: already gone', async () => {
    const r = fakeRegistry({});
    expect(await deleteManifest(r.client, 'team/app', d)).toBe('missing');
  });
});
