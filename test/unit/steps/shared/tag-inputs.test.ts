// The shared tag inputs: full references and labels from the CI context, and bad rules,
// labels or images as InputErrors naming their input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitlabContext, githubContext, type CiContext } from '../../../../src/lib/ci/context';
import { InputError } from '../../../../src/runtime/inputs';
import { planTags, type TagInputs } from '../../../../src/steps/shared/tag-inputs';

const FIX = join(__dirname, '../../../fixtures/ci');
function load(name: string): CiContext {
  const f = JSON.parse(readFileSync(join(FIX, `${name}.json`), 'utf8')) as {
    provider: string;
    env: Record<string, string>;
    payload?: Record<string, unknown>;
  };
  return f.provider === 'github' ? githubContext(f.env, f.payload ?? {}) : gitlabContext(f.env);
}

const SHORT = '4f9c2b7e';
const none: TagInputs = {
  images: [],
  tags: [],
  flavor: [],
  mrPrefix: 'MR-',
  shaLength: 8,
  latest: 'auto',
  labels: [],
};

describe('planTags', () => {
  test('full refs per image, repository lowercased, created label from the commit time', () => {
    const plan = planTags(load('gitlab-default-branch'), {
      images: ['registry.example.com/Team/App', 'localhost:5000/app', 'registry.example.com/team/app'],
      tags: [],
      flavor: [],
      mrPrefix: 'MR-',
      shaLength: 8,
      latest: 'auto',
      labels: ['org.opencontainers.image.vendor=ACME'],
    });
    expect(plan.refs).toEqual([
      `registry.example.com/team/app:${SHORT}`,
      'registry.example.com/team/app:latest',
      `localhost:5000/app:${SHORT}`,
      'localhost:5000/app:latest',
    ]);
    expect(plan.labels['org.opencontainers.image.created']).toBe('2026-11-20T09:15:30.000Z');
    expect(plan.labels['org.opencontainers.image.revision']).toBe('4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d');
    expect(plan.labels['org.opencontainers.image.vendor']).toBe('ACME');
    expect(plan.labels['org.opencontainers.image.version']).toBe(SHORT);
    expect(plan.labels['org.opencontainers.image.title']).toBe('App');
    expect(plan.labels['org.opencontainers.image.licenses']).toBe('');
    expect(Object.keys(plan.labels)).toEqual([...Object.keys(plan.labels)].sort((a, b) => a.localeCompare(b, 'en-US')));
  });
  test('images as metadata-action writes them: comma-separated, name=/enable= lines', () => {
    const plan = planTags(load('gitlab-default-branch'), {
      ...none,
      images: ['a.example.com/x,b.example.com/y', 'name=c.example.com/z,enable=false', 'name=d.example.com/w'],
    });
    expect(plan.images).toEqual(['a.example.com/x', 'b.example.com/y', 'd.example.com/w']);
  });
  test('DOCKER_METADATA_SHORT_SHA_LENGTH: a number sets type=sha, anything else is exit 2', () => {
    const ci = load('github-default-branch');
    ci.anchor.shortShaLength = '12';
    expect(planTags(ci, { ...none, tags: ['type=sha'] }).tags).toEqual(['sha-4f9c2b7e1a3d']);
    ci.anchor.shortShaLength = 'twelve';
    let err: unknown;
    try {
      planTags(ci, { ...none, tags: ['type=sha'] });
    } catch (e) {
      err = e;
    }
    expect((err as { exitCode: number }).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/DOCKER_METADATA_SHORT_SHA_LENGTH='twelve'/);
  });
  test.each([
    [{ tags: ['type=raw,value=-bad'] }, 'tags', /tag rule 'type=raw,value=-bad' produced '-bad'/],
    [{ labels: ['novalue'] }, 'labels', /label 'novalue' is not key=value/],
    [{ images: ['Bad Image'] }, 'images', /white space/],
    [{ images: ['name=a/b,enable=maybe'] }, 'images', /enable='maybe'/],
    [{ flavor: ['latest=sometimes'] }, 'flavor', /latest='sometimes'/],
    [{ flavor: ['onlatest=true'] }, 'flavor', /onlatest= follows/],
    [{ tags: ["type=raw,value={{date 'YYYY' tz='Mars/Base'}}"] }, 'tags', /time zone 'Mars\/Base' is unknown/],
    [{ tags: ["type=raw,value={{date 'NNNN'}}"] }, 'tags', /date token 'NNNN' is not supported/],
    [{ labels: ['a={{nope}}'] }, 'labels', /\{\{nope\}\} is not an expression/],
    [
      { tags: ['type=raw,value=x', 'type=raw,value=y'], latest: 'true' as const, flavor: ['latest=false'] },
      'flavor',
      /contradicts/,
    ],
  ])('%p is an InputError naming %s', (over, input, msg) => {
    let err: unknown;
    try {
      planTags(load('gitlab-default-branch'), { ...none, ...over });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).input).toBe(input);
    expect((err as InputError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(msg);
  });
});
