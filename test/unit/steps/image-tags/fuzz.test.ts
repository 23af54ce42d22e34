// image-tags' real bundle (dist/image-tags/index.js) under hundreds of hostile values per
// input and per CI variable it reads, each in turn with the others valid: every run exits
// 0 or 2 (it makes no call, so never 1), exit 2 names the input or variable with a hint,
// never the bug path, a stack trace or an unhandled rejection. See test/support/fuzz.ts.
import step from '../../../../src/steps/image-tags/index';
import {
  assertProperty,
  caseViolations,
  fuzzSeed,
  rng,
  runFuzz,
  stepCases,
  summarize,
  type CaseResult,
} from '../../../support/fuzz';

const seed = fuzzSeed('image-tags');

const RULES = [
  'type=ref,event=branch',
  'type=ref,event=tag',
  'type=ref,event=pr',
  'type=ref,event=mr',
  'type=sha',
  'type=sha,format=long,prefix=sha-',
  'type=raw,value=latest,enable={{is_default_branch}}',
  'type=raw,foo',
  'type=semver,pattern={{version}}',
  'type=semver,pattern={{major}}.{{minor}},value=v1.2.3',
  'type=pep440,pattern={{version}},value=1.0.0rc1',
  'type=match,pattern=v(\\d+),group=1,value=v12',
  'type=edge,branch=main',
  "type=schedule,pattern=nightly-{{date 'YYYYMMDD'}}",
  "type=raw,value={{date 'YYYYMMDD-HHmm' tz='Asia/Tokyo'}}",
  "type=raw,value={{commit_date 'YYYY'}}",
  'type=raw,value={{branch}}-{{sha}},priority=300',
  'type=raw,value=x,suffix=-{{base_ref}}',
  '"type=raw,value=a,b"',
  'defaults',
];

describe('image-tags fuzz (real bundle)', () => {
  test('every run exits 0 or 2, names the input, never the bug path or a stack trace', async () => {
    const r = rng(seed);
    const cases = stepCases(
      {
        base: { images: 'registry.example.com/team/app' },
        env: { CI_COMMIT_TIMESTAMP: '2026-11-20T10:15:30+01:00' },
        fuzz: {
          images: {
            valid: ['registry.example.com/team/app', 'localhost:5000/a/b', 'name=ghcr.io/o/app,enable=false', 'a,b/c'],
            list: true,
          },
          tags: { valid: RULES, list: true },
          flavor: { valid: ['latest=false', 'prefix=dev-,onlatest=true', 'suffix=-x', 'latest=auto'], list: true },
          'mr-prefix': { valid: ['MR-', 'pr_', 'x.'] },
          'sha-length': { valid: ['8', '4', '40', '12'] },
          latest: { valid: ['auto', 'true', 'false'], count: 80 },
          labels: { valid: ['org.opencontainers.image.title=x', 'a={{branch}}', 'k=v=w'], list: true },
          annotations: { valid: ['org.opencontainers.image.title=x', 'a={{tag}}'], list: true },
          'sep-tags': { valid: [',', ' ', '\n', ';'] },
          'sep-labels': { valid: [',', ' '] },
          'sep-annotations': { valid: [',', ' '] },
          // metadata-action's inputs shipline refuses unless harmless
          context: { valid: ['workflow', 'git'], count: 40 },
          'bake-target': { valid: ['docker-metadata-action'], count: 40 },
          'github-token': { valid: ['ghp_0123456789abcdef'], count: 40 },
          // the CI variables it reads
          'env:CI_COMMIT_BRANCH': { valid: ['main', 'feature/x', 'dependabot/npm/a-1.2'], count: 100 },
          'env:CI_COMMIT_TAG': { valid: ['v1.2.3', 'v2.0.0-rc.1', '1.0dev4', 'release-2024'], count: 100 },
          'env:CI_MERGE_REQUEST_IID': { valid: ['7', '12345'], count: 60 },
          'env:CI_PIPELINE_SOURCE': { valid: ['push', 'schedule', 'merge_request_event', 'web'], count: 60 },
          'env:CI_COMMIT_TIMESTAMP': { valid: ['2026-11-20T10:15:30+01:00'], count: 60 },
          'env:CI_COMMIT_SHA': { valid: ['4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d'], count: 60 },
          'env:DOCKER_METADATA_SHORT_SHA_LENGTH': { valid: ['12', '7'], count: 60 },
          'env:DOCKER_METADATA_ANNOTATIONS_LEVELS': { valid: ['manifest,index', 'index-descriptor'], count: 60 },
          'env:DOCKER_METADATA_SET_OUTPUT_ENV': { valid: ['true', 'false'], count: 60 },
          'env:DOCKER_METADATA_PR_HEAD_SHA': { valid: ['true', 'false'], count: 60 },
        },
        perInput: 200,
        mixed: 300,
      },
      r,
    );
    const t0 = Date.now();
    const results = await runFuzz(cases, { step, seed });
    const ms = Date.now() - t0;
    console.log(`image-tags fuzz (seed ${seed}): ${summarize(results, ms)}`);
    assertProperty(
      results,
      {
        failures: [], // no call is made: exit 1 never
        names: [/\b(CI|GITHUB|DOCKER_METADATA)_[A-Z_]+\b/, /\b(context|bake-target|github-token)\b/],
      },
      { step, seed },
    );
  }, 180_000);
});

