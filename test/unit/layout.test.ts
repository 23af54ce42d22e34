// The library knows no step: nothing in src/lib imports the runtime or a step, and no
// step's input name appears in it (a library error carries data; the step words the hint).
// Every step folder has the same files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '../..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const steps = readdirSync(join(src, 'steps')).filter((n) => {
  try {
    return statSync(join(src, 'steps', n, 'index.ts')).isFile();
  } catch {
    return false;
  }
});

describe('src/lib knows no step', () => {
  const lib = files(join(src, 'lib'));

  test.each(lib.map((f) => relative(root, f)))('%s imports neither runtime nor steps', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const imports = [...text.matchAll(/(?:from|import\(|require\()\s*'([^']+)'/g)].map((m) => m[1]!);
    expect(imports.filter((i) => /(^|\/)(runtime|steps)(\/|$)/.test(i))).toEqual([]);
  });

  test('no step input name appears in src/lib', () => {
    // Hyphenated names only: single words (`context`, `tags`) are ordinary English.
    const names = new Set<string>();
    for (const step of steps) {
      const def = require(join(src, 'steps', step, 'index.ts')).default as { inputs: Record<string, unknown> };
      for (const n of Object.keys(def.inputs)) if (n.includes('-')) names.add(n);
    }
    expect(names.size).toBeGreaterThan(10);
    const found: string[] = [];
    for (const f of lib) {
      const text = readFileSync(f, 'utf8');
      for (const n of names) {
        if (new RegExp(`(?<![A-Za-z0-9_-])${n}(?![A-Za-z0-9_-])`).test(text)) found.push(`${relative(root, f)}: ${n}`);
      }
      if (/input '/.test(text)) found.push(`${relative(root, f)}: "input '…'"`);
      if (/\bInputError\b/.test(text)) found.push(`${relative(root, f)}: InputError`);
    }
    expect(found).toEqual([]);
  });
});

describe('every step folder has one layout', () => {
  const allowed = new Set(['index.ts', 'plan.ts', 'main.ts', 'post.ts', 'lazy.ts', 'README.md']);
  test.each(steps)('%s', (step) => {
    const names = readdirSync(join(src, 'steps', step));
    expect(names.filter((n) => !allowed.has(n))).toEqual([]);
    expect(names).toContain('main.ts');
    // index.ts is the declaration: its main/post delegate to main.ts/post.ts.
    const index = readFileSync(join(src, 'steps', step, 'index.ts'), 'utf8');
    expect(index).toMatch(/from '\.\/main'/);
  });
});
