// Promotion: give an image already in a registry more tags, or copy it to other
// repositories, digest-exact, over the registry API or ECR's. The source is read once,
// every target checked (idempotent re-runs, no silent tag moves), then only what is
// missing is written.
import { formatReference, type ImageRef } from './reference';
import { ShiplineError } from '../util/errors';
import { repositoryScope } from './auth';
import type { RegistryClient } from './client';
import { copyTree, getManifest, headManifest, isIndex, putManifest, type CopyStats } from './manifest';
import type { EcrSession } from './ecr-api';

export interface Target {
  ref: ImageRef & { tag: string };
  /** Same registry and repository as the source: a manifest PUT is all it takes. */
  sameRepo: boolean;
}

/** overwritten: PUT under overwrite without looking first, so what it held is unknown. */
export type Outcome = 'tagged' | 'moved' | 'unchanged' | 'copied' | 'overwritten';

export interface Promotion {
  digest: string;
  targets: { ref: string; outcome: Outcome; previous?: string; copy?: CopyStats }[];
}

/** A tag that holds another digest (the error's data.conflicts). */
export interface Conflict {
  ref: string;
  held: string;
}

/** Scopes per registry: push where we write, pull on the source (mount's `from`). */
export function promotionScopes(source: ImageRef, targets: Target[]): Map<string, string[]> {
  const scopes = new Map<string, string[]>();
  const add = (registry: string, s: string) => scopes.set(registry, [...(scopes.get(registry) ?? []), s]);
  add(source.registry, repositoryScope(source.repository, ['pull']));
  for (const t of targets) add(t.ref.registry, repositoryScope(t.ref.repository, ['pull', 'push']));
  return scopes;
}

function describeImage(source: ImageRef): string {
  return `registry ${source.registry}, repository ${source.repository}, ${source.digest ? `digest ${source.digest}` : `tag ${source.tag}`}`;
}

/** kind not-found, data.source: the image to promote is not there. */
function notFound(source: ImageRef, via: string): ShiplineError {
  return new ShiplineError(`source image not found (${describeImage(source)}; asked via ${via})`, {
    kind: 'not-found',
    data: { source: formatReference(source), registry: source.registry, repository: source.repository, via },
  });
}

/** kind conflict, data.conflicts: tags that would move, refused without overwrite. */
function conflictError(conflicts: Conflict[], digest: string): ShiplineError {
  const lines = conflicts.map((c) => `${c.ref} already points at ${c.held}`);
  return new ShiplineError(
    `refusing to move ${conflicts.length === 1 ? 'a tag' : `${conflicts.length} tags`} to ${digest}: ${lines.join('; ')}`,
    {
      kind: 'conflict',
      data: { conflicts, digest },
    },
  );
}

export interface RegistryPromotion {
  source: ImageRef;
  targets: Target[];
  overwrite: boolean;
  client: (registry: string) => RegistryClient;
  log: (msg: string) => void;
}

export async function promoteViaRegistry(p: RegistryPromotion): Promise<Promotion> {
  const src = p.client(p.source.registry);
  const m = await getManifest(src, p.source.repository, p.source.digest ?? p.source.tag!);
  if (!m) throw notFound(p.source, `the registry API at ${src.base}`);
  p.log(
    `source ${formatReference(p.source)}: ${m.digest} (${m.mediaType}${isIndex(m.mediaType) ? ', multi-platform index' : ''})`,
  );

  // Overwriting a tag in place needs no look first (GET + PUT, the 2-request minimum);
  // otherwise each target is HEADed so a re-run writes nothing and no tag moves silently.
  const looks = (t: Target) => !(p.overwrite && t.sameRepo);
  const state = await Promise.all(
    p.targets.map(async (t) =>
      looks(t) ? await headManifest(p.client(t.ref.registry), t.ref.repository, t.ref.tag) : undefined,
    ),
  );
  const conflicts: Conflict[] = [];
  p.targets.forEach((t, i) => {
    const held = state[i];
    if (held && held.digest !== m.digest && !p.overwrite)
      conflicts.push({ ref: formatReference(t.ref), held: held.digest });
  });
  if (conflicts.length) throw conflictError(conflicts, m.digest);

  const result: Promotion = { digest: m.digest, targets: [] };
  for (const [i, t] of p.targets.entries()) {
    const ref = formatReference(t.ref);
    const held = state[i];
    if (held?.digest === m.digest) {
      result.targets.push({ ref, outcome: 'unchanged' });
      continue;
    }
    const previous = held ? { previous: held.digest } : {};
    if (t.sameRepo) {
      await putManifest(src, t.ref.repository, t.ref.tag, m);
      result.targets.push({ ref, outcome: held ? 'moved' : looks(t) ? 'tagged' : 'overwritten', ...previous });
    } else {
      const copy = await copyTree(src, p.source.repository, p.client(t.ref.registry), t.ref.repository, m, t.ref.tag);
      result.targets.push({ ref, outcome: 'copied', ...previous, copy });
    }
  }
  return result;
}

export interface EcrPromotion {
  source: ImageRef;
  targets: Target[];
  overwrite: boolean;
  session: EcrSession;
  log: (msg: string) => void;
}

/** Within one ECR repository: one BatchGetImage for the source and every tag, a PutImage per tag that needs it. */
export async function promoteViaEcr(p: EcrPromotion): Promise<Promotion> {
  const tags = p.targets.map((t) => t.ref.tag);
  const { source, tags: held } = await p.session.get({ tag: p.source.tag, digest: p.source.digest }, tags);
  if (!source) throw notFound(p.source, 'ECR BatchGetImage');
  p.log(`source ${formatReference(p.source)}: ${source.digest} (${source.mediaType})`);
  const conflicts = p.targets.filter((t) => held.has(t.ref.tag) && held.get(t.ref.tag) !== source.digest);
  if (conflicts.length && !p.overwrite)
    throw conflictError(
      conflicts.map((t) => ({ ref: formatReference(t.ref), held: held.get(t.ref.tag)! })),
      source.digest,
    );
  const result: Promotion = { digest: source.digest, targets: [] };
  for (const t of p.targets) {
    const ref = formatReference(t.ref);
    const before = held.get(t.ref.tag);
    if (before === source.digest) {
      result.targets.push({ ref, outcome: 'unchanged' });
      continue;
    }
    const outcome = await p.session.put(source, t.ref.tag);
    result.targets.push({
      ref,
      outcome: outcome === 'unchanged' ? 'unchanged' : before ? 'moved' : 'tagged',
      ...(before ? { previous: before } : {}),
    });
  }
  return result;
}
