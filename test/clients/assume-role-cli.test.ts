// The same flow from the CLI, as a laptop or any CI runs it: `shipline assume-role` with an
// id_token, source the 0600 env file (in the CLI's default private run directory,
// <tmpdir>/shipline-<uid>/<12 hex of the workspace's real path>, never the checkout),
// `shipline ecr-login`, docker push/pull, then both `--post`s: credentials gone, docker
// config as before, nothing leaked (argv included).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintIdToken } from '../endpoints/oidc';
import { repoRoot, run } from '../support/exec';
import { describeBench } from '../support/testbed';
import { createDockerShim, expectNoLeaks, plantCanaries } from '../support/canary';
import { awsJobEnv, privateRole, stsRequests, workspace } from '../support/assume-role-aws';

jest.setTimeout(180_000);

describeBench(['aws', 'docker', 'registry-basic'], 'assume-role + ecr-login from the CLI', (bench) => {
  const w = workspace('shipline-ar-cli-');
  const image = `${bench.TB_ECR_REGISTRY}/shipline/app:ar-cli-${crypto.randomBytes(4).toString('hex')}`;
  const key = crypto.createHash('sha256').update(fs.realpathSync(w.dir)).digest('hex').slice(0, 12);
  const runDir = path.join(os.tmpdir(), `shipline-${process.getuid?.() ?? 'user'}`, key);
  afterAll(async () => {
    w.cleanup();
    fs.rmSync(runDir, { recursive: true, force: true });
    await run('docker', ['image', 'rm', '--force', image]);
  });

  test('id_token -> assume-role -> . <run dir>/env -> ecr-login -> docker push/pull -> --post x2', async () => {
    const c = plantCanaries('otherregistry');
    const dockerConfig = path.join(w.dir, 'docker');
    fs.mkdirSync(dockerConfig, { mode: 0o700 });
    const before = {
      auths: { 'other.example.com': { auth: Buffer.from(`ci:${c.otherregistry}`).toString('base64') } },
    };
    fs.writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify(before), { mode: 0o600 });
    const role = await privateRole(bench);
    const token = mintIdToken({ flavor: 'gitlab' });
    const shim = createDockerShim({ dir: path.join(w.dir, 'shim') });
    const cli = `node ${JSON.stringify(path.join(repoRoot, 'dist', 'cli.js'))}`;
    const script = [
      'set -eu',
      `${cli} assume-role --role-arn "$ROLE" --web-identity-token-variable AWS_ID_TOKEN`,
      'test "$(stat -c %a "$RUN/env")" = 600',
      '. "$RUN/env"',
      'test -n "$AWS_SESSION_TOKEN"',
      `${cli} ecr-login`,
      'docker pull -q "$BASE_IMAGE" >/dev/null',
      'docker tag "$BASE_IMAGE" "$IMAGE"',
      'docker push -q "$IMAGE"',
      'docker image rm "$IMAGE" >/dev/null',
      'docker pull -q "$IMAGE"',
      `${cli} ecr-login --post`,
      `${cli} assume-role --post`,
      'test ! -e "$RUN/env" && test ! -e .shipline/env && echo "env file removed"',
    ].join('\n');
    const r = await run('bash', ['-c', script], {
      cwd: w.dir,
      env: shim.env(
        awsJobEnv(bench, {
          HOME: w.home,
          DOCKER_CONFIG: dockerConfig,
          AWS_ID_TOKEN: token,
          ROLE: role,
          IMAGE: image,
          BASE_IMAGE: bench.TB_BASE_IMAGE,
          RUN: runDir,
        }),
      ),
      timeoutMs: 150_000,
    });
    if (r.code !== 0) throw new Error(`flow failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    expect(r.stdout).toContain('aws-account-id=123456789012');
    expect(r.stdout).toContain(`registry=${bench.TB_ECR_REGISTRY}`);
    expect(r.stdout).toContain('env file removed');
    // The CLI says where it put the variables, and that place is outside the workspace.
    expect(r.stderr).toContain(`(source it: . ${path.join(runDir, 'env')})`);
    expect(fs.statSync(runDir).mode & 0o777).toBe(0o700);
    expect(await stsRequests(bench, role)).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(path.join(dockerConfig, 'config.json'), 'utf8'))).toEqual(before);
    expect(shim.records().map((x) => x.argv[0])).toEqual(['pull', 'tag', 'push', 'image', 'pull']);
    expectNoLeaks({
      secrets: { token, ecrPassword: bench.TB_ECR_PASSWORD, ...c },
      texts: { stdout: r.stdout, stderr: r.stderr },
      argvLogs: [shim],
      dirs: [path.join(w.dir, '.shipline'), runDir],
    });
  });
});
