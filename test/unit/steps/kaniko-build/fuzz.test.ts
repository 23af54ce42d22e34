// kaniko-build's real bundle (dist/kaniko-build/index.js) under hundreds of hostile values
// per input and per credentials variable it reads, each in turn with the others valid, then
// mixes: every run exits 0 or 2, or 1 only after validation passed (the plan and the
// credentials variables); exit 2 names the input (or the variable) with a hint; never the
// bug path, a stack trace or an unhandled rejection; no credential in the output. Nothing is
// ever built: the kaniko executor and buildah are stand-ins of this test that refuse to
// build (exit 3); a case whose kaniko-config-dir is fuzzed gets no credentials, so nothing
// is written outside the case.
// Seeded (SHIPLINE_FUZZ_SEED reproduces a failure); see test/support/fuzz.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InputSpec } from '../../../../src/runtime/define';
import step from '../../../../src/steps/kaniko-build/index';
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

const seed = fuzzSeed('kaniko-build');

const DOCKERFILE = [
  'ARG BASE=busybox',
  'ARG PKG_VERSIONS=pinned',
  'FROM ${BASE} AS base',
  'RUN true',
  'FROM base AS pkg-pinned',
  'FROM pkg-${PKG_VERSIONS} AS pkg',
  'FROM pkg AS smoke-test',
  'RUN true',
  'FROM pkg AS final',
  'CMD ["sh"]',
  '',
].join('\n');

const ROBOT_PASSWORD = 'fuzz-robot-password-7f3a9c';
const dockerConfig = (registry: string) =>
  Buffer.from(
    JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`robot$ci:${ROBOT_PASSWORD}`).toString('base64') } } }),
  ).toString('base64');
const GCP_KEY = JSON.stringify({
  type: 'service_account',
  project_id: 'p',
  private_key_id: 'k',
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIfuzz\n-----END PRIVATE KEY-----\n',
  client_email: 'ci@p.iam.gserviceaccount.com',
});

// Credentials sources: a case that fuzzes kaniko-config-dir gets none of them (see adjust).
const CREDENTIAL_INPUTS = ['auth-config-variable', 'username', 'password', 'gcp-key-variable'];

