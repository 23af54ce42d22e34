// kaniko-build's building blocks: the kaniko and buildah command lines for a plan, kaniko's
// docker-config location rule, credentials from CI variables (forms, errors that name the
// variable and never its content, masking), exact undo of the config changes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kanikoArgs, kanikoConfigDir, kanikoSmokeArgs } from '../../src/lib/build/kaniko';
import { budArgs, budInsecure, pushArgs } from '../../src/lib/build/buildah';
import { baseImages, makePlan, type BuildPlan } from '../../src/lib/build/plan';
import {
  CredentialError,
  dockerConfigFromVariable,
  existingConfigCredentials,
  gcpKeyCredentials,
  installAuth,
  isLoopbackRegistry,
  maskValue,
  mergeCredentials,
  uninstallAuth,
} from '../../src/lib/build/registry-auth';
import { parseStages } from '../../src/lib/docker/dockerfile';
import { chooseBuilder, collectAuth, containersAuthPath } from '../../src/steps/kaniko-build/index';
import { ShiplineError } from '../../src/lib/util/errors';

const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-kb-unit-'));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const b64 = (s: string) => Buffer.from(s).toString('base64');

function plan(over: Partial<BuildPlan> = {}): BuildPlan {
  return {
    context: '/ws/app',
    dockerfile: '/ws/app/Dockerfile',
    target: 'final',
    smokeTarget: 'smoke-test',
    buildArgs: ['PKG_VERSIONS=pinned', 'MSG=a b'],
    refs: ['harbor.example.com/team/app:01234567', 'harbor.example.com/team/app:latest'],
    labels: { 'org.opencontainers.image.revision': '0123', 'org.opencontainers.image.version': '01234567' },
    cache: true,
    cacheRepo: 'harbor.example.com/team/app/cache',
    push: true,
    pullRegistries: ['docker.io'],
    pushRegistries: ['harbor.example.com'],
    ...over,
  };
}

describe('kaniko command line (flags as the kaniko README documents them)', () => {
  test('main build: context, dockerfile, one --destination per tag, target, build args, labels, cache, digest files', () => {
    expect(kanikoArgs(plan(), { digestFile: '/t/digest', imageNameWithDigestFile: '/t/name' })).toEqual([
      '--context=dir:///ws/app',
      '--dockerfile=/ws/app/Dockerfile',
      '--destination=harbor.example.com/team/app:01234567',
      '--destination=harbor.example.com/team/app:latest',
      '--target=final',
      '--build-arg=PKG_VERSIONS=pinned',
      '--build-arg=MSG=a b',
      '--label=org.opencontainers.image.revision=0123',
      '--label=org.opencontainers.image.version=01234567',
      '--cache=true',
      '--cache-repo=harbor.example.com/team/app/cache',
      '--digest-file=/t/digest',
      '--image-name-with-digest-file=/t/name',
    ]);
  });
  test('push: false adds --no-push; no cache, no target: neither flag; loopback registries get --insecure-registry', () => {
    const args = kanikoArgs(plan({ push: false, cache: false, target: undefined, refs: ['127.0.0.1:5002/app:x'], pullRegistries: ['127.0.0.1:5001'], pushRegistries: ['127.0.0.1:5002'] }), {
      digestFile: '/d',
      imageNameWithDigestFile: '/n',
    });
    expect(args).toContain('--no-push');
    expect(args.filter((a) => a.startsWith('--insecure-registry='))).toEqual(['--insecure-registry=127.0.0.1:5001', '--insecure-registry=127.0.0.1:5002']);
    expect(args.some((a) => a.startsWith('--cache') || a.startsWith('--target'))).toBe(false);
  });
  test('smoke build: the smoke target, nothing pushed, --cleanup for the next build in the same container', () => {
    expect(kanikoSmokeArgs(plan())).toEqual([
      '--context=dir:///ws/app',
      '--dockerfile=/ws/app/Dockerfile',
      '--target=smoke-test',
      '--build-arg=PKG_VERSIONS=pinned',
      '--build-arg=MSG=a b',
      '--no-push',
      '--no-push-cache',
      '--cleanup',
    ]);
  });
  test("config location follows kaniko's rule: DOCKER_CONFIG when a directory, else /kaniko/.docker; an input wins", () => {
    const dir = tmp();
    expect(kanikoConfigDir({})).toBe('/kaniko/.docker');
    expect(kanikoConfigDir({ DOCKER_CONFIG: dir + '/' })).toBe(dir);
    expect(kanikoConfigDir({ DOCKER_CONFIG: path.join(dir, 'missing') })).toBe('/kaniko/.docker');
    expect(kanikoConfigDir({ DOCKER_CONFIG: dir }, '/cfg')).toBe('/cfg');
  });
});

