// registry-login against the bench's basic-auth and bearer-token registries, through the
// bundles as a job runs them (CLI runtime, one private run dir per job, passwords only in
// the environment): two registries in one step, then a retag (dist/retag) and a real
// `docker push` to both with the exported DOCKER_CONFIG; --post removes exactly what the
// step made; two parallel jobs of one runner user with different credentials do not
// clobber each other; rejected credentials exit 1 with a hint and no password anywhere.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, run, type RunResult } from '../support/exec';
import { describeBench } from '../support/testbed';
import { canary, expectNoLeaks } from '../support/canary';

jest.setTimeout(240_000);

const LOGIN = path.join(repoRoot, 'dist/registry-login/index.js');
const RETAG = path.join(repoRoot, 'dist/retag/index.js');

describeBench(
  ['registry-basic', 'registry-token', 'token-server', 'docker'],
  'registry-login on the bench',
  (bench) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-rl-it-'));
    // One runner user: every job shares this HOME and its ~/.docker (with an entry of its own).
    const home = path.join(root, 'home');
    const sharedConfig = path.join(home, '.docker', 'config.json');
    fs.mkdirSync(path.dirname(sharedConfig), { recursive: true });
    fs.writeFileSync(
      sharedConfig,
      JSON.stringify({ auths: { 'shared.example': { auth: 'c2hhcmVkOng=' } }, credHelpers: { 'gcr.io': 'gcloud' } }),
    );
    const sharedBefore = fs.readFileSync(sharedConfig, 'utf8');
    const id = crypto.randomBytes(4).toString('hex');
    const images: string[] = [];
    afterAll(async () => {
      for (const i of images) await run('docker', ['image', 'rm', '--force', i]);
      fs.rmSync(root, { recursive: true, force: true });
    });

    interface Job {
      name: string;
      ws: string;
      runDir: string;
      env: NodeJS.ProcessEnv;
    }
    const base = (): NodeJS.ProcessEnv => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const k of Object.keys(env))
        if (/^(GITHUB_|GITLAB_|CI_|SHIPLINE_|DOCKER_CONFIG$|INPUT_|RUNNER_)/.test(k)) delete env[k];
      return { ...env, HOME: home, DOCKER_HOST: bench.TB_DOCKER_HOST };
    };
    const job = (name: string, extra: NodeJS.ProcessEnv): Job => {
      const dir = path.join(root, `${name}-${crypto.randomBytes(3).toString('hex')}`);
      const ws = path.join(dir, 'ws');
      fs.mkdirSync(ws, { recursive: true });
      const runDir = path.join(dir, 'run');
      return { name, ws, runDir, env: { ...base(), SHIPLINE_RUN_DIR: runDir, ...extra } };
    };
    const node = (j: Job, entry: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
      run(process.execPath, [entry, ...args], { cwd: j.ws, env: { ...j.env, ...env }, timeoutMs: 120_000 });
    const output = (r: RunResult, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(r.stdout)?.[1];
    const show = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
    /** The DOCKER_CONFIG the step exported, from the env file the next script line sources. */
    const exported = (j: Job): string | undefined =>
      /^export DOCKER_CONFIG='([^']*)'$/m.exec(fs.readFileSync(path.join(j.runDir, 'env'), 'utf8'))?.[1];
    const users = (dir: string) =>
      Object.fromEntries(
        Object.entries(
          (
            JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as {
              auths: Record<string, { auth: string }>;
            }
          ).auths,
        ).map(([k, v]) => [k, Buffer.from(v.auth, 'base64').toString().split(':')[0]]),
      );
    /** docker push of the bench's base image under a new name, with DOCKER_CONFIG. */
    const push = async (j: Job, dockerConfig: string, ref: string): Promise<RunResult> => {
      images.push(ref);
      const env = { ...j.env, DOCKER_CONFIG: dockerConfig };
      const t = await run('docker', ['tag', bench.TB_BASE_IMAGE_LOCAL, ref], { env, timeoutMs: 60_000 });
      expect(show(t)).toMatch(/^exit 0/);
      return run('docker', ['push', ref], { env, timeoutMs: 120_000 });
    };

    const basicLogin = (user: string, password: string) => ({
      SHIPLINE_INPUT_REGISTRY: bench.TB_REGISTRY_BASIC,
      SHIPLINE_INPUT_USERNAME: user,
      SHIPLINE_INPUT_PASSWORD: password,
    });
    const tokenLine = { SHIPLINE_INPUT_REGISTRIES: `${bench.TB_REGISTRY_TOKEN} TOK_USER TOK_PASS` };
    const tokenVars = { TOK_USER: bench.TB_REGISTRY_TOKEN_USER, TOK_PASS: bench.TB_REGISTRY_TOKEN_PASSWORD };

    test('two registries in one step; a later retag and docker push use them; --post removes exactly them', async () => {
      const j = job('two', {
        ...basicLogin(bench.TB_REGISTRY_BASIC_USER, bench.TB_REGISTRY_BASIC_PASSWORD),
        ...tokenLine,
        ...tokenVars,
      });
      const r = await node(j, LOGIN, []);
      expect(show(r)).toMatch(/^exit 0/);
      const dir = output(r, 'docker-config')!;
      expect(exported(j)).toBe(dir);
      expect(path.basename(dir)).toMatch(/^shipline-docker-[A-Za-z0-9]{6}$/);
      expect(dir.startsWith(j.runDir + path.sep)).toBe(true);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.join(dir, 'config.json')).mode & 0o777).toBe(0o600);
      expect(output(r, 'registries')).toBeUndefined(); // multi-line: printed as a heredoc
      expect(r.stdout).toContain(`registries<<SHIPLINE_EOF\n${bench.TB_REGISTRY_BASIC}\n${bench.TB_REGISTRY_TOKEN}\n`);
      // the seed (the shared entry, credHelpers) plus exactly the two new entries
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config.credHelpers).toEqual({ 'gcr.io': 'gcloud' });
      expect(users(dir)).toEqual({
        'shared.example': 'shared',
        [bench.TB_REGISTRY_BASIC]: bench.TB_REGISTRY_BASIC_USER,
        [bench.TB_REGISTRY_TOKEN]: bench.TB_REGISTRY_TOKEN_USER,
      });
      expect(r.stderr).toMatch(new RegExp(`logged in to ${bench.TB_REGISTRY_BASIC.replace(/\./g, '\\.')} as`));

      // a real docker push to both, with the exported DOCKER_CONFIG only
      for (const reg of [bench.TB_REGISTRY_BASIC, bench.TB_REGISTRY_TOKEN]) {
        const p = await push(j, dir, `${reg}/rl-${id}/two:1`);
        expect(`${reg}: ${show(p)}`).toMatch(new RegExp(`^${reg.replace(/\./g, '\\.')}: exit 0`));
        // retag reads the same credentials
        const t = await node(j, RETAG, ['--source', `${reg}/rl-${id}/two:1`, '--tags', 'retagged'], {
          DOCKER_CONFIG: dir,
        });
        expect(`${reg}: ${show(t)}`).toMatch(new RegExp(`^${reg.replace(/\./g, '\\.')}: exit 0`));
        expect(t.stdout).toContain(`refs=${reg}/rl-${id}/two:retagged`);
      }

      const post = await node(j, LOGIN, ['--post']);
      expect(show(post)).toMatch(/^exit 0/);
      expect(post.stderr).toContain(`removed ${dir}`);
      expect(fs.existsSync(dir)).toBe(false);
      expect(fs.readFileSync(sharedConfig, 'utf8')).toBe(sharedBefore);
      expect(fs.existsSync(path.join(j.runDir, 'env'))).toBe(false);
      // without it, the registry refuses: the credentials really were only in that directory
      const after = await push(j, path.join(home, '.docker'), `${bench.TB_REGISTRY_BASIC}/rl-${id}/two:after`);
      expect(after.code).not.toBe(0);
      expectNoLeaks({
        secrets: { basic: bench.TB_REGISTRY_BASIC_PASSWORD, token: bench.TB_REGISTRY_TOKEN_PASSWORD },
        texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr },
        dirs: [j.ws, j.runDir, home],
      });
    });

    test('two parallel jobs of one runner user, different credentials: neither overwrites nor logs out the other', async () => {
      const a = job('a', {
        ...basicLogin(bench.TB_REGISTRY_BASIC_USER, bench.TB_REGISTRY_BASIC_PASSWORD),
        ...tokenLine,
        ...tokenVars,
      });
      // job b: the same basic registry as another user (the bench's htpasswd has two)
      const b = job('b', {
        SHIPLINE_INPUT_REGISTRIES: `${bench.TB_REGISTRY_BASIC} B_USER B_PASS`,
        B_USER: 'AWS',
        B_PASS: bench.TB_ECR_PASSWORD,
      });
      const [ra, rb] = await Promise.all([node(a, LOGIN, []), node(b, LOGIN, [])]);
      expect(show(ra)).toMatch(/^exit 0/);
      expect(show(rb)).toMatch(/^exit 0/);
      const da = output(ra, 'docker-config')!;
      const db = output(rb, 'docker-config')!;
      expect(da).not.toBe(db);
      expect(users(da)[bench.TB_REGISTRY_BASIC]).toBe(bench.TB_REGISTRY_BASIC_USER);
      expect(users(db)[bench.TB_REGISTRY_BASIC]).toBe('AWS');
      expect(Object.keys(users(db)).sort()).toEqual([bench.TB_REGISTRY_BASIC, 'shared.example'].sort());

      const [pa1, pa2, pb] = await Promise.all([
        push(a, da, `${bench.TB_REGISTRY_BASIC}/rl-${id}/a:1`),
        push(a, da, `${bench.TB_REGISTRY_TOKEN}/rl-${id}/a:1`),
        push(b, db, `${bench.TB_REGISTRY_BASIC}/rl-${id}/b:1`),
      ]);
      expect([show(pa1), show(pa2), show(pb)].map((s) => s.slice(0, 6))).toEqual(['exit 0', 'exit 0', 'exit 0']);
      // a's logout leaves b logged in
      const posta = await node(a, LOGIN, ['--post']);
      expect(show(posta)).toMatch(/^exit 0/);
      expect(fs.existsSync(da)).toBe(false);
      const pb2 = await push(b, db, `${bench.TB_REGISTRY_BASIC}/rl-${id}/b:2`);
      expect(show(pb2)).toMatch(/^exit 0/);
      const postb = await node(b, LOGIN, ['--post']);
      expect(show(postb)).toMatch(/^exit 0/);
      expect(fs.existsSync(db)).toBe(false);
      expect(fs.readFileSync(sharedConfig, 'utf8')).toBe(sharedBefore);
    });

    test.each([
      ['basic', () => ({ ...basicLogin(bench.TB_REGISTRY_BASIC_USER, 'PASSWORD') })],
      [
        'token',
        () => ({
          SHIPLINE_INPUT_REGISTRIES: `${bench.TB_REGISTRY_TOKEN} TOK_USER TOK_PASS`,
          TOK_USER: bench.TB_REGISTRY_TOKEN_USER,
          TOK_PASS: 'PASSWORD',
        }),
      ],
    ])(
      'a wrong password on the %s registry: exit 1 with a hint, nothing written, the password nowhere',
      async (_, env) => {
        const wrong = canary('password');
        const e = Object.fromEntries(Object.entries(env()).map(([k, v]) => [k, v === 'PASSWORD' ? wrong : v]));
        const j = job('wrong', e);
        const r = await node(j, LOGIN, []);
        expect(show(r)).toMatch(/^exit 1\n[^]*refused the credentials/);
        expect(r.stderr).toMatch(
          /hint: .* rejected the user name or password from (inputs username \/ password|variables TOK_USER \/ TOK_PASS)/,
        );
        expect(r.stderr).not.toMatch(/shipline bug|\n\s+at /);
        expect(fs.existsSync(path.join(j.runDir, 'env'))).toBe(false);
        const made = fs.existsSync(path.join(j.runDir, 'tmp')) ? fs.readdirSync(path.join(j.runDir, 'tmp')) : [];
        expect(made.filter((n) => n.startsWith('shipline-docker-'))).toEqual([]);
        const post = await node(j, LOGIN, ['--post']);
        expect(post.code).toBe(0);
        expectNoLeaks({
          secrets: { wrong },
          texts: { stdout: r.stdout + post.stdout, stderr: r.stderr + post.stderr },
          dirs: [j.ws, j.runDir, home],
        });
      },
    );

    test('a 3-character password is refused before anything is sent (exit 2)', async () => {
      const j = job('short', basicLogin(bench.TB_REGISTRY_BASIC_USER, 'abc'));
      const r = await node(j, LOGIN, []);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/input 'password': the password for .* is shorter than 4 characters/);
    });
  },
);
