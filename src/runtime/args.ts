// CLI argument parsing and help text, generated from the step declaration.
import type { InputSpec, StepDef } from './define';
import { envName, InputError, type RawInputs } from './inputs';
import { canonicalName, inputNames } from './aliases';

export interface ParsedArgs {
  inputs: RawInputs;
  post: boolean;
  help: boolean;
}

/** `--name value`, `--name=value`, repeated flags for lists, bare `--flag` = true. */
export function parseArgs(step: Pick<StepDef, 'name' | 'inputs' | 'unsupported'>, argv: string[]): ParsedArgs {
  const inputs: RawInputs = {};
  let post = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--post') {
      post = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      throw new InputError(
        arg,
        `unexpected argument '${arg}'`,
        `inputs are flags: shipline ${step.name} --<input> <value> (see --help)`,
      );
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const named = canonicalName(step, name);
    const spec: InputSpec | undefined =
      named?.negated === true ? { type: 'boolean', description: '' } : (named?.spec ?? unsupportedSpec(step, name));
    if (!spec) {
      const near = closest(name, inputNames(step));
      const known = Object.keys(step.inputs)
        .map((n) => `--${n}`)
        .join(', ');
      throw new InputError(
        name,
        `'--${name}' is not an input of ${step.name}`,
        near ? `did you mean --${near}? (known inputs: ${known})` : `known inputs: ${known}`,
      );
    }
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (spec.type === 'boolean' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) value = 'true';
    else if (argv[i + 1] === undefined) throw new InputError(name, 'has no value', `write --${name} <value>`);
    else value = argv[++i]!;
    const prev = inputs[name];
    if (prev === undefined) inputs[name] = value;
    else if (spec.type === 'list') inputs[name] = [...(Array.isArray(prev) ? prev : [prev]), value];
    else throw new InputError(name, 'is given twice', `give --${name} once`);
  }
  return { inputs, post, help };
}

/** An anchor input shipline refuses: taken as a plain value here, refused with its reason later. */
function unsupportedSpec(step: Pick<StepDef, 'unsupported'>, name: string): InputSpec | undefined {
  return step.unsupported?.[name] ? { description: '' } : undefined;
}

/** Edit distance, for "did you mean" (names are short: the plain table is fine). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name a typo most likely meant: within 2 edits (or a third of its length), else none. */
export function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + w.length + 1 > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.join(`\n${indent}`);
}

export function stepHelp(step: StepDef): string {
  const lines = [
    `shipline ${step.name}: ${step.description}`,
    '',
    `Usage: shipline ${step.name} [--<input> <value>]... [--post]`,
    '',
    'Inputs:',
  ];
  for (const [name, spec] of Object.entries(step.inputs)) {
    const bits: string[] = [spec.type ?? 'string'];
    if (spec.required) bits.push('required');
    if (spec.default !== undefined && spec.default !== '') bits.push(`default: ${String(spec.default)}`);
    else if (spec.defaultDoc) bits.push(`default: ${spec.defaultDoc}`);
    if (spec.options) bits.push(`one of: ${spec.options.join(', ')}`);
    if (spec.secret) bits.push('secret');
    lines.push(`  --${name} (${bits.join('; ')})`);
    lines.push(`      ${wrap(spec.description, 76, '      ')}`);
    lines.push(`      env: SHIPLINE_INPUT_${envName(name)}`);
    const also = [
      ...(spec.aliases ?? []).map((a) => `--${a}`),
      ...(spec.negatedAliases ?? []).map((a) => `--${a} (negated)`),
    ];
    if (also.length) lines.push(`      also: ${also.join(', ')}`);
  }
  const unsupported = Object.keys(step.unsupported ?? {});
  if (unsupported.length)
    lines.push('', `Refused anchor inputs (see README): ${unsupported.map((n) => `--${n}`).join(', ')}`);
  lines.push('', 'Outputs:');
  for (const [name, out] of Object.entries(step.outputs))
    lines.push(`  ${name}: ${wrap(out.description, 70, '      ')}`);
  lines.push(
    '',
    'Lists take newline- or comma-separated values or a repeated flag; booleans take true/false',
    '(a bare --flag means true). Exit codes: 0 success, 1 failure, 2 bad input.',
  );
  return lines.join('\n') + '\n';
}