describe('buildah command lines', () => {
  test('bud: isolation, file, iidfile, target, args, labels, tags, cache, authfile, context last', () => {
    expect(budArgs(plan(), { isolation: 'chroot', iidFile: '/t/iid', authFile: '/t/auth.json' })).toEqual([
      'bud', '--isolation', 'chroot', '-f', '/ws/app/Dockerfile', '--iidfile', '/t/iid', '--target', 'final',
      '--build-arg', 'PKG_VERSIONS=pinned', '--build-arg', 'MSG=a b',
      '--label', 'org.opencontainers.image.revision=0123', '--label', 'org.opencontainers.image.version=01234567',
      '-t', 'harbor.example.com/team/app:01234567', '-t', 'harbor.example.com/team/app:latest',
      '--layers', '--cache-from', 'harbor.example.com/team/app/cache', '--cache-to', 'harbor.example.com/team/app/cache',
      '--authfile', '/t/auth.json', '/ws/app',
    ]);
  });
  test('smoke bud: smoke target, untagged, no labels, never --cache-to', () => {
    const a = budArgs(plan(), { isolation: 'oci', iidFile: '/t/s', authFile: undefined, smoke: true });
    expect(a.slice(0, 9)).toEqual(['bud', '--isolation', 'oci', '-f', '/ws/app/Dockerfile', '--iidfile', '/t/s', '--target', 'smoke-test']);
    expect(a).not.toContain('-t');
    expect(a).not.toContain('--label');
    expect(a).not.toContain('--cache-to');
    expect(a).not.toContain('--authfile');
  });
  test('TLS verification is off only for loopback registries', () => {
    expect(budInsecure(plan())).toBe(false);
    expect(budInsecure(plan({ pullRegistries: ['127.0.0.1:5001'], cache: false }))).toBe(true);
    expect(budInsecure(plan({ pullRegistries: ['127.0.0.1:5001', 'docker.io'] }))).toBe(false);
    expect(budInsecure(plan({ pullRegistries: [] }))).toBe(false);
    expect(pushArgs('sha256:abc', '127.0.0.1:5002/app:1', { authFile: '/a', digestFile: '/d' })).toEqual([
      'push', '--digestfile', '/d', '--authfile', '/a', '--tls-verify=false', 'sha256:abc', 'docker://127.0.0.1:5002/app:1',
    ]);
    expect(pushArgs('id', 'harbor.example.com/app:1', { authFile: undefined, digestFile: '/d' })).toEqual(['push', '--digestfile', '/d', 'id', 'docker://harbor.example.com/app:1']);
    expect(['localhost:5000', '127.0.0.1', '[::1]:5000'].every(isLoopbackRegistry)).toBe(true);
    expect(['127.example.com', '10.0.0.1:5000', 'localhost.evil.com'].some(isLoopbackRegistry)).toBe(false);
  });
});

