// build-push's docker/build-push-action options on the bench's engine (docker.io 20.10, no
// buildx): no-cache, add-hosts, shm-size, ulimit and cgroup-parent reach the classic
// builder's RUN steps; labels are one LABEL step (none on the smoke build); secrets,
// secret-envs, secret-files and ssh go through the docker CLI's built-in BuildKit
// (DOCKER_BUILDKIT=1 with docker.io's own 20.10 CLI) and no secret value reaches argv, the
// log, the image or a file left behind; a docker CLI without BuildKit (28.x, no buildx)
// says so. The image output is <repository>@<digest>, as skopeo sees the registry.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createArgvRecorder, expectNoLeaks, plantCanaries, watchCmdlines, type CmdlineSample } from '../support/canary';
import { describeBench } from '../support/testbed';
import { MAIN_VARS, docker, removeRepoImages, runBuildPush, skopeoDigest, uniq } from '../support/build-push-run';

/** The cgroup-parent of the test (one name: the engine leaves the empty cgroup behind; afterAll removes it). */
const CGROUP = 'shipline-test';
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

describeBench(['docker', 'registry-open'], 'build-push build options', (env) => {
  const dirs: string[] = [];
  const repos: string[] = [];
  afterAll(() => {
    for (const r of repos) removeRepoImages(r);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    // the cgroup-parent test's cgroup, left empty by the engine in every hierarchy (rmdir removes only an empty one)
    for (const h of fs.existsSync('/sys/fs/cgroup') ? fs.readdirSync('/sys/fs/cgroup') : [])
      for (const d of [path.join('/sys/fs/cgroup', h, CGROUP), path.join('/sys/fs/cgroup', CGROUP)])
        try {
          fs.rmdirSync(d);
        } catch {
          // not there, or in use
        }
  });
  const tmp = (prefix: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  /** A workspace with this Dockerfile, and a run dir of its own (the job's private dir). */
  const setup = (dockerfile: string) => {
    const root = tmp('shipline-bp-opt-');
    const ws = path.join(root, 'ws');
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, 'Dockerfile'), dockerfile);
    const runDir = path.join(root, 'run');
    return { root, ws, runDir, env: { ...process.env, SHIPLINE_RUN_DIR: runDir } as NodeJS.ProcessEnv };
  };
  const local = () => {
    const r = `127.0.0.1:1/${uniq('bp-opt')}/app`;
    repos.push(r);
    return r;
  };

  test('no-cache, add-hosts, shm-size, ulimit, cgroup-parent reach the RUN steps of the classic builder', async () => {
    const nonce = crypto.randomBytes(6).toString('hex');
    const s = setup(
      [
        'ARG BASE',
        'FROM ${BASE}',
        `RUN echo ${nonce} >/dev/null; (df -k /dev/shm | tail -n 1; ulimit -n; ulimit -Hn; grep shipline-db /etc/hosts; grep -c shipline-test /proc/self/cgroup) > /opts.txt`,
        '',
      ].join('\n'),
    );
    const inputs = {
      images: local(),
      push: 'false',
      'build-args': `BASE=${env.TB_BASE_IMAGE}`,
      network: 'none',
      'cache-from': 'none',
      'add-hosts': 'shipline-db=10.9.8.7',
      'shm-size': '96m',
      ulimit: 'nofile=1111:2222',
      'cgroup-parent': `/${CGROUP}`,
      extract: '/opts.txt:opts.txt',
    };
    const r = await runBuildPush({ workspace: s.ws, inputs, env: s.env, ci: MAIN_VARS });
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    const [shm, soft, hard, hosts, cgroup] = fs.readFileSync(path.join(s.ws, 'opts.txt'), 'utf8').trim().split('\n');
    expect(shm!.split(/\s+/)[1]).toBe(String(96 * 1024));
    expect([soft, hard]).toEqual(['1111', '2222']);
    expect(hosts!.split(/\s+/)).toEqual(['10.9.8.7', 'shipline-db']);
    expect(Number(cgroup)).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/--add-host|builder: classic/); // the classic builder ran
    // The same build again takes its RUN from the engine's cache; with no-cache it runs again.
    const again = await runBuildPush({ workspace: s.ws, inputs, env: s.env, ci: MAIN_VARS });
    expect(JSON.parse(again.outputs.metadata!)).toMatchObject({ cache: { cached: 1 } });
    const fresh = await runBuildPush({
      workspace: s.ws,
      inputs: { ...inputs, 'no-cache': 'true' },
      env: s.env,
      ci: MAIN_VARS,
    });
    if (fresh.code !== 0) throw new Error(fresh.stderr);
    expect(JSON.parse(fresh.outputs.metadata!)).toMatchObject({ cache: { steps: 1, cached: 0 } });
  }, 300_000);

  test('labels: one LABEL step on the built image, none on the smoke build; values with quotes and $ kept; image output by digest', async () => {
    const image = `${env.TB_REGISTRY_OPEN}/${uniq('bp-lab')}/app`;
    repos.push(image);
    const s = setup(
      [
        'ARG BASE',
        'FROM ${BASE} AS base',
        'RUN echo base > /b',
        'FROM base AS smoke-test',
        'RUN test -f /b',
        'FROM base AS target-image',
        'CMD ["cat", "/b"]',
        '',
      ].join('\n'),
    );
    const odd = 'say "hi" to $HOME \\o/ ${X} é';
    const r = await runBuildPush({
      workspace: s.ws,
      ci: MAIN_VARS,
      env: s.env,
      inputs: {
        images: image,
        'build-args': `BASE=${env.TB_BASE_IMAGE}`,
        network: 'none',
        target: 'target-image',
        'smoke-target': 'smoke-test',
        labels: `team=platform\nshipline.odd=${odd}`,
      },
    });
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    const [smoke, main] = r.stderr.split(/Build target-image/);
    expect(smoke).toMatch(/Smoke test: build stage smoke-test/);
    expect(smoke).not.toMatch(/Step \d+\/\d+ : LABEL/);
    expect(main!.match(/Step \d+\/\d+ : LABEL /g)).toHaveLength(1);
    const ref = r.outputs.tags!.split('\n')[0]!;
    const history = docker('history', '--no-trunc', '--format', '{{.CreatedBy}}', ref).stdout.split('\n');
    expect(history.filter((h) => /LABEL/.test(h))).toHaveLength(1);
    const labels = JSON.parse(docker('image', 'inspect', '--format', '{{json .Config.Labels}}', ref).stdout) as Record<
      string,
      string
    >;
    expect(labels['shipline.odd']).toBe(odd);
    expect(labels.team).toBe('platform');
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
    // image: the first pushed reference's repository by digest, as the registry reports it
    expect(r.outputs.image).toBe(`${image}@${r.outputs.digest}`);
    expect(skopeoDigest(`${image}@${r.outputs.digest}`)).toBe(r.outputs.digest);
    expect(skopeoDigest(ref)).toBe(r.outputs.digest);
    // the step's work dir (the labelled Dockerfile) is gone
    expect(fs.readdirSync(path.join(s.runDir, 'tmp'))).toEqual([]);
  }, 300_000);

  test("secrets, secret-envs, secret-files and ssh through docker.io's built-in BuildKit: the build gets them, nothing else does", async () => {
    const c = plantCanaries('value', 'env', 'file');
    const multi = `-----BEGIN X-----\n${c.value}-line2, with "quotes"\n-----END X-----`;
    // a RUN line of its own per run: BuildKit's cache does not key on secret values
    const s = setup(
      [
        'ARG BASE',
        'FROM ${BASE}',
        'RUN --mount=type=secret,id=tok --mount=type=secret,id=multi --mount=type=secret,id=envsec --mount=type=secret,id=filesec --mount=type=ssh \\',
        `    (echo ${crypto.randomBytes(6).toString('hex')} >/dev/null; sha256sum /run/secrets/tok /run/secrets/multi /run/secrets/envsec /run/secrets/filesec; test -S "$SSH_AUTH_SOCK" && echo ssh-ok) > /proof.txt`,
        '',
      ].join('\n'),
    );
    // the secret file lives outside the workspace (as a CI file variable would)
    const secretFile = path.join(s.root, 'secret-file.txt');
    fs.writeFileSync(secretFile, c.file, { mode: 0o600 });
    // an ssh agent of this test's own
    const agentSock = path.join(s.root, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !fs.existsSync(agentSock); i++) await new Promise((res) => setTimeout(res, 50));
      // docker.io's own 20.10 CLI (it has BuildKit built in), argv recorded; no buildx anywhere
      const recorder = createArgvRecorder({
        binaries: ['docker'],
        dir: path.join(s.root, 'argv'),
        searchPath: '/usr/bin',
      });
      expect(recorder.real.docker).toBe('/usr/bin/docker');
      const image = `${env.TB_REGISTRY_OPEN}/${uniq('bp-sec')}/app`;
      repos.push(image);
      const watch = watchCmdlines(20);
      let cmdlines: CmdlineSample[] = [];
      const r = await runBuildPush({
        workspace: s.ws,
        ci: MAIN_VARS,
        env: recorder.env({ ...s.env, SHIPLINE_ENV_SEC: c.env, SSH_AUTH_SOCK: agentSock }),
        inputs: {
          images: image,
          'build-args': `BASE=${env.TB_BASE_IMAGE}`,
          network: 'none',
          'cache-from': 'none',
          secrets: `tok=${c.value}\n"multi=${multi.replace(/"/g, '""')}"`,
          'secret-envs': 'envsec=SHIPLINE_ENV_SEC',
          'secret-files': `filesec=${secretFile}`,
          ssh: 'default',
          extract: '/proof.txt:proof.txt',
        },
      }).finally(() => (cmdlines = watch.stop()));
      if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
      expect(r.stderr).toContain("builder: docker's built-in BuildKit");
      const proof = fs.readFileSync(path.join(s.ws, 'proof.txt'), 'utf8').trim().split('\n');
      expect(proof).toEqual([
        `${sha256(c.value)}  /run/secrets/tok`,
        `${sha256(multi)}  /run/secrets/multi`,
        `${sha256(c.env)}  /run/secrets/envsec`,
        `${sha256(c.file)}  /run/secrets/filesec`,
        'ssh-ok',
      ]);
      // the build got them as files of its own (argv names only ids, files and the variable)
      const builds = recorder.records().filter((x) => x.argv[0] === 'build' && !x.argv.includes('--help'));
      expect(builds).toHaveLength(1);
      const argv = builds[0]!.argv;
      const secretArgs = argv.flatMap((a, i) => (argv[i - 1] === '--secret' ? [a] : []));
      expect(secretArgs).toEqual([
        expect.stringMatching(/^id=tok,src=.*\/shipline-build-push-work-[A-Za-z0-9]{6}\/secret-0$/),
        expect.stringMatching(/^id=multi,src=.*\/secret-1$/),
        'id=envsec,env=SHIPLINE_ENV_SEC',
        `id=filesec,src=${secretFile}`,
      ]);
      expect(argv.flatMap((a, i) => (argv[i - 1] === '--ssh' ? [a] : []))).toEqual(['default']);
      // pushed, by digest
      expect(r.outputs.image).toBe(`${image}@${r.outputs.digest}`);
      expect(skopeoDigest(`${image}:latest`)).toBe(r.outputs.digest);
      // no value in the log, argv, process list, image history, the workspace or the job's private dir
      const history = docker('history', '--no-trunc', '--format', '{{.CreatedBy}}', `${image}:latest`).stdout;
      // BuildKit puts --label in the image config: no step for them
      expect(history).not.toMatch(/LABEL/);
      expect(
        docker(
          'image',
          'inspect',
          '--format',
          '{{index .Config.Labels "org.opencontainers.image.revision"}}',
          `${image}:latest`,
        ).stdout.trim(),
      ).toMatch(/^[0-9a-f]{40}$/);
      expectNoLeaks({
        secrets: { ...c, multiLine2: `${c.value}-line2` },
        texts: { stdout: r.stdout, stderr: r.stderr, history },
        argvLogs: [recorder],
        cmdlines,
        dirs: [s.ws, s.runDir],
      });
      // the 0600 secret files went with the work dir
      expect(fs.readdirSync(path.join(s.runDir, 'tmp'))).toEqual([]);
    } finally {
      agent.kill();
    }
  }, 300_000);

  test('without BuildKit (docker CLI 28, no buildx) secrets fail before any build, naming the inputs; BuildKit refuses shm-size (exit 2)', async () => {
    const s = setup('ARG BASE\nFROM ${BASE}\nRUN true\n');
    const cli28 = spawnSync('docker', ['version', '--format', '{{.Client.Version}}'], {
      encoding: 'utf8',
    }).stdout.trim();
    expect(Number(cli28.split('.')[0])).toBeGreaterThanOrEqual(23);
    const base = { images: local(), push: 'false', 'build-args': `BASE=${env.TB_BASE_IMAGE}`, network: 'none' };
    const r = await runBuildPush({
      workspace: s.ws,
      ci: MAIN_VARS,
      env: s.env,
      inputs: { ...base, secrets: 'tok=abcdefgh', 'secret-envs': 'x=HOME' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: secrets, secret-envs need BuildKit: neither buildx nor a docker CLI with built-in BuildKit is here/,
    );
    expect(r.stderr).toMatch(/hint: install the buildx plugin/);
    expect(r.stderr).not.toMatch(/Build |Step \d/);
    const recorder = createArgvRecorder({
      binaries: ['docker'],
      dir: path.join(s.root, 'argv'),
      searchPath: '/usr/bin',
    });
    const shm = await runBuildPush({
      workspace: s.ws,
      ci: MAIN_VARS,
      env: recorder.env(s.env),
      inputs: { ...base, ssh: 'x=/dev/null', 'shm-size': '1g' },
    });
    expect(shm.code).toBe(2);
    expect(shm.stderr).toMatch(/error: input 'shm-size': the docker CLI's built-in BuildKit .* does not apply it/);
    expect(recorder.records().some((x) => x.argv[0] === 'build' && !x.argv.includes('--help'))).toBe(false);
  }, 120_000);
});
