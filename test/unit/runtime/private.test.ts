// The job's private directory: created 0700, refused when it is a link, another user's or
// wider; files read and written without following links; fresh writes over planted links.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensurePrivateDir,
  openRunDir,
  readNoFollow,
  runDirPath,
  writeFresh,
  writePrivateFile,
} from '../../../src/runtime/private';

const base = () => mkdtempSync(join(tmpdir(), 'shipline-private-'));

describe('ensurePrivateDir', () => {
  test('creates the directory (and missing parents) with mode 0700', () => {
    const dir = join(base(), 'a', 'run');
    ensurePrivateDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, '..')).mode & 0o777).toBe(0o700);
    expect(ensurePrivateDir(dir)).toBe(dir); // ours already: accepted
  });
  test('refuses a symlink, a file and a wider mode', () => {
    const b = base();
    const target = join(b, 'target');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, join(b, 'link'));
    expect(() => ensurePrivateDir(join(b, 'link'))).toThrow(/is a symlink/);
    writeFileSync(join(b, 'file'), '');
    expect(() => ensurePrivateDir(join(b, 'file'))).toThrow(/not a directory/);
    mkdirSync(join(b, 'wide'));
    chmodSync(join(b, 'wide'), 0o755);
    expect(() => ensurePrivateDir(join(b, 'wide'))).toThrow(/mode is 755, not 700/);
  });
  const root = process.getuid?.() === 0;
  (root ? test : test.skip)('refuses a directory of another owner', () => {
    const dir = join(base(), 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    require('node:fs').chownSync(dir, 4242, 4242);
    expect(() => ensurePrivateDir(dir)).toThrow(/belongs to uid 4242/);
  });
});

describe('runDirPath and openRunDir', () => {
  test('GitLab: keyed by the job id; GitHub: RUNNER_TEMP; CLI: per user and workspace', () => {
    expect(runDirPath('gitlab', { CI_JOB_ID: '77' }, '/w')).toBe(join(tmpdir(), 'shipline-77'));
    expect(runDirPath('github', { RUNNER_TEMP: '/rt' }, '/w')).toBe('/rt/shipline');
    const cli = runDirPath('cli', {}, '/w');
    expect(cli).toMatch(new RegExp(`^${tmpdir()}/shipline-[0-9a-z]+/[0-9a-f]{12}$`));
    expect(runDirPath('cli', {}, '/other')).not.toBe(cli);
    expect(runDirPath('gitlab', { SHIPLINE_RUN_DIR: '/x/y', CI_JOB_ID: '1' }, '/w')).toBe('/x/y');
    expect(() => runDirPath('gitlab', { SHIPLINE_RUN_DIR: 'rel' }, '/w')).toThrow(/absolute/);
  });
  test('refuses a run directory inside the checkout', () => {
    const ws = base();
    expect(() => openRunDir(join(ws, '.shipline', 'run'), ws)).toThrow(/inside the checkout/);
    expect(openRunDir(join(base(), 'run'), ws)).toMatch(/run$/);
  });
});

describe('files without following links', () => {
  test('readNoFollow refuses a link and reads a file', () => {
    const b = base();
    writeFileSync(join(b, 'outside'), 'secret-elsewhere');
    symlinkSync(join(b, 'outside'), join(b, 'state.json'));
    expect(() => readNoFollow(join(b, 'state.json'))).toThrow(/is a symlink/);
    expect(readNoFollow(join(b, 'outside'))).toBe('secret-elsewhere');
    expect(readNoFollow(join(b, 'absent'))).toBeUndefined();
  });
  test('writePrivateFile replaces a planted link, never writing through it; 0600', () => {
    const b = base();
    writeFileSync(join(b, 'target'), 'untouched');
    symlinkSync(join(b, 'target'), join(b, 'env'));
    writePrivateFile(join(b, 'env'), "export A='1'\n");
    expect(readFileSync(join(b, 'target'), 'utf8')).toBe('untouched');
    expect(lstatSync(join(b, 'env')).isSymbolicLink()).toBe(false);
    expect(statSync(join(b, 'env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(b, 'env'), 'utf8')).toBe("export A='1'\n");
  });
  test('writeFresh in the workspace: replaces a planted file or link, and a linked .shipline', () => {
    const ws = base();
    const elsewhere = base();
    writeFileSync(join(elsewhere, 'outputs.env'), 'PLANTED=1\n');
    mkdirSync(join(ws, '.shipline'));
    symlinkSync(join(elsewhere, 'outputs.env'), join(ws, '.shipline', 'outputs.env'));
    writeFresh(join(ws, '.shipline', 'outputs.env'), 'A=1\n', 0o644, ws, join(ws, '.shipline'));
    expect(readFileSync(join(ws, '.shipline', 'outputs.env'), 'utf8')).toBe('A=1\n');
    expect(readFileSync(join(elsewhere, 'outputs.env'), 'utf8')).toBe('PLANTED=1\n');
    // `.shipline` itself a link to another directory: the link is replaced by a directory.
    const ws2 = base();
    symlinkSync(elsewhere, join(ws2, '.shipline'));
    writeFresh(join(ws2, '.shipline', 'outputs.env'), 'B=2\n', 0o644, ws2, join(ws2, '.shipline'));
    expect(lstatSync(join(ws2, '.shipline')).isDirectory()).toBe(true);
    expect(readFileSync(join(elsewhere, 'outputs.env'), 'utf8')).toBe('PLANTED=1\n');
    // any other link on the way is refused
    symlinkSync(elsewhere, join(ws2, 'out'));
    expect(() => writeFresh(join(ws2, 'out', 'x.env'), 'C=3\n', 0o644, ws2, join(ws2, '.shipline'))).toThrow(
      /out is a symlink/,
    );
  });
});
