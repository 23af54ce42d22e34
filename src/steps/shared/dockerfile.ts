// The build context, Dockerfile and stage inputs of the two build steps, checked before
// anything runs: the context is a directory, the Dockerfile exists and has stages,
// `target` and `smoke-target` are among them. Every problem is an InputError (exit 2).
// Also what the builders need read from the Dockerfile: the global ARG defaults a FROM line
// uses (buildah does not expand them) and the text with one LABEL line for the built stage.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { checkTarget, readStages, type Stage } from '../../lib/docker/dockerfile';
import { isShiplineError, withHint } from '../../lib/util/errors';
import { resolveInside } from '../../lib/util/paths';
import { InputError } from '../../runtime/inputs';

export interface DockerfileInputs {
  context: string;
  file: string | undefined;
  target: string | undefined;
  smokeTarget: string | undefined;
}

export interface DockerfilePlan {
  /** Absolute build context directory. */
  context: string;
  /** Absolute Dockerfile path. */
  file: string;
  stages: Stage[];
  /** The Dockerfile's text, as read when the stages were checked. */
  text: string;
}

/** A workspace-relative path made absolute. */
export const inWorkspace = (workspace: string, p: string): string => (isAbsolute(p) ? p : resolve(workspace, p));

/**
 * A destination a user names (extract, copy-out), relative to the workspace: its real path
 * when it lies under the workspace after every symlink is resolved (`../x`, an absolute
 * path elsewhere, or a link in the checkout pointing out are refused), else an InputError
 * naming the input (exit 2). Called again right before writing: an earlier copy may have
 * put a link in the way.
 */
export function workspaceDestination(
  input: string,
  workspace: string,
  p: string,
  opts: { allowRoot?: boolean } = {},
): string {
  let real: string | undefined;
  try {
    real = resolveInside(workspace, p, opts);
  } catch (err) {
    // the path itself is unusable (a name over 255 bytes, a loop of links, no permission)
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw err;
    throw new InputError(
      input,
      `'${p}' cannot be used as a path (${code})`,
      'give a shorter path relative to the workspace, e.g. out/deps.lock',
    );
  }
  if (real === undefined)
    throw new InputError(
      input,
      `'${p}' is outside the workspace${isAbsolute(p) ? '' : ' (after resolving symlinks)'}`,
      'give a path relative to the workspace, e.g. out/deps.lock, that no symlink leads out of',
    );
  return real;
}

/**
 * `fn()`, with a hint added to an input error that has none (the shared tag rules word the
 * problem, not what to do): the input's accepted form from its declaration.
 */
export function withFormHint<T>(fn: () => T, specs: Readonly<Record<string, object>>): T {
  try {
    return fn();
  } catch (err) {
    if (isShiplineError(err) && err.kind === 'input' && !err.hint) {
      const input = typeof err.data.input === 'string' ? err.data.input : undefined;
      const spec = input ? (specs[input] as { form?: unknown } | undefined) : undefined;
      const form = typeof spec?.form === 'string' ? spec.form : undefined;
      throw withHint(err, form ? `use ${form}` : 'the accepted forms are in --help and the step README');
    }
    throw err;
  }
}

function stage(stages: Stage[], target: string, input: string, file: string): void {
  try {
    checkTarget(stages, target, file);
  } catch (err) {
    if (isShiplineError(err) && err.kind === 'not-found') throw new InputError(input, err.message, err.hint);
    throw err;
  }
}

export function planDockerfile(workspace: string, inputs: DockerfileInputs): DockerfilePlan {
  const context = inWorkspace(workspace, inputs.context);
  if (!existsSync(context) || !statSync(context).isDirectory()) {
    throw new InputError(
      'context',
      `build context directory not found: ${context}`,
      'set context relative to the workspace (default .)',
    );
  }
  const file = inputs.file ? inWorkspace(workspace, inputs.file) : join(context, 'Dockerfile');
  const fileHint = "set 'file' (relative to the workspace; default <context>/Dockerfile)";
  if (existsSync(file) && !statSync(file).isFile())
    throw new InputError('file', `${file} is not a file (a Dockerfile is a regular file)`, fileHint);
  let stages: Stage[];
  let text: string;
  try {
    stages = readStages(file);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (isShiplineError(err)) throw new InputError('file', err.message, fileHint);
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string') throw new InputError('file', `cannot read ${file} (${code})`, fileHint);
    throw err;
  }
  if (inputs.target) stage(stages, inputs.target, 'target', file);
  if (inputs.smokeTarget) stage(stages, inputs.smokeTarget, 'smoke-target', file);
  return { context, file, stages, text };
}

