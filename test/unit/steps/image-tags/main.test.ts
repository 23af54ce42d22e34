// image-tags through the real runtime (runStep) with hundreds of random and hostile input
// values and CI variables: every run exits 0 or 2, none reaches the bug path, none prints a
// stack trace.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import step from '../../../../src/steps/image-tags/index';
import { runStep } from '../../../../src/runtime/run';

// A small seeded PRNG (mulberry32): the same values every run.
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(15);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const HOSTILE = [
  '',
  ' ',
  '\n',
  '\r\n\r\n',
  'x'.repeat(5000),
  '{{',
  '}}',
  '{{}}',
  '{{{branch}}}',
  '{{branch}',
  '{{#if a}}b{{/if}}',
  '{{> partial}}',
  '{{nope}}',
  "{{date 'YYYY' tz='Nowhere/Zone'}}",
  "{{date 'NNNN'}}",
  "{{date 'zz' tz='Asia/Tokyo'}}",
  "{{date 'YYYYMMDD' foo='x'}}",
  '{{date a b c}}',
  '{{commit_date}}',
  '{{sha 1}}',
  '\\{{branch}}',
  '"',
  '""',
  '"a,b"',
  'a"b',
  "'",
  ',,,',
  '=',
  '==',
  'type=',
  'type=raw',
  'type=raw,',
  'type=raw,value=',
  'type=raw,value=-x',
  'type=raw,value=.x',
  'type=raw,value=ü',
  'type=raw,value=' + 'a'.repeat(300),
  'type=ref',
  'type=ref,event=',
  'type=ref,event=pr,prefix=' + 'p'.repeat(200),
  'type=semver',
  'type=semver,pattern={{version}},match=(',
  'type=semver,pattern={{version}},match=x',
  'type=semver,pattern={{raw}},value={{branch}}',
  'type=pep440,pattern={{major}}.{{minor}},value=1.0dev4',
  'type=match,pattern=/(.*)/gi,group=7',
  'type=match,pattern=v(\\d+),group=-1',
  'type=match,pattern=[',
  'type=sha,format=medium',
  'type=sha,format=long,prefix={{branch}}/',
  'type=edge,branch=',
  'type=schedule,pattern={{branch}}',
  'type=raw,value=x,priority=1e3',
  'type=raw,value=x,priority=-5',
  'type=raw,value=x,enable={{is_default_branch}}',
  'type=raw,value=x,enable=TRUE',
  'latest=maybe',
  'latest=false',
  'prefix=a=b',
  'prefix={{branch}}-,onlatest=true',
  'suffix=-x,onlatest=maybe',
  'onlatest=true',
  'key=value',
  'key={{tag}}',
  'org.opencontainers.image.title=',
  'name=registry.example.com/a/b,enable=false',
  'name=,enable=true',
  'REGISTRY.example.com/Team/App',
  'localhost:5000/a//b',
  'registry.example.com/a:b',
  'a@sha256:' + '0'.repeat(64),
  '日本語',
  '\u0000',
  '\u202e',
  '🐳',
  '--images',
  '$(id)',
  '`id`',
  '%00',
  '#comment',
  'defaults',
  '4',
  '41',
  '-1',
  'auto',
  'true',
];
const randomText = () =>
  Array.from({ length: Math.floor(rand() * 40) }, () => String.fromCharCode(Math.floor(rand() * 0x3000))).join('');
const value = () => (rand() < 0.8 ? pick(HOSTILE) : randomText());
const lines = () => Array.from({ length: 1 + Math.floor(rand() * 3) }, value).join('\n');

const INPUTS = Object.keys(step.inputs);
const CI_VARS = {
  CI_COMMIT_BRANCH: () => pick(['main', 'feature/x', '-x', '.hidden', 'ü/ß', 'a'.repeat(300), '{{sha}}', value()]),
  CI_COMMIT_TAG: () => pick(['v1.2.3', 'v2.0.0-rc.1', '1.0dev4', 'release-2024', '', value()]),
  CI_MERGE_REQUEST_IID: () => pick(['', '', '7', value()]),
  CI_PIPELINE_SOURCE: () => pick(['push', 'schedule', 'merge_request_event', 'web', value()]),
  CI_COMMIT_TIMESTAMP: () => pick(['2026-11-20T10:15:30+01:00', 'not a date', '']),
  DOCKER_METADATA_SHORT_SHA_LENGTH: () => pick(['', '12', 'x', '0', value()]),
  DOCKER_METADATA_ANNOTATIONS_LEVELS: () => pick(['', 'manifest,index', 'everywhere', value()]),
  DOCKER_METADATA_SET_OUTPUT_ENV: () => pick(['', 'true', 'false', value()]),
  DOCKER_METADATA_PR_HEAD_SHA: () => pick(['', 'true', value()]),
};

const RUNS = 400;

describe('image-tags under hostile inputs (runStep, GitLab runtime)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipline-it-fuzz-'));
  const runs = mkdtempSync(join(tmpdir(), 'shipline-it-fuzz-runs-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(runs, { recursive: true, force: true });
  });

  test(`${RUNS} runs exit 0 or 2, never the bug path, never a stack trace`, async () => {
    const codes: Record<number, number> = {};
    for (let i = 0; i < RUNS; i++) {
      const env: Record<string, string> = {
        GITLAB_CI: 'true',
        CI_PROJECT_DIR: dir,
        SHIPLINE_RUN_DIR: join(runs, `run-${i}`),
        CI_COMMIT_SHA: '4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d',
        CI_DEFAULT_BRANCH: 'main',
      };
      for (const [k, gen] of Object.entries(CI_VARS)) if (rand() < 0.5) env[k] = gen();
      const given: Record<string, string> = {};
      // Odd runs set many inputs (most are refused), even runs few (many succeed).
      for (const name of INPUTS) {
        if (rand() < (i % 2 ? 0.45 : 0.08)) {
          given[name] = lines();
          env[`SHIPLINE_INPUT_${name.toUpperCase().replace(/-/g, '_')}`] = given[name];
        }
      }
      const out: string[] = [];
      const code = await runStep(step, { env, viaCli: true, stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
      const text = out.join('');
      const problem =
        ![0, 2].includes(code) || /shipline bug|unexpected error/.test(text) || /\n\s+at .+\(.+:\d+:\d+\)/.test(text);
      if (problem)
        throw new Error(
          `run ${i} exit ${code}\ninputs ${JSON.stringify(given)}\nenv ${JSON.stringify(env)}\n${text.slice(-2000)}`,
        );
      codes[code] = (codes[code] ?? 0) + 1;
    }
    // Both outcomes happen: the values are neither all rejected nor all accepted.
    expect(codes[0]).toBeGreaterThan(20);
    expect(codes[2]).toBeGreaterThan(20);
  }, 60_000);
});
