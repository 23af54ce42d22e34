// Checks the shipline components a GitLab pipeline includes the way GitLab's own lint does
// (gitlab-ci-local accepts unknown input keys silently; GitLab refuses the pipeline):
// every `inputs:` key must be one the component's `spec: inputs` declares, each value of
// the declared type (string, boolean, number, array) and among its `options`, and every
// input without a default must be given.
//   node scripts/check-includes.mjs .gitlab-ci.yml [more files]     exit 1 on a problem
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

const root = resolve(import.meta.dirname, '..');

/** `spec: inputs` of templates/<step>.yml, or undefined when there is no such component. */
export function specInputs(step, templates = join(root, 'templates')) {
  const file = join(templates, `${step}.yml`);
  if (!existsSync(file)) return undefined;
  const [header] = parseAllDocuments(readFileSync(file, 'utf8'));
  return header.toJS().spec.inputs ?? {};
}

const typeOf = (v) => (Array.isArray(v) ? 'array' : typeof v === 'object' && v !== null ? 'object' : typeof v);

/** Problems of one pipeline's includes of shipline components (step names from the component path). */
export function checkIncludes(pipeline, opts = {}) {
  const problems = [];
  const includes = [pipeline?.include ?? []].flat();
  for (const inc of includes) {
    if (!inc || typeof inc !== 'object' || typeof inc.component !== 'string') continue;
    const m = /\/([\w-]+)@[^/]+$/.exec(inc.component);
    const spec = m && specInputs(m[1], opts.templates);
    if (!spec) continue;
    const step = m[1];
    const given = inc.inputs ?? {};
    for (const [name, value] of Object.entries(given)) {
      const s = spec[name];
      if (!s) {
        problems.push(`${step}: unknown input '${name}' (the component declares: ${Object.keys(spec).join(', ')})`);
        continue;
      }
      const want = s.type ?? 'string';
      const got = typeOf(value);
      if (got !== want) {
        problems.push(`${step}: input '${name}' is ${got === 'object' ? 'a mapping' : `a ${got}`}, not a ${want}`);
        continue;
      }
      if (s.options && !s.options.includes(value)) {
        problems.push(`${step}: input '${name}': '${value}' is not one of ${s.options.join(', ')}`);
      }
    }
    for (const [name, s] of Object.entries(spec)) {
      if (s.default === undefined && !(name in given)) problems.push(`${step}: input '${name}' is required`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write('usage: node scripts/check-includes.mjs <.gitlab-ci.yml>...\n');
    process.exit(2);
  }
  let bad = 0;
  for (const f of files) {
    for (const p of checkIncludes(parse(readFileSync(f, 'utf8')), { templates: join(root, 'templates') })) {
      process.stderr.write(`${f}: ${p}\n`);
      bad++;
    }
  }
  if (bad === 0) process.stdout.write(`${files.length} file(s): every shipline include is valid\n`);
  process.exit(bad ? 1 : 0);
}
