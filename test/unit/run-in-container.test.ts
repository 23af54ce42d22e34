// run-in-container's pure parts: options allow-list, copy specs, job-unique names,
// .dockerignore matching, the tar writer, and the docker argv (names only, never values).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCopyIn, parseCopyOut, parseRunOptions, splitWords } from '../../src/steps/run-in-container/plan';
import { defaultName, ownerId } from '../../src/steps/run-in-container/naming';
import { DockerIgnore, tarDirectory, tarHeader } from '../../src/lib/docker/context-tar';
import { classifyPullError, execArgs, runArgs } from '../../src/lib/docker/container';
import { InputError } from '../../src/lib/util/errors';
import step from '../../src/steps/run-in-container/index';
import { parseInputs } from '../../src/runtime/inputs';

describe('options allow-list', () => {
  it('splits words with quotes and escapes', () => {
    expect(splitWords(`--label 'a b' --add-host "h:1.2.3.4" x\\ y`)).toEqual(['--label', 'a b', '--add-host', 'h:1.2.3.4', 'x y']);
    expect(() => splitWords(`--label 'open`)).toThrow(InputError);
  });

  it('keeps allowed options, in both spellings, and reports the network', () => {
    const p = parseRunOptions('--memory 512m --cpus=1.5 --network none --read-only --tmpfs /tmp');
    expect(p.args).toEqual(['--memory', '512m', '--cpus', '1.5', '--network', 'none', '--read-only', '--tmpfs', '/tmp']);
    expect(p.network).toBe('none');
    expect(parseRunOptions('-u 1000:1000').user).toBe('1000:1000');
    expect(parseRunOptions('').args).toEqual([]);
  });

  it.each([
    ['--privileged', /--privileged.*privileged: true/],
    ['--cap-add SYS_ADMIN', /--cap-add/],
    ['-v /:/host', /'-v' is not allowed: host mounts/],
    ['--env TOKEN=abc', /'--env' is not allowed: values would be in argv/],
    ['-e TOKEN', /'-e' is not allowed/],
    ['--security-opt seccomp=unconfined', /--security-opt/],
    ['--pid=host', /'--pid' is not allowed/],
    ['--frobnicate', /option '--frobnicate' is not allowed/],
    ['--memory', /'--memory' needs a value/],
    ['--init=yes', /takes no value/],
    ['busybox', /'busybox' is not an option/],
  ])('refuses %s, naming it', (text, re) => {
    let err: unknown;
    try {
      parseRunOptions(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(re);
    expect((err as InputError).exitCode).toBe(2);
  });
});

describe('copy specs', () => {
  const ws = '/builds/team/app';
  it('copy-in: workspace paths into the workdir or a given dir', () => {
    expect(parseCopyIn(['.'], ws, '/app')).toEqual([{ host: ws, container: '/app' }]);
    expect(parseCopyIn(['src:/opt/src', 'conf:etc'], ws, '/app')).toEqual([
      { host: `${ws}/src`, container: '/opt/src' },
      { host: `${ws}/conf`, container: '/app/etc' },
    ]);
    expect(() => parseCopyIn(['../other'], ws, '/app')).toThrow(/outside the workspace/);
    expect(() => parseCopyIn([':/x'], ws, '/app')).toThrow(/no workspace path/);
  });

  it('copy-out: container-path:workspace-path, relative container paths under the workdir', () => {
    expect(parseCopyOut(['dist/artifact.zip:artifact.zip', '/reports:out/reports'], ws, '/app')).toEqual([
      { container: '/app/dist/artifact.zip', host: `${ws}/artifact.zip` },
      { container: '/reports', host: `${ws}/out/reports` },
    ]);
    expect(() => parseCopyOut(['artifact.zip'], ws, '/app')).toThrow(/container-path:workspace-path/);
    expect(() => parseCopyOut(['/a:/etc/passwd'], ws, '/app')).toThrow(/outside the workspace/);
  });
});

describe('container names', () => {
  const base = { jobId: '1234', pipelineId: '99', projectPath: 'team/app' };
  it('are unique per job and stable within one job', () => {
    const a = ownerId(base, '/builds/a', {});
    expect(ownerId(base, '/builds/a', {})).toBe(a);
    expect(ownerId({ ...base, jobId: '1235' }, '/builds/a', {})).not.toBe(a);
    expect(ownerId(base, '/builds/b', {})).not.toBe(a); // same job id, another project checkout
    expect(ownerId(base, '/builds/a', { RUNNER_NAME: 'r2' })).not.toBe(a);
    expect(defaultName('1234', a)).toBe(`shipline-1234-${a}`);
    expect(defaultName('4242-1-test job', a)).toMatch(/^shipline-4242-1-test-job-[0-9a-f]{10}$/);
    expect(defaultName(undefined, a)).toBe(`shipline-local-${a}`);
  });
});

describe('docker argv', () => {
  it('run: keep-alive entrypoint, labels, no variable values', () => {
    const args = runArgs({ image: 'reg/app:1', name: 'c1', workdir: '/app', owner: 'abc', options: ['--network', 'host'] });
    expect(args.slice(0, 4)).toEqual(['run', '--detach', '--name', 'c1']);
    expect(args).toContain('dev.shipline.owner=abc');
    expect(args.slice(-4)).toEqual(['--entrypoint', 'sleep', 'reg/app:1', 'infinity']);
  });
  it('exec: variables by NAME only', () => {
    const args = execArgs({ container: 'c1', workdir: '/app', shell: ['sh', '-e'], command: 'make test', envNames: ['TOKEN', 'NPM_TOKEN'] });
    expect(args).toEqual(['exec', '--env', 'TOKEN', '--env', 'NPM_TOKEN', '--workdir', '/app', 'c1', 'sh', '-e', '-c', 'make test']);
  });
});

describe('pull failures', () => {
  it.each([
    ['Error response from daemon: received unexpected HTTP status: 500 Internal Server Error', true],
    ['Error response from daemon: received unexpected HTTP status: 503 Service Unavailable', true],
    ['Error response from daemon: toomanyrequests: You have reached your pull rate limit.', true],
    ['Error response from daemon: unknown: Rate exceeded', true],
    ['Error response from daemon: Get "https://r.example/v2/": net/http: TLS handshake timeout', true],
    ['Error response from daemon: Get "https://r.example/v2/": dial tcp: i/o timeout', true],
    ['Error response from daemon: Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused', false],
    ['Error response from daemon: manifest for r.example/app:1 not found: manifest unknown: manifest unknown', false],
    ['Error response from daemon: pull access denied for app, repository does not exist or may require docker login', false],
    ['Error response from daemon: Head "https://r.example/v2/app/manifests/1.500": unauthorized: authentication required', false],
  ])('%s -> retry %s', (stderr, want) => {
    expect(classifyPullError(stderr).retry).toBe(want);
  });
});

describe('.dockerignore', () => {
  const ig = DockerIgnore.parse(['# comment', 'node_modules', '*.log', '/build', 'docs/**/*.md', '!docs/keep/README.md', '**/tmp', 'a?c', ''].join('\n'));
  it.each([
    ['node_modules', true],
    ['node_modules/x/y.js', true], // a parent matches
    ['src/node_modules', false], // patterns are anchored at the root
    ['app.log', true],
    ['logs/app.log', false], // `*` does not cross '/'
    ['build/out.bin', true], // leading '/' is the root
    ['docs/a/b/c.md', true],
    ['docs/c.md', true], // `**/` matches zero directories
    ['docs/keep/README.md', false], // re-included by '!'
    ['deep/er/tmp/file', true],
    ['abc', true],
    ['abbc', false],
    ['src/main.ts', false],
  ])('%s -> ignored %s', (p, want) => {
    expect(ig.ignores(p)).toBe(want);
  });
});

/** A minimal tar reader (ustar + PAX path) to check what the writer produced. */
function readTar(buf: Buffer): { path: string; type: string; size: number; body: string; link: string }[] {
  const out: { path: string; type: string; size: number; body: string; link: string }[] = [];
  let off = 0;
  let paxPath: string | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) => h.toString('utf8', a, a + n).replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12), 8);
    const type = str(156, 1);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    expect(parseInt(str(148, 8), 8)).toBe(sum);
    const body = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const m = /\d+ path=(.*)\n/.exec(body.toString('utf8'));
      paxPath = m?.[1];
      continue;
    }
    out.push({ path: paxPath ?? str(0, 100), type, size, body: body.toString('utf8'), link: str(157, 100) });
    paxPath = undefined;
  }
  return out;
}

