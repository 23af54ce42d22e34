// Validate wrappers with their platforms' own schemas:
// - action.yml with @actions/workflow-parser (GitHub's action schema). The package is
//   ESM-only with a JSON import, so it is bundled once with esbuild into a CommonJS file
//   and loaded with Node's own require (outside jest's module registry).
// - GitLab CI YAML with GitLab's ci.json as shipped inside gitlab-ci-local's bundle, and
//   the Ajv 8 that gitlab-ci-local itself uses for it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './exec';

export interface SchemaResult {
  ok: boolean;
  errors: string[];
}

// ------------------------------------------------------------------ GitHub action.yml

interface WorkflowParserBundle {
  parseAction(
    file: { name: string; content: string },
    trace: unknown,
  ): { context: { errors: { getErrors(): { message: string }[] } }; value: unknown };
  convertActionTemplate(context: unknown, root: unknown): ActionTemplateLike;
  NoOperationTraceWriter: new () => unknown;
  parseWorkflow(
    file: { name: string; content: string },
    trace: unknown,
  ): { context: { errors: { getErrors(): { message: string }[] } }; value: unknown };
  convertWorkflowTemplate(context: unknown, root: unknown): Promise<{ errors?: { Message: string }[] }>;
}

export interface ActionTemplateLike {
  name: string;
  description: string;
  inputs?: { id: string; description?: string; required?: boolean; default?: { toString(): string } }[];
  outputs?: { id: string; description?: string }[];
  runs: { using: string; main?: string; post?: string; postIf?: string };
}

let parserBundle: WorkflowParserBundle | undefined;

function nativeRequire(file: string): unknown {
  // Evaluate a CommonJS file in this realm without jest's registry/transform.
  const code = fs.readFileSync(file, 'utf8');
  const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, {
    filename: file,
  }) as (e: unknown, r: unknown, m: unknown, f: string, d: string) => void;
  const mod = { exports: {} as unknown };
  const req = (id: string) => {
    if (id.startsWith('node:') || !id.startsWith('.')) return require(id);
    throw new Error(`bundled module unexpectedly requires ${id}`);
  };
  wrapper(mod.exports, req, mod, file, path.dirname(file));
  return mod.exports;
}

function workflowParser(): WorkflowParserBundle {
  if (parserBundle) return parserBundle;
  const pkgDir = path.join(repoRoot, 'node_modules', '@actions', 'workflow-parser');
  const version = (JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string })
    .version;
  const out = path.join(os.tmpdir(), `shipline-workflow-parser-${version}-2.cjs`);
  if (!fs.existsSync(out)) {
    const esbuild = require('esbuild') as typeof import('esbuild');
    const tmp = `${out}.${process.pid}.tmp`;
    esbuild.buildSync({
      stdin: {
        contents:
          "export { parseAction, convertActionTemplate } from './dist/actions/index.js';\n" +
          "export { parseWorkflow, convertWorkflowTemplate } from './dist/index.js';\n" +
          "export { NoOperationTraceWriter } from './dist/templates/trace-writer.js';\n",
        resolveDir: pkgDir,
        sourcefile: 'workflow-parser-entry.js',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: tmp,
      logLevel: 'silent',
    });
    fs.renameSync(tmp, out);
  }
  parserBundle = nativeRequire(out) as WorkflowParserBundle;
  return parserBundle;
}

