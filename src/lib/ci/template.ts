// The Handlebars expressions docker/metadata-action accepts in rule attributes, labels and
// patterns: `{{name}}`, `{{{name}}}` (not HTML-escaped), `{{name 'arg' key='v'}}`,
// comments, and `\{{` for a literal. Compiled once (so a typo fails before any work) and
// rendered against a scope of named helpers. Handlebars renders an unknown name as an empty
// string; here it is an error naming what the scope offers.
import { ShiplineError } from '../util/errors';

export type Arg = string | number | boolean | undefined;
export interface Call {
  args: Arg[];
  hash: Record<string, Arg>;
}
/** A helper: its value, or a function of its arguments. */
export type Helper = string | number | ((call: Call) => string);
export type Scope = Record<string, Helper>;

type Part = { text: string } | { name: string; call: Call; escape: boolean };
export interface Template {
  source: string;
  parts: Part[];
}

const fail = (source: string, why: string) =>
  new ShiplineError(`'${source}': ${why}`, { kind: 'invalid', data: { template: source } });

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parseArg(source: string, tok: string): Arg {
  if (/^'.*'$|^".*"$/s.test(tok)) return tok.slice(1, -1);
  if (/^-?\d+(\.\d+)?$/.test(tok)) return Number(tok);
  if (tok === 'true' || tok === 'false') return tok === 'true';
  if (tok === 'null' || tok === 'undefined') return undefined;
  // A bare word is a path into Handlebars' context, which holds no data here: undefined.
  if (/^[^\s!"#%-,./;->@[-^`{-~]+$/.test(tok)) return undefined;
  throw fail(source, `'${tok}' is not an argument (quote text: 'YYYYMMDD')`);
}

function splitTokens(source: string, body: string): string[] {
  const toks: string[] = [];
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*=)?('[^']*'|"[^"]*"|[^\s'"=]+)\s*/y;
  let i = 0;
  const text = body.trim();
  while (i < text.length) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) throw fail(source, `cannot read '{{${body}}}' (use {{name}} or {{name 'arg' key='value'}})`);
    toks.push((m[1] ?? '') + m[2]!);
    i = re.lastIndex;
  }
  return toks;
}

/** Parses a template; the names it calls must be in `names` (the scope it will render in). */
export function compileTemplate(source: string, names: readonly string[], what = 'here'): Template {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('\\{{', i)) {
      const end = source.indexOf('{{', i + 3);
      const stop = end < 0 ? source.length : end;
      text += source.slice(i + 1, stop);
      i = stop;
      continue;
    }
    if (!source.startsWith('{{', i)) {
      text += source[i];
      i++;
      continue;
    }
    const triple = source.startsWith('{{{', i);
    const close = triple ? '}}}' : '}}';
    const open = triple ? 3 : 2;
    if (source.startsWith('{{!--', i)) {
      const end = source.indexOf('--}}', i + 5);
      if (end < 0) throw fail(source, "a '{{!--' comment is not closed");
      i = end + 4;
      continue;
    }
    const end = source.indexOf(close, i + open);
    if (end < 0) throw fail(source, `'${source.slice(i, i + 12)}…' is not closed with '${close}'`);
    let body = source.slice(i + open, end);
    i = end + close.length;
    if (body.startsWith('!')) continue;
    let escape = !triple;
    if (!triple && body.startsWith('&')) {
      escape = false;
      body = body.slice(1);
    }
    if (/^\s*[#/^>~]|~\s*$|^\s*else\s*$/.test(body))
      throw fail(source, `'{{${body}}}': blocks, partials and whitespace control are not supported`);
    const toks = splitTokens(source, body);
    const name = toks[0];
    if (name === undefined || !IDENT.test(name)) throw fail(source, `'{{${body}}}' names no expression`);
    if (!names.includes(name))
      throw fail(
        source,
        `{{${name}}} is not an expression ${what} (known: ${names.map((n) => `{{${n}}}`).join(', ')})`,
      );
    const call: Call = { args: [], hash: {} };
    for (const tok of toks.slice(1)) {
      const eq = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(tok);
      if (eq) call.hash[eq[1]!] = parseArg(source, eq[2]!);
      else call.args.push(parseArg(source, tok));
    }
    if (text) parts.push({ text });
    text = '';
    parts.push({ name, call, escape });
  }
  if (text) parts.push({ text });
  return { source, parts };
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#x27;',
  '`': '&#x60;',
  '=': '&#x3D;',
};
/** Handlebars escapes `{{…}}` output for HTML; metadata-action's tags and labels carry that. */
const htmlEscape = (s: string) => s.replace(/[&<>"'`=]/g, (c) => ESCAPES[c]!);

export function renderTemplate(t: Template, scope: Scope): string {
  let out = '';
  for (const p of t.parts) {
    if ('text' in p) {
      out += p.text;
      continue;
    }
    const h = scope[p.name];
    if (h === undefined) throw fail(t.source, `{{${p.name}}} is not available here`);
    const v = typeof h === 'function' ? h(p.call) : String(h);
    out += p.escape ? htmlEscape(v) : v;
  }
  return out;
}

/** The template is exactly one `{{name}}` and nothing else (metadata-action's "raw statement"). */
export function isOnly(t: Template, name: string): boolean {
  const [p, ...rest] = t.parts;
  return rest.length === 0 && p !== undefined && 'name' in p && p.name === name;
}

/** A helper taking no arguments. */
export function noArgs(name: string, value: () => string): (call: Call) => string {
  return (call) => {
    if (call.args.length || Object.keys(call.hash).length)
      throw new ShiplineError(`{{${name}}} takes no arguments`, { kind: 'invalid', data: { helper: name } });
    return value();
  };
}
