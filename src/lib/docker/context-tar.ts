// A directory as a tar stream, filtered by its .dockerignore the way `docker build` filters
// a context: what run-in-container pipes into `docker cp - <container>:<dir>` so a
// workspace moves in one stream instead of one request per file.
import { createReadStream, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

// ---------------------------------------------------------------- .dockerignore

interface Pattern {
  re: RegExp;
  negate: boolean;
}

/** Docker's path cleaning for patterns: no leading '/', no '.', '..' resolved lexically. */
function cleanPattern(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** Docker's pattern syntax: `**` any number of directories, `*` and `?` within one name, `[…]` classes, `\` escapes. */
export function patternToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      i++;
      re += pattern[i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

export class DockerIgnore {
  private readonly patterns: Pattern[];
  readonly hasNegations: boolean;

  constructor(lines: string[]) {
    this.patterns = [];
    for (const raw of lines) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const negate = line.startsWith('!');
      if (negate) line = line.slice(1).trim();
      const clean = cleanPattern(line);
      if (clean === '') continue;
      this.patterns.push({ re: patternToRegExp(clean), negate });
    }
    this.hasNegations = this.patterns.some((p) => p.negate);
  }

  static parse(text: string): DockerIgnore {
    return new DockerIgnore(text.split(/\r?\n/));
  }

  /** True when `rel` (a '/'-separated path under the root) is excluded: the last pattern matching it or one of its parents wins. */
  ignores(rel: string): boolean {
    const parts = rel.split('/');
    let excluded = false;
    for (const p of this.patterns) {
      let hit = p.re.test(rel);
      for (let n = 1; !hit && n < parts.length; n++) hit = p.re.test(parts.slice(0, n).join('/'));
      if (hit) excluded = !p.negate;
    }
    return excluded;
  }
}

// ---------------------------------------------------------------- tar (ustar + PAX)

const BLOCK = 512;

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  buf.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
  mtime: number;
  linkname?: string;
}

/** A 512-byte header (preceded by a PAX header when a name is long or non-ASCII). */
export function tarHeader(e: TarEntry): Buffer {
  const name = e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
  const link = e.linkname ?? '';
  const fits = (s: string, n: number) => Buffer.byteLength(s) <= n && /^[\x20-\x7e]*$/.test(s);
  const pax: string[] = [];
  if (!fits(name, 100)) pax.push(paxRecord('path', name));
  if (!fits(link, 100)) pax.push(paxRecord('linkpath', link));
  if (e.size > 0o77777777777) pax.push(paxRecord('size', String(e.size)));
  const head = Buffer.alloc(BLOCK);
  head.write(fits(name, 100) ? name : name.replace(/[^\x20-\x7e]/g, '_').slice(-100), 0, 100, 'utf8');
  octal(head, 100, 8, e.mode & 0o7777);
  octal(head, 108, 8, 0);
  octal(head, 116, 8, 0);
  octal(head, 124, 12, e.size > 0o77777777777 ? 0 : e.size);
  octal(head, 136, 12, Math.max(0, Math.floor(e.mtime)));
  head.write(e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2', 156, 1, 'ascii');
  if (link) head.write(fits(link, 100) ? link : '', 157, 100, 'utf8');
  head.write('ustar\0', 257, 6, 'ascii');
  head.write('00', 263, 2, 'ascii');
  head.write('root', 265, 32, 'ascii');
  head.write('root', 297, 32, 'ascii');
  checksum(head);
  if (pax.length === 0) return head;
  const body = Buffer.from(pax.join(''), 'utf8');
  const ph = Buffer.alloc(BLOCK);
  ph.write('PaxHeader', 0, 100, 'ascii');
  octal(ph, 100, 8, 0o644);
  octal(ph, 108, 8, 0);
  octal(ph, 116, 8, 0);
  octal(ph, 124, 12, body.length);
  octal(ph, 136, 12, Math.max(0, Math.floor(e.mtime)));
  ph.write('x', 156, 1, 'ascii');
  ph.write('ustar\0', 257, 6, 'ascii');
  ph.write('00', 263, 2, 'ascii');
  checksum(ph);
  return Buffer.concat([ph, body, Buffer.alloc(padding(body.length)), head]);
}

function checksum(head: Buffer): void {
  head.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of head) sum += b;
  head.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

export interface TarOptions {
  /** Paths (relative to the root, '/'-separated) always left out, e.g. '.shipline'. */
  exclude?: string[];
  /** Read `<root>/.dockerignore` (default true). */
  dockerignore?: boolean;
  /** Called once per entry written (counts for logs). */
  onEntry?: (e: TarEntry) => void;
}

const SMALL = 1 << 20;
const BATCH = 1 << 20;

/**
 * Yields a tar of `root`'s contents (paths relative to root), honouring `.dockerignore`.
 * Regular files, directories and symlinks (kept as links); sockets, fifos and devices are
 * skipped. Small files are read synchronously and batched into ~1 MiB chunks: a workspace
 * is mostly small files, and one async round trip per file costs more than the copy.
 */
export async function* tarDirectory(root: string, opts: TarOptions = {}): AsyncGenerator<Buffer> {
  const top = lstatSync(root);
  if (!top.isDirectory()) {
    // A single file (or link) travels as one entry named by its base name.
    const e: TarEntry = top.isSymbolicLink()
      ? {
          path: basename(root),
          type: 'symlink',
          mode: top.mode,
          size: 0,
          mtime: top.mtimeMs / 1000,
          linkname: readlinkSync(root),
        }
      : { path: basename(root), type: 'file', mode: top.mode, size: top.size, mtime: top.mtimeMs / 1000 };
    opts.onEntry?.(e);
    yield tarHeader(e);
    if (e.type === 'file') yield* largeFile(root, top.size);
    yield Buffer.alloc(BLOCK * 2);
    return;
  }
  let ignore: DockerIgnore | undefined;
  if (opts.dockerignore !== false) {
    let text: string | undefined;
    try {
      text = readFileSync(join(root, '.dockerignore'), 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) ignore = DockerIgnore.parse(text);
  }
  const exclude = new Set(opts.exclude ?? []);
  let batch: Buffer[] = [];
  let batched = 0;
  const push = (b: Buffer) => {
    batch.push(b);
    batched += b.length;
  };
  const flush = (): Buffer => {
    const out = Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    return out;
  };
  // Bounded by the tree itself: an explicit stack, symlinks never followed.
  const stack: string[] = [''];
  while (stack.length) {
    const dir = stack.pop()!;
    const entries = readdirSync(join(root, dir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const d of entries) {
      const rel = dir ? `${dir}/${d.name}` : d.name;
      if (exclude.has(rel)) continue;
      const ignored = ignore?.ignores(rel) === true;
      const abs = join(root, rel);
      if (d.isDirectory()) {
        // An ignored directory is still walked when a '!' pattern may bring back something inside.
        if (ignored && !ignore?.hasNegations) continue;
        if (!ignored) {
          const st = lstatSync(abs);
          const e: TarEntry = { path: rel, type: 'dir', mode: st.mode, size: 0, mtime: st.mtimeMs / 1000 };
          opts.onEntry?.(e);
          push(tarHeader(e));
        }
        subdirs.push(rel);
      } else if (ignored) continue;
      else if (d.isFile()) {
        const st = lstatSync(abs);
        const e: TarEntry = { path: rel, type: 'file', mode: st.mode, size: st.size, mtime: st.mtimeMs / 1000 };
        opts.onEntry?.(e);
        push(tarHeader(e));
        if (st.size <= SMALL) {
          // The size in the header is the contract: a file that changed meanwhile is cut or zero-padded to it.
          const data = readFileSync(abs).subarray(0, st.size);
          push(data);
          if (data.length < st.size) push(Buffer.alloc(st.size - data.length));
          const pad = padding(st.size);
          if (pad) push(Buffer.alloc(pad));
        } else {
          yield flush();
          yield* largeFile(abs, st.size);
        }
      } else if (d.isSymbolicLink()) {
        const st = lstatSync(abs);
        const e: TarEntry = {
          path: rel,
          type: 'symlink',
          mode: st.mode,
          size: 0,
          mtime: st.mtimeMs / 1000,
          linkname: readlinkSync(abs),
        };
        opts.onEntry?.(e);
        push(tarHeader(e));
      }
      if (batched >= BATCH) yield flush();
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
  push(Buffer.alloc(BLOCK * 2));
  yield flush();
}

async function* largeFile(path: string, size: number): AsyncGenerator<Buffer> {
  let sent = 0;
  if (size === 0) return;
  for await (const chunk of createReadStream(path, { end: size - 1 }) as AsyncIterable<Buffer>) {
    sent += chunk.length;
    yield chunk;
  }
  if (sent < size) yield Buffer.alloc(size - sent);
  const pad = padding(size);
  if (pad) yield Buffer.alloc(pad);
}