describe('plan', () => {
  test('base images: stage names, scratch and unresolved variables are not pulled', () => {
    const stages = parseStages('ARG BASE=x\nFROM ${BASE} AS a\nFROM a AS b\nFROM scratch\nFROM harbor.example.com/base/py:3 AS c\nFROM $OTHER\n');
    expect(baseImages(stages, ['BASE=127.0.0.1:5001/base/busybox:1'])).toEqual(['127.0.0.1:5001/base/busybox:1', 'harbor.example.com/base/py:3']);
  });
  test('unknown target / smoke-target and a missing Dockerfile fail with exit 2 before anything runs', () => {
    const ws = tmp();
    fs.writeFileSync(path.join(ws, 'Dockerfile'), 'FROM busybox AS build\nFROM build AS final\n');
    const base = { workspace: ws, context: '.', file: undefined, target: undefined, smokeTarget: undefined, buildArgs: [], refs: [], labels: {}, cache: false, cacheRepo: undefined, push: false };
    expect(makePlan(base).pullRegistries).toEqual(['docker.io']);
    for (const [over, msg] of [
      [{ target: 'nope' }, /input 'target': stage 'nope' is not in/],
      [{ smokeTarget: 'smoke' }, /input 'smoke-target': stage 'smoke' is not in/],
      [{ file: 'sub/Dockerfile' }, /Dockerfile not found: .*sub\/Dockerfile/],
    ] as const) {
      let err: unknown;
      try {
        makePlan({ ...base, ...over });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShiplineError);
      expect((err as ShiplineError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(msg);
    }
  });
});

describe('credentials from CI variables', () => {
  const user = 'robot$team+ci';
  const pass = 'CANARY-pass-1f2e3d4c5b6a';
  const config = JSON.stringify({ auths: { 'harbor.example.com': { auth: b64(`${user}:${pass}`) } } });

  test.each([
    ['raw JSON', config],
    ['base64', b64(config)],
    ['base64 with line breaks', b64(config).replace(/(.{60})/g, '$1\n')],
  ])('docker config variable as %s', (_, value) => {
    const masked: string[] = [];
    const auth = dockerConfigFromVariable({ HARBOR_ROBOT_CREDS_JSON: value }, 'HARBOR_ROBOT_CREDS_JSON', 'auth-config-variable', (v) => masked.push(v));
    expect(auth.credentials).toEqual([{ registry: 'harbor.example.com', username: user, password: pass, source: 'variable HARBOR_ROBOT_CREDS_JSON' }]);
    for (const line of value.split('\n')) expect(masked).toContain(line);
    expect(masked).toContain(pass);
  });

  test('a multi-line value is masked line by line, except bare braces', () => {
    const masked: string[] = [];
    maskValue((v) => masked.push(v), '{\n  "type": "service_account",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\nABCD\\n",\n  "x": [\n  ],\n  "k": "abcd"\n}\n');
    expect(masked).toEqual(['"type": "service_account",', '"private_key": "-----BEGIN PRIVATE KEY-----\\nABCD\\n",', '"k": "abcd"']);
    masked.length = 0;
    maskValue((v) => masked.push(v), 'one-line');
    expect(masked).toEqual(['one-line']);
  });

  test('username/password entries and credHelpers pass through', () => {
    const v = JSON.stringify({ auths: { 'a.example.com': { username: 'u', password: 'p-secret' } }, credHelpers: { '1.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' } });
    const auth = dockerConfigFromVariable({ V: v }, 'V', 'auth-config-variable', () => undefined);
    expect(auth.credentials.map((c) => [c.registry, c.username, c.password])).toEqual([['a.example.com', 'u', 'p-secret']]);
    expect(auth.credHelpers).toEqual({ '1.dkr.ecr.eu-west-1.amazonaws.com': 'ecr-login' });
  });

  test.each([
    ['unset', undefined, /variable HARBOR_ROBOT_CREDS_JSON \(named by input 'auth-config-variable'\) is not set/],
    ['empty', '', /variable HARBOR_ROBOT_CREDS_JSON .* is empty/],
    ['blank', '  \n', /is empty/],
    ['not JSON', 'CANARY-garbage-value-9a8b7c!', /is neither JSON nor base64-encoded JSON/],
    ['invalid JSON', '{"auths": CANARY-broken', /is neither JSON nor base64-encoded JSON/],
    ['no auths', '{"CANARY-x": 1}', /has no "auths" object/],
    ['entry without auth', '{"auths":{"harbor.example.com":{"email":"CANARY-mail"}}}', /entry for "harbor.example.com" without a usable "auth"/],
    ['auth without colon', JSON.stringify({ auths: { h: { auth: b64('CANARY-nocolon') } } }), /entry for "h" without a usable "auth"/],
  ])('%s: an early error naming the variable and the form, never the content', (_, value, msg) => {
    let err: unknown;
    try {
      dockerConfigFromVariable(value === undefined ? {} : { HARBOR_ROBOT_CREDS_JSON: value }, 'HARBOR_ROBOT_CREDS_JSON', 'auth-config-variable', () => undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CredentialError);
    const e = err as CredentialError;
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(msg);
    expect(e.hint).toMatch(/HARBOR_ROBOT_CREDS_JSON to a docker config JSON, raw or base64-encoded: \{"auths"/);
    expect(`${e.message} ${e.hint}`).not.toMatch(/CANARY/);
  });

  test('a GitLab file-type variable (a path) is read', () => {
    const f = path.join(tmp(), 'creds');
    fs.writeFileSync(f, config);
    expect(dockerConfigFromVariable({ C: f }, 'C', 'auth-config-variable', () => undefined).credentials[0]!.password).toBe(pass);
  });

  test('an input holding a value instead of a name is refused without echoing it', () => {
    expect(() => dockerConfigFromVariable({}, '{"auths":{"CANARY":1}}', 'auth-config-variable', () => undefined)).toThrow(/^input 'auth-config-variable' is not a variable name \(letters, digits, '_'\)$/);
  });

  test('GCP service-account key: _json_key basic auth per Google registry; malformed names the variable', () => {
    const key = JSON.stringify({ type: 'service_account', client_email: 'ci@p.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nCANARY-key\n-----END PRIVATE KEY-----\n' });
    const masked: string[] = [];
    const creds = gcpKeyCredentials({ GCP_SERVICE_ACCOUNT_KEY: b64(key) }, 'GCP_SERVICE_ACCOUNT_KEY', 'gcp-key-variable', ['europe-docker.pkg.dev', 'gcr.io'], (v) => masked.push(v));
    expect(creds.map((c) => [c.registry, c.username, c.password])).toEqual([
      ['europe-docker.pkg.dev', '_json_key', key],
      ['gcr.io', '_json_key', key],
    ]);
    expect(masked).toContain(key);
    expect(() => gcpKeyCredentials({ K: '{"type":"authorized_user","CANARY":1}' }, 'K', 'gcp-key-variable', ['gcr.io'], () => undefined)).toThrow(/variable K .* is not a service-account key/);
    expect(() => gcpKeyCredentials({ K: key }, 'K', 'gcp-key-variable', [], () => undefined)).toThrow(/no Google registry/);
    expect(() => gcpKeyCredentials({}, 'K', 'gcp-key-variable', ['gcr.io'], () => undefined)).toThrow(/variable K .* is not set/);
  });

  test('later sources win per registry (same key however written)', () => {
    const a = [{ registry: 'https://index.docker.io/v1/', username: 'a', password: '1', source: 'x' }];
    const b = [{ registry: 'docker.io', username: 'b', password: '2', source: 'y' }, { registry: 'r.example.com', username: 'c', password: '3', source: 'y' }];
    expect(mergeCredentials(a, b).map((c) => c.username)).toEqual(['b', 'c']);
  });

  test('existing docker config (an ecr-login entry) is found for the registries involved only', async () => {
    const dir = tmp();
    const p = path.join(dir, 'config.json');
    fs.writeFileSync(p, JSON.stringify({ auths: { '123.dkr.ecr.us-east-1.amazonaws.com': { auth: b64('AWS:ecr-token-CANARY') }, 'other.example.com': { auth: b64('o:p') } } }));
    const masked: string[] = [];
    const found = await existingConfigCredentials(p, ['123.dkr.ecr.us-east-1.amazonaws.com', 'docker.io'], (v) => masked.push(v), () => undefined);
    expect(found.map((c) => [c.registry, c.username, c.password])).toEqual([['123.dkr.ecr.us-east-1.amazonaws.com', 'AWS', 'ecr-token-CANARY']]);
    expect(masked).toEqual(['ecr-token-CANARY']);
    expect(await existingConfigCredentials(path.join(dir, 'none.json'), ['x'], () => undefined, () => undefined)).toEqual([]);
  });
});

describe('installing credentials and undoing it exactly', () => {
  test('a file the step created is removed; a file that existed gets its old entries back', () => {
    const dir = tmp();
    const p = path.join(dir, 'config.json');
    const auth = { credentials: [{ registry: 'harbor.example.com', username: 'u', password: 'p', source: 's' }], credHelpers: { 'x.example.com': 'ecr-login' } };
    const rec = installAuth(p, auth);
    expect(rec.createdFile).toBe(true);
    expect(fs.statSync(p).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(p, 'utf8'))).toEqual({ auths: { 'harbor.example.com': { auth: b64('u:p') } }, credHelpers: { 'x.example.com': 'ecr-login' } });
    uninstallAuth(JSON.parse(JSON.stringify(rec)));
    expect(fs.existsSync(p)).toBe(false);

    const before = { auths: { 'harbor.example.com': { auth: b64('old:pw') }, 'keep.example.com': { auth: b64('k:k') } }, credHelpers: { 'x.example.com': 'gcr' }, experimental: 'enabled' };
    fs.writeFileSync(p, JSON.stringify(before));
    const rec2 = installAuth(p, auth);
    expect(rec2.createdFile).toBe(false);
    uninstallAuth(rec2);
    expect(JSON.parse(fs.readFileSync(p, 'utf8'))).toEqual(before);
  });
});

describe('choosing the builder', () => {
  const dir = tmp();
  const exe = path.join(dir, 'executor');
  fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
  const notExe = path.join(dir, 'plain');
  fs.writeFileSync(notExe, '', { mode: 0o644 });
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir);
  fs.writeFileSync(path.join(binDir, 'buildah'), '#!/bin/sh\n', { mode: 0o755 });

  test('auto: kaniko when the executor is executable, else buildah on PATH, else an error naming both', () => {
    expect(chooseBuilder('auto', exe, { PATH: binDir })).toBe('kaniko');
    expect(chooseBuilder('auto', notExe, { PATH: binDir })).toBe('buildah');
    expect(chooseBuilder('auto', path.join(dir, 'missing'), { PATH: binDir })).toBe('buildah');
    expect(() => chooseBuilder('auto', path.join(dir, 'missing'), { PATH: dir })).toThrow(/no daemonless builder found: .*missing is missing and 'buildah' is not on PATH/);
  });
  test('forced builders fail when absent', () => {
    expect(chooseBuilder('buildah', exe, { PATH: binDir })).toBe('buildah');
    expect(() => chooseBuilder('kaniko', notExe, { PATH: binDir })).toThrow(/kaniko executor .* is missing or not executable/);
    expect(() => chooseBuilder('buildah', exe, { PATH: dir })).toThrow(/'buildah' was not found on PATH/);
  });
});

describe('collecting every source before the build', () => {
  const noInputs = { authConfigVariable: undefined, registry: undefined, username: undefined, password: undefined, gcpKeyVariable: undefined, gcpRegistries: [], useDockerConfig: true, kanikoConfigDir: undefined };
  const p = plan({ pullRegistries: ['127.0.0.1:5001'], pushRegistries: ['harbor.example.com'], cacheRepo: undefined });
  const write = (file: string, auths: Record<string, string>) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ auths: Object.fromEntries(Object.entries(auths).map(([k, v]) => [k, { auth: b64(v) }])) }));
  };

  test('buildah: docker config, then buildah\'s own auth.json, then the variable, then username/password (later wins)', async () => {
    const dir = tmp();
    write(path.join(dir, 'docker/config.json'), { 'harbor.example.com': 'docker:1', '127.0.0.1:5001': 'docker:2', 'unrelated.example.com': 'x:y' });
    write(path.join(dir, 'xdg/containers/auth.json'), { '127.0.0.1:5001': 'podman:3' });
    const env = { DOCKER_CONFIG: path.join(dir, 'docker'), XDG_RUNTIME_DIR: path.join(dir, 'xdg'), V: JSON.stringify({ auths: { 'harbor.example.com': { auth: b64('var:4') } } }) };
    expect(containersAuthPath(env)).toBe(path.join(dir, 'xdg/containers/auth.json'));
    expect(containersAuthPath({ ...env, REGISTRY_AUTH_FILE: '/r.json' })).toBe('/r.json');
    const pick = (a: { credentials: { registry: string; username: string; password: string }[] }) => Object.fromEntries(a.credentials.map((c) => [c.registry, `${c.username}:${c.password}`]));
    expect(pick(await collectAuth(env, noInputs, p, 'buildah', () => undefined, () => undefined))).toEqual({ 'harbor.example.com': 'docker:1', '127.0.0.1:5001': 'podman:3' });
    expect(pick(await collectAuth(env, { ...noInputs, authConfigVariable: 'V' }, p, 'buildah', () => undefined, () => undefined))['harbor.example.com']).toBe('var:4');
    expect(pick(await collectAuth(env, { ...noInputs, authConfigVariable: 'V', username: 'u', password: 'pw' }, p, 'buildah', () => undefined, () => undefined))['harbor.example.com']).toBe('u:pw');
    // kaniko with its own config dir: the docker config is copied, buildah's file is not;
    // kaniko reading DOCKER_CONFIG itself: nothing to copy. use-docker-config: false reads neither.
    expect(pick(await collectAuth(env, { ...noInputs, kanikoConfigDir: path.join(dir, 'kaniko') }, p, 'kaniko', () => undefined, () => undefined))['127.0.0.1:5001']).toBe('docker:2');
    expect((await collectAuth(env, noInputs, p, 'kaniko', () => undefined, () => undefined)).credentials).toEqual([]);
    expect((await collectAuth(env, { ...noInputs, useDockerConfig: false }, p, 'buildah', () => undefined, () => undefined)).credentials).toEqual([]);
  });

  test('username without password (or the reverse) is an early error naming both inputs', async () => {
    await expect(collectAuth({}, { ...noInputs, username: 'u' }, p, 'buildah', () => undefined, () => undefined)).rejects.toThrow("input 'password' is empty while 'username' is set");
    await expect(collectAuth({}, { ...noInputs, password: 'p' }, p, 'buildah', () => undefined, () => undefined)).rejects.toThrow("input 'username' is empty while 'password' is set");
  });
});
