// Removing tags over the OCI Distribution API. Distribution has no tag delete: the only
// verb is DELETE of a manifest by digest, and it takes every tag on that digest with it.
// So a tag is deleted only when no other tag of the repository points at its digest or at
// an index that holds it (the seed's warning: "you don't want to define a rule that
// deletes an old image that is also tagged as your latest"); otherwise it is kept, and
// the caller says why. A missing tag is success: there is nothing to do.
import { ShiplineError } from '../util/errors';
import type { RegistryClient } from './client';
import { getManifest, headManifest, isIndex, references } from './manifest';

/** Tags asked per page of `tags/list`, and the most pages followed (Link: rel="next"). */
export const TAG_PAGE_SIZE = 1000;
export const MAX_TAG_PAGES = 100;

/**
 * Every tag of a repository, following the `Link: <…>; rel="next"` pages of
 * `GET /v2/<repo>/tags/list?n=…`; [] when the registry does not know the repository.
 */
export async function listTags(
  c: RegistryClient,
  repository: string,
  opts: { pageSize?: number; maxPages?: number } = {},
): Promise<string[]> {
  const pageSize = opts.pageSize ?? TAG_PAGE_SIZE;
  const maxPages = opts.maxPages ?? MAX_TAG_PAGES;
  const tags: string[] = [];
  let path: string | undefined = `/v2/${repository}/tags/list?n=${pageSize}`;
  for (let page = 0; path; page++) {
    if (page >= maxPages) {
      throw new ShiplineError(
        `${c.registry}/${repository} has more than ${maxPages * pageSize} tags (${maxPages} pages of tags/list)`,
        { kind: 'failed', data: { registry: c.registry, repository, tooManyTags: true, pages: maxPages } },
      );
    }
    const res = await c.request('GET', path, { ok: [200, 404, 400] });
    if (res.status === 404) {
      await res.discard();
      return tags;
    }
    if (res.status === 400) {
      // A registry with a smaller page limit (PAGINATION_NUMBER_INVALID): ask for its own page size.
      const text = await res.text({ maxBytes: 64 * 1024 }).catch(() => '');
      if (page > 0 || !/PAGINATION_NUMBER_INVALID/.test(text))
        throw new ShiplineError(`GET ${c.registry}${path.replace(/\?.*$/, '')} → HTTP 400 (${text.slice(0, 300)})`, {
          kind: 'invalid',
          data: { registry: c.registry, repository, status: 400 },
        });
      path = `/v2/${repository}/tags/list`;
      continue;
    }
    const body = JSON.parse((await res.text()) || '{}') as { tags?: unknown };
    if (Array.isArray(body.tags)) for (const t of body.tags) if (typeof t === 'string') tags.push(t);
    path = nextPage(res.headers.get('link'), repository);
  }
  return tags;
}

/** The path of a `Link: </v2/…/tags/list?last=…&n=…>; rel="next"` header, kept inside the repository. */
export function nextPage(link: string | null | undefined, repository: string): string | undefined {
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link ?? '');
  if (!m) return undefined;
  const url = new URL(m[1]!, 'http://registry.invalid');
  // Never follow a link to another repository (or host): the page is ours or nothing.
  if (url.pathname !== `/v2/${repository}/tags/list`) return undefined;
  return `${url.pathname}${url.search}`;
}

/**
 * DELETE a manifest by digest: 'deleted', or 'missing' when the registry no longer has it.
 * A registry that refuses deletes (Distribution without `storage.delete.enabled` answers
 * 405 UNSUPPORTED) is kind 'denied' with data.deleteDisabled.
 */
