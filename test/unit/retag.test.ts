// retag's pure parts: input validation through the step declaration, target planning,
// method choice, and the ECR promotion over a stubbed session.
import step from '../../src/steps/retag/index';
import { parseInputs } from '../../src/runtime/inputs';
import { chooseMethod, planTargets } from '../../src/steps/retag/plan';
import { promoteViaEcr } from '../../src/steps/retag/promote';
import { scopesByRegistry } from '../../src/steps/retag/run';
import type { EcrImage, EcrSession } from '../../src/lib/registry/ecr-api';
import { ShiplineError } from '../../src/lib/util/errors';
import { registryCredential } from '../../src/lib/registry/credentials';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('inputs', () => {
  test('defaults and lists', () => {
    expect(parseInputs(step.inputs, { source: 'reg.example.com/Team/App:1a2b3c4d', tags: 'v1.0.0, stable' })).toEqual({
      source: 'reg.example.com/Team/App:1a2b3c4d',
      tags: ['v1.0.0', 'stable'],
      destinations: [],
      overwrite: false,
      method: 'auto',
      insecureRegistries: [],
    });
  });

  test.each([
    [{ tags: 'v1' }, /input 'source': is required/],
    [{ source: 'reg.example.com/team/app', tags: 'v1' }, /input 'source': 'reg.example.com\/team\/app' names no tag or digest/],
    [{ source: 'reg.example.com/team/app:v 1', tags: 'v1' }, /input 'source': .*white space/],
    [{ source: 'reg.example.com/team/app@sha256:xyz', tags: 'v1' }, /input 'source': .*is not a digest/],
    [{ source: 'reg.example.com/team/app:v0', tags: '.hidden' }, /input 'tags': '.hidden' is not a valid tag/],
    [{ source: 'reg.example.com/team/app:v0', destinations: `reg.example.com/x@${D1}` }, /input 'destinations': .*has a digest/],
    [{ source: 'reg.example.com/team/app:v0', tags: 'v1', method: 'crane' }, /input 'method': 'crane' is not allowed/],
  ])('%j is refused', (raw, msg) => {
    expect(() => parseInputs(step.inputs, raw)).toThrow(msg);
  });

  test('GitLab defaults promote the short sha to the release tag', () => {
    expect(step.inputs.source.gitlabDefault).toBe('$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA');
    expect(step.inputs.tags.gitlabDefault).toBe('$CI_COMMIT_TAG');
    expect(step.gitlab?.rules).toEqual([{ if: '$CI_COMMIT_TAG' }]);
  });
});

describe('planTargets', () => {
  test('tags stay in the source repository; destinations elsewhere; duplicates dropped', () => {
    const { source, targets } = planTargets('reg.example.com/Team/App:1a2b3c4d', ['v1', 'v1', 'latest'], ['other.example.com:5000/prod/app', 'reg.example.com/team/app:v1', 'reg.example.com/team/mirror:x']);
    expect(source).toEqual({ registry: 'reg.example.com', repository: 'team/app', tag: '1a2b3c4d', digest: undefined });
    expect(targets.map((t) => [`${t.ref.registry}/${t.ref.repository}:${t.ref.tag}`, t.sameRepo])).toEqual([
      ['reg.example.com/team/app:v1', true],
      ['reg.example.com/team/app:latest', true],
      ['other.example.com:5000/prod/app:1a2b3c4d', false],
      ['reg.example.com/team/mirror:x', false],
    ]);
  });

  test('nothing to do is an input error (exit 2) that names the GitLab default', () => {
    const e = (() => {
      try {
        planTargets('reg.example.com/team/app:1a2b3c4d', [], []);
      } catch (err) {
        return err as ShiplineError;
      }
      return undefined;
    })();
    expect(e?.exitCode).toBe(2);
    expect(e?.hint).toContain('$CI_COMMIT_TAG');
  });

  test('a destination without a tag needs a source tag', () => {
    expect(() => planTargets(`reg.example.com/team/app@${D1}`, [], ['reg.example.com/prod/app'])).toThrow(/has no tag and the source is given by digest only/);
  });

  test('scopes: pull on the source, pull,push where written, per registry', () => {
    const { source, targets } = planTargets('reg.example.com/team/app:abc', ['v1'], ['reg.example.com/prod/app:v1', 'other.example.com/prod/app:v1']);
    expect(Object.fromEntries(scopesByRegistry(source, targets))).toEqual({
      'reg.example.com': ['repository:team/app:pull', 'repository:team/app:pull,push', 'repository:prod/app:pull,push'],
      'other.example.com': ['repository:prod/app:pull,push'],
    });
  });
});

