// untag's pure parts: input validation through the declaration (a malformed or protected
// tag is exit 2 before any request), the tag plan, the protected globs, the method.
import step from '../../../../src/steps/untag/index';
import { parseInputs } from '../../../../src/runtime/inputs';
import { chooseMethod, DEFAULT_PROTECTED, globRegExp, planUntag, protectedBy } from '../../../../src/steps/untag/plan';
import { ShiplineError } from '../../../../src/lib/util/errors';
import { parseReference } from '../../../../src/lib/registry/reference';

type Inputs = Parameters<typeof planUntag>[0];
const parse = (raw: Record<string, string>) => parseInputs(step.inputs, raw) as Inputs;

/** The InputError planUntag throws (or parseInputs, for a check), with its exit code. */
function refusal(raw: Record<string, string>): ShiplineError {
  try {
    planUntag(parse(raw));
  } catch (e) {
    if (e instanceof ShiplineError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('inputs', () => {
  test('defaults: not a dry run, latest and release-looking tags protected, method auto', () => {
    expect(parseInputs(step.inputs, { image: 'reg.example.com/Team/App', tags: 'MR-12' })).toEqual({
      image: 'reg.example.com/Team/App',
      tags: ['MR-12'],
      dryRun: false,
      protected: DEFAULT_PROTECTED,
      method: 'auto',
      insecureRegistries: [],
    });
  });

  test.each([
    [{ image: 'reg.example.com/team/app', tags: 'MR 12' }, /input 'tags': 'MR 12' is not a valid tag/],
    [{ image: 'reg.example.com/team/app', tags: '-MR' }, /input 'tags': '-MR' is not a valid tag/],
    [{ image: 'reg.example.com/team/app@sha256:' + '1'.repeat(64) }, /input 'image': .*has a digest/],
    [{ image: 'reg.example.com/team/app', tags: 'x', protected: 'v[0-9' }, /input 'protected': 'v\[0-9' is not a tag/],
    [{ image: 'reg.example.com/team/app', tags: 'x', method: 'crane' }, /input 'method': 'crane' is not allowed/],
    [{ tags: 'MR-1' }, /input 'image': is required/],
  ])('%p is refused: %p (exit 2)', (raw, message) => {
    expect(() => parse(raw)).toThrow(message);
    try {
      parse(raw);
    } catch (e) {
      expect((e as ShiplineError).exitCode).toBe(2);
    }
  });
});

describe('planUntag', () => {
  test('the image’s own tag first, then tags, each once; the repository without tag', () => {
    const p = planUntag(parse({ image: 'reg.example.com/team/app:MR-12', tags: 'MR-12-tools, MR-12' }));
    expect(p.tags).toEqual(['MR-12', 'MR-12-tools']);
    expect(p.repo).toEqual({ registry: 'reg.example.com', repository: 'team/app', tag: undefined, digest: undefined });
  });

  test.each(['latest', 'v1', 'v1.2.3', 'v2.0.0-rc.1', '1.2', '1.2.3', '10.4.1-alpine'])(
    'protected by default: %s (exit 2, naming the pattern)',
    (tag) => {
      const e = refusal({ image: 'reg.example.com/team/app', tags: `MR-1, ${tag}` });
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(
        new RegExp(`input 'tags': refusing to remove protected tag '${tag.replace(/\./g, '\\.')}' \\(matches '`),
      );
    },
  );

  test('a protected tag in image names input image', () => {
    expect(refusal({ image: 'reg.example.com/team/app:latest' }).message).toMatch(/^input 'image': refusing/);
  });

  test.each(['MR-12', 'MR-1', '1a2b3c4d', '12345678', 'sha-1a2b3c4d', 'review-x', 'vnext', 'latest-build'])(
    'not protected by default: %s',
    (tag) => {
      expect(planUntag(parse({ image: 'reg.example.com/team/app', tags: tag })).tags).toEqual([tag]);
    },
  );

  test('a protected list replaces the default', () => {
    expect(planUntag(parse({ image: 'r.example.com/a', tags: 'latest', protected: 'stable, prod-*' })).tags).toEqual([
      'latest',
    ]);
    expect(refusal({ image: 'r.example.com/a', tags: 'prod-eu', protected: 'stable, prod-*' }).message).toContain(
      "'prod-eu' (matches 'prod-*')",
    );
  });

  test('no tag at all is an input error naming tags', () => {
    const e = refusal({ image: 'reg.example.com/team/app' });
    expect(e.message).toMatch(/^input 'tags': no tag to remove from reg\.example\.com\/team\/app/);
    expect(e.exitCode).toBe(2);
  });
});

describe('globs', () => {
  test.each([
    ['v[0-9]*', 'v12.1', true],
    ['v[0-9]*', 'vx', false],
    ['MR-?', 'MR-1', true],
    ['MR-?', 'MR-12', false],
    ['a.b', 'aXb', false],
    ['latest', 'latest', true],
    ['latest', 'latest2', false],
  ])('%s ~ %s: %p', (glob, tag, ok) => {
    expect(globRegExp(glob)!.test(tag)).toBe(ok);
    expect(protectedBy(tag, [glob]) !== undefined).toBe(ok);
  });
  test.each(['v[0-9', 'a]', '[]', '[9-0]', '[0---9]*'])('%s is not a glob', (glob) =>
    expect(globRegExp(glob)).toBeUndefined(),
  );
  test('a class out of order in protected is exit 2 naming protected, not the bug path (the fuzz test found it)', () => {
    expect(() => parse({ image: 'reg.example.com/a', tags: 'MR-1', protected: '[0-9]*.[0---9]*' })).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^input 'protected': /) }),
    );
  });
});

describe('chooseMethod', () => {
  test.each([
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app', 'auto', 'ecr-api'],
    ['registry.example.com/team/app', 'auto', 'registry'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app', 'registry', 'registry'],
    ['127.0.0.1:5002/team/app', 'ecr-api', 'ecr-api'],
  ] as const)('%s with %s: %s', (image, method, want) => {
    expect(chooseMethod(method, parseReference(image))).toBe(want);
  });
});

describe('what the fuzz test found: a registry port no URL can hold is exit 2', () => {
  test.each(['localhost:99999/a', 'localhost:0/a:MR-1', '[:]:5000/a'])('%s', (image) => {
    expect(() => parse({ image, tags: 'MR-1' })).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: expect.stringMatching(/^input 'image': .*is not a registry host/),
      }),
    );
  });
  test('a malformed tag says what a tag is (a hint)', () => {
    expect(() => parse({ image: 'reg.example.com/a', tags: '-rf' })).toThrow(
      expect.objectContaining({ exitCode: 2, hint: expect.stringMatching(/^use plain tags like MR-12/) }),
    );
  });
});