export async function deleteManifest(
  c: RegistryClient,
  repository: string,
  digest: string,
): Promise<'deleted' | 'missing'> {
  const res = await c.request('DELETE', `/v2/${repository}/manifests/${digest}`, { ok: [202, 200, 204, 404, 405] });
  const status = res.status;
  await res.discard();
  if (status === 404) return 'missing';
  if (status === 405) {
    throw new ShiplineError(`${c.registry} does not allow deleting manifests (DELETE ${repository}@${digest} → 405)`, {
      kind: 'denied',
      data: { registry: c.registry, repository, digest, status, deleteDisabled: true },
    });
  }
  return 'deleted';
}

/** What became of one asked tag. */
export type UntagOutcome = 'deleted' | 'would-delete' | 'kept' | 'missing';

export interface TagResult {
  tag: string;
  outcome: UntagOutcome;
  /** The manifest (or index) digest the tag pointed at. */
  digest?: string;
  /** kept: the other tags on the same digest. */
  sharedWith?: string[];
  /** kept: the other tags whose index lists this digest as a child. */
  childOf?: string[];
}

export interface RegistryUntag {
  client: RegistryClient;
  repository: string;
  tags: string[];
  dryRun: boolean;
  log: (msg: string) => void;
  /** HEAD/GET requests at once while looking at the repository's other tags (default 8). */
  concurrency?: number;
}

/**
 * Untags over the Distribution API: HEAD each asked tag; when any exists, list the
 * repository's tags, HEAD the others (and read the indexes among them), then DELETE each
 * digest that only asked tags hold. Nothing is deleted in a dry run. Results are in the
 * order of `tags`.
 */
export async function untagViaRegistry(p: RegistryUntag): Promise<TagResult[]> {
  const limit = p.concurrency ?? 8;
  const asked = [...new Set(p.tags)];
  const held = new Map<string, string>();
  await pool(asked, limit, async (tag) => {
    const h = await headManifest(p.client, p.repository, tag);
    if (h) held.set(tag, h.digest);
  });
  if (held.size === 0) return asked.map((tag) => ({ tag, outcome: 'missing' }));

  // Who else points at these digests: other tags on the same digest, or on an index
  // that lists it as a child (deleting the child would break that index).
  const wanted = new Set(held.values());
  const others = (await listTags(p.client, p.repository)).filter((t) => !asked.includes(t));
  const sharedWith = new Map<string, string[]>();
  const childOf = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, digest: string, tag: string) => m.set(digest, [...(m.get(digest) ?? []), tag]);
  await pool(others, limit, async (tag) => {
    const h = await headManifest(p.client, p.repository, tag);
    if (!h) return; // deleted since the listing
    if (wanted.has(h.digest)) add(sharedWith, h.digest, tag);
    if (!isIndex(h.mediaType)) return;
    const index = await getManifest(p.client, p.repository, h.digest);
    for (const child of index ? references(index).manifests : [])
      if (wanted.has(child.digest)) add(childOf, child.digest, tag);
  });
  p.log(`${p.client.registry}/${p.repository}: ${others.length} other tag${others.length === 1 ? '' : 's'} looked at`);

  const done = new Map<string, 'deleted' | 'missing'>();
  const results: TagResult[] = [];
  for (const tag of asked) {
    const digest = held.get(tag);
    if (!digest) {
      results.push({ tag, outcome: 'missing' });
      continue;
    }
    const shared = (sharedWith.get(digest) ?? []).sort();
    const parents = (childOf.get(digest) ?? []).sort();
    if (shared.length || parents.length) {
      results.push({
        tag,
        outcome: 'kept',
        digest,
        ...(shared.length ? { sharedWith: shared } : {}),
        ...(parents.length ? { childOf: parents } : {}),
      });
      continue;
    }
    if (p.dryRun) {
      results.push({ tag, outcome: 'would-delete', digest });
      continue;
    }
    // Two asked tags on one digest go with one DELETE.
    let outcome = done.get(digest);
    if (!outcome) {
      outcome = await deleteManifest(p.client, p.repository, digest);
      done.set(digest, outcome);
    }
    results.push({ tag, outcome, digest });
  }
  return results;
}

/** Runs fn over items with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
