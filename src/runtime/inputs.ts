// Turns raw input strings (from INPUT_*, job variables or CLI flags) into typed values,
// or raises an InputError naming the input, the problem and the accepted form. Runs
// before any step code or heavy module loads.
import { camel, type InputSpec, type InputSpecs } from './define';
import { isShiplineError, ShiplineError } from '../lib/util/errors';

/** A bad input: exit code 2, raised before any work starts. Steps and the runtime throw it; the library cannot (it never imports the runtime). */
export class InputError extends ShiplineError {
  readonly input: string;
  constructor(input: string, message: string, hint?: string) {
    super(`input '${input}': ${message}`, { kind: 'input', hint, data: { input } });
    this.name = 'InputError';
    this.input = input;
  }
}

/**
 * An InputError from any bundle of this process: dist/<step>/main.js carries its own copy of
 * the class, so `instanceof` would miss one thrown by the runtime in index.js, or the reverse.
 */
export function isInputError(err: unknown): err is InputError {
  return isShiplineError(err) && err.kind === 'input' && typeof (err as InputError).input === 'string';
}

/** Raw values: a string, or several for a repeated CLI flag. */
export type RawInputs = Record<string, string | string[] | undefined>;

export function splitList(raw: string, linesOnly = false): string[] {
  const parts = linesOnly ? raw.split(/\r?\n/) : raw.split(/\r?\n|,/);
  return parts.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#'));
}

const TRUE = new Set(['true', 'yes', '1', 'on']);
const FALSE = new Set(['false', 'no', '0', 'off', '']);

function describeForm(name: string, spec: InputSpec): string {
  if (spec.options) return `one of ${spec.options.map((o) => `'${o}'`).join(', ')}`;
  if (spec.form) return spec.form;
  if (spec.regex) return `a value matching /${spec.regex}/`;
  return `a ${spec.type ?? 'string'} for '${name}'`;
}

function checkOne(name: string, spec: InputSpec, value: string): void {
  const shown = spec.secret ? '(secret value)' : `'${value}'`;
  if (spec.options && !spec.options.includes(value)) {
    throw new InputError(name, `${shown} is not allowed`, `use ${describeForm(name, spec)}`);
  }
  if (spec.regex && !new RegExp(`^(?:${spec.regex})$`).test(value)) {
    throw new InputError(name, `${shown} is not valid`, `use ${describeForm(name, spec)}`);
  }
  const problem = spec.check?.(value);
  if (problem !== undefined) throw new InputError(name, problem, spec.form ? `use ${spec.form}` : undefined);
}

export function parseInputs<S extends InputSpecs>(specs: S, raw: RawInputs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = raw[name];
    const type = spec.type ?? 'string';
    let text: string | undefined = Array.isArray(given) ? given.join('\n') : given;
    const keep = spec.trim === false;
    if (text !== undefined && type !== 'list' && !spec.secret && !keep) text = text.trim();
    const empty = text === undefined || (keep ? text === '' : text.trim() === '');
    if (empty && spec.required) {
      throw new InputError(name, 'is required but was not given', spec.form ? `give ${spec.form}` : spec.description);
    }
    if (empty && spec.default !== undefined) text = String(spec.default);
    const key = camel(name);
    if (text === undefined || (empty && spec.default === undefined)) {
      out[key] = type === 'list' ? [] : type === 'boolean' ? false : undefined;
      continue;
    }
    switch (type) {
      case 'boolean': {
        const v = text.trim().toLowerCase();
        if (TRUE.has(v)) out[key] = true;
        else if (FALSE.has(v)) out[key] = false;
        else throw new InputError(name, `'${text}' is not a boolean`, "use 'true' or 'false'");
        break;
      }
      case 'number': {
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n)) {
          throw new InputError(name, `'${text}' is not a number`, `give ${describeForm(name, spec)}`);
        }
        checkOne(name, spec, text.trim());
        out[key] = n;
        break;
      }
      case 'list': {
        const items = splitList(text, spec.lines === true);
        for (const item of items) checkOne(name, spec, item);
        out[key] = items;
        break;
      }
      default:
        checkOne(name, spec, text);
        out[key] = text;
    }
  }
  return out;
}

/** Upper snake name of an input as a variable: `role-arn` -> `ROLE_ARN`. */
export function envName(input: string): string {
  return input.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}