// ---------------------------------------------------------------------------------------
// Reading more of the Dockerfile than its stages: the escape directive, the global ARGs
// (before the first FROM) a FROM line uses, and one LABEL instruction for the built stage.

/** One logical instruction: continuations joined, with its first line (0-based). */
interface Instruction {
  text: string;
  line: number;
}

/** The escape character of a Dockerfile: its `# escape=` parser directive, else `\`. */
export function escapeChar(text: string): string {
  for (const raw of text.split(/\r?\n/)) {
    const m = /^#\s*([A-Za-z]+)\s*=\s*(\S*)\s*$/.exec(raw.trim());
    if (!m) break; // directives only at the very top
    if (m[1]!.toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) return m[2];
  }
  return '\\';
}

function logicalInstructions(text: string, escape: string): Instruction[] {
  const out: Instruction[] = [];
  let cur = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t.startsWith('#') || (cur === '' && t === '')) return;
    if (cur === '') start = i;
    if (t.endsWith(escape)) {
      cur += `${t.slice(0, -1)} `;
      return;
    }
    out.push({ text: cur + t, line: start });
    cur = '';
  });
  if (cur.trim() !== '') out.push({ text: cur, line: start });
  return out;
}

/** The whitespace-separated words of an instruction's arguments, quotes kept (they are part of each word). */
function rawWords(s: string, escape: string): string[] | undefined {
  const words: string[] = [];
  let w = '';
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === escape && quote !== "'" && i + 1 < s.length) {
      w += c + s[i + 1]!;
      i++;
    } else if (quote) {
      w += c;
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      w += c;
    } else if (/\s/.test(c)) {
      if (w !== '') words.push(w);
      w = '';
    } else w += c;
  }
  if (quote) return undefined;
  if (w !== '') words.push(w);
  return words;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * A Dockerfile word as the builder reads it: quotes removed, escapes applied, `$NAME`,
 * `${NAME}`, `${NAME:-word}`, `${NAME:+word}` expanded from `vars` (an unset name is empty,
 * as in docker). Undefined for a form this reader does not know, so the caller leaves it alone.
 */
export function expandWord(word: string, vars: ReadonlyMap<string, string>, escape = '\\'): string | undefined {
  let out = '';
  let i = 0;
  const variable = (inQuotes: boolean): string | undefined => {
    // at '$'
    const rest = word.slice(i + 1);
    if (rest.startsWith('{')) {
      const close = rest.indexOf('}');
      if (close < 0) return undefined;
      const body = rest.slice(1, close);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])(.*))?$/s.exec(body);
      if (!m) return undefined;
      if (m[3] !== undefined && /[$"'`\\{}]/.test(m[3])) return undefined;
      i += close + 2;
      const v = vars.get(m[1]!) ?? '';
      if (m[2] === ':-') return v !== '' ? v : m[3]!;
      if (m[2] === ':+') return v !== '' ? m[3]! : '';
      return v;
    }
    const m = NAME.exec(rest);
    if (!m) {
      i += 1;
      return inQuotes || rest === '' ? '$' : '$';
    }
    i += 1 + m[0].length;
    return vars.get(m[0]) ?? '';
  };
  while (i < word.length) {
    const c = word[i]!;
    if (c === escape) {
      if (i + 1 >= word.length) return undefined;
      out += word[i + 1];
      i += 2;
    } else if (c === "'") {
      const close = word.indexOf("'", i + 1);
      if (close < 0) return undefined;
      out += word.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= word.length) return undefined;
        const d = word[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === escape && i + 1 < word.length && ['"', '$', escape].includes(word[i + 1]!)) {
          out += word[i + 1];
          i += 2;
        } else if (d === '$') {
          const v = variable(true);
          if (v === undefined) return undefined;
          out += v;
        } else {
          out += d;
          i++;
        }
      }
    } else if (c === '$') {
      const v = variable(false);
      if (v === undefined) return undefined;
      out += v;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** `$NAME` / `${NAME…}` names a text refers to. */
function referencedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  return names;
}

export interface GlobalArgDefaults {
  /** `NAME=value` for each global ARG a FROM line uses whose default applies (not given by the user). */
  args: string[];
  /** Global ARGs a FROM line uses that could not be passed, and why (for the log). */
  skipped: string[];
}

/**
 * The defaults of the global ARGs (declared before the first FROM) that a FROM line uses,
 * as explicit `NAME=value` build arguments, for a builder that does not expand a global
 * ARG's default in FROM (buildah 1.28: `ARG PKG_VERSIONS=pinned` + `FROM pkg-${PKG_VERSIONS}`
 * fails there). An ARG the user gave (`given`: the build-args lines, `NAME=value` or
 * `NAME`) is left alone, and so is one a stage declares again with a default of its own
 * (passing the global one would override that). `env` gives the value of a bare `NAME` line
 * that a later default refers to.
 */
