// image-tags' outputs as docker/metadata-action lays them out: separators, annotation
// levels, the JSON object, the DOCKER_METADATA_OUTPUT_* variables, and the knobs' errors.
import { fixtureContext } from '../../../fixtures/ci/situations';
import { planImageTags, type Inputs } from '../../../../src/steps/image-tags/plan';

const base: Inputs = {
  images: ['registry.example.com/team/app'],
  tags: ['type=ref,event=branch', 'type=sha'],
  flavor: [],
  mrPrefix: 'MR-',
  shaLength: 8,
  latest: 'auto',
  labels: ['maintainer=team'],
  annotations: ['org.opencontainers.image.vendor=ACME'],
  sepTags: undefined,
  sepLabels: undefined,
  sepAnnotations: undefined,
};
const NOW = new Date('2026-11-21T00:00:00Z');
const out = (p: ReturnType<typeof planImageTags>) => Object.fromEntries(p.outputs);

describe('planImageTags', () => {
  test('outputs and exported variables of a feature branch on GitHub', () => {
    const p = planImageTags(fixtureContext('github-feature-branch'), base, NOW);
    const o = out(p);
    expect(o.tags).toBe(
      'registry.example.com/team/app:feature-JIRA-123_Add-Login\nregistry.example.com/team/app:sha-4f9c2b7',
    );
    expect(o['tag-names']).toBe('feature-JIRA-123_Add-Login\nsha-4f9c2b7');
    expect(o.version).toBe('feature-JIRA-123_Add-Login');
    expect(o.labels!.split('\n')).toContain('maintainer=team');
    expect(o.annotations!.split('\n')).toContain('manifest:org.opencontainers.image.vendor=ACME');
    expect(o.annotations!.split('\n')).toContain(
      'manifest:org.opencontainers.image.revision=4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d',
    );
    const json = JSON.parse(o.json!);
    expect(Object.keys(json)).toEqual(['tags', 'tag-names', 'labels', 'annotations', 'version']);
    expect(json.labels.maintainer).toBe('team');
    expect(p.exports.map(([k]) => k)).toEqual([
      'DOCKER_METADATA_OUTPUT_VERSION',
      'DOCKER_METADATA_OUTPUT_TAGS',
      'DOCKER_METADATA_OUTPUT_TAG_NAMES',
      'DOCKER_METADATA_OUTPUT_LABELS',
      'DOCKER_METADATA_OUTPUT_ANNOTATIONS',
      'DOCKER_METADATA_OUTPUT_JSON',
    ]);
  });
  test('sep-tags, sep-labels, sep-annotations and annotation levels', () => {
    const ci = fixtureContext('gitlab-feature-branch');
    ci.anchor.annotationLevels = 'manifest,index';
    const o = out(planImageTags(ci, { ...base, sepTags: ',', sepLabels: ';', sepAnnotations: '|' }, NOW));
    expect(o.tags!.split(',')).toHaveLength(2);
    expect(o.labels).not.toContain('\n');
    expect(o.labels!.split(';')).toContain('maintainer=team');
    const ann = o.annotations!.split('|');
    expect(ann).toContain('manifest:org.opencontainers.image.vendor=ACME');
    expect(ann).toContain('index:org.opencontainers.image.vendor=ACME');
  });
  test('DOCKER_METADATA_SET_OUTPUT_ENV=false exports nothing', () => {
    const ci = fixtureContext('gitlab-feature-branch');
    ci.anchor.setOutputEnv = 'false';
    expect(planImageTags(ci, base, NOW).exports).toEqual([]);
  });
  test.each([
    ['annotationLevels', 'manifest,everywhere', /DOCKER_METADATA_ANNOTATIONS_LEVELS='manifest,everywhere'/],
    ['setOutputEnv', 'maybe', /DOCKER_METADATA_SET_OUTPUT_ENV='maybe'/],
  ] as const)('%s=%s is exit 2', (key, value, msg) => {
    const ci = fixtureContext('gitlab-feature-branch');
    ci.anchor[key] = value;
    let err: unknown;
    try {
      planImageTags(ci, base, NOW);
    } catch (e) {
      err = e;
    }
    expect((err as { exitCode: number }).exitCode).toBe(2);
    expect((err as Error).message).toMatch(msg);
  });
  test('no rule yields a tag: empty outputs, like docker/metadata-action', () => {
    const o = out(
      planImageTags(fixtureContext('gitlab-feature-branch'), { ...base, tags: ['type=ref,event=tag'] }, NOW),
    );
    expect(o.tags).toBe('');
    expect(o.version).toBe('');
    expect(o.labels).toContain('org.opencontainers.image.version=');
  });
  test('created is the commit time, not the clock', () => {
    const o = out(planImageTags(fixtureContext('gitlab-feature-branch'), base, NOW));
    expect(o.labels).toMatch(/org\.opencontainers\.image\.created=2026-11-20T\d\d:\d\d:\d\d\.000Z/);
    expect(o.labels).not.toContain('2026-11-21');
  });
});

describe('what the fuzz test found', () => {
  test('a rule that makes an invalid tag names tags and says what to write (a hint)', () => {
    for (const rule of ['--help', '/etc/passwd', "''", 'ß/ẞ']) {
      let err: { exitCode?: number; message?: string; hint?: string } = {};
      try {
        planImageTags(fixtureContext('gitlab-feature-branch'), { ...base, tags: [rule] }, NOW);
      } catch (e) {
        err = e as typeof err;
      }
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(/^input 'tags': tag rule /);
      expect(err.hint).toMatch(/write rule lines like type=ref,event=branch/);
    }
  });
});
