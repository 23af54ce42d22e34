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
const none: TagInputs = { images: [], tags: [], mrPrefix: 'MR-', shaLength: 8, latest: 'auto', labels: [] };

describe('planTags', () => {
  test('full refs per image, repository lowercased, created label from the commit time', () => {
    const plan = planTags(load('gitlab-default-branch'), {
      images: ['registry.example.com/Team/App', 'localhost:5000/app', 'registry.example.com/team/app'],
      tags: [],
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
  });
  test.each([
    [{ tags: ['type=raw,value=-bad'] }, 'tags', /tag rule 'type=raw,value=-bad' produced '-bad'/],
    [{ labels: ['novalue'] }, 'labels', /label 'novalue' is not key=value/],
    [{ images: ['Bad Image'] }, 'images', /white space/],
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