describe('kaniko-build fuzz (real bundle)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-fuzz-'));
  const executor = path.join(dir, 'executor');
  fs.writeFileSync(executor, '#!/bin/sh\necho "kaniko stand-in: nothing is built in the fuzz test" >&2\nexit 3\n', {
    mode: 0o755,
  });
  // buildah on PATH is a stand-in too: the buildah path runs up to its first buildah call
  // (the global ARG defaults, the Dockerfile with its LABEL line), then the stand-in refuses.
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'buildah'),
    '#!/bin/sh\necho "buildah stand-in: nothing is built in the fuzz test" >&2\nexit 3\n',
    {
      mode: 0o755,
    },
  );
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const FUZZ: Record<string, ValueSpec> = {
    builder: { valid: ['auto', 'kaniko', 'buildah'] },
    executor: { valid: [executor, '/kaniko/executor'] },
    context: { valid: ['.', 'sub', './sub'] },
    file: { valid: ['Dockerfile', 'sub/Dockerfile'] },
    target: { valid: ['final', 'smoke-test', 'pkg', '0'] },
    'build-args': { valid: ['BASE=busybox', 'PKG_VERSIONS=refresh', 'NAME', 'A=a,b', 'X='], list: true },
    images: {
      valid: ['registry.example.com/team/app', 'localhost:5000/a', 'europe-docker.pkg.dev/p/r/app'],
      list: true,
    },
    tags: { valid: ['type=sha', 'type=ref,event=branch', 'type=raw,value=dev', 'defaults'], list: true },
    flavor: { valid: ['latest=false', 'prefix=dev-,onlatest=true'], list: true },
    'mr-prefix': { valid: ['MR-', 'pr_'] },
    'sha-length': { valid: ['8', '4', '40'] },
    latest: { valid: ['auto', 'true', 'false'] },
    labels: { valid: ['a=b', 'q=say "hi" $HOME', 'k={{branch}}'], list: true },
    cache: { valid: ['true', 'false'] },
    'cache-repo': { valid: ['registry.example.com/team/app/cache', 'localhost:5000/c'] },
    push: { valid: ['true', 'false'] },
    'smoke-target': { valid: ['smoke-test', 'base'] },
    'auth-config-variable': { valid: ['HARBOR_CREDS', 'PATH', 'GCP_KEY'] },
    registry: { valid: ['registry.example.com', 'localhost:5000', '[::1]:5000'] },
    username: { valid: ['robot$ci+x', 'u'] },
    password: { valid: ['s3cr3t-passw0rd', 'glpat-0123456789abcdef'] },
    'gcp-key-variable': { valid: ['GCP_KEY', 'HARBOR_CREDS'] },
    'gcp-registries': { valid: ['europe-docker.pkg.dev', 'gcr.io'], list: true },
    'use-docker-config': { valid: ['true', 'false'] },
    'kaniko-config-dir': { valid: ['@@CASE@@/kaniko', '@@CASE@@/docker'] },
    network: { valid: ['host', 'none', 'my-net'] },
    isolation: { valid: ['chroot', 'oci', 'rootless'] },
    // the variables the credentials inputs name
    'env:HARBOR_CREDS': {
      valid: [dockerConfig('registry.example.com'), Buffer.from(dockerConfig('x')).toString(), '{"auths":{}}'],
    },
    'env:GCP_KEY': { valid: [GCP_KEY, Buffer.from(GCP_KEY).toString('base64')] },
    'env:NAME': { valid: ['value', ''] },
  };

  // Hundreds of values for the inputs this wave changed and those that reach the builder's
  // command line or the credentials, a hundred for the others, then mixes.
  const DEEP = [
    'builder',
    'executor',
    'context',
    'file',
    'target',
    'smoke-target',
    'build-args',
    'labels',
    'auth-config-variable',
    'env:HARBOR_CREDS',
    'env:GCP_KEY',
    'env:NAME',
  ];
  const pick = (keys: string[], keep: boolean) =>
    Object.fromEntries(Object.entries(FUZZ).filter(([k]) => keys.includes(k) === keep));

  /** Half the cases on buildah's path, half on kaniko's; a fuzzed config dir never gets credentials. */
  const adjust = (c: FuzzCase, r: Rng): FuzzCase => {
    const inputs = { ...c.inputs };
    if (inputs['kaniko-config-dir'] !== undefined) {
      // a fuzzed config dir could name any directory: nothing may be written to it
      for (const k of CREDENTIAL_INPUTS) delete inputs[k];
      inputs['use-docker-config'] = 'false';
    } else if (inputs.password !== undefined && inputs.username === undefined) inputs.username = 'ci';
    if (inputs.builder === undefined && r.chance(0.5)) inputs.builder = 'buildah';
    return { ...c, inputs };
  };

  /** `n` cases that each fuzz several inputs at once (merged from the one-input cases). */
  const mixes = (r: Rng, cases: FuzzCase[], n: number): FuzzCase[] =>
    Array.from({ length: n }, () => {
      const parts = Array.from({ length: 2 + r.int(3) }, () => r.pick(cases));
      return adjust(
        {
          ...parts[0]!,
          label: `mixed ${parts.map((p) => p.label.slice(0, 60)).join(' & ')}`,
          inputs: Object.assign({}, ...parts.map((p) => p.inputs)) as Record<string, string>,
          env: Object.assign({}, ...parts.map((p) => p.env ?? {})) as Record<string, string>,
        },
        r,
      );
    });

  test('every run exits 0, 1 after validation (nothing builds), or 2 naming the input; never the bug path or a stack trace', async () => {
    const r = rng(seed);
    const common = {
      base: {
        images: 'registry.example.com/team/app',
        executor,
        target: 'final',
        'smoke-target': 'smoke-test',
        'build-args': 'BASE=busybox\nNAME',
        'auth-config-variable': 'HARBOR_CREDS',
        labels: 'team=platform',
      },
      env: {
        PATH: bin,
        HARBOR_CREDS: dockerConfig('registry.example.com'),
        GCP_KEY,
        NAME: 'value',
      },
      secrets: [ROBOT_PASSWORD],
      files: { Dockerfile: DOCKERFILE, 'sub/Dockerfile': DOCKERFILE },
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
    console.log(`kaniko-build fuzz (seed ${seed}): ${summarize(results, ms)}`);
    assertProperty(
      results,
      {
        // validation passed: a stand-in refused to build, or the executor asked for is not there
        failures: [
          /the kaniko executor .* is missing or not executable/,
          /kaniko (smoke )?build.* failed with exit code 3/,
          /buildah bud.* failed with exit code 3/,
        ],
        names: [/\b(HARBOR_CREDS|GCP_KEY|PATH|SHIPLINE_INPUT_[A-Z0-9_]+)\b/],
      },
      { step: { name: step.name, inputs: step.inputs as Record<string, InputSpec> }, seed },
    );
    // runs got to both stand-ins: past every check, up to the builder's command
    const said = (re: RegExp) => results.filter((x) => re.test(x.main.out + x.main.err)).length;
    expect(said(/kaniko stand-in: nothing is built/)).toBeGreaterThan(100);
    expect(said(/buildah stand-in: nothing is built/)).toBeGreaterThan(100);
    expect(said(/global ARG defaults passed to buildah: PKG_VERSIONS=pinned/)).toBeGreaterThan(100);
    const codes = new Set(results.map((x) => x.main.code));
    expect(codes).toEqual(new Set([1, 2]));
    // nothing was written outside the cases (the stand-ins are all there is here)
    expect(fs.readdirSync(dir).sort()).toEqual(['bin', 'executor']);
    expect(fs.readdirSync(bin)).toEqual(['buildah']);
  }, 600_000);
});
