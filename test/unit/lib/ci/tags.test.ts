// Tag rules over fixture contexts from both CIs: the same situation must give the same
// tags on GitLab and GitHub.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitlabContext, githubContext, type CiContext } from '../../../../src/lib/ci/context';
import { computeTags, parseRules, parseRule, slug, TagRuleError } from '../../../../src/lib/ci/tags';

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
const LONG_SLUG = ('feature-' + 'very-long-branch-name-'.repeat(6) + 'end').slice(0, 128).replace(/[-.]+$/, '');
const SEMVER = [
  'defaults',
  'type=semver,pattern={{version}}',
  'type=semver,pattern={{major}}.{{minor}}',
  'type=semver,pattern={{major}}',
];

const table: {
  situation: string;
  rules?: string[];
  latest?: 'auto' | 'true' | 'false';
  tags: string[];
  event: string;
}[] = [
  { situation: 'merge-request', event: 'merge_request', tags: ['MR-7'] },
  { situation: 'default-branch', event: 'default_branch', tags: [SHORT, 'latest'] },
  { situation: 'feature-branch', event: 'branch', tags: ['feature-jira-123_add-login'] },
  { situation: 'long-branch', event: 'branch', tags: [LONG_SLUG] },
  { situation: 'tag-v1.2.3', event: 'tag', tags: ['v1.2.3'] },
  { situation: 'tag-v1.2.3', event: 'tag', rules: SEMVER, tags: ['v1.2.3', '1.2.3', '1.2', '1'] },
  {
    situation: 'tag-v1.2.3',
    event: 'tag',
    rules: SEMVER,
    latest: 'true',
    tags: ['v1.2.3', '1.2.3', '1.2', '1', 'latest'],
  },
  { situation: 'tag-v2.0.0-rc.1', event: 'tag', rules: SEMVER, latest: 'true', tags: ['v2.0.0-rc.1', '2.0.0-rc.1'] },
  { situation: 'tag-v0.1.2', event: 'tag', rules: SEMVER, tags: ['v0.1.2', '0.1.2', '0.1'] },
  {
    situation: 'tag-v0.1.2',
    event: 'tag',
    rules: [...SEMVER.slice(0, 3), 'type=semver,pattern={{major}},allow-zero=true'],
    tags: ['v0.1.2', '0.1.2', '0.1', '0'],
  },
  { situation: 'tag-release-2024', event: 'tag', rules: SEMVER, latest: 'true', tags: ['release-2024'] },
  { situation: 'schedule', event: 'schedule', tags: [SHORT, 'latest'] },
  {
    situation: 'schedule',
    event: 'schedule',
    rules: ['type=schedule,pattern=nightly-{{date}}'],
    latest: 'false',
    tags: ['nightly-20261120'],
  },
  {
    situation: 'merge-request',
    event: 'merge_request',
    rules: ['type=ref,event=pr,prefix=pr-', 'type=sha,prefix=sha-'],
    latest: 'true',
    tags: ['pr-MR-7', `sha-${SHORT}`],
  },
];

describe.each(['gitlab', 'github'])('%s contexts', (provider) => {
  test.each(table)('$situation $rules -> $tags', ({ situation, rules, latest, tags, event }) => {
    const ctx = load(`${provider}-${situation}`);
    expect(ctx.event).toBe(event);
    const result = computeTags(ctx, parseRules(rules ?? []), {
      mrPrefix: 'MR-',
      shaLength: 8,
      latest: latest ?? 'auto',
      now: new Date('2026-11-20T03:00:00Z'),
    });
    expect(result.tags).toEqual(tags);
    for (const t of result.tags) expect(t).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  });
});

describe('contexts agree across CIs', () => {
  test.each(['merge-request', 'default-branch', 'feature-branch', 'tag-v1.2.3', 'schedule'])('%s', (situation) => {
    const gl = load(`gitlab-${situation}`);
    const gh = load(`github-${situation}`);
    for (const key of [
      'event',
      'branch',
      'tag',
      'sha',
      'mrIid',
      'defaultBranch',
      'isDefaultBranch',
      'projectPath',
    ] as const) {
      expect([key, gh[key]]).toEqual([key, gl[key]]);
    }
    // GitHub's schedule and pull_request payloads carry no commit time (we fall back to
    // the head repo's push time there), so only push events can be compared exactly.
    if (!['schedule', 'merge-request'].includes(situation))
      expect(new Date(gh.commitTime!).toISOString()).toBe(new Date(gl.commitTime!).toISOString());
  });
});

describe('computeTags options', () => {
  test('sha-length', () => {
    const r = computeTags(load('github-default-branch'), parseRules([]), {
      mrPrefix: 'MR-',
      shaLength: 7,
      latest: 'false',
    });
    expect(r.tags).toEqual(['4f9c2b7']);
  });
  test('prefix and suffix keep the tag within 128 characters', () => {
    const r = computeTags(load('gitlab-long-branch'), [parseRule('type=ref,event=branch,prefix=dev-,suffix=-amd64')], {
      mrPrefix: 'MR-',
      shaLength: 8,
      latest: 'false',
    });
    expect(r.tags[0]!.length).toBeLessThanOrEqual(128);
    expect(r.tags[0]).toMatch(/^dev-feature-very-long.*-amd64$/);
  });
});

describe('rule parsing', () => {
  test.each([
    ['type=nope', /type 'nope' is unknown/],
    ['type=ref', /needs event=/],
    ['type=semver', /needs pattern=/],
    ['type=sha,pattern=x', /'pattern' does not apply to type=sha/],
    ['type=raw,value=x,enable=maybe', /enable='maybe'/],
  ])('%s is rejected', (line, msg) => {
    expect(() => parseRule(line)).toThrow(TagRuleError);
    expect(() => parseRule(line)).toThrow(msg);
  });
  test('a bare word is a raw tag', () => {
    expect(parseRule('stable')).toMatchObject({ type: 'raw', value: 'stable' });
  });
  test('an invalid produced tag is an error naming the rule', () => {
    expect(() =>
      computeTags(load('gitlab-default-branch'), [parseRule('type=raw,value=-bad')], {
        mrPrefix: 'MR-',
        shaLength: 8,
        latest: 'false',
      }),
    ).toThrow(/type=raw,value=-bad.*'-bad'/);
  });
  test('slug', () => {
    expect(slug('Feature/ABC__x..y')).toBe('feature-abc__x..y');
    expect(slug('--.Weird')).toBe('weird');
  });
});
