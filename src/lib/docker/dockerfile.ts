// Just enough Dockerfile parsing to validate a build before it starts: the stages (FROM …
// AS name) in order, so an unknown `target` fails with the list of real ones.
import { existsSync, readFileSync } from 'node:fs';
import { ShiplineError } from '../util/errors';

export interface Stage {
  /** Stage name (lowercase, as the builder matches it), or undefined if unnamed. */
  name: string | undefined;
  index: number;
  base: string;
  line: number;
}

/** Logical instructions: joins `\` continuations, drops comments and blank lines. */
function instructions(text: string): { text: string; line: number }[] {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  const directive = /^#\s*escape\s*=\s*(\S)/i.exec(lines[0] ?? '');
  if (directive) escape = directive[1]!;
  const out: { text: string; line: number }[] = [];
  let cur = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (cur === '' && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (cur !== '' && trimmed.startsWith('#')) return;
    if (cur === '') start = i + 1;
    if (trimmed.endsWith(escape)) {
      cur += trimmed.slice(0, -1) + ' ';
      return;
    }
    cur += trimmed;
    out.push({ text: cur, line: start });
    cur = '';
  });
  if (cur) out.push({ text: cur, line: start });
  return out;
}

export function parseStages(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    const m = /^FROM\s+(.*)$/i.exec(ins.text);
    if (!m) continue;
    const words = m[1]!.split(/\s+/).filter((w) => !w.startsWith('--'));
    const asIdx = words.findIndex((w) => w.toLowerCase() === 'as');
    stages.push({
      name: asIdx >= 0 ? words[asIdx + 1]?.toLowerCase() : undefined,
      index: stages.length,
      base: words[0] ?? '',
      line: ins.line,
    });
  }
  return stages;
}

/** The stages of the Dockerfile at `path`; a missing file is kind 'not-found', one without FROM 'invalid' (data: path). */
export function readStages(path: string): Stage[] {
  if (!existsSync(path))
    throw new ShiplineError(`Dockerfile not found: ${path}`, { kind: 'not-found', data: { path } });
  const stages = parseStages(readFileSync(path, 'utf8'));
  if (stages.length === 0)
    throw new ShiplineError(`${path} has no FROM instruction`, { kind: 'invalid', data: { path } });
  return stages;
}

/** Throws kind 'not-found' (data: target, path, the stage names; a hint listing them) when `target` is not a stage. */
export function checkTarget(stages: Stage[], target: string, path: string): void {
  const t = target.toLowerCase();
  if (stages.some((s) => s.name === t || String(s.index) === t)) return;
  const names = stages.map((s) => s.name ?? `#${s.index} (unnamed)`);
  throw new ShiplineError(`stage '${target}' is not in ${path}`, {
    kind: 'not-found',
    hint: `stages there: ${names.join(', ')}`,
    data: { target, path, stages: names },
  });
}
