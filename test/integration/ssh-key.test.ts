// ssh-key with real OpenSSH tools: keys made by ssh-keygen, split one line per variable,
// reassembled by the step (GitLab/CLI runtime, in-process) byte for byte; ssh-keygen -y
// accepts the file, ssh -G reads the options, ssh-agent holds the key; cleanup removes it.
// Each job has its own private directory (SHIPLINE_RUN_DIR, as the GitLab template sets
// it): the env file is <run>/env, the key directory lies under <run>/tmp (ctx.tempDir).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sshKey from '../../src/steps/ssh-key/index';
import { runStep } from '../../src/runtime/run';
import { readAssignments } from '../../src/runtime/gitlab';
import { run, runOk } from '../support/exec';
import { createArgvRecorder, expectNoLeaks } from '../support/canary';
import net from 'node:net';

jest.setTimeout(30_000);

interface Job {
  root: string;
  workspace: string;
  /** The job's private directory (SHIPLINE_RUN_DIR). */
  run: string;
  /** ctx.tempDir: <run>/tmp. */
  temp: string;
  /** The env file the template sources: <run>/env. */
  envFile: string;
  env: Record<string, string>;
}

function newJob(vars: Record<string, string>): Job {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-key-it-'));
  const workspace = path.join(root, 'ws');
  const run = path.join(root, 'run');
  fs.mkdirSync(workspace);
  return {
    root,
    workspace,
    run,
    temp: path.join(run, 'tmp'),
    envFile: path.join(run, 'env'),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: workspace,
      SHIPLINE_RUN_DIR: run,
      ...vars,
    },
  };
}

/** The entries of a directory; none when the runtime never had to make it. */
const entries = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

async function step(job: Job, post = false) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runStep(sshKey as never, {
    env: job.env,
    post,
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const outputsOf = (stdout: string) =>
  Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => /^[a-z-]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

async function keygen(type: string, dir: string): Promise<{ file: string; text: string; pub: string }> {
  const file = path.join(dir, `id_${type}`);
  await runOk('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'shipline-test', '-f', file]);
  return { file, text: fs.readFileSync(file, 'utf8'), pub: fs.readFileSync(`${file}.pub`, 'utf8') };
}

const lineVars = (text: string, prefix = 'SSH_KEY_LINE_') =>
  Object.fromEntries(
    text
      .trimEnd()
      .split('\n')
      .map((l, i) => [`${prefix}${i + 1}`, l]),
  );
const bodyLines = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .map((l, i) => [`body${i + 1}`, l]),
  );
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

describe.each(['ed25519', 'rsa', 'ecdsa'])('%s key split over variables', (type) => {
  test('reassembled byte-exactly, accepted by ssh-keygen -y, used by ssh, removed by cleanup', async () => {
    const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-key-src-'));
    const key = await keygen(type, keys);
    const job = newJob({
      ...lineVars(key.text),
      SHIPLINE_INPUT_KEY_VARIABLES: 'SSH_KEY_LINE_',
      SHIPLINE_INPUT_KNOWN_HOSTS: HOST_KEY,
      SHIPLINE_INPUT_HOST: 'git.example.com:2222',
    });
    try {
      const main = await step(job);
      expect(main).toMatchObject({ code: 0 });
      const out = outputsOf(main.stdout);
      const keyFile = out['key-file']!;
      expect(path.dirname(path.dirname(keyFile))).toBe(job.temp);
      expect(fs.readFileSync(keyFile)).toEqual(fs.readFileSync(key.file));
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(keyFile)).mode & 0o777).toBe(0o700);
      const derived = await runOk('ssh-keygen', ['-y', '-f', keyFile]);
      expect(derived.stdout.trim().split(' ').slice(0, 2)).toEqual(key.pub.trim().split(' ').slice(0, 2));
      const fpr = await runOk('ssh-keygen', ['-l', '-f', key.file]);
      expect(fpr.stdout.split(' ')[1]).toBe(out.fingerprint);

      // The exported command, as git runs it (through sh); ssh -G prints the options it would use.
      expect(fs.statSync(job.envFile).mode & 0o777).toBe(0o600);
      const exported = readAssignments(job.envFile);
      expect([...exported.keys()]).toEqual(['GIT_SSH_COMMAND']);
      expect(fs.existsSync(path.join(job.workspace, '.shipline/env'))).toBe(false);
      const g = await runOk(
        'sh',
        ['-c', `. "$SHIPLINE_ENV_FILE" && eval "$GIT_SSH_COMMAND -G -p 2222 git.example.com"`],
        {
          cwd: job.workspace,
          env: { ...process.env, SHIPLINE_ENV_FILE: job.envFile },
        },
      );
      expect(g.stdout).toContain(`identityfile ${keyFile}\n`);
      expect(g.stdout).toContain('identitiesonly yes\n');
      expect(g.stdout).toContain('stricthostkeychecking true\n');
      expect(g.stdout).toContain(`userknownhostsfile ${out['known-hosts-file']}\n`);
      expect(fs.readFileSync(out['known-hosts-file']!, 'utf8')).toBe(`[git.example.com]:2222 ${HOST_KEY}\n`);

      const post = await step(job, true);
      expect(post.code).toBe(0);
      expect(fs.existsSync(path.dirname(keyFile))).toBe(false);
      expect(fs.existsSync(job.envFile)).toBe(false);
      expect(fs.existsSync(path.join(job.workspace, '.shipline/env'))).toBe(false);
      expect(fs.readdirSync(job.temp)).toEqual([]);
      expectNoLeaks({
        secrets: bodyLines(key.text),
        texts: { stdout: main.stdout + post.stdout, stderr: main.stderr + post.stderr },
        dirs: [job.workspace, job.run],
      });
    } finally {
      fs.rmSync(job.root, { recursive: true, force: true });
      fs.rmSync(keys, { recursive: true, force: true });
    }
  });
});

