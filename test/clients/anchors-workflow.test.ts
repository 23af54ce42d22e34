// A workflow written for configure-aws-credentials, amazon-ecr-login, metadata-action,
// login-action and build-push-action, with only its `uses:` lines changed to shipline's,
// run step by step on the workflow harness against the bench: the anchors' input and
// output names work as they are, the image lands under every tag metadata-action would
// give, and the posts remove every credential the job added.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, runOk } from '../support/exec';
import { describeBench } from '../support/testbed';
import { expectNoLeaks } from '../support/canary';
import { runWorkflowJob, type UsesResolution } from '../support/workflow';

const fixture = path.join(repoRoot, 'test/fixtures/workflows/anchors.yml');

function localShipline(uses: string): UsesResolution {
  if (uses.startsWith('actions/checkout@')) return { skip: true };
  const m = /^shipline\/shipline\/(components\/[\w-]+)@[0-9a-f]{40}$/.exec(uses);
  if (!m) throw new Error(`not resolvable here: ${uses}`);
  return { actionDir: path.join(repoRoot, m[1]!) };
}

describeBench(
  ['dockerd', 'sts', 'ecr', 'registry-basic', 'registry-token', 'base-image'],
  'the anchors’ workflow',
  (bench) => {
    test('runs green with only the uses: lines changed; tags, outputs and cleanup as the anchors give them', async () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-anchors-'));
      const workspace = path.join(home, 'workspace');
      fs.mkdirSync(workspace);
      fs.writeFileSync(
        path.join(workspace, 'Dockerfile'),
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo built > /built.txt\n',
      );
      const dockerConfig = path.join(home, 'docker');
      fs.mkdirSync(dockerConfig, { mode: 0o700 });
      const image = `app-anchors-${crypto.randomBytes(4).toString('hex')}`;
      const sha = crypto.randomBytes(20).toString('hex');
      const r = await runWorkflowJob({
        workflow: fixture,
        job: 'image',
        workspace,
        resolveUses: localShipline,
        env: {
          HOME: home,
          DOCKER_CONFIG: dockerConfig,
          GITHUB_SHA: sha,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ENDPOINT_URL_STS: bench.TB_STS_URL,
          AWS_ENDPOINT_URL_ECR: bench.TB_ECR_URL,
          ACTIONS_ID_TOKEN_REQUEST_URL: undefined,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined,
        },
        vars: {
          ROLE_ARN: bench.TB_STS_ROLE_ARN,
          MIRROR_REGISTRY: bench.TB_REGISTRY_TOKEN,
          MIRROR_USER: bench.TB_REGISTRY_TOKEN_USER,
          BASE_IMAGE: bench.TB_BASE_IMAGE,
          IMAGE: image,
        },
        secrets: {
          AWS_ACCESS_KEY_ID: bench.TB_AWS_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: bench.TB_AWS_SECRET_ACCESS_KEY,
          MIRROR_PASSWORD: bench.TB_REGISTRY_TOKEN_PASSWORD,
        },
      });
      try {
        const log = [...r.steps, ...r.posts]
          .map((s) => `--- ${s.name} (${s.kind}, exit ${s.exitCode})\n${s.stdout}${s.stderr}`)
          .join('\n');
        expect({
          ok: r.ok,
          failed: [...r.steps, ...r.posts].filter((s) => s.exitCode !== 0).map((s) => s.name),
        }).toEqual({
          ok: true,
          failed: [],
        });
        const byId = Object.fromEntries(r.steps.map((s) => [s.id, s]));
        // metadata-action's tags for `type=ref,event=branch` + `type=sha` on a push to main, per image
        const short = sha.slice(0, 7);
        const refs = [bench.TB_ECR_REGISTRY, bench.TB_REGISTRY_TOKEN].flatMap((reg) => [
          `${reg}/${image}:main`,
          `${reg}/${image}:sha-${short}`,
        ]);
        expect(byId.meta!.outputs.tags!.split('\n')).toEqual(refs);
        expect(byId.meta!.outputs.version).toBe('main');
        expect(byId.meta!.outputs.labels).toContain(`org.opencontainers.image.revision=${sha}`);
        expect(byId.ecr!.outputs.registry).toBe(bench.TB_ECR_REGISTRY);
        // amazon-ecr-login's pair for service containers; the password was masked before it was set
        const ecrId = bench.TB_ECR_REGISTRY.replace(/[^A-Za-z0-9]/g, '_');
        expect(byId.ecr!.outputs[`docker_username_${ecrId}`]).toBe('AWS');
        expect(byId.ecr!.outputs[`docker_password_${ecrId}`]).toBe(bench.TB_ECR_PASSWORD);
        expect(byId.ecr!.stdout).toContain(`::add-mask::${bench.TB_ECR_PASSWORD}`);
        expect(byId.aws!.outputs['aws-account-id']).toBe('123456789012');
        const [digest, imageid, account, version] = fs
          .readFileSync(path.join(workspace, 'outputs.txt'), 'utf8')
          .split('\n');
        expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(imageid).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(imageid).toBe(byId.build!.outputs['image-id']);
        expect([account, version]).toEqual(['123456789012', 'main']);

        // Every tag is at the registry, at the build's digest (an authfile of the test's own).
        const auth = path.join(home, 'auth.json');
        const b64 = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');
        fs.writeFileSync(
          auth,
          JSON.stringify({
            auths: {
              [bench.TB_ECR_REGISTRY]: { auth: b64('AWS', bench.TB_ECR_PASSWORD) },
              [bench.TB_REGISTRY_TOKEN]: { auth: b64(bench.TB_REGISTRY_TOKEN_USER, bench.TB_REGISTRY_TOKEN_PASSWORD) },
            },
          }),
          { mode: 0o600 },
        );
        for (const ref of refs) {
          const inspect = await runOk('skopeo', [
            'inspect',
            '--tls-verify=false',
            '--authfile',
            auth,
            `docker://${ref}`,
          ]);
          expect((JSON.parse(inspect.stdout) as { Digest: string }).Digest).toBe(digest);
        }

        // The posts took every credential back: the job's docker config holds no entry of the
        // run, and registry-login's private config is gone.
        const config = path.join(dockerConfig, 'config.json');
        const auths = fs.existsSync(config)
          ? (JSON.parse(fs.readFileSync(config, 'utf8')) as { auths?: object }).auths
          : {};
        expect(Object.keys(auths ?? {})).toEqual([]);
        // registry-login's post gave the job its own DOCKER_CONFIG back (the posts before it used it).
        expect(r.env.DOCKER_CONFIG).toBe(dockerConfig);
        expect(r.posts.map((p) => p.kind)).not.toContain('skipped');

        expectNoLeaks({
          secrets: {
            awsSecret: bench.TB_AWS_SECRET_ACCESS_KEY,
            ecrPassword: bench.TB_ECR_PASSWORD,
            mirrorPassword: bench.TB_REGISTRY_TOKEN_PASSWORD,
          },
          texts: { log, summary: r.summary },
        });
      } finally {
        r.cleanup();
        await run('docker', [
          'image',
          'rm',
          '-f',
          ...[bench.TB_ECR_REGISTRY, bench.TB_REGISTRY_TOKEN].flatMap((g) => [
            `${g}/${image}:main`,
            `${g}/${image}:sha-${sha.slice(0, 7)}`,
          ]),
        ]);
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  },
);