/** Validate an action.yml (path or YAML text) against GitHub's action schema. */
export function validateActionYml(
  fileOrContent: string,
  name = 'action.yml',
): SchemaResult & { template?: ActionTemplateLike } {
  const isFile = !fileOrContent.includes('\n') && fs.existsSync(fileOrContent);
  const content = isFile ? fs.readFileSync(fileOrContent, 'utf8') : fileOrContent;
  const p = workflowParser();
  const parsed = p.parseAction({ name: isFile ? fileOrContent : name, content }, new p.NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  const result: SchemaResult & { template?: ActionTemplateLike } = {
    ok: errors.length === 0 && parsed.value !== undefined,
    errors,
  };
  if (parsed.value !== undefined) {
    const template = p.convertActionTemplate(parsed.context, parsed.value);
    const more = parsed.context.errors
      .getErrors()
      .map((e) => e.message)
      .filter((m) => !errors.includes(m));
    result.errors.push(...more);
    result.ok = result.errors.length === 0;
    result.template = template;
  }
  return result;
}

/** Validate a workflow file against GitHub's workflow schema (the parser GitHub runs). */
export async function validateWorkflowYml(file: string): Promise<SchemaResult> {
  const p = workflowParser();
  const parsed = p.parseWorkflow(
    { name: file, content: fs.readFileSync(file, 'utf8') },
    new p.NoOperationTraceWriter(),
  );
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (parsed.value !== undefined) {
    const template = await p.convertWorkflowTemplate(parsed.context, parsed.value);
    for (const e of template.errors ?? []) errors.push(e.Message);
  }
  return { ok: errors.length === 0 && parsed.value !== undefined, errors };
}

// ------------------------------------------------------------------ GitLab CI YAML

type AjvError = { instancePath: string; message?: string; params?: Record<string, unknown>; schemaPath: string };
type AjvValidate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

let gitlabValidate: AjvValidate | undefined;

function extractObjectLiteral(source: string, start: number): string {
  let depth = 0;
  let quote: string | null = null;
  for (let i = start; i < source.length; i++) {
    const c = source[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return source.slice(start, i + 1);
    }
  }
  throw new Error('unterminated object literal');
}

/** GitLab's CI JSON schema exactly as gitlab-ci-local ships it (before its own relaxations). */
export function gitlabCiSchema(): Record<string, unknown> {
  const gclDir = path.join(repoRoot, 'node_modules', 'gitlab-ci-local');
  const version = (JSON.parse(fs.readFileSync(path.join(gclDir, 'package.json'), 'utf8')) as { version: string })
    .version;
  const cache = path.join(os.tmpdir(), `shipline-gitlab-ci-schema-${version}.json`);
  if (fs.existsSync(cache)) return JSON.parse(fs.readFileSync(cache, 'utf8')) as Record<string, unknown>;
  const bundle = fs.readFileSync(path.join(gclDir, 'dist', 'index.js'), 'utf8');
  const marker = '{$schema:"http://json-schema.org/draft-07/schema#",$id:"https://gitlab.com/.gitlab-ci.yml"';
  const start = bundle.indexOf(marker);
  if (start < 0) throw new Error(`GitLab CI schema not found in gitlab-ci-local ${version}'s bundle`);
  const schema = vm.runInNewContext(`(${extractObjectLiteral(bundle, start)})`) as Record<string, unknown>;
  const json = JSON.stringify(schema);
  const tmp = `${cache}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, json);
  fs.renameSync(tmp, cache);
  return JSON.parse(json) as Record<string, unknown>;
}

function gitlabValidator(): AjvValidate {
  if (gitlabValidate) return gitlabValidate;
  // ajv 8, a devDependency of ours (draft-07 with allowUnionTypes, as GitLab's schema needs).
  const mod = require('ajv') as { default: new (o: Record<string, unknown>) => { compile(s: unknown): AjvValidate } };
  const Ajv = mod.default;
  const ajv = new Ajv({
    allErrors: true,
    allowUnionTypes: true,
    validateFormats: false,
    strictTypes: false,
    strict: false,
    keywords: ['markdownDescription'],
  });
  gitlabValidate = ajv.compile(gitlabCiSchema());
  return gitlabValidate;
}

const formatAjv = (e: AjvError) =>
  `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''} [${e.schemaPath}]`;

/** Validate one GitLab CI document (object or YAML text of a single document). */
export function validateGitlabCi(doc: unknown): SchemaResult {
  let data = doc;
  if (typeof doc === 'string') {
    const docs = parseAllDocuments(doc);
    if (docs.length !== 1) return { ok: false, errors: [`expected one YAML document, found ${docs.length}`] };
    const d = docs[0]!;
    if (d.errors.length) return { ok: false, errors: d.errors.map((e) => e.message) };
    data = d.toJS();
  }
  const validate = gitlabValidator();
  const ok = validate(data);
  return { ok, errors: ok ? [] : (validate.errors ?? []).map(formatAjv) };
}

/**
 * Validate a CI/CD component template: the `spec:` header document, and the body after
 * interpolating `$[[ inputs.x ]]` with `inputs` (default: each input's default) and
 * `$[[ component.* ]]` with placeholders.
 */
export function validateGitlabTemplate(
  text: string,
  inputs: Record<string, unknown> = {},
): SchemaResult & { body?: unknown } {
  const docs = parseAllDocuments(text);
  const errors: string[] = [];
  for (const d of docs) errors.push(...d.errors.map((e) => e.message));
  if (errors.length) return { ok: false, errors };
  if (docs.length !== 2)
    return {
      ok: false,
      errors: [`a component template has a spec header and a body: found ${docs.length} document(s)`],
    };
  const header = docs[0]!.toJS() as { spec?: { inputs?: Record<string, { default?: unknown; type?: string } | null> } };
  // GitLab's default input type is string; ci.json's if/then rules misfire when `type` is absent
  const normalised = structuredClone(header);
  for (const [name, def] of Object.entries(normalised.spec?.inputs ?? {})) {
    if (def && def.type === undefined) normalised.spec!.inputs![name] = { type: 'string', ...def };
  }
  const headerResult = validateGitlabCi(normalised);
  // `spec:component` (GitLab 18.x) is newer than the schema gitlab-ci-local 4.73 carries;
  // gitlab-ci-local itself accepts it and fills $[[ component.sha ]] (tested in test/clients).
  const knownStale = (e: string) =>
    e.startsWith('/spec must NOT have additional properties {"additionalProperty":"component"}');
  errors.push(...headerResult.errors.filter((e) => !knownStale(e)).map((e) => `header: ${e}`));
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(header.spec?.inputs ?? {})) values[name] = def?.default;
  Object.assign(values, inputs);
  // GitLab interpolates the parsed document, not its text: a value that is exactly one
  // `$[[ … ]]` takes the input's typed value (an empty string stays a string, an array an
  // array); inside a longer string the value is spliced in as text.
  const missing: string[] = [];
  const PATTERN = /\$\[\[\s*(inputs|component)\.([\w-]+)\s*(\|[^\]]*)?\]\]/g;
  const valueOf = (kind: string, name: string): unknown => {
    if (kind === 'component') return name === 'sha' ? '0123456789abcdef0123456789abcdef01234567' : `component-${name}`;
    if (!(name in values) || values[name] === undefined) {
      missing.push(name);
      return '';
    }
    return values[name];
  };
  const interpolate = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const whole = /^\$\[\[\s*(inputs|component)\.([\w-]+)\s*\]\]$/.exec(node);
      if (whole) return valueOf(whole[1]!, whole[2]!);
      return node.replace(PATTERN, (_m, kind: string, name: string) => {
        const v = valueOf(kind, name);
        return typeof v === 'string' ? v : JSON.stringify(v);
      });
    }
    if (Array.isArray(node))
      return node.flatMap((n) =>
        typeof n === 'string' && /^\$\[\[\s*inputs\.[\w-]+\s*\]\]$/.test(n) && Array.isArray(interpolate(n))
          ? (interpolate(n) as unknown[])
          : [interpolate(n)],
      );
    if (node && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [interpolate(k) as string, interpolate(v)]));
    return node;
  };
  const bodyDocs = docs.slice(1);
  const bodyErrors = bodyDocs.flatMap((d) => d.errors.map((e) => e.message));
  if (bodyErrors.length) return { ok: false, errors: [...errors, ...bodyErrors.map((e) => `body: ${e}`)] };
  const body = interpolate(bodyDocs[0]?.toJS());
  if (missing.length) errors.push(`inputs without value or default: ${[...new Set(missing)].join(', ')}`);
  errors.push(...validateGitlabCi(body).errors.map((e) => `body: ${e}`));
  return { ok: errors.length === 0, errors, body };
}
