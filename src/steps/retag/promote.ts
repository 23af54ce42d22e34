// The retag itself, over the registry API or ECR's: read the source once, check every
// target (idempotent re-runs, no silent tag moves), then write only what is missing.
import { formatReference, type ImageRef } from '../../lib/registry/reference';
import { ShiplineError } from '../../lib/util/errors';
import type { RegistryClient } from '../../lib/registry/client';
import { copyTree, getManifest, headManifest, isIndex, putManifest, type CopyStats } from '../../lib/registry/manifest';
import type { EcrSession } from '../../lib/registry/ecr-api';
import type { Target } from './plan';

/** overwritten: PUT under overwrite without looking first, so what it held is unknown. */
export type Outcome = 'tagged' | 'moved' | 'unchanged' | 'copied' | 'overwritten';

export interface Result {
  digest: string;
  mediaType: string;
  targets: { ref: string; outcome: Outcome; previous?: string; copy?: CopyStats }[];
  /** Request counts, for the log. */
  requests?: string;
}

export function describeSource(source: ImageRef): string {
  return `registry ${source.registry}, repository ${source.repository}, ${source.digest ? `digest ${source.digest}` : `tag ${source.tag}`}`;
}

function notFound(source: ImageRef, via: string): ShiplineError {
  return new ShiplineError(`source image not found (${describeSource(source)}; asked via ${via})`, {
    hint: 'check the source reference: was the image pushed under this tag (e.g. by the build job of the same commit)?',
  });
}

function conflictError(conflicts: { ref: string; held: string }[], digest: string): ShiplineError {
  const lines = conflicts.map((c) => `${c.ref} already points at ${c.held}`);
  return new ShiplineError(`refusing to move ${conflicts.length === 1 ? 'a tag' : `${conflicts.length} tags`} to ${digest}: ${lines.join('; ')}`, {
    hint: 'set input overwrite: true to move it, or pick a tag that is not in use',
  });
}

export interface RegistryPromotion {
  source: ImageRef;
  targets: Target[];
  overwrite: boolean;
  client: (registry: string) => RegistryClient;
  log: (msg: string) => void;
}

export async function promoteViaRegistry(p: RegistryPromotion): Promise<Result> {
  const src = p.client(p.source.registry);
  const m = await getManifest(src, p.source.repository, p.source.digest ?? p.source.tag!);
  if (!m) throw notFound(p.source, `the registry API at ${src.base}`);
  p.log(`source ${formatReference(p.source)}: ${m.digest} (${m.mediaType}${isIndex(m.mediaType) ? ', multi-platform index' : ''})`);

  // Overwriting a tag in place needs no look first (GET + PUT, the 2-request minimum);
  // otherwise each target is HEADed so a re-run writes nothing and no tag moves silently.
  const looks = (t: Target) => !(p.overwrite && t.sameRepo);
  const state = await Promise.all(p.targets.map(async (t) => (looks(t) ? await headManifest(p.client(t.ref.registry), t.ref.repository, t.ref.tag) : undefined)));
  const conflicts: { ref: string; held: string }[] = [];
  p.targets.forEach((t, i) => {
    const held = state[i];
    if (held && held.digest !== m.digest && !p.overwrite) conflicts.push({ ref: formatReference(t.ref), held: held.digest });
  });
  if (conflicts.length) throw conflictError(conflicts, m.digest);

  const result: Result = { digest: m.digest, mediaType: m.mediaType, targets: [] };
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

export async function promoteViaEcr(p: EcrPromotion): Promise<Result> {
  const tags = p.targets.map((t) => t.ref.tag);
  const { source, tags: held } = await p.session.get({ tag: p.source.tag, digest: p.source.digest }, tags);
  if (!source) throw notFound(p.source, 'ECR BatchGetImage');
  p.log(`source ${formatReference(p.source)}: ${source.digest} (${source.mediaType})`);
  const conflicts = p.targets.filter((t) => held.has(t.ref.tag) && held.get(t.ref.tag) !== source.digest);
  if (conflicts.length && !p.overwrite) throw conflictError(conflicts.map((t) => ({ ref: formatReference(t.ref), held: held.get(t.ref.tag)! })), source.digest);
  const result: Result = { digest: source.digest, mediaType: source.mediaType, targets: [] };
  for (const t of p.targets) {
    const ref = formatReference(t.ref);
    const before = held.get(t.ref.tag);
    if (before === source.digest) {
      result.targets.push({ ref, outcome: 'unchanged' });
      continue;
    }
    const outcome = await p.session.put(source, t.ref.tag);
    result.targets.push({ ref, outcome: outcome === 'unchanged' ? 'unchanged' : before ? 'moved' : 'tagged', ...(before ? { previous: before } : {}) });
  }
  return result;
}
