// The build context as docker sees it: .dockerignore matching and the tar writer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DockerIgnore, tarDirectory, tarHeader } from '../../../../src/lib/docker/context-tar';

describe('.dockerignore', () => {
  const ig = DockerIgnore.parse(
    ['# comment', 'node_modules', '*.log', '/build', 'docs/**/*.md', '!docs/keep/README.md', '**/tmp', 'a?c', ''].join(
      '\n',
    ),
  );
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
    expect(readTar(Buffer.concat(chunks))).toEqual([
      { path: 'main.sh', type: '0', size: 8, body: 'echo hi\n', link: '' },
    ]);
  });

  it('writes a valid header for a non-ASCII name through PAX', () => {
    const h = tarHeader({ path: 'docs/ünïcode.md', type: 'file', mode: 0o644, size: 0, mtime: 0 });
    expect(readTar(Buffer.concat([h, Buffer.alloc(1024)]))[0]?.path).toBe('docs/ünïcode.md');
  });
});