describe('tar of a directory', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ric-tar-'));
    const w = (p: string, c: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), c);
    };
    w('src/main.sh', 'echo hi\n');
    w('node_modules/dep/index.js', 'x');
    w('.shipline/env', "export TOKEN='secret'\n");
    w('debug.log', 'log');
    w(`${'long-directory-name/'.repeat(8)}file.txt`, 'deep');
    w('big.bin', 'z'.repeat(3000));
    w('.dockerignore', 'node_modules\n*.log\n');
    fs.symlinkSync('src/main.sh', path.join(dir, 'link'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams files, dirs and links, honouring .dockerignore and the exclude list', async () => {
    const chunks: Buffer[] = [];
    for await (const c of tarDirectory(dir, { exclude: ['.shipline'] })) chunks.push(c);
    const buf = Buffer.concat(chunks);
    expect(buf.length % 512).toBe(0);
    const entries = readTar(buf);
    const names = entries.map((e) => e.path);
    expect(names).toContain('src/');
    expect(names).toContain('.dockerignore');
    expect(entries.find((e) => e.path === 'src/main.sh')?.body).toBe('echo hi\n');
    expect(entries.find((e) => e.path === 'big.bin')?.size).toBe(3000);
    expect(entries.find((e) => e.path === 'link')).toMatchObject({ type: '2', link: 'src/main.sh' });
    const long = `${'long-directory-name/'.repeat(8)}file.txt`;
    expect(long.length).toBeGreaterThan(100);
    expect(entries.find((e) => e.path === long)?.body).toBe('deep');
    expect(names.some((n) => n.startsWith('node_modules'))).toBe(false);
    expect(names).not.toContain('debug.log');
    expect(names.some((n) => n.startsWith('.shipline'))).toBe(false);
    // parents come before their contents
    expect(names.indexOf('src/')).toBeLessThan(names.indexOf('src/main.sh'));
  });

  it('a single file travels as one entry named by its base name', async () => {
    const chunks: Buffer[] = [];
    for await (const c of tarDirectory(path.join(dir, 'src/main.sh'))) chunks.push(c);
    expect(readTar(Buffer.concat(chunks))).toEqual([{ path: 'main.sh', type: '0', size: 8, body: 'echo hi\n', link: '' }]);
  });

  it('writes a valid header for a non-ASCII name through PAX', () => {
    const h = tarHeader({ path: 'docs/ünïcode.md', type: 'file', mode: 0o644, size: 0, mtime: 0 });
    expect(readTar(Buffer.concat([h, Buffer.alloc(1024)]))[0]?.path).toBe('docs/ünïcode.md');
  });
});

describe('inputs', () => {
  it('validates names and env names before main', () => {
    expect(() => parseInputs(step.inputs, { name: '-bad' })).toThrow(/input 'name'/);
    expect(() => parseInputs(step.inputs, { env: 'GOOD\nBAD-NAME' })).toThrow(/input 'env'/);
    expect(() => parseInputs(step.inputs, { mode: 'restart' })).toThrow(/input 'mode'/);
    const v = parseInputs(step.inputs, { image: 'a:1', run: 'make test\nmake lint, fast' });
    expect(v).toMatchObject({ mode: 'run', pull: 'missing', workdir: '/app', shell: 'sh -e', network: 'host', keep: false, failFast: true });
    expect(v.run).toEqual(['make test', 'make lint, fast']); // commands split on lines only
  });
});
