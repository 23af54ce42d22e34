// The anchors' names. An input may also be given under the name an anchor action uses for
// it (`aliases`: configure-aws-credentials' `role-to-assume` for `role-arn`), a boolean under
// a name that means its opposite (`negatedAliases`: amazon-ecr-login's `skip-logout` for
// `logout`), and an anchor input shipline cannot honour (`step.unsupported`) is refused when
// given, naming what to do instead. Nothing given under an anchor's name is dropped.
import type { InputSpec, StepDef } from './define';
import { InputError, isInputError, type RawInputs } from './inputs';

export interface UnsupportedInput {
  /** Why shipline does not honour it, and what to do instead. */
  why: string;
  /** Values that ask for nothing shipline lacks (e.g. `false` for a feature flag). */
  accept?: readonly string[];
}

type Raw = string | string[] | undefined;

const given = (v: Raw): v is string | string[] =>
  Array.isArray(v) ? v.length > 0 : v !== undefined && v.trim() !== '';
const text = (v: string | string[]) => (Array.isArray(v) ? v.join('\n') : v).trim();

/** Every name a step answers to: its inputs, their aliases and the unsupported anchor names. */
export function inputNames(step: Pick<StepDef, 'inputs' | 'unsupported'>): string[] {
  const names = Object.entries(step.inputs).flatMap(([n, s]) => [n, ...(s.aliases ?? []), ...(s.negatedAliases ?? [])]);
  return [...names, ...Object.keys(step.unsupported ?? {})];
}

/** The input an alias stands for (itself for an input name), and whether it is negated. */
export function canonicalName(
  step: Pick<StepDef, 'inputs'>,
  name: string,
): { name: string; spec: InputSpec; negated: boolean } | undefined {
  for (const [n, s] of Object.entries(step.inputs)) {
    if (n === name || s.aliases?.includes(name)) return { name: n, spec: s, negated: false };
    if (s.negatedAliases?.includes(name)) return { name: n, spec: s, negated: true };
  }
  return undefined;
}

function negate(alias: string, v: string): string {
  const b = v.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(b)) return 'false';
  if (['false', 'no', '0', 'off'].includes(b)) return 'true';
  throw new InputError(alias, `'${v}' is not a boolean`, "use 'true' or 'false'");
}

/**
 * One raw value per input, from whichever of its names was given (`read(name)` reads a
 * name on this platform). A wrapper passes an input's default even when the user wrote an
 * alias, so an input still at its default does not count as given; an input given under
 * two names with different values is an error.
 */
export function resolveAliases(
  step: Pick<StepDef, 'inputs' | 'unsupported'>,
  read: (name: string) => Raw,
  via: Record<string, string> = {},
): RawInputs {
  for (const [name, u] of Object.entries(step.unsupported ?? {})) {
    const v = read(name);
    if (given(v) && !(u.accept ?? []).includes(text(v).toLowerCase())) {
      throw new InputError(name, `is not supported by shipline: ${u.why}`, `remove '${name}'`);
    }
  }
  const raw: RawInputs = {};
  for (const [name, spec] of Object.entries(step.inputs)) {
    const own = read(name);
    raw[name] = own;
    const others: [string, string | string[]][] = [];
    for (const a of spec.aliases ?? []) {
      const v = read(a);
      if (given(v)) others.push([a, v]);
    }
    for (const a of spec.negatedAliases ?? []) {
      const v = read(a);
      if (given(v)) others.push([a, negate(a, text(v))]);
    }
    if (others.length === 0) continue;
    // What the wrappers pass when the user wrote nothing under this name (generate.mjs).
    const wrapperDefault = spec.default ?? (spec.type === 'boolean' ? false : undefined);
    const atDefault = !given(own) || (wrapperDefault !== undefined && text(own) === String(wrapperDefault));
    const named = [...(atDefault ? [] : [[name, own] as [string, string | string[]]]), ...others];
    const values = new Set(named.map(([, v]) => text(v)));
    if (values.size > 1) {
      const shown = named.map(([n]) => `'${n}'`).join(' and ');
      throw new InputError(name, `is given as ${shown} with different values`, `give it once, as '${name}'`);
    }
    raw[name] = named[0]![1];
    if (named[0]![0] !== name) via[name] = named[0]![0];
  }
  return raw;
}

/** An input error worded with the name the user wrote (`via`: canonical → the alias used). */
export function asWritten(err: unknown, via: Record<string, string>): unknown {
  if (!isInputError(err) || via[err.input] === undefined) return err;
  const prefix = `input '${err.input}': `;
  const rest = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new InputError(via[err.input]!, `(shipline's '${err.input}') ${rest}`, err.hint);
}
