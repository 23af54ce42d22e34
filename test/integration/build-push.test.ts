// build-push against real parts: the docker engine (classic builder, no buildx here), the
// bench registries (open and basic-auth) and skopeo as the independent judge of digests.
// The example app (examples/app) is built as users would build it, FROM the bench base.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createDockerShim, expectNoLeaks } from '../support/canary';
import { benchControl, describeBench } from '../support/testbed';
import {
  MAIN_VARS,
  MR_VARS,
  SHA,
  docker,
  labelled,
  removeRepoImages,
  runBuildPush,
  skopeoDigest,
  stepTemporaries,
  uniq,
  workspaceFrom,
} from '../support/build-push-run';

const SHORT = SHA.slice(0, 8);

describeBench(
  ['docker', 'registry-open', 'registry-basic', 'registry-open-proxy'],
  'build-push (integration)',
  (env) => {
    const repos: string[] = [];
    const dirs: string[] = [];
    const ws = (dir?: string) => {
      const w = workspaceFrom(dir);
      dirs.push(w);
      return w;
    };
    const repo = (registry = env.TB_REGISTRY_OPEN) => {
      const r = `${registry}/${uniq('bp-it')}/app`;
      repos.push(r);
      return r;
    };
    afterAll(() => {
      for (const r of repos) removeRepoImages(r);
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    it('extract to ../x, an absolute path or through a symlink pointing out: exit 2 before docker runs, nothing written', async () => {
      // A workspace in a parent of its own, so `../x` would land somewhere only this test looks.
      const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-it-parent-'));
      dirs.push(parent);
      const w = path.join(parent, 'ws');
      fs.renameSync(ws(), w);
      const outside = path.join(parent, 'outside');
      fs.mkdirSync(outside);
      fs.symlinkSync(outside, path.join(w, 'link-out'));
      for (const dest of ['../x', path.join(outside, 'abs'), 'link-out/deps.lock']) {
        const r = await runBuildPush({
          workspace: w,
          inputs: {
            push: 'false',
            'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`,
            extract: `/etc/hostname:${dest}`,
          },
        });
        expect(r.code).toBe(2);
        expect(r.stderr + r.stdout).toMatch(/input 'extract': .* is outside the workspace/);
      }
      expect(fs.readdirSync(outside)).toEqual([]);
      expect(fs.readdirSync(parent).sort()).toEqual(['outside', 'ws']); // no ../x
    });

    it('example app, MR pipeline: smoke test, build, push MR-7; digest equals what skopeo reports; no temporaries left', async () => {
      const image = repo();
      const before = stepTemporaries();
      const r = await runBuildPush({
        workspace: ws(),
        ci: MR_VARS,
        inputs: {
          images: image,
          'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`,
          target: 'target-image',
          'smoke-target': 'smoke-test',
        },
      });
      if (r.code !== 0) throw new Error(`build-push failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
      expect(r.outputs.tags).toBe(`${image}:MR-7`);
      expect(r.outputs.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(skopeoDigest(`${image}:MR-7`)).toBe(r.outputs.digest);
      expect(r.outputs['image-id']).toBe(
        docker('image', 'inspect', '--format', '{{.Id}}', `${image}:MR-7`).stdout.trim(),
      );
      const meta = JSON.parse(r.outputs.metadata!) as {
        refs: { ref: string; digest: string }[];
        builder: string;
        target: string;
      };
      expect(meta).toMatchObject({
        builder: 'docker',
        target: 'target-image',
        refs: [{ ref: `${image}:MR-7`, digest: r.outputs.digest }],
      });
      // the smoke stage ran before the target build, in its own section
      // (its RUN may come from the engine's cache of an earlier run of the example)
      expect(r.stderr).toMatch(
        /Smoke test: build stage smoke-test[\s\S]*Step \d+\/\d+ : RUN sh \.\/app\.sh --self-test[\s\S]*Build target-image/,
      );
      expect(r.stderr).toContain(`Pushed \`${r.outputs.digest}\``); // job summary
      // the pushed image is the target (runs the app), labelled from the CI context
      const run = docker('run', '--rm', '--network', 'none', `${image}:MR-7`);
      expect(run.stdout).toContain('alpha==1.0.0');
      expect(
        docker(
          'image',
          'inspect',
          '--format',
          '{{index .Config.Labels "org.opencontainers.image.revision"}}',
          `${image}:MR-7`,
        ).stdout.trim(),
      ).toBe(SHA);
      expect(stepTemporaries()).toEqual(before);
    }, 300_000);

    it('default-branch pipeline pushes <sha8> and latest with one digest', async () => {
      const image = repo();
      const r = await runBuildPush({
        workspace: ws(),
        ci: MAIN_VARS,
        inputs: { images: image, 'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}` },
      });
      if (r.code !== 0) throw new Error(`build-push failed (${r.code}):\n${r.stderr}`);
      expect(r.outputs.tags!.split('\n')).toEqual([`${image}:${SHORT}`, `${image}:latest`]);
      expect(skopeoDigest(`${image}:${SHORT}`)).toBe(r.outputs.digest);
      expect(skopeoDigest(`${image}:latest`)).toBe(r.outputs.digest);
    }, 300_000);

    it('second build of an unchanged context with cache-from (pulled from the registry) reuses every layer', async () => {
      const image = repo();
      const label = `shipline.test=${uniq('cache')}`;
      const dir = ws();
      // a chain of real layers, unique to this test so no other build's cache can serve it
      fs.writeFileSync(
        path.join(dir, 'Dockerfile'),
        `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nLABEL ${label}\nWORKDIR /src\nCOPY deps.txt index.txt ./\nRUN sort deps.txt > sorted.txt\nCOPY app.sh ./\nRUN sh -c 'wc -l < index.txt > count.txt'\nCMD ["sh", "/src/app.sh"]\n`,
      );
      const inputs = { images: image, 'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}` };
      const first = await runBuildPush({ workspace: dir, ci: MAIN_VARS, inputs });
      if (first.code !== 0) throw new Error(first.stderr);
      const firstMeta = JSON.parse(first.outputs.metadata!) as { cache: { steps: number; cached: number } };
      expect(firstMeta.cache.cached).toBe(0);
      // a fresh runner: nothing of this image is left locally (all its layers' images gone)
      removeRepoImages(image);
      expect(labelled(label).images).toEqual([]);
      const second = await runBuildPush({ workspace: dir, ci: MR_VARS, inputs });
      if (second.code !== 0) throw new Error(second.stderr);
      expect(second.stderr).toContain(`${image}:MR-7: not found (skipped)`);
      expect(second.stderr).toContain(`${image}:latest: pulled`);
      // every Dockerfile instruction, from the builder's own output: the next line after
      // `Step n/m : <instruction>` is ` ---> Using cache`. (build-push adds the CI labels as one
      // LABEL line after them; the version label differs per pipeline: MR-7 vs the sha.)
      const log = second.stderr.split('\n');
      const steps = log
        .map((l, i) => ({ l, i }))
        .filter(
          ({ l }) =>
            /^Step \d+\/\d+ : /.test(l) && !/ : (FROM|ARG) /.test(l) && !/ : LABEL "org\.opencontainers\./.test(l),
        );
      expect(steps.map(({ l }) => l.replace(/^Step \d+\/\d+ : /, ''))).toEqual([
        `LABEL ${label}`,
        'WORKDIR /src',
        'COPY deps.txt index.txt ./',
        'RUN sort deps.txt > sorted.txt',
        'COPY app.sh ./',
        "RUN sh -c 'wc -l < index.txt > count.txt'",
        'CMD ["sh", "/src/app.sh"]',
      ]);
      for (const { l, i } of steps) expect(`${l}\n${log[i + 1]}`).toBe(`${l}\n ---> Using cache`);
      expect(JSON.parse(second.outputs.metadata!)).toMatchObject({ cache: { steps: 7, cached: 7 } });
      // the registry holds the same layers under MR-7 as under latest
      const layers = (ref: string) =>
        (
          JSON.parse(
            spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' }).stdout,
          ) as { Layers: string[] }
        ).Layers;
      const mrLayers = layers(`${image}:MR-7`);
      expect(mrLayers.length).toBeGreaterThanOrEqual(4);
      expect(mrLayers).toEqual(layers(`${image}:latest`));
      // the cache image it pulled is untagged again; the built MR-7 tag stays
      expect(docker('image', 'inspect', `${image}:latest`).status).not.toBe(0);
      expect(docker('image', 'inspect', `${image}:MR-7`).status).toBe(0);
    }, 300_000);

    it('a failing smoke-target stops before any push and leaves no image or container behind', async () => {
      const image = repo();
      const label = `shipline.test=${uniq('smoke')}`;
      const dir = ws();
      fs.writeFileSync(
        path.join(dir, 'Dockerfile'),
        `ARG BASE_IMAGE\nFROM \${BASE_IMAGE} AS base\nLABEL ${label}\nRUN echo built > /built\nFROM base AS smoke-test\nRUN echo "smoke: failing on purpose" && exit 1\nFROM base AS target-image\nCMD ["cat", "/built"]\n`,
      );
      const before = {
        ...labelled(label),
        temps: stepTemporaries(),
        all: docker('ps', '--all', '--quiet', '--no-trunc').stdout.split('\n').filter(Boolean),
      };
      const r = await runBuildPush({
        workspace: dir,
        ci: MR_VARS,
        inputs: {
          images: image,
          'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`,
          'smoke-target': 'smoke-test',
          target: 'target-image',
        },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('smoke: failing on purpose');
      expect(r.stderr).toMatch(/smoke test failed, nothing was pushed/);
      expect(r.stderr).not.toContain('Build target-image');
      expect(r.outputs.digest).toBeUndefined();
      expect(skopeoDigest(`${image}:MR-7`)).toBeUndefined();
      // no tagged image of this test, no container created from its layers, no temporaries
      const after = labelled(label);
      expect(after.containers).toEqual(before.containers);
      expect(after.images.filter((l) => !l.endsWith('<none>:<none>'))).toEqual([]);
      expect(stepTemporaries()).toEqual(before.temps);
      const newContainers = docker('ps', '--all', '--quiet', '--no-trunc')
        .stdout.split('\n')
        .filter((c) => c && !before.all.includes(c));
      for (const c of newContainers)
        expect(docker('inspect', '--format', '{{.Config.Labels}}', c).stdout).not.toContain(label.split('=')[1]);
    }, 300_000);

    it('lock refresh: PKG_VERSIONS=refresh, target smoke-test, extract writes the new lock from the image; nothing left behind', async () => {
      const dir = ws();
      const committed = fs.readFileSync(path.join(dir, 'deps.lock'), 'utf8');
      const before = stepTemporaries();
      const r = await runBuildPush({
        workspace: dir,
        ci: MAIN_VARS,
        inputs: {
          push: 'false',
          target: 'smoke-test',
          'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}\nPKG_VERSIONS=refresh`,
          extract: '/src/deps.lock:deps.lock\n/src/deps.lock:out/nested/deps.lock',
        },
      });
      if (r.code !== 0) throw new Error(r.stderr);
      const lock = fs.readFileSync(path.join(dir, 'deps.lock'), 'utf8');
      expect(lock).toBe('alpha==1.1.0\nbeta==2.3.1\n'); // the newest versions index.txt offers
      expect(lock).not.toBe(committed);
      expect(fs.readFileSync(path.join(dir, 'out/nested/deps.lock'), 'utf8')).toBe(lock);
      expect(r.outputs.digest).toBe('');
      expect(JSON.parse(r.outputs.metadata!).extracted).toEqual([
        path.join(dir, 'deps.lock'),
        path.join(dir, 'out/nested/deps.lock'),
      ]);
      // the built image existed only under the step's temporary name: gone, like the container
      expect(stepTemporaries()).toEqual(before);
      expect(docker('image', 'inspect', r.outputs['image-id']!).status).not.toBe(0);
    }, 300_000);

    it('extract of a path missing in the image fails and still removes the container and temporary image', async () => {
      const before = stepTemporaries();
      const r = await runBuildPush({
        workspace: ws(),
        ci: MAIN_VARS,
        inputs: { push: 'false', 'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`, extract: '/nope/missing.txt:x.txt' },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/docker cp .*\/nope\/missing\.txt/);
      expect(stepTemporaries()).toEqual(before);
    }, 300_000);

    it('basic-auth registry: credentials only in a private 0600 config, removed after; no leak in logs, files or argv', async () => {
      const image = repo(env.TB_REGISTRY_BASIC);
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-home-'));
      dirs.push(home);
      const userConfig = path.join(home, '.docker', 'config.json');
      fs.mkdirSync(path.dirname(userConfig));
      fs.writeFileSync(userConfig, JSON.stringify({ auths: { 'other.example.com': { auth: 'b3RoZXI6b3RoZXI=' } } }));
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-tmp-'));
      dirs.push(tmp);
      const shim = createDockerShim();
      const dir = ws();
      const r = await runBuildPush({
        workspace: dir,
        ci: MR_VARS,
        env: shim.env({ ...process.env, HOME: home, DOCKER_CONFIG: path.dirname(userConfig), TMPDIR: tmp }),
        inputs: {
          images: image,
          'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`,
          username: env.TB_REGISTRY_BASIC_USER,
          password: env.TB_REGISTRY_BASIC_PASSWORD,
        },
      });
      try {
        if (r.code !== 0) throw new Error(r.stderr);
        const authfile = path.join(tmp, 'skopeo-auth.json');
        fs.writeFileSync(
          authfile,
          JSON.stringify({
            auths: {
              [env.TB_REGISTRY_BASIC]: {
                auth: Buffer.from(`${env.TB_REGISTRY_BASIC_USER}:${env.TB_REGISTRY_BASIC_PASSWORD}`).toString('base64'),
              },
            },
          }),
          { mode: 0o600 },
        );
        expect(skopeoDigest(`${image}:MR-7`, authfile)).toBe(r.outputs.digest);
        fs.rmSync(authfile);
        // the job's own config is untouched and no private config is left in the temp dir
        expect(JSON.parse(fs.readFileSync(userConfig, 'utf8'))).toEqual({
          auths: { 'other.example.com': { auth: 'b3RoZXI6b3RoZXI=' } },
        });
        expect(fs.readdirSync(tmp).filter((f) => f.startsWith('shipline-build-push'))).toEqual([]);
        // docker push ran with the private config
        const pushes = shim.records().filter((c) => c.argv[0] === 'push');
        expect(pushes.length).toBe(1);
        expectNoLeaks({
          secrets: { password: env.TB_REGISTRY_BASIC_PASSWORD },
          texts: { stdout: r.stdout, stderr: r.stderr },
          dirs: [dir, tmp, home],
          argvLogs: [shim],
        });
      } finally {
        shim.cleanup();
      }
    }, 300_000);

    it('a wrong password fails the push with the registry named, and does not leak it', async () => {
      const image = repo(env.TB_REGISTRY_BASIC);
      const wrong = `wrong-${uniq('pw')}`;
      const shim = createDockerShim();
      const r = await runBuildPush({
        workspace: ws(),
        ci: MR_VARS,
        env: shim.env(),
        inputs: {
          images: image,
          'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`,
          username: env.TB_REGISTRY_BASIC_USER,
          password: wrong,
          'cache-from': 'none',
        },
      });
      try {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`docker push ${image}:MR-7 failed`);
        expect(r.stderr).not.toMatch(/attempt 2/); // an auth failure is not retried
        expectNoLeaks({
          secrets: { password: wrong },
          texts: { stdout: r.stdout, stderr: r.stderr },
          argvLogs: [shim],
        });
      } finally {
        shim.cleanup();
      }
    }, 300_000);

    it('a registry 500 on the manifest PUT is retried (classified), and the push then succeeds', async () => {
      const ctl = benchControl(env.TB_REGISTRY_OPEN_PROXY);
      const name = `${uniq('bp-retry')}/app`;
      const image = `${env.TB_REGISTRY_OPEN_PROXY}/${name}`;
      repos.push(image);
      const since = await ctl.mark();
      await ctl.fault({ kind: '500', count: 1, match: `/v2/${name}/manifests/MR-7` });
      try {
        const r = await runBuildPush({
          workspace: ws(),
          ci: MR_VARS,
          inputs: { images: image, 'build-args': `BASE_IMAGE=${env.TB_BASE_IMAGE}`, 'cache-from': 'none' },
        });
        if (r.code !== 0) throw new Error(r.stderr);
        expect(r.stderr).toMatch(
          new RegExp(`push of ${image.replace(/[.]/g, '\\.')}:MR-7 failed \\(.*500.*\\); attempt 2 in`),
        );
        const puts = (await ctl.requests({ since })).filter(
          (q) => q.action === 'PUT manifest' && q.path.includes(name),
        );
        expect(puts.map((q) => q.status)).toEqual([500, 201]);
        expect(skopeoDigest(`${env.TB_REGISTRY_OPEN}/${name}:MR-7`)).toBe(r.outputs.digest);
      } finally {
        // Never clearFaults(): it would drop other runs' faults. Ours matches only this
        // test's path and is used up by the first PUT.
      }
    }, 300_000);

    it('post (after_script) removes the temporaries an interrupted main left behind, and nothing else', async () => {
      const w = ws();
      const id = `shipline-build-push-${crypto.randomBytes(5).toString('hex')}`; // the shape main gives its temporaries
      expect(docker('pull', '-q', env.TB_BASE_IMAGE).status).toBe(0);
      expect(docker('create', '--name', `${id}-extract`, env.TB_BASE_IMAGE, 'true').status).toBe(0);
      expect(docker('create', '--name', `${id}-bystander`, env.TB_BASE_IMAGE, 'true').status).toBe(0);
      expect(docker('tag', env.TB_BASE_IMAGE, `${id}:smoke`).status).toBe(0);
      expect(docker('tag', env.TB_BASE_IMAGE, `${id}:bystander`).status).toBe(0);
      try {
        // The state main saves before it creates anything, in the job's private run dir
        // (outside the checkout: a state file planted in the checkout is never read).
        const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-it-run-'));
        dirs.push(runDir);
        fs.chmodSync(runDir, 0o700);
        fs.mkdirSync(path.join(runDir, 'state'), { mode: 0o700 });
        const temps = { containers: [`${id}-extract`], images: [`${id}:smoke`, `${id}:build`], pulled: [] };
        fs.writeFileSync(
          path.join(runDir, 'state', 'build-push.json'),
          JSON.stringify({ 'build-push-temporaries': JSON.stringify(temps) }),
          { mode: 0o600 },
        );
        const r = await runBuildPush({
          workspace: w,
          ci: MAIN_VARS,
          inputs: {},
          post: true,
          env: { ...process.env, SHIPLINE_RUN_DIR: runDir },
        });
        expect(r.code).toBe(0);
        expect(r.stderr).toContain(`removing leftovers: ${id}-extract, ${id}:smoke`);
        expect(docker('container', 'inspect', `${id}-extract`).status).not.toBe(0);
        expect(docker('image', 'inspect', `${id}:smoke`).status).not.toBe(0);
        expect(docker('container', 'inspect', `${id}-bystander`).status).toBe(0);
        expect(docker('image', 'inspect', `${id}:bystander`).status).toBe(0);
        expect(docker('image', 'inspect', env.TB_BASE_IMAGE).status).toBe(0);
      } finally {
        docker('rm', '--force', `${id}-extract`, `${id}-bystander`);
        docker('image', 'rm', `${id}:smoke`, `${id}:bystander`);
      }
    }, 120_000);

    describe('bad inputs fail with exit code 2 before any docker call', () => {
      const cases: { name: string; inputs: Record<string, string>; message: RegExp; hint?: RegExp }[] = [
        {
          name: 'unknown target lists the stages',
          inputs: { target: 'prod' },
          message: /input 'target': stage 'prod' is not in \S+\/Dockerfile/,
          hint: /stages there: base, pkg-refresh, pkg-pinned, pkg, smoke-test, target-image/,
        },
        {
          name: 'unknown smoke-target lists the stages',
          inputs: { 'smoke-target': 'tests' },
          message: /input 'smoke-target': stage 'tests'/,
          hint: /stages there: base, pkg-refresh/,
        },
        {
          name: 'invalid tag names it',
          inputs: { tags: 'type=raw,value=.hidden' },
          message: /'\.hidden', which is not a valid tag/,
        },
        {
          name: 'invalid explicit ref names it',
          inputs: { refs: '127.0.0.1:5001/app:bad:tag' },
          message: /input 'refs'.*bad:tag/,
        },
        {
          name: 'missing Dockerfile gives the resolved path',
          inputs: { file: 'build/Dockerfile.prod' },
          message: /Dockerfile not found: \/\S+\/build\/Dockerfile\.prod/,
        },
      ];
      test.each(cases)('$name', async ({ inputs, message, hint }) => {
        const shim = createDockerShim();
        try {
          const r = await runBuildPush({
            workspace: ws(),
            ci: MR_VARS,
            env: shim.env(),
            inputs: { images: `${env.TB_REGISTRY_OPEN}/bp-bad/app`, ...inputs },
          });
          expect(r.code).toBe(2);
          expect(r.stderr).toMatch(message);
          if (hint) expect(r.stderr).toMatch(hint);
          expect(shim.records()).toEqual([]);
        } finally {
          shim.cleanup();
        }
      });
    });
  },
);