test('a broken line is reported by number and variable, without its content, and nothing is left behind', async () => {
  const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-key-src-'));
  const key = await keygen('ed25519', keys);
  const vars = lineVars(key.text);
  const original = vars.SSH_KEY_LINE_3!;
  vars.SSH_KEY_LINE_3 = `${original.slice(0, 20)}!${original.slice(21)}`;
  const job = newJob({
    ...vars,
    SHIPLINE_INPUT_KEY_VARIABLES: 'SSH_KEY_LINE_',
    SHIPLINE_INPUT_KNOWN_HOSTS: `git.example.com ${HOST_KEY}`,
  });
  try {
    const r = await step(job);
    expect(r.code).toBe(2); // a malformed key is the input's error (issue 15)
    expect(r.stderr).toContain(
      'line 3 (from SSH_KEY_LINE_3): not base64 (character 21 is outside the base64 alphabet)',
    );
    expect(entries(job.temp)).toEqual([]);
    expect(fs.existsSync(job.envFile)).toBe(false);
    expect(fs.existsSync(path.join(job.workspace, '.shipline/env'))).toBe(false);
    expectNoLeaks({
      secrets: { ...bodyLines(key.text), broken: vars.SSH_KEY_LINE_3 },
      texts: { stdout: r.stdout, stderr: r.stderr },
      dirs: [job.workspace, job.run],
    });

    // Two lines swapped: armour is fine, the key is not.
    const swapped = lineVars(key.text);
    [swapped.SSH_KEY_LINE_2, swapped.SSH_KEY_LINE_3] = [swapped.SSH_KEY_LINE_3!, swapped.SSH_KEY_LINE_2!];
    const job2 = newJob({
      ...swapped,
      SHIPLINE_INPUT_KEY_VARIABLES: 'SSH_KEY_LINE_',
      SHIPLINE_INPUT_KNOWN_HOSTS: `git.example.com ${HOST_KEY}`,
    });
    try {
      const s = await step(job2);
      expect(s.code).toBe(2);
      expect(s.stderr).toMatch(/key-variables: the assembled SSH key has valid armour but does not decode to a key/);
      expect(entries(job2.temp)).toEqual([]);
      expect(fs.existsSync(job2.envFile)).toBe(false);
    } finally {
      fs.rmSync(job2.root, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(job.root, { recursive: true, force: true });
    fs.rmSync(keys, { recursive: true, force: true });
  }
});

test('key-base64 with start-agent: the agent holds the key and is stopped by the cleanup', async () => {
  const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-key-src-'));
  const key = await keygen('ed25519', keys);
  const b64 = Buffer.from(key.text).toString('base64');
  const job = newJob({
    SHIPLINE_INPUT_KEY_BASE64: b64,
    SHIPLINE_INPUT_KNOWN_HOSTS: `git.example.com ${HOST_KEY}`,
    SHIPLINE_INPUT_START_AGENT: 'true',
  });
  try {
    const main = await step(job);
    expect(main).toMatchObject({ code: 0 });
    const exported = readAssignments(job.envFile);
    const sock = exported.get('SSH_AUTH_SOCK')!.replace(/^'|'$/g, '');
    const pid = Number(exported.get('SSH_AGENT_PID')!.replace(/'/g, ''));
    const listed = await runOk('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    expect(listed.stdout).toContain(outputsOf(main.stdout).fingerprint);
    const post = await step(job, true);
    expect(post.code).toBe(0);
    // Gone or a zombie (this machine's init does not reap orphans).
    const running = () => {
      try {
        return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    };
    let alive = running();
    for (let i = 0; i < 50 && alive; i++) {
      await new Promise((r) => setTimeout(r, 20));
      alive = running();
    }
    expect(alive).toBe(false);
    expect(fs.readdirSync(job.temp)).toEqual([]);
    expect(fs.existsSync(job.envFile)).toBe(false);
    expectNoLeaks({
      secrets: { ...bodyLines(key.text), b64 },
      texts: { stdout: main.stdout + post.stdout, stderr: main.stderr + post.stderr },
      dirs: [job.workspace, job.run],
    });
    const none = await run('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    expect(none.code).not.toBe(0);
  } finally {
    fs.rmSync(job.root, { recursive: true, force: true });
    fs.rmSync(keys, { recursive: true, force: true });
  }
});

test('git uses the exported GIT_SSH_COMMAND: ssh gets the key, IdentitiesOnly and strict host checking', async () => {
  const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-key-src-'));
  const key = await keygen('ed25519', keys);
  const job = newJob({
    ...lineVars(key.text),
    SHIPLINE_INPUT_KEY_VARIABLES: 'SSH_KEY_LINE_',
    SHIPLINE_INPUT_KNOWN_HOSTS: HOST_KEY,
    SHIPLINE_INPUT_HOST: '127.0.0.1',
  });
  // ssh through a PATH shim that records its argv, then runs the real ssh against a closed loopback port.
  const recorder = createArgvRecorder({ binaries: ['ssh'] });
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  try {
    const main = await step(job);
    expect(main.code).toBe(0);
    const out = outputsOf(main.stdout);
    const git = await run(
      'sh',
      ['-c', `. "$SHIPLINE_ENV_FILE" && git ls-remote ssh://git@127.0.0.1:${port}/team/repo.git`],
      {
        cwd: job.workspace,
        env: recorder.env({
          PATH: process.env.PATH ?? '',
          HOME: job.root,
          GIT_TERMINAL_PROMPT: '0',
          SHIPLINE_ENV_FILE: job.envFile,
        }),
        timeoutMs: 30_000,
      },
    );
    expect(git.code).not.toBe(0); // nothing listens there
    expect(git.stderr).toMatch(/Connection refused/);
    const calls = recorder.records();
    expect(calls).toHaveLength(1);
    const argv = calls[0]!.argv;
    expect(argv.slice(0, 8)).toEqual([
      '-i',
      out['key-file'],
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${out['known-hosts-file']}`,
      '-o',
      'StrictHostKeyChecking=yes',
    ]);
    expect(argv).toEqual(expect.arrayContaining(['-p', String(port), 'git@127.0.0.1']));
    expect(await step(job, true)).toMatchObject({ code: 0 });
    expect(fs.readdirSync(job.temp)).toEqual([]);
    expectNoLeaks({
      secrets: bodyLines(key.text),
      texts: { stdout: main.stdout + git.stdout, stderr: main.stderr + git.stderr },
      argvLogs: [recorder],
      dirs: [job.workspace, job.run],
    });
  } finally {
    recorder.cleanup();
    fs.rmSync(job.root, { recursive: true, force: true });
    fs.rmSync(keys, { recursive: true, force: true });
  }
});