export function globalArgDefaults(
  text: string,
  given: string[],
  env: Readonly<Record<string, string | undefined>> = {},
): GlobalArgDefaults {
  const escape = escapeChar(text);
  const ins = logicalInstructions(text, escape);
  const userArgs = new Map<string, string>();
  for (const a of given) {
    const eq = a.indexOf('=');
    if (eq > 0) userArgs.set(a.slice(0, eq), a.slice(eq + 1));
    else userArgs.set(a, env[a] ?? '');
  }
  const first = ins.findIndex((i) => /^FROM\s/i.test(i.text));
  if (first <= 0) return { args: [], skipped: [] };
  const known = new Map<string, string>(); // the global scope: declared names and their values
  const defaults = new Map<string, string | undefined>(); // resolved default, undefined when unknowable
  for (const i of ins.slice(0, first)) {
    const m = /^ARG\s+(.*)$/is.exec(i.text);
    if (!m) continue;
    for (const w of rawWords(m[1]!, escape) ?? []) {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w : w.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
      const value = eq < 0 ? undefined : expandWord(w.slice(eq + 1), known, escape);
      if (eq >= 0) defaults.set(name, value);
      if (userArgs.has(name)) known.set(name, userArgs.get(name)!);
      else if (eq >= 0 && value !== undefined) known.set(name, value);
      else if (eq < 0) known.set(name, known.get(name) ?? '');
    }
  }
  const used = new Set<string>();
  for (const i of ins.slice(first)) if (/^FROM\s/i.test(i.text)) for (const n of referencedNames(i.text)) used.add(n);
  const redeclared = new Set<string>();
  for (const i of ins.slice(first)) {
    const m = /^ARG\s+(.*)$/is.exec(i.text);
    if (!m) continue;
    for (const w of rawWords(m[1]!, escape) ?? []) if (w.includes('=')) redeclared.add(w.slice(0, w.indexOf('=')));
  }
  const args: string[] = [];
  const skipped: string[] = [];
  for (const [name, value] of defaults) {
    if (!used.has(name) || userArgs.has(name)) continue;
    if (redeclared.has(name)) skipped.push(`${name} (a stage declares its own default)`);
    else if (value === undefined) skipped.push(`${name} (its default is a form shipline does not expand)`);
    else args.push(`${name}=${value}`);
  }
  return { args, skipped };
}

/** A value as a double-quoted Dockerfile word: `"`, `$` and the escape character escaped. */
function quoted(value: string, escape: string): string {
  let out = '"';
  for (const c of value) out += c === '"' || c === '$' || c === escape ? escape + c : c;
  return `${out}"`;
}

export interface LabelledDockerfile {
  /** The Dockerfile text with one `LABEL` instruction at the end of the stage that is built. */
  text: string;
  /** The LABEL instruction added ('' when none). */
  instruction: string;
  /** Labels a Dockerfile line cannot hold (a value with a line break): pass these as `--label`. */
  rest: Record<string, string>;
}

/**
 * The Dockerfile with all `labels` set by one `LABEL` instruction at the end of the stage
 * the build stops at (`target`, else the last one): for builders that turn each `--label`
 * into a step of its own (docker's classic builder, buildah). Where docker's `--label` came
 * after the Dockerfile's own instructions, so does this line: it wins over a LABEL of the
 * Dockerfile with the same key, as the flag did.
 */
export function labelledDockerfile(
  text: string,
  stages: Stage[],
  target: string | undefined,
  labels: Record<string, string>,
): LabelledDockerfile {
  const escape = escapeChar(text);
  const rest: Record<string, string> = {};
  const words: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) rest[k] = v;
    else words.push(`${quoted(k, escape)}=${quoted(v, escape)}`);
  }
  if (words.length === 0) return { text, instruction: '', rest };
  const instruction = `LABEL ${words.join(' ')}`;
  const t = target?.toLowerCase();
  const idx = t === undefined ? stages.length - 1 : stages.findIndex((s) => s.name === t || String(s.index) === t);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const next = stages[idx + 1];
  if (idx >= 0 && next) {
    lines.splice(next.line - 1, 0, instruction);
    return { text: lines.join(eol), instruction, rest };
  }
  const body = text === '' || /\r?\n$/.test(text) ? text : text + eol;
  return { text: `${body}${instruction}${eol}`, instruction, rest };
}
