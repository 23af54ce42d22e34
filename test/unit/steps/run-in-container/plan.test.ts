// run-in-container's inputs: the plan of a call, the options allow-list, copy specs, and
// the declaration's own checks.
import {
  parseCopyIn,
  parseCopyOut,
  parseRunOptions,
  planRun,
  splitWords,
  type Inputs,
} from '../../../../src/steps/run-in-container/plan';
import { InputError, parseInputs } from '../../../../src/runtime/inputs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import step from '../../../../src/steps/run-in-container/index';

describe('options allow-list', () => {
  it('splits words with quotes and escapes', () => {
    expect(splitWords(`--label 'a b' --add-host "h:1.2.3.4" x\\ y`)).toEqual([
      '--label',
      'a b',
      '--add-host',
      'h:1.2.3.4',
      'x y',
    ]);
    expect(() => splitWords(`--label 'open`)).toThrow(InputError);
  });

  it('keeps allowed options, in both spellings, and reports the network', () => {
    const p = parseRunOptions('--memory 512m --cpus=1.5 --network none --read-only --tmpfs /tmp');
    expect(p.args).toEqual([
      '--memory',
      '512m',
      '--cpus',
      '1.5',
      '--network',
      'none',
      '--read-only',
      '--tmpfs',
      '/tmp',
    ]);
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

describe('inputs', () => {
  it('validates names and env names before main', () => {
    expect(() => parseInputs(step.inputs, { name: '-bad' })).toThrow(/input 'name'/);
    expect(() => parseInputs(step.inputs, { env: 'GOOD\nBAD-NAME' })).toThrow(/input 'env'/);
    expect(() => parseInputs(step.inputs, { mode: 'restart' })).toThrow(/input 'mode'/);
    const v = parseInputs(step.inputs, { image: 'a:1', run: 'make test\nmake lint, fast' });
    expect(v).toMatchObject({
      mode: 'run',
      pull: 'missing',
      workdir: '/app',
      shell: 'sh -e',
      network: 'host',
      keep: false,
      failFast: true,
    });
    expect(v.run).toEqual(['make test', 'make lint, fast']); // commands split on lines only
  });
});

describe('the plan', () => {
  const ws = '/builds/team/app';
  const inputs = (over: Partial<Inputs> = {}): Inputs => ({
    ...(parseInputs(step.inputs, { image: 'a:1', run: 'make test' }) as Inputs),
    ...over,
  });

  it('run: the workspace copied in, network and privileged before the allowed options', () => {
    const p = planRun(inputs({ privileged: true, options: '--memory 1g -u 1000' }), ws);
    expect(p).toMatchObject({
      starts: true,
      image: 'a:1',
      shell: ['sh', '-e'],
      user: '1000',
      stays: false,
      copies: [{ host: ws, container: '/app' }],
      outs: [],
    });
    expect(p.runOptions).toEqual(['--network', 'host', '--privileged', '--memory', '1g', '-u', '1000']);
    expect(planRun(inputs({ options: '--network none' }), ws).runOptions).toEqual(['--network', 'none']);
  });

  it('start and keep stay; exec copies nothing by default; none copies nothing', () => {
    expect(planRun(inputs({ mode: 'start' }), ws).stays).toBe(true);
    expect(planRun(inputs({ keep: true }), ws).stays).toBe(true);
    expect(planRun(inputs({ mode: 'exec', image: undefined }), ws)).toMatchObject({
      starts: false,
      copies: [],
      stays: false,
    });
    expect(planRun(inputs({ copyIn: ['none'] }), ws).copies).toEqual([]);
  });

  it.each([
    [{ shell: '  ' }, /input 'shell': is empty/],
    [{ image: undefined }, /input 'image': is required for mode run/],
    [{ mode: 'exec' as const, run: [] }, /input 'run': mode exec has nothing to do/],
    [{ options: '--privileged' }, /input 'options'/],
  ])('%j exits 2', (over, re) => {
    expect(() => planRun(inputs(over), ws)).toThrow(re);
    try {
      planRun(inputs(over), ws);
    } catch (e) {
      expect((e as InputError).exitCode).toBe(2);
    }
  });
});

describe('what the inputs may not do (issue 13)', () => {
  const raw = (r: Record<string, string>) => () => parseInputs(step.inputs, r);
  test.each([['--privileged'], ['-v/:/host'], ['not a ref'], ['reg.example.com/app@md5:0123'], ['app@foo:bar']])(
    'image %j is refused at input time (exit 2)',
    (image) => {
      expect(raw({ image })).toThrow(
        expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^input 'image'/) }),
      );
    },
  );

  test('a real reference passes', () => {
    expect(raw({ image: `reg.example.com:5000/team/app:MR-7` })).not.toThrow();
    expect(raw({ image: `local/busybox@sha256:${'a'.repeat(64)}` })).not.toThrow();
  });

  test.each([['--user --privileged'], ['--memory --privileged'], ['--label -x'], ['-u root;id']])(
    'an option value that reads as an option (%j) is refused',
    (options) => {
      expect(() => parseRunOptions(options)).toThrow(InputError);
    },
  );

  test('-1 stays a value (unlimited swap)', () => {
    expect(parseRunOptions('--memory-swap -1').args).toEqual(['--memory-swap', '-1']);
  });

  test('copy-out and copy-in through a symlink in the checkout that points out are refused', () => {
    const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ric-unit-')));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ric-unit-out-'));
    try {
      fs.symlinkSync(out, path.join(ws, 'reports'));
      expect(() => parseCopyOut(['junit.xml:reports/junit.xml'], ws, '/app')).toThrow(
        /input 'copy-out': 'reports\/junit.xml' is outside the workspace/,
      );
      expect(() => parseCopyOut(['junit.xml:/etc/x'], ws, '/app')).toThrow(/outside the workspace/);
      expect(() => parseCopyIn(['reports'], ws, '/app')).toThrow(/input 'copy-in': 'reports' is outside/);
      expect(parseCopyIn(['.'], ws, '/app')).toEqual([{ host: ws, container: '/app' }]);
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('what the fuzz test found', () => {
  const ws = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ric-fuzz-found-')));
  const inputs = (over: Partial<Inputs> = {}): Inputs => ({
    ...(parseInputs(step.inputs, { image: 'a:1', run: 'make test' }) as Inputs),
    ...over,
  });
  const refusal = (fn: () => unknown): InputError => {
    try {
      fn();
    } catch (e) {
      if (e instanceof InputError) return e;
      throw e;
    }
    throw new Error('no error');
  };

  test('an unclosed quote in shell names shell, not options', () => {
    const e = refusal(() => planRun(inputs({ shell: "sh -c 'x" }), '/w'));
    expect(e.message).toBe("input 'shell': unclosed ' quote");
    expect(e.hint).toMatch(/close the quote/);
    expect(refusal(() => planRun(inputs({ options: '--label "a' }), '/w')).input).toBe('options');
  });

  test('a workspace path the file system refuses (too long) is exit 2 naming the input', () => {
    const dir = ws();
    try {
      for (const [input, fn] of [
        ['copy-in', () => parseCopyIn(['x'.repeat(5000)], dir, '/app')],
        ['copy-out', () => parseCopyOut([`out.txt:${'y'.repeat(5000)}`], dir, '/app')],
      ] as const) {
        const e = refusal(fn);
        expect(e).toMatchObject({ input, exitCode: 2 });
        expect(e.message).toMatch(/cannot be used as a path \(ENAMETOOLONG\)/);
        expect(e.hint).toBeTruthy();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every refused option says what to do (a hint)', () => {
    for (const o of ['busybox', '--privileged', '--frobnicate', '--memory', '--user --x', '-u a;b', '--init=1'])
      expect(refusal(() => parseRunOptions(o)).hint).toBeTruthy();
  });

  test.each(['localhost:99999/a:1', 'localhost:0/a', '[:]/a'])(
    'image %s: a registry port no URL holds is exit 2',
    (image) => {
      expect(() => parseInputs(step.inputs, { image })).toThrow(
        expect.objectContaining({
          exitCode: 2,
          message: expect.stringMatching(/^input 'image': .*is not a registry host/),
        }),
      );
    },
  );

  test('capitals in the repository (docker refuses them) are exit 2 with the lowercase form; a host and tag keep theirs', () => {
    expect(() => parseInputs(step.inputs, { image: 'Registry.Example.com:5000/Team/App:MR-7' })).toThrow(
      "input 'image': 'Registry.Example.com:5000/Team/App:MR-7': docker refuses capitals in a repository; write Registry.Example.com:5000/team/app:MR-7",
    );
    expect(() => parseInputs(step.inputs, { image: 'UPPER/x' })).toThrow(/write upper\/x$/);
    expect(() => parseInputs(step.inputs, { image: 'reg.example.com/app:Tag_1' })).not.toThrow();
  });

  test('secret-env takes variable names, like env', () => {
    expect(parseInputs(step.inputs, { 'secret-env': 'NPM_TOKEN\nDB_PASSWORD' })).toMatchObject({
      secretEnv: ['NPM_TOKEN', 'DB_PASSWORD'],
    });
    expect(() => parseInputs(step.inputs, { 'secret-env': 'NPM-TOKEN' })).toThrow(/input 'secret-env'/);
  });
});
