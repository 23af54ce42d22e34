// untag against real parts: the bench's open Distribution registry (through its counting
// proxy, so the requests of this run are counted by repository) and the loopback ECR API
// in front of the basic-auth registry. Images are built FROM $TB_BASE_IMAGE by the docker
// engine (one label each, so each has its own digest) in unique repositories; what is
// left is checked with skopeo, an independent client.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { benchControl, describeBench, type BenchEnv } from '../support/testbed';
import { repoRoot, run, runOk, withEnv, type RunResult } from '../support/exec';
import { parseOutputs, skopeoDigest } from '../support/retag-run';
import { uniq } from '../support/retag-images';
import { expectNoLeaks } from '../support/canary';

jest.setTimeout(180_000);

const BUNDLE = path.join(repoRoot, 'dist/untag/index.js');

/** The untag bundle through the CLI runtime, in its own directory with this docker config. */
async function untagCli(
  args: string[],
  dockerConfigDir: string,
  extraEnv: Record<string, string | undefined> = {},
): Promise<RunResult & { outputs: Record<string, string> }> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'untag-cli-'));
  try {
    const env = withEnv({
      DOCKER_CONFIG: dockerConfigDir,
      GITHUB_ACTIONS: undefined,
      GITLAB_CI: undefined,
      SHIPLINE_OUTPUT_FILE: path.join(cwd, 'outputs.env'),
      SHIPLINE_ENV_FILE: path.join(cwd, 'env'),
      ...extraEnv,
    });
    const r = await run(process.execPath, [BUNDLE, ...args], { env, cwd, timeoutMs: 120_000 });
    return { ...r, outputs: parseOutputs(r.stdout) };
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

/** Does skopeo (an independent client) find the reference? */
async function skopeoFinds(ref: string, authfile?: string): Promise<boolean> {
  const args = [
    'inspect',
    '--raw',
    '--tls-verify=false',
    ...(authfile ? ['--authfile', authfile] : []),
    `docker://${ref}`,
  ];
  const r = await run('skopeo', args, { timeoutMs: 60_000 });
  if (r.code !== 0 && !/manifest unknown|not found/i.test(r.stderr)) throw new Error(`skopeo: ${r.stderr}`);
  return r.code === 0;
}

async function copy(src: string, dst: string, authfile: string): Promise<void> {
  await runOk(
    'skopeo',
    [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--authfile',
      authfile,
      `docker://${src}`,
      `docker://${dst}`,
    ],
    { timeoutMs: 60_000 },
  );
}

/** A docker config dir and a skopeo authfile for the bench registries (and the ECR's one). */
function benchAuth(env: BenchEnv): { dir: string; path: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'untag-docker-'));
  const auth = (u: string, p: string) => ({ auth: Buffer.from(`${u}:${p}`).toString('base64') });
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ auths: { [env.TB_ECR_REGISTRY]: auth('AWS', env.TB_ECR_PASSWORD) } }), {
    mode: 0o600,
  });
  return { dir, path: file };
}

/** Builds `FROM $TB_BASE_IMAGE` with one label (its own digest), pushes it to `ref`, drops the local image. */
async function buildFromBase(env: BenchEnv, ref: string, label: string, dockerConfigDir: string): Promise<void> {
  const denv = withEnv({ DOCKER_HOST: env.TB_DOCKER_HOST, DOCKER_CONFIG: dockerConfigDir, DOCKER_BUILDKIT: '0' });
  await runOk('docker', ['build', '-q', '-t', ref, '-'], {
    env: denv,
    input: `FROM ${env.TB_BASE_IMAGE}\nLABEL shipline.untag-test="${label}"\n`,
    timeoutMs: 120_000,
  });
  try {
    await runOk('docker', ['push', '-q', ref], { env: denv, timeoutMs: 120_000 });
  } finally {
    await run('docker', ['rmi', ref], { env: denv, timeoutMs: 60_000 });
  }
}

