// build-push's real bundle (dist/build-push/index.js) under hundreds of hostile values per
// input, each in turn with the others valid, then mixes: every run exits 0 or 2, or 1 only
// after validation passed (DOCKER_HOST names a socket that does not exist, so the first
// docker call, the engine check, fails and nothing is ever built); exit 2 names the input
// with a hint; never the bug path, a stack trace or an unhandled rejection; no secret
// (password, secrets) in the output. Seeded (SHIPLINE_FUZZ_SEED reproduces a failure); see
// test/support/fuzz.ts for the runner and the property.
import type { InputSpec } from '../../../../src/runtime/define';
import step from '../../../../src/steps/build-push/index';
import {
  assertProperty,
  fuzzCount,
  fuzzSeed,
  rng,
  runFuzz,
  stepCases,
  summarize,
  withMutations,
  type FuzzCase,
  type Rng,
  type ValueSpec,
} from '../../../support/fuzz';

const seed = fuzzSeed('build-push');

const DOCKERFILE = [
  'ARG BASE=busybox',
  'FROM $BASE AS base',
  'RUN true',
  'FROM base AS smoke-test',
  'RUN true',
  'FROM base AS target-image',
  'CMD ["sh"]',
  '',
].join('\n');

const REFS = ['registry.example.com/team/app:1.2', 'localhost:5000/a/b:x', '127.0.0.1:9/a:b', 'ghcr.io/o/app:sha-1'];
const RULES = ['type=sha', 'type=ref,event=branch', 'type=raw,value=dev', 'defaults', 'type=raw,foo', ...REFS];

// Valid values per input (near misses come from mutating them).
const FUZZ: Record<string, ValueSpec> = {
  context: { valid: ['.', 'sub', './sub'] },
  file: { valid: ['Dockerfile', 'sub/Dockerfile', './Dockerfile'] },
  target: { valid: ['target-image', 'base', 'smoke-test', '2'] },
  'build-args': { valid: ['BASE=busybox', 'A=a,b', 'NAME', 'X=', 'K=v=w'], list: true },
  images: {
    valid: ['registry.example.com/team/app', 'localhost:5000/a', 'name=ghcr.io/o/app,enable=false'],
    list: true,
  },
  tags: { valid: RULES, list: true },
  flavor: { valid: ['latest=false', 'prefix=dev-,onlatest=true', 'suffix=-x'], list: true },
  'mr-prefix': { valid: ['MR-', 'pr_'] },
  'sha-length': { valid: ['8', '4', '40'] },
  latest: { valid: ['auto', 'true', 'false'] },
  labels: { valid: ['a=b', 'org.opencontainers.image.title=x', 'k={{branch}}', 'q=say "hi" $HOME'], list: true },
  refs: { valid: REFS, list: true },
  push: { valid: ['true', 'false'] },
  pull: { valid: ['true', 'false'] },
  'no-cache': { valid: ['true', 'false'] },
  load: { valid: ['true', 'false'] },
  'add-hosts': { valid: ['db:10.0.0.2', 'h=192.168.0.1', 'v6:::1', 'gw:host-gateway', 'a.b.c:[fe80::1]'], list: true },
  'shm-size': { valid: ['64m', '2g', '1.5GB', '512'] },
  ulimit: { valid: ['nofile=1024:2048', 'nproc=-1', 'core=0:0'], list: true },
  'cgroup-parent': { valid: ['/ci-builds', 'ci.slice', 'a/b'] },
  secrets: {
    valid: ['tok=abcdefgh', 'a=1234\nb=5678', '"multi=line one\nline, two ""q"""', '# c\nid.x-y_z=v=w'],
    list: true,
  },
  'secret-envs': { valid: ['gh=GH_TOKEN', 'x=HOME', '"a=B"'], list: true },
  'secret-files': { valid: ['key=key.txt', 'k2=./key.txt', 'abs=@@WS@@/key.txt'], list: true },
  ssh: { valid: ['default', 'gh=key.txt', 'default=/tmp/agent.sock', 'x=/a,/b'], list: true },
  network: { valid: ['host', 'none', 'default', 'my-net_1.x'] },
  'cache-from': { valid: ['none', ...REFS, 'type=registry,ref=r.example.com/a:cache', 'type=gha'], list: true },
  'cache-to': { valid: ['type=inline', 'type=registry,ref=r.example.com/a:cache,mode=max'], list: true },
  platforms: { valid: ['linux/amd64', 'linux/amd64,linux/arm64', 'linux/arm/v7'], list: true },
  builder: { valid: ['auto', 'buildx', 'docker'] },
  'smoke-target': { valid: ['smoke-test', 'base'] },
  extract: { valid: ['/src/deps.lock:deps.lock', '/etc/hostname:out/h', '/a:b:c'], list: true },
  username: { valid: ['ci-user', 'robot$x+y', 'u'] },
  password: { valid: ['s3cr3t-passw0rd', 'glpat-0123456789abcdef'] },
  'login-registry': { valid: ['registry.example.com', 'localhost:5000', 'ghcr.io'], list: true },
  // the anchors' inputs build-push refuses, two of them unless false
  provenance: { valid: ['false', 'true', 'mode=max'] },
  sbom: { valid: ['false', 'true'] },
  allow: { valid: ['network.host'] },
};