describe('the fuzz property itself (test/support/fuzz.ts)', () => {
  const result = (main: Partial<CaseResult['main']>, more: Partial<CaseResult> = {}): CaseResult => ({
    id: 0,
    case: { label: 'x', inputs: { tags: 'x' } },
    platform: 'cli',
    main: { code: 0, out: '', err: '', ms: 1, ...main },
    rejections: [],
    dotenv: '',
    secrets: [],
    refused: [],
    ...more,
  });
  const names = ['tags', 'images'];
  test('a clean exit 0 or exit 2 naming an input with a hint passes', () => {
    expect(caseViolations(result({ code: 0 }), {}, names)).toEqual([]);
    expect(caseViolations(result({ code: 2, err: "error: input 'tags': bad\nhint: use x\n" }), {}, names)).toEqual([]);
  });
  test.each([
    ['the bug path', { code: 1, err: 'error: unexpected error: x\nhint: this is a shipline bug\n' }, /the bug path/],
    ['a stack trace', { code: 2, err: "error: input 'tags': x\nhint: y\n    at f (/a/b.js:1:2)\n" }, /a stack trace/],
    ['exit 1 without the wording', { code: 1, err: 'error: something\n' }, /exit 1 without the step's failure wording/],
    ['exit 2 naming nothing', { code: 2, err: 'error: bad\nhint: x\n' }, /exit 2 naming no input/],
    ['exit 2 without a hint', { code: 2, err: "error: input 'tags': bad\n" }, /exit 2 without a hint/],
    ['an exit code of its own', { code: 3 }, /main: exit 3/],
    ['a hang', { code: null }, /a hang/],
  ])('%s is a violation', (_what, main, re) => {
    expect(caseViolations(result(main), {}, names).join('\n')).toMatch(re);
  });
  test('a secret in the log, the dotenv report or a GitHub command is a violation; a masked one or ::add-mask:: is not', () => {
    const secrets = ['s3cr3t-value'];
    expect(caseViolations(result({ err: 'token s3cr3t-value\n' }, { secrets }), {}, names)).toHaveLength(1);
    expect(caseViolations(result({}, { secrets, dotenv: 'X=s3cr3t-value\n' }), {}, names)).toHaveLength(1);
    expect(
      caseViolations(result({ out: '::warning::a%0As3cr3t-value\n' }, { secrets, platform: 'github' }), {}, names),
    ).toHaveLength(1);
    expect(
      caseViolations(
        result({ out: '::add-mask::s3cr3t-value\ntoken ***\n' }, { secrets, platform: 'github' }),
        {},
        names,
      ),
    ).toEqual([]);
  });
  test('an unhandled rejection, and a driver and a lone process that disagree, are violations', () => {
    expect(caseViolations(result({}, { rejections: ['unhandled rejection: x'] }), {}, names)).toHaveLength(1);
    expect(
      caseViolations(
        result({ code: 0 }, { alone: { code: 2, out: '', err: "error: input 'tags': x\nhint: y\n", ms: 1 } }),
        {},
        names,
      ),
    ).toEqual(['exit 0 in the driver but 2 in a process of its own']);
  });
});
