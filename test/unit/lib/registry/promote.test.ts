// Promotion verbs: the scopes a promotion asks for, and the ECR promotion over a stubbed
// session (what it writes, conflicts as kind 'conflict' with the tags in data).
import { promoteViaEcr, promotionScopes, type Target } from '../../../../src/lib/registry/promote';
import { parseReference } from '../../../../src/lib/registry/reference';
import type { EcrImage, EcrSession } from '../../../../src/lib/registry/ecr-api';
import type { ShiplineError } from '../../../../src/lib/util/errors';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

/** Targets as retag plans them: a tag in the source repository, or a full reference. */
function targets(sourceText: string, refs: string[]): { source: ReturnType<typeof parseReference>; targets: Target[] } {
  const source = parseReference(sourceText);
  return {
    source,
    targets: refs.map((r) => {
      const ref = r.includes('/') ? parseReference(r) : { ...source, tag: r, digest: undefined };
      return {
        ref: { ...ref, tag: ref.tag! },
        sameRepo: ref.registry === source.registry && ref.repository === source.repository,
      };
    }),
  };
}

test('scopes: pull on the source, pull,push where written, per registry', () => {
  const { source, targets: t } = targets('reg.example.com/team/app:abc', [
    'v1',
    'reg.example.com/prod/app:v1',
    'other.example.com/prod/app:v1',
  ]);
  expect(Object.fromEntries(promotionScopes(source, t))).toEqual({
    'reg.example.com': ['repository:team/app:pull', 'repository:team/app:pull,push', 'repository:prod/app:pull,push'],
    'other.example.com': ['repository:prod/app:pull,push'],
  });
});

describe('promoteViaEcr (stubbed session)', () => {
  const image: EcrImage = { manifest: '{}', mediaType: 'application/vnd.oci.image.index.v1+json', digest: D1 };
  function session(
    held: Record<string, string>,
    put: (tag: string) => 'tagged' | 'unchanged' = () => 'tagged',
    source: EcrImage | null = image,
  ) {
    const puts: string[] = [];
    const s: EcrSession & { puts: string[] } = {
      requests: 0,
      puts,
      get: async () => ({ source: source ?? undefined, tags: new Map(Object.entries(held)) }),
      put: async (_img, tag) => {
        puts.push(tag);
        return put(tag);
      },
    };
    return s;
  }
  const plan = targets('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:abc', ['v1', 'v2']);

  test('puts only tags that do not hold the digest', async () => {
    const s = session({ v1: D1 });
    const r = await promoteViaEcr({ ...plan, overwrite: false, session: s, log: () => undefined });
    expect(s.puts).toEqual(['v2']);
    expect(r.targets.map((t) => t.outcome)).toEqual(['unchanged', 'tagged']);
  });

  test('a tag holding another digest is refused without overwrite, naming it; moved with it', async () => {
    await expect(
      promoteViaEcr({ ...plan, overwrite: false, session: session({ v2: D2 }), log: () => undefined }),
    ).rejects.toThrow(`already points at ${D2}`);
    const s = session({ v2: D2 });
    const r = await promoteViaEcr({ ...plan, overwrite: true, session: s, log: () => undefined });
    expect(r.targets.find((t) => t.ref.endsWith(':v2'))).toEqual({
      ref: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v2',
      outcome: 'moved',
      previous: D2,
    });
  });

  test('ImageAlreadyExists (a race) counts as success', async () => {
    const r = await promoteViaEcr({
      ...plan,
      overwrite: false,
      session: session({}, () => 'unchanged'),
      log: () => undefined,
    });
    expect(r.targets.map((t) => t.outcome)).toEqual(['unchanged', 'unchanged']);
  });

  test('a refused move is kind conflict with every held tag in data, naming no input', async () => {
    const err = (await promoteViaEcr({
      ...plan,
      overwrite: false,
      session: session({ v1: D2, v2: D2 }),
      log: () => undefined,
    }).catch((e: unknown) => e)) as ShiplineError;
    expect(err.kind).toBe('conflict');
    expect(err.data).toEqual({
      digest: D1,
      conflicts: [
        { ref: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1', held: D2 },
        { ref: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v2', held: D2 },
      ],
    });
    expect(err.message).toContain('refusing to move 2 tags');
    expect(err.hint).toBeUndefined();
  });

  test('a missing source is kind not-found with the reference in data', async () => {
    const err = (await promoteViaEcr({
      ...plan,
      overwrite: false,
      session: session({}, undefined, null),
      log: () => undefined,
    }).catch((e: unknown) => e)) as ShiplineError;
    expect(err.kind).toBe('not-found');
    expect(err.message).toContain(
      'source image not found (registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com, repository app, tag abc; asked via ECR BatchGetImage)',
    );
    expect(err.data.source).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:abc');
  });
});
