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
const SEMVER: string[] = [
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
  { situation: 'tag-v1.2.3', event: 'tag', latest: 'true', tags: ['v1.2.3', 'latest'] },
  { situation: 'tag-v2.0.0-rc.1', event: 'tag', latest: 'true', tags: ['v2.0.0-rc.1'] },
  // `defaults` among written rules: priorities order them (semver 900 before ref 600)
  { situation: 'tag-v1.2.3', event: 'tag', rules: SEMVER, tags: ['1.2.3', '1.2', '1', 'v1.2.3', 'latest'] },
  { situation: 'tag-v2.0.0-rc.1', event: 'tag', rules: SEMVER, tags: ['2.0.0-rc.1', 'v2.0.0-rc.1'] },
  { situation: 'tag-v0.1.2', event: 'tag', rules: SEMVER, tags: ['0.1.2', '0.1', '0', 'v0.1.2', 'latest'] },
  { situation: 'tag-release-2024', event: 'tag', rules: SEMVER, tags: ['release-2024', 'latest'] },
  { situation: 'default-branch', event: 'default_branch', rules: SEMVER, tags: [SHORT, 'latest'] },
  { situation: 'schedule', event: 'schedule', tags: [SHORT, 'latest'] },
  {
    situation: 'schedule',
    event: 'schedule',
    rules: ["type=schedule,pattern=nightly-{{date 'YYYYMMDD'}}"],
    tags: ['nightly-20261120'],
  },
  {
    situation: 'merge-request',
    event: 'merge_request',
    rules: ['type=ref,event=pr', 'type=ref,event=mr', 'type=sha'],
    tags: ['pr-7', 'MR-7', 'sha-4f9c2b7'],
  },
  {
    situation: 'feature-branch',
    event: 'branch',
    rules: ['type=ref,event=branch'],
    tags: ['feature-JIRA-123_Add-Login'],
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
    ['type=sha,foo', /type=sha takes no bare value/],
    ['type=raw,value={{nope}}', /\{\{nope\}\} is not an expression/],
    ['type=raw,value={{branch', /is not closed/],
    ['type=raw,value={{#if x}}y{{/if}}', /blocks/],
    ['type=semver,pattern={{branch}}', /\{\{branch\}\} is not an expression in a semver pattern/],
    ['type=raw,value=a"b', /quote inside a field/],
    ['type=raw,"value=a', /not closed/],
    ['type=raw,value=x,priority=high', /priority='high'/],
    ['type=match,pattern=(', /not a regular expression/],
    ['type=semver,pattern={{version}},match=v[0-9]', /needs a group/],
    ['type=ref,event=push', /event='push'/],
  ])('%s is rejected', (line, msg) => {
    expect(() => parseRule(line)).toThrow(TagRuleError);
    expect(() => parseRule(line)).toThrow(msg);
  });
  test('a bare word, and type=raw,<word>, is a raw tag; CSV quotes keep commas', () => {
    expect(parseRule('stable')).toMatchObject({ type: 'raw', value: { source: 'stable' } });
    expect(parseRule('type=raw,stable')).toMatchObject({ type: 'raw', value: { source: 'stable' } });
    expect(parseRule('type=raw,"value=a,b"')).toMatchObject({ value: { source: 'a,b' } });
    expect(parseRule('TYPE = raw , value = x')).toMatchObject({ type: 'raw', value: { source: 'x' } });
  });
  test('enable= must give true or false', () => {
    expect(() =>
      computeTags(load('gitlab-default-branch'), [parseRule('type=raw,value=x,enable=maybe')], {
        mrPrefix: 'MR-',
        shaLength: 8,
        latest: 'false',
      }),
    ).toThrow(/enable= gives 'maybe'/);
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
