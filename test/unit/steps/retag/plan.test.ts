// retag's pure parts: input validation through the step declaration, target planning
// and the method choice.
import step from '../../../../src/steps/retag/index';
import { parseInputs } from '../../../../src/runtime/inputs';
import { chooseMethod, planTargets } from '../../../../src/steps/retag/plan';
import { ShiplineError } from '../../../../src/lib/util/errors';

const D1 = `sha256:${'1'.repeat(64)}`;
const targetsOf = (source: string, tags: string[], destinations: string[]) =>
  planTargets({ source, tags, destinations });

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
    [
      { source: 'reg.example.com/team/app', tags: 'v1' },
      /input 'source': 'reg.example.com\/team\/app' names no tag or digest/,
    ],
    [{ source: 'reg.example.com/team/app:v 1', tags: 'v1' }, /input 'source': .*white space/],
    [{ source: 'reg.example.com/team/app@sha256:xyz', tags: 'v1' }, /input 'source': .*is not a digest/],
    [{ source: 'reg.example.com/team/app:v0', tags: '.hidden' }, /input 'tags': '.hidden' is not a valid tag/],
    [
      { source: 'reg.example.com/team/app:v0', destinations: `reg.example.com/x@${D1}` },
      /input 'destinations': .*has a digest/,
    ],
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
    const { source, targets } = targetsOf(
      'reg.example.com/Team/App:1a2b3c4d',
      ['v1', 'v1', 'latest'],
      ['other.example.com:5000/prod/app', 'reg.example.com/team/app:v1', 'reg.example.com/team/mirror:x'],
    );
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
        targetsOf('reg.example.com/team/app:1a2b3c4d', [], []);
      } catch (err) {
        return err as ShiplineError;
      }
      return undefined;
    })();
    expect(e?.exitCode).toBe(2);
    expect(e?.hint).toContain('$CI_COMMIT_TAG');
  });

  test('a destination without a tag needs a source tag', () => {
    expect(() => targetsOf(`reg.example.com/team/app@${D1}`, [], ['reg.example.com/prod/app'])).toThrow(
      /has no tag and the source is given by digest only/,
    );
  });
});

describe('chooseMethod', () => {
  const ecr = targetsOf('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:abc', ['v1'], []);
  const ecrCopy = targetsOf(
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:abc',
    [],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod:v1'],
  );
  const plain = targetsOf('reg.example.com/app:abc', ['v1'], []);
  test('auto: ECR API for ECR hosts within one repository, the registry API otherwise', () => {
    expect(chooseMethod('auto', ecr.source, ecr.targets)).toBe('ecr-api');
    expect(chooseMethod('auto', ecrCopy.source, ecrCopy.targets)).toBe('registry');
    expect(chooseMethod('auto', plain.source, plain.targets)).toBe('registry');
    expect(chooseMethod('registry', ecr.source, ecr.targets)).toBe('registry');
    expect(chooseMethod('ecr-api', plain.source, plain.targets)).toBe('ecr-api');
  });
  test('ecr-api with a destination elsewhere is an input error', () => {
    expect(() => chooseMethod('ecr-api', ecrCopy.source, ecrCopy.targets)).toThrow(
      /ecr-api retags within one repository/,
    );
  });
});

describe('input errors name the input and exit 2', () => {
  const thrown = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err as ShiplineError & { input?: string };
    }
    throw new Error('did not throw');
  };
  test.each([
    ['destinations', () => targetsOf(`reg.example.com/team/app@${D1}`, [], ['reg.example.com/prod/app'])],
    ['tags', () => targetsOf('reg.example.com/team/app:abc', [], [])],
    [
      'method',
      () => {
        const p = targetsOf('reg.example.com/app:abc', [], ['reg.example.com/other:v1']);
        return chooseMethod('ecr-api', p.source, p.targets);
      },
    ],
  ])('%s', (input, fn) => {
    const e = thrown(fn);
    expect(e.kind).toBe('input');
    expect(e.exitCode).toBe(2);
    expect(e.input).toBe(input);
  });
});

describe('digests and hosts at input time (issue 13)', () => {
  test.each([
    [{ source: `reg.example.com/team/app@md5:${'0'.repeat(32)}`, tags: 'v1' }, /input 'source': .*is not a digest/],
    [{ source: 'reg.example.com/team/app@foo:bar', tags: 'v1' }, /input 'source': .*is not a digest/],
    [{ source: 'reg.example.com/team/app:1', 'insecure-registries': 'not a host' }, /input 'insecure-registries'/],
    [{ source: 'reg.example.com/team/app:1', 'insecure-registries': 'http://reg:5000' }, /input 'insecure-registries'/],
    [{ source: 'reg.example.com/team/app:1', 'insecure-registries': '--tls=false' }, /input 'insecure-registries'/],
    [{ source: 'reg.example.com/team/app:1', 'insecure-registries': 'reg:99999' }, /input 'insecure-registries'/],
  ])('%j exits 2', (raw, message) => {
    expect(() => parseInputs(step.inputs, raw)).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(message) }),
    );
  });

  test('hosts and loopback forms pass', () => {
    expect(
      parseInputs(step.inputs, {
        source: 'reg.example.com/team/app:1',
        'insecure-registries': 'registry, reg.internal:5000, [::1]:5000, 127.0.0.1:5001',
      }),
    ).toMatchObject({ insecureRegistries: ['registry', 'reg.internal:5000', '[::1]:5000', '127.0.0.1:5001'] });
  });
});

describe('what the fuzz test found: a registry port no URL can hold is exit 2', () => {
  test.each([
    [
      { source: 'localhost:99999/team/app:1', tags: 'v1' },
      /input 'source': 'localhost:99999\/team\/app:1': 'localhost:99999' is not a registry host\[:port\]/,
    ],
    [
      { source: 'reg.example.com/team/app:1', destinations: 'localhost:0/prod/app:1' },
      /input 'destinations': .*'localhost:0'/,
    ],
    [{ source: '[:]:5000/team/app:1', tags: 'v1' }, /input 'source'/],
    [
      { source: `123456789012.dkr.ecr.eu-${'w'.repeat(70)}est-1.amazonaws.com/app:1`, tags: 'v1' },
      /is not a host name \(at most 63 characters between dots/,
    ],
  ])('%j', (raw, message) => {
    expect(() => parseInputs(step.inputs, raw)).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(message), hint: expect.any(String) }),
    );
  });
});
