// Compile hints: which functions of a bundle V8 compiles while it compiles the file, not on
// their first call.
//
// V8 compiles a script in two passes: the top level now, every function body only when it is
// first called, after a quick pre-parse of it now. A function a run calls is thus scanned twice,
// and a start spends most of its time over bare node compiling (scripts/build.mjs: ~50 ns a
// byte). V8 compiles at once a function literal written inside parentheses, `(function…)` or
// `((…) => …)`: the hint this module writes, for the functions that scripts/compile-hints.json
// names (by bundle file, the lines of src/ where functions start that the bench's runs called;
// `node scripts/compile-hints.mjs` makes it). A hint only moves compile time: a hint on a
// function that is not called costs that function's compile, a missing one the second scan.
// Nothing else of the code changes (a hinted declaration becomes a `var` set at the top of its
// scope, where the declaration would have been hoisted to).
const { SourceMap } = require('node:module');
const { readFileSync } = require('node:fs');
const { dirname, isAbsolute, relative, resolve } = require('node:path');
const ts = require('typescript');

/** The (file, line) in src/ (or node_modules/) where code at offset `at` of a bundle came from. */
function originOf(sf, map, mapDir, root, at) {
  const { line, character } = sf.getLineAndCharacterOfPosition(at);
  const e = map.findEntry(line, character);
  if (!e || e.originalSource === undefined) return undefined;
  const src = e.originalSource.startsWith('file://') ? new URL(e.originalSource).pathname : e.originalSource;
  const file = relative(root, isAbsolute(src) ? src : resolve(mapDir, src))
    .split('\\')
    .join('/');
  return { file, line: e.originalLine + 1 };
}

const isFunction = (n) => ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n);
// Where a hinted declaration can move to the top of its scope: the file's or a function body's
// own statements (a declaration in a nested block is block-scoped, and stays).
const hoistable = (n) =>
  ts.isFunctionDeclaration(n) &&
  n.body !== undefined &&
  n.name !== undefined &&
  (ts.isSourceFile(n.parent) || (ts.isBlock(n.parent) && isFunction(n.parent.parent)));

/** Whether the code before `at` ends, on the same line, with `;`, `{` or `}` (or is empty). */
function closedBefore(code, at) {
  let i = at - 1;
  while (i >= 0 && (code[i] === ' ' || code[i] === '\t')) i--;
  return i < 0 || ';{}'.includes(code[i]);
}

/**
 * `code` with the functions whose origin `hints` names marked for eager compilation.
 * `map` is the bundle's source map (JSON), `mapDir` the folder it lies in, `root` the project.
 * Returns the new code and how many functions it marked.
 */
function markEager(code, mapJson, mapDir, root, hints) {
  const map = new SourceMap(typeof mapJson === 'string' ? JSON.parse(mapJson) : mapJson);
  const sf = ts.createSourceFile('bundle.js', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const hot = (n) => {
    const o = originOf(sf, map, mapDir, root, n.getStart(sf));
    return o !== undefined && hints[o.file]?.includes(o.line) === true;
  };
  let marked = 0;
  // Already in parentheses: V8 compiles it eagerly as it is.
  const wrapped = (n) => ts.isParenthesizedExpression(n.parent);
  // The text of node `n` (from its first token) with the marks of everything inside it.
  const render = (n) => {
    const start = n.getStart(sf);
    const scope = ts.isSourceFile(n) || (ts.isBlock(n) && isFunction(n.parent));
    let out = '';
    let at = start;
    const lifted = [];
    ts.forEachChild(n, (c) => {
      const cs = c.getStart(sf);
      out += code.slice(at, cs);
      if (scope && hoistable(c) && hot(c)) {
        // `function f(…) {…}` -> `f=(function(…) {…})` in one `var` at the top of this scope: set
        // before anything in the scope runs, as the hoisted declaration was (the name is inferred).
        const text = render(c);
        const nameAt = c.name.getStart(sf) - cs;
        const name = c.name.getText(sf);
        lifted.push(`${name}=(${text.slice(0, nameAt).trimEnd()}${text.slice(nameAt + name.length)})`);
        // Where it was, nothing when the statement before ends on this line with `;`, `{` or `}`
        // (a declaration or block: what follows starts a statement of its own); else an empty
        // statement, so that no ASI joins the statements around it.
        if (!closedBefore(code, cs)) out += ';';
        marked++;
      } else out += render(c);
      at = c.end;
    });
    out += code.slice(at, n.end);
    if (lifted.length) {
      // After the directive prologue ('use strict' stays first), else at the scope's start.
      let cut = ts.isSourceFile(n) ? 0 : 1; // past `{`
      let directive = false;
      let first;
      for (const s of n.statements) {
        first = s;
        if (!(ts.isExpressionStatement(s) && ts.isStringLiteral(s.expression))) break;
        cut = s.end - start;
        directive = true;
        first = undefined;
      }
      const [before, head] = [out.slice(0, cut), out.slice(cut)];
      // A scope whose first statement is `var x=…` takes the functions into that statement.
      const joins = first && ts.isVariableStatement(first) && /^\s*var\s/.test(head);
      // A directive ends with its `;`, or gets one.
      const end = directive && !before.trimEnd().endsWith(';') ? ';' : '';
      out = joins
        ? `${before}${end}${head.replace(/^\s*var\s+/, (v) => `${v}${lifted.join(',')},`)}`
        : `${before}${end}var ${lifted.join(',')};${head}`;
    }
    if (isFunction(n) && !ts.isFunctionDeclaration(n) && !wrapped(n) && hot(n)) {
      marked++;
      out = `(${out})`;
    }
    return ts.isSourceFile(n) ? code.slice(0, start) + out : out;
  };
  const out = render(sf);
  return { code: out, marked };
}

/**
 * The hints of a set of V8 coverage files (NODE_V8_COVERAGE) from runs of the bundles in
 * `distDir`, whose source maps lie beside them: every line of src/ (and node_modules/) where a
 * function that ran starts, by file, from the bundle files named `files` (e.g. `main.js`).
 */
function hintsFromCoverage(coverages, distDir, root, files) {
  const out = {};
  const maps = new Map();
  const dist = resolve(distDir);
  for (const { result } of coverages) {
    for (const script of result) {
      if (!script.url.startsWith('file://')) continue;
      const file = new URL(script.url).pathname;
      if (!file.startsWith(`${dist}/`) || !files.includes(file.slice(file.lastIndexOf('/') + 1))) continue;
      if (!maps.has(file)) {
        let mapJson;
        try {
          mapJson = JSON.parse(readFileSync(`${file}.map`, 'utf8'));
        } catch {
          maps.set(file, undefined);
          continue;
        }
        const code = readFileSync(file, 'utf8');
        maps.set(file, {
          map: new SourceMap(mapJson),
          sf: ts.createSourceFile('bundle.js', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS),
        });
      }
      const m = maps.get(file);
      if (!m) continue;
      for (const fn of script.functions) {
        const r = fn.ranges[0];
        // The script itself (offset 0, no name) is not a function.
        if (!r || r.count === 0 || (r.startOffset === 0 && fn.functionName === '')) continue;
        const o = originOf(m.sf, m.map, dirname(file), root, r.startOffset);
        // Only files of the project's (a build's stdin entry has no file).
        if (!o || !/^(src|node_modules)\//.test(o.file)) continue;
        (out[o.file] ??= new Set()).add(o.line);
      }
    }
  }
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((f) => [f, [...out[f]].sort((a, b) => a - b)]),
  );
}

module.exports = { markEager, hintsFromCoverage };
