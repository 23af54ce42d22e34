// Paths that must stay inside a root, judged after every symlink is resolved.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInside, ownedPath, realpathDeep, resolveInside } from '../../../../src/lib/util/paths';

describe('paths inside a root', () => {
  let base: string;
  let root: string;
  let outside: string;
  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'shipline-paths-')));
    root = join(base, 'ws');
    outside = join(base, 'elsewhere');
    mkdirSync(join(root, 'sub'), { recursive: true });
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'out-link'));
    symlinkSync(join(outside, 'not-yet'), join(root, 'dangling'));
    symlinkSync(join(root, 'sub'), join(root, 'in-link'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  test('a path not yet created resolves through its deepest existing ancestor', () => {
    expect(realpathDeep(join(root, 'sub', 'a', 'b'))).toBe(join(root, 'sub', 'a', 'b'));
    expect(realpathDeep(join(root, 'out-link', 'x'))).toBe(join(outside, 'x'));
    expect(realpathDeep(join(root, 'dangling'))).toBe(join(outside, 'not-yet'));
    expect(realpathDeep(join(root, 'dangling', 'deeper'))).toBe(join(outside, 'not-yet', 'deeper'));
  });

  test.each([
    ['relative', 'sub/file', true],
    ['new directories', 'new/dir/file', true],
    ['a link that stays inside', 'in-link/file', true],
    ['absolute inside', '<root>/sub/file', true],
    ['..', '../x', false],
    ['.. after a folder', 'sub/../../x', false],
    ['absolute elsewhere', '/etc/passwd', false],
    ['through a link pointing out', 'out-link/x', false],
    ['a dangling link pointing out', 'dangling', false],
    ['the root itself', '.', false],
  ])('%s: %s -> inside %s', (_what, p, inside) => {
    expect(isInside(root, p.replace('<root>', root))).toBe(inside);
  });

  test('the root itself only when allowed; the real path is returned', () => {
    expect(resolveInside(root, '.', { allowRoot: true })).toBe(root);
    expect(resolveInside(root, 'in-link/f')).toBe(join(root, 'sub', 'f'));
    expect(resolveInside(join(base, 'missing-root'), 'x')).toBe(join(base, 'missing-root', 'x'));
    expect(resolveInside(join(base, 'missing-root'), '../x')).toBeUndefined();
  });

  test('ownedPath: under the root, shaped like what the step makes, after realpath', () => {
    const shape = /^shipline-vault-[A-Za-z0-9]{6}$/;
    const mine = join(root, 'shipline-vault-abc123');
    mkdirSync(mine);
    expect(ownedPath(root, mine, shape)).toBe(mine);
    expect(ownedPath(root, join(root, 'sub'), shape)).toBeUndefined(); // wrong shape
    expect(ownedPath(root, join(outside, 'shipline-vault-abc123'), shape)).toBeUndefined(); // elsewhere
    expect(ownedPath(root, '/', shape)).toBeUndefined();
    expect(ownedPath(root, 'shipline-vault-abc123', shape)).toBeUndefined(); // not absolute
    expect(ownedPath(root, { dir: mine } as unknown, shape)).toBeUndefined(); // not a string
    // A link with the right name that points out is judged by its target.
    symlinkSync(outside, join(root, 'shipline-vault-zzz999'));
    expect(ownedPath(root, join(root, 'shipline-vault-zzz999'), shape)).toBeUndefined();
  });
});

const ANY = /^/;

test('ownedPath: under the temp root after realpath, else undefined', () => {
  const tempDir = mkdtempSync(join(tmpdir(), 'shipline-owned-'));
  const outside = mkdtempSync(join(tmpdir(), 'shipline-outside-'));
  const mine = join(tempDir, 'shipline-vault-abc123');
  mkdirSync(mine);
  symlinkSync(outside, join(tempDir, 'shipline-vault-link00'));
  expect(ownedPath(tempDir, mine, ANY)).toBe(mine);
  expect(ownedPath(tempDir, mine, /^shipline-vault-[a-z0-9]{6}$/)).toBe(mine);
  expect(ownedPath(tempDir, mine, /^shipline-ssh-/)).toBeUndefined();
  expect(ownedPath(tempDir, join(tempDir, 'shipline-vault-link00'), ANY)).toBeUndefined(); // a link out
  expect(ownedPath(tempDir, `${tempDir}/../${outside.split('/').pop()}`, ANY)).toBeUndefined();
  expect(ownedPath(tempDir, outside, ANY)).toBeUndefined();
  expect(ownedPath(tempDir, tempDir, ANY)).toBeUndefined(); // the root itself
  expect(ownedPath(tempDir, '/', ANY)).toBeUndefined();
  expect(ownedPath(tempDir, 'relative/path', ANY)).toBeUndefined();
  // a recorded path already gone is still ours to (not) remove
  expect(ownedPath(tempDir, join(tempDir, 'missing'), ANY)).toBe(join(tempDir, 'missing'));
  expect(ownedPath(tempDir, 42, ANY)).toBeUndefined();
  expect(ownedPath(tempDir, undefined, ANY)).toBeUndefined();
});