describe('chooseMethod', () => {
  const ecr = planTargets('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:abc', ['v1'], []);
  const ecrCopy = planTargets('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:abc', [], ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod:v1']);
  const plain = planTargets('reg.example.com/app:abc', ['v1'], []);
  test('auto: ECR API for ECR hosts within one repository, the registry API otherwise', () => {
    expect(chooseMethod('auto', ecr.source, ecr.targets)).toBe('ecr-api');
    expect(chooseMethod('auto', ecrCopy.source, ecrCopy.targets)).toBe('registry');
    expect(chooseMethod('auto', plain.source, plain.targets)).toBe('registry');
    expect(chooseMethod('registry', ecr.source, ecr.targets)).toBe('registry');
    expect(chooseMethod('ecr-api', plain.source, plain.targets)).toBe('ecr-api');
  });
  test('ecr-api with a destination elsewhere is an input error', () => {
    expect(() => chooseMethod('ecr-api', ecrCopy.source, ecrCopy.targets)).toThrow(/ecr-api retags within one repository/);
  });
});

describe('promoteViaEcr (stubbed session)', () => {
  const image: EcrImage = { manifest: '{}', mediaType: 'application/vnd.oci.image.index.v1+json', digest: D1 };
  function session(held: Record<string, string>, put: (tag: string) => 'tagged' | 'unchanged' = () => 'tagged') {
    const puts: string[] = [];
    const s: EcrSession & { puts: string[] } = {
      requests: 0,
      puts,
      get: async () => ({ source: image, tags: new Map(Object.entries(held)) }),
      put: async (_img, tag) => {
        puts.push(tag);
        return put(tag);
      },
    };
    return s;
  }
  const plan = planTargets('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:abc', ['v1', 'v2'], []);

  test('puts only tags that do not hold the digest', async () => {
    const s = session({ v1: D1 });
    const r = await promoteViaEcr({ ...plan, overwrite: false, session: s, log: () => undefined });
    expect(s.puts).toEqual(['v2']);
    expect(r.targets.map((t) => t.outcome)).toEqual(['unchanged', 'tagged']);
  });

  test('a tag holding another digest is refused without overwrite, naming it; moved with it', async () => {
    await expect(promoteViaEcr({ ...plan, overwrite: false, session: session({ v2: D2 }), log: () => undefined })).rejects.toThrow(`already points at ${D2}`);
    const s = session({ v2: D2 });
    const r = await promoteViaEcr({ ...plan, overwrite: true, session: s, log: () => undefined });
    expect(r.targets.find((t) => t.ref.endsWith(':v2'))).toEqual({ ref: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v2', outcome: 'moved', previous: D2 });
  });

  test('ImageAlreadyExists (a race) counts as success', async () => {
    const r = await promoteViaEcr({ ...plan, overwrite: false, session: session({}, () => 'unchanged'), log: () => undefined });
    expect(r.targets.map((t) => t.outcome)).toEqual(['unchanged', 'unchanged']);
  });
});

describe('registryCredential', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const none = '/nonexistent/config.json';
  test('docker config first, then DOCKER_AUTH_CONFIG, then GitLab CI_REGISTRY_* for $CI_REGISTRY only', async () => {
    const gitlab = { CI_REGISTRY: 'registry.gitlab.example.com', CI_REGISTRY_USER: 'gitlab-ci-token', CI_REGISTRY_PASSWORD: 'job-token-value' };
    const fromFile = await registryCredential('registry.gitlab.example.com', none, gitlab, { auths: { 'registry.gitlab.example.com': { auth: b64('me:pw') } } });
    expect(fromFile).toMatchObject({ username: 'me', password: 'pw', source: `auths["registry.gitlab.example.com"] in ${none}` });
    const fromVar = await registryCredential('registry.gitlab.example.com', none, { ...gitlab, DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'registry.gitlab.example.com': { auth: b64('dac:pw2') } } }) });
    expect(fromVar).toMatchObject({ username: 'dac', source: 'auths["registry.gitlab.example.com"] in the DOCKER_AUTH_CONFIG variable' });
    expect(await registryCredential('registry.gitlab.example.com', none, gitlab)).toEqual({
      username: 'gitlab-ci-token',
      password: 'job-token-value',
      source: 'CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab job variables for registry.gitlab.example.com)',
    });
    expect(await registryCredential('other.example.com', none, gitlab)).toBeUndefined();
  });
});