describeBench(['docker', 'registry-open', 'registry-open-proxy'], 'untag over the registry API', (env: BenchEnv) => {
  // Through the counting proxy: same registry, and every request of this run is logged.
  const registry = env.TB_REGISTRY_OPEN_PROXY;
  const repo = `untag-it/${uniq('app')}`;
  const image = `${registry}/${repo}`;
  const proxy = benchControl(`http://${env.TB_REGISTRY_OPEN_PROXY}`);
  const auth = benchAuth(env);
  const digests: Record<string, string> = {};
  const mine = async (since: number) =>
    (await proxy.requests({ since })).filter((q) => q.details?.repo === repo).map((q) => `${q.action} ${q.status}`);

  beforeAll(async () => {
    await copy(env.TB_BASE_IMAGE, `${image}:latest`, auth.path);
    await copy(`${image}:latest`, `${image}:MR-8`, auth.path); // shares latest's digest
    await buildFromBase(env, `${env.TB_REGISTRY_OPEN}/${repo}:MR-7`, `mr-7-${repo}`, auth.dir);
    await buildFromBase(env, `${env.TB_REGISTRY_OPEN}/${repo}:sha-1a2b3c4d`, `sha-${repo}`, auth.dir);
    await copy(`${image}:sha-1a2b3c4d`, `${image}:stable`, auth.path); // a shared digest of other tags
    await buildFromBase(env, `${env.TB_REGISTRY_OPEN}/${repo}:MR-9`, `mr-9-${repo}`, auth.dir);
    for (const t of ['latest', 'MR-7', 'MR-8', 'MR-9', 'sha-1a2b3c4d', 'stable'])
      digests[t] = await skopeoDigest(`${image}:${t}`);
    expect(new Set(Object.values(digests)).size).toBe(4);
  });
  afterAll(async () => {
    fs.rmSync(auth.dir, { recursive: true, force: true });
    // The repository is unique to this run: remove what is left of it.
    for (const d of new Set(Object.values(digests)))
      await fetch(`http://${env.TB_REGISTRY_OPEN}/v2/${repo}/manifests/${d}`, { method: 'DELETE' }).catch(
        () => undefined,
      );
  });

  const untouched = async (tags: string[]) => {
    for (const t of tags) expect([t, await skopeoDigest(`${image}:${t}`)]).toEqual([t, digests[t]]);
  };

  test('dry run: reports MR-9 as would-delete and changes nothing', async () => {
    const p0 = await proxy.mark();
    const r = await untagCli(['--image', image, '--tags', 'MR-9', '--dry-run', 'true'], auth.dir);
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ deleted: '', 'would-delete': 'MR-9', kept: '', missing: '' });
    expect(r.stderr).toContain(`${image}:MR-9: would be deleted (${digests['MR-9']}) (dry run)`);
    expect((await mine(p0)).filter((a) => a.startsWith('DELETE'))).toEqual([]);
    await untouched(['MR-9', 'latest', 'MR-8', 'sha-1a2b3c4d', 'stable']);
  });

  test('MR tag alone: deleted (manifest 404, skopeo cannot find it); latest and the shared-digest tags untouched', async () => {
    const p0 = await proxy.mark();
    const r = await untagCli(['--image', image, '--tags', 'MR-7'], auth.dir);
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ deleted: 'MR-7', kept: '', missing: '' });
    const reqs = await mine(p0);
    expect(reqs.filter((a) => a.startsWith('DELETE'))).toEqual(['DELETE manifest 202']);
    expect(reqs[0]).toBe('HEAD manifest 200');
    expect(reqs).toContain('GET tags 200');
    const head = await fetch(`http://${env.TB_REGISTRY_OPEN}/v2/${repo}/manifests/MR-7`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    const byDigest = await fetch(`http://${env.TB_REGISTRY_OPEN}/v2/${repo}/manifests/${digests['MR-7']}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(byDigest.status).toBe(404);
    expect(await skopeoFinds(`${image}:MR-7`)).toBe(false);
    await untouched(['latest', 'MR-8', 'sha-1a2b3c4d', 'stable', 'MR-9']);
  });

  test('MR tag on latest’s digest: kept with a warning (exit 0), latest intact', async () => {
    const p0 = await proxy.mark();
    const r = await untagCli(['--image', `${image}:MR-8`], auth.dir);
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ deleted: '', kept: 'MR-8', missing: '' });
    expect(r.stderr).toContain(
      `warning: ${image}:MR-8: kept (${digests['MR-8']}): tag latest points at the same digest`,
    );
    expect((await mine(p0)).filter((a) => a.startsWith('DELETE'))).toEqual([]);
    await untouched(['MR-8', 'latest', 'sha-1a2b3c4d', 'stable']);
  });

  test('a re-run is a no-op: one HEAD (404), nothing deleted', async () => {
    const p0 = await proxy.mark();
    const r = await untagCli(['--image', image, '--tags', 'MR-7'], auth.dir);
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ deleted: '', kept: '', missing: 'MR-7' });
    expect(r.stderr).toContain(`${image}:MR-7: not there, nothing to do`);
    expect(await mine(p0)).toEqual(['HEAD manifest 404']);
    await untouched(['latest', 'MR-8', 'sha-1a2b3c4d', 'stable', 'MR-9']);
  });

  test.each([
    [['--tags', 'latest'], "input 'tags': refusing to remove protected tag 'latest' (matches 'latest')"],
    [['--tags', 'MR-7,v1.2.3'], "refusing to remove protected tag 'v1.2.3' (matches 'v[0-9]*')"],
    [['--tags', 'MR 7'], "input 'tags': 'MR 7' is not a valid tag"],
  ])('%p: exit 2 before any request', async (args, message) => {
    const p0 = await proxy.mark();
    const r = await untagCli(['--image', image, ...args], auth.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(await mine(p0)).toEqual([]);
    await untouched(['latest']);
  });
});

describeBench(
  ['docker', 'registry-open', 'registry-basic', 'ecr'],
  'untag through the ECR API (loopback ECR)',
  (env: BenchEnv) => {
    const repo = `untag-it/${uniq('ecr')}`;
    const image = `${env.TB_ECR_REGISTRY}/${repo}`;
    const ecr = benchControl(env.TB_ECR_URL);
    const auth = benchAuth(env);
    const aws = {
      AWS_ENDPOINT_URL_ECR: env.TB_ECR_URL,
      AWS_REGION: env.TB_AWS_REGION,
      AWS_ACCESS_KEY_ID: env.TB_AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: env.TB_AWS_SECRET_ACCESS_KEY,
    };
    const digests: Record<string, string> = {};
    const stagingRepo = `untag-it/${uniq('ecr-src')}`;
    const staging = `${env.TB_REGISTRY_OPEN}/${stagingRepo}`;
    const mine = async (since: number) =>
      (await ecr.requests({ since }))
        .filter((q) => q.details?.repository === repo)
        .map((q) => `${q.action} ${q.status}`);

    beforeAll(async () => {
      // As on ECR, the repository exists before anything is pushed to it.
      const client = new ECRClient({
        endpoint: env.TB_ECR_URL,
        region: env.TB_AWS_REGION,
        credentials: { accessKeyId: env.TB_AWS_ACCESS_KEY_ID, secretAccessKey: env.TB_AWS_SECRET_ACCESS_KEY },
        maxAttempts: 1,
      });
      await client.send(new CreateRepositoryCommand({ repositoryName: repo }));
      await buildFromBase(env, `${staging}:alone`, `alone-${repo}`, auth.dir);
      await copy(env.TB_BASE_IMAGE, `${image}:latest`, auth.path);
      await copy(`${image}:latest`, `${image}:MR-5`, auth.path); // shares latest's digest
      await copy(`${staging}:alone`, `${image}:MR-6`, auth.path); // its own digest
      await copy(`${image}:latest`, `${image}:MR-4`, auth.path); // for the dry run
      for (const t of ['latest', 'MR-4', 'MR-5', 'MR-6']) digests[t] = await skopeoDigest(`${image}:${t}`, auth.path);
      expect(digests['MR-5']).toBe(digests.latest);
      expect(digests['MR-6']).not.toBe(digests.latest);
    });
    afterAll(async () => {
      fs.rmSync(auth.dir, { recursive: true, force: true });
      // The staging image (this run's own) holds MR-6's digest.
      if (digests['MR-6'])
        await fetch(`http://${env.TB_REGISTRY_OPEN}/v2/${stagingRepo}/manifests/${digests['MR-6']}`, {
          method: 'DELETE',
        }).catch(() => undefined);
    });

    test('dry run: one BatchGetImage, MR-4 would be deleted and stays', async () => {
      const m0 = await ecr.mark();
      const r = await untagCli(
        ['--image', image, '--tags', 'MR-4', '--method', 'ecr-api', '--dry-run', 'true'],
        auth.dir,
        aws,
      );
      expect(r.code).toBe(0);
      expect(r.outputs).toMatchObject({ 'would-delete': 'MR-4', deleted: '' });
      expect(await mine(m0)).toEqual(['BatchGetImage 200']);
      expect(await skopeoDigest(`${image}:MR-4`, auth.path)).toBe(digests['MR-4']);
    });

    test('BatchDeleteImage by tag: MR-5 (on latest’s digest) and MR-6 (alone) gone, latest untouched', async () => {
      const m0 = await ecr.mark();
      const r = await untagCli(['--image', image, '--tags', 'MR-5,MR-6', '--method', 'ecr-api'], auth.dir, aws);
      expect(r.code).toBe(0);
      expect(r.outputs.deleted!.split('\n')).toEqual(['MR-5', 'MR-6']);
      expect(r.outputs).toMatchObject({ kept: '', missing: '' });
      expect(r.stderr).toContain('ECR API calls: 1');
      expect(await mine(m0)).toEqual(['BatchDeleteImage 200']);
      expect(await skopeoFinds(`${image}:MR-5`, auth.path)).toBe(false);
      expect(await skopeoFinds(`${image}:MR-6`, auth.path)).toBe(false);
      expect(await skopeoDigest(`${image}:latest`, auth.path)).toBe(digests.latest);
      expect(await skopeoDigest(`${image}:MR-4`, auth.path)).toBe(digests['MR-4']);
      expectNoLeaks({
        secrets: { secretKey: env.TB_AWS_SECRET_ACCESS_KEY },
        texts: { stdout: r.stdout, stderr: r.stderr },
      });
    });

    test('a re-run is a no-op: one BatchDeleteImage answering ImageNotFound, latest untouched', async () => {
      const m0 = await ecr.mark();
      const r = await untagCli(['--image', image, '--tags', 'MR-5,MR-6', '--method', 'ecr-api'], auth.dir, aws);
      expect(r.code).toBe(0);
      expect(r.outputs).toMatchObject({ deleted: '', kept: '' });
      expect(r.outputs.missing!.split('\n')).toEqual(['MR-5', 'MR-6']);
      expect(await mine(m0)).toEqual(['BatchDeleteImage 200']);
      expect(await skopeoDigest(`${image}:latest`, auth.path)).toBe(digests.latest);
    });
  },
);