// Hundreds of values for the inputs this wave added or changed, a hundred for the others
// (their checks are older and shared: image-tags' fuzz test covers the tag inputs), then
// mixes of several fuzzed inputs at once; the run stays around a minute on two cores.
const DEEP = [
  'no-cache',
  'load',
  'add-hosts',
  'shm-size',
  'ulimit',
  'cgroup-parent',
  'secrets',
  'secret-envs',
  'secret-files',
  'ssh',
  'labels',
  'context',
  'file',
  'extract',
];
const pick = (keys: string[], keep: boolean) =>
  Object.fromEntries(Object.entries(FUZZ).filter(([k]) => keys.includes(k) === keep));

/** With a password, a username too, so the run can get past the plan. */
const adjust = (c: FuzzCase): FuzzCase =>
  c.inputs.password && !c.inputs.username ? { ...c, inputs: { ...c.inputs, username: 'ci' } } : c;

/** `n` cases that each fuzz several inputs at once (merged from the one-input cases). */
function mixes(r: Rng, cases: FuzzCase[], n: number): FuzzCase[] {
  return Array.from({ length: n }, () => {
    const parts = Array.from({ length: 2 + r.int(3) }, () => r.pick(cases));
    return adjust({
      ...parts[0]!,
      label: `mixed ${parts.map((p) => p.label.slice(0, 60)).join(' & ')}`,
      inputs: Object.assign({}, ...parts.map((p) => p.inputs)) as Record<string, string>,
      env: Object.assign({}, ...parts.map((p) => p.env ?? {})) as Record<string, string>,
    });
  });
}

describe('build-push fuzz (real bundle)', () => {
  test('every run exits 0, 1 after validation (no engine), or 2 naming the input; never the bug path or a stack trace', async () => {
    const r = rng(seed);
    const common = {
      base: {
        images: 'registry.example.com/team/app',
        'build-args': 'BASE=busybox',
        target: 'target-image',
        'smoke-target': 'smoke-test',
      },
      env: { GH_TOKEN: 'ghp_fuzz0123456789', NAME: 'value' },
      files: { Dockerfile: DOCKERFILE, 'sub/Dockerfile': DOCKERFILE, 'key.txt': 'key-content' },
      adjust,
    };
    const single = [
      ...stepCases({ ...common, fuzz: withMutations(r, pick(DEEP, true), 80), perInput: 200 }, r),
      ...stepCases({ ...common, fuzz: withMutations(r, pick(DEEP, false), 30), perInput: 100 }, r),
    ];
    const cases = [...single, ...mixes(r, single, fuzzCount(200))];
    const t0 = Date.now();
    const results = await runFuzz(cases, {
      step: { name: step.name, inputs: step.inputs as Record<string, InputSpec> },
      seed,
      parallel: 3,
      spawnEvery: 60,
    });
    const ms = Date.now() - t0;
    console.log(`build-push fuzz (seed ${seed}): ${summarize(results, ms)}`);
    assertProperty(
      results,
      {
        // validation passed; the first docker call finds no engine (DOCKER_HOST: a missing socket)
        failures: [/^error: the docker engine is not reachable: /m, /^::error::the docker engine is not reachable: /m],
        names: [/\bSHIPLINE_INPUT_[A-Z0-9_]+\b/],
      },
      { step: { name: step.name, inputs: step.inputs as Record<string, InputSpec> }, seed },
    );
    // the property is not empty: runs got through validation, and runs were refused
    const codes = new Set(results.map((x) => x.main.code));
    expect(codes).toEqual(new Set([1, 2]));
  }, 600_000);
});
