// Bundles every src/steps/<step> into dist/<step>/ (index.js, main.js, lazy.js and aws-sdk.js
// where the step has them, post.js when it has a post) and src/cli.ts into dist/cli.js.
// Deterministic: same sources, same bytes.
// Usage: node scripts/build.mjs [step ...] [--readable DIR | --one-file DIR | --maps DIR]
//   --readable DIR: the same bundles unminified into DIR/dist (for `bench/steps.mjs --profile`,
//   whose function names then read as the sources'); the committed dist/ is not touched.
//   --maps DIR: the same bundles without compile hints, each with its source map, into DIR/dist
//   (what scripts/compile-hints.mjs runs to learn which functions a run calls).
//   --one-file DIR: each step's index.js with its main.ts and post.ts inside, as before the
//   split (lazy.js and aws-sdk.js as they are), into DIR/dist: what `bench/bundles.mjs` weighs
//   the split against.
import { build } from 'esbuild';
import {
  chmodSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const { markEager } = require('./lib/compile-hints.cjs');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { values: opts, positionals: only } = parseArgs({
  options: { readable: { type: 'string' }, 'one-file': { type: 'string' }, maps: { type: 'string' } },
  allowPositionals: true,
});
const oneFile = opts['one-file'];
const out = opts.readable ?? oneFile ?? opts.maps;
const dist = out ? join(resolve(out), 'dist') : join(root, 'dist');
// By bundle file, the lines of src/ where functions start that the bench's runs call
// (scripts/compile-hints.mjs writes it).
const HINTS = join(root, 'scripts/compile-hints.json');
const hints = opts.maps || !existsSync(HINTS) ? {} : JSON.parse(readFileSync(HINTS, 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: !opts.readable,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  absWorkingDir: root,
  // Keep the AWS SDK's optional runtime pieces out; nothing here needs them.
  external: ['aws-crt', '@aws-sdk/signature-v4-crt'],
  // An `import()` (untag's SDK client, run-in-container's docker modules) becomes a CJS require
  // in a promise, not node's ESM loader, which costs a module-format detection pass over the
  // whole file (dist/<step>/aws-sdk.js is 400 KB) and, on Node 20, ~7 ms to start.
  supported: { 'dynamic-import': false },
  // The AWS SDK's own switch for its "NodeVersionSupportWarning" (a block of lines on stderr on
  // Node < 22 when a client is built): the bundled SDK reads it as set. Nothing else reads it.
  define: { 'process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED': '"true"' },
};

// A step may keep heavy dependencies (the AWS SDK) in src/steps/<step>/lazy.ts, required as
// `require('./lazy')` only after its inputs validate: that file becomes dist/<step>/lazy.js
// and stays a runtime require of index.js, so a bad input fails without parsing the SDK.
const lazyPlugin = {
  name: 'shipline-lazy',
  setup(b) {
    b.onResolve({ filter: /^\.\/lazy$/ }, () => ({ path: './lazy.js', external: true }));
  },
};

// A step's index.ts holds what runs before its inputs validate (the declaration, the checks);
// its main.ts and post.ts, required there inside the step's functions (`require('./main')`),
// become one more file, dist/<step>/main.js, required once the inputs are valid: a bad input
// then compiles only the declaration and the runtime (compiling costs ~50 ns a byte, most of a
// fail-fast run's time over bare node). A require, not `import('./main')`: esbuild writes that
// as a require through its ES-module interop helpers, ~0.4 KB of every index.js.
const mainChunkPlugin = {
  name: 'shipline-main',
  setup(b) {
    b.onResolve({ filter: /^\.\/(main|post)$/ }, (args) => {
      if (oneFile || !/\/src\/steps\/[^/]+\/index\.ts$/.test(args.importer)) return undefined;
      if (args.kind !== 'require-call')
        throw new Error(
          `${args.importer}: require ${args.path} inside the step's function, as require('${args.path}'), or it loads before the inputs validate`,
        );
      return { path: './main.js', external: true };
    });
  },
};

// The AWS SDK's credential chain (src/lib/aws/sdk-chain.ts) is a third bundle,
// dist/<step>/aws-sdk.js: compiling it costs more than a signed request's whole code, and it
// is needed only when a job's credentials are neither in the environment nor a token file.
const SDK_CHAIN = join(root, 'src/lib/aws/sdk-chain.ts');
const sdkChainPlugin = (used) => ({
  name: 'shipline-aws-sdk',
  setup(b) {
    b.onResolve({ filter: /\/sdk-chain$/ }, (args) => {
      if (resolve(args.resolveDir, `${args.path}.ts`) !== SDK_CHAIN) return undefined;
      used.add(args.importer);
      return { path: './aws-sdk.js', external: true };
    });
  },
});

// aws4 asks node:crypto for SHA-256 only: src/lib/util/sha256.ts answers it in pure JS (why there).
const SHA256 = join(root, 'src/lib/util/sha256.ts');
const aws4CryptoPlugin = {
  name: 'shipline-aws4-crypto',
  setup(b) {
    b.onResolve({ filter: /^crypto$/ }, (args) =>
      /[\\/]node_modules[\\/]aws4[\\/]aws4\.js$/.test(args.importer) ? { path: SHA256 } : undefined,
    );
  },
};

export function stepNames() {
  return readdirSync(join(root, 'src/steps'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'src/steps', d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

const steps = stepNames();
mkdirSync(dist, { recursive: true });
// A full build drops bundles of steps that no longer exist; each step's own folder is
// replaced only when its bundle is built, so a failing build leaves the others in place.
if (only.length === 0) {
  for (const d of readdirSync(dist, { withFileTypes: true })) {
    if (d.isDirectory() && !steps.includes(d.name) && !d.name.startsWith('.'))
      rmSync(join(dist, d.name), { recursive: true, force: true });
  }
}

// What index.js already compiled, a later file (main.js, lazy.js, aws-sdk.js) takes from it
// instead of compiling a copy: index.js hands those exports over as `__shared`, and the later
// file reads them through `require('./index.js')` (node's cached main module). A later file
// still compiles what index.js does not have, so a bad input compiles no more than before.
// Without this the runtime, the errors and the input checks shipped, and compiled, twice.
// lazy.js takes from main.js the same way (`require('./main.js')`: main.js requires lazy.js,
// so it is loaded first): the HTTP, retry and error code both of them call.
const SHARED_NS = 'shipline-shared';
const REAL = '?shipline-real';
const SRC = join(root, 'src') + '/';
/**
 * Resolves every import as the build would and records it in `seen`; sends the modules of
 * `shared` (module -> { given: names taken from the file `from` (its `__shared[at]`), rest:
 * names still compiled here }) to a stub.
 */
const sharedPlugin = (shared, seen) => ({
  name: 'shipline-shared',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.namespace === SHARED_NS) {
        if (args.path.endsWith(REAL)) return { path: args.path.slice(0, -REAL.length) };
        return { path: args.path, external: true };
      }
      if (args.pluginData === SHARED_NS) return undefined;
      const { kind, importer, resolveDir } = args;
      const r = await b.resolve(args.path, { kind, importer, resolveDir, pluginData: SHARED_NS });
      if (r.errors.length || r.external) return undefined;
      seen.set(`${importer}\0${args.path}`, r.path);
      return shared.has(r.path) ? { path: r.path, namespace: SHARED_NS } : undefined;
    });
    // An ES module of plain constants: esbuild hoists them into the later file's scope, so its
    // calls stay as short as before (a CommonJS stub would make each `(0, x.name)(…)`).
    b.onLoad({ filter: /.*/, namespace: SHARED_NS }, (args) => {
      const { given, rest, from, at } = shared.get(args.path);
      const own = given.filter((n) => n !== 'default');
      return {
        contents: [
          `const s = require('${from}').__shared[${at}];`,
          own.length ? `export const ${own.map((n) => `${n} = s.${n}`).join(', ')};` : '',
          given.includes('default') ? 'export default s.default;' : '',
          rest.length ? `export { ${rest.join(', ')} } from ${JSON.stringify(args.path + REAL)};` : '',
        ].join('\n'),
        resolveDir: dirname(args.path),
        loader: 'js',
      };
    });
  },
});

/** The value names a file takes from each module it imports: `*` for the whole namespace. */
const namesCache = new Map();
function importedNames(file) {
  if (namesCache.has(file)) return namesCache.get(file);
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const out = new Map();
  const add = (spec, name) => out.set(spec, (out.get(spec) ?? new Set()).add(name));
  const visit = (n) => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const spec = n.moduleSpecifier.text;
      if (c && !c.isTypeOnly) {
        if (c.name) add(spec, 'default');
        const nb = c.namedBindings;
        if (nb && ts.isNamespaceImport(nb)) add(spec, '*');
        else if (nb) for (const e of nb.elements) if (!e.isTypeOnly) add(spec, (e.propertyName ?? e.name).text);
      }
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const spec = n.moduleSpecifier.text;
      const c = n.exportClause;
      if (n.isTypeOnly) return;
      if (!c || ts.isNamespaceExport(c)) add(spec, '*');
      else for (const e of c.elements) if (!e.isTypeOnly) add(spec, (e.propertyName ?? e.name).text);
    } else if (
      ts.isCallExpression(n) &&
      (n.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(n.expression) && n.expression.text === 'require')) &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0])
    ) {
      add(n.arguments[0].text, '*');
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  namesCache.set(file, out);
  return out;
}

/** A module's value exports (types are gone by then), `export *` followed. */
const exportsCache = new Map();
async function valueExports(file) {
  if (!exportsCache.has(file)) {
    const r = await build({
      ...common,
      minify: false,
      metafile: true,
      write: false,
      format: 'esm',
      stdin: { contents: `export * from ${JSON.stringify(file)};`, resolveDir: root, loader: 'js' },
      outfile: join(root, 'exports.js'),
      plugins: [lazyPlugin, aws4CryptoPlugin, sdkChainPlugin(new Set())],
    });
    exportsCache.set(file, new Set(Object.values(r.metafile.outputs)[0].exports));
  }
  return exportsCache.get(file);
}

/**
 * An entry whose `module.exports` is an object of the value exports of `files`: index.js only
 * requires these files and reads their exports, so `export * from` (which esbuild turns into
 * getters through its ES-module interop helpers, ~0.4 KB a file) is not needed.
 */
async function exportsOf(files, gives = new Map()) {
  const lines = [];
  const props = [];
  for (const [i, f] of files.entries()) {
    const names = [...(await valueExports(f))].sort();
    lines.push(`import { ${names.map((n, j) => `${n} as e${i}_${j}`).join(', ')} } from ${JSON.stringify(f)};`);
    props.push(...names.map((n, j) => `${n}: e${i}_${j}`));
  }
  const { imports, define } = handOver(gives, 'module.exports');
  return [...lines, ...imports, `module.exports = { ${props.join(', ')} };`, define].join('\n');
}

/**
 * An entry's hand-over to later files: the imports of what `gives` lists (module -> { given,
 * at }) and the statement that sets it, in `at` order, as `<target>.__shared`.
 */
function handOver(gives, target) {
  const entries = [...gives].sort(([, a], [, b]) => a.at - b.at);
  return {
    imports: entries.map(
      ([f, { given }], i) =>
        `import { ${given.map((n, j) => `${n} as s${i}_${j}`).join(', ')} } from ${JSON.stringify(f)};`,
    ),
    define: entries.length
      ? `Object.defineProperty(${target}, '__shared', { value: [${entries
          .map(([, { given }], i) => `{ ${given.map((n, j) => `${n}: s${i}_${j}`).join(', ')} }`)
          .join(', ')}] });`
      : '',
  };
}

/** What the files of a build take from each module of src/ by name (`*`: all its values). */
async function namesTaken(files, seen) {
  const out = new Map();
  const add = (dep, n) => dep.startsWith(SRC) && out.set(dep, (out.get(dep) ?? new Set()).add(n));
  for (const f of files) {
    if (!f.startsWith(SRC)) {
      // A package's file (aws4 asking for `crypto`) takes the whole module.
      for (const [key, dep] of seen) if (key.startsWith(`${f}\0`)) add(dep, '*');
      continue;
    }
    for (const [spec, taken] of importedNames(f)) {
      const dep = seen.get(`${f}\0${spec}`);
      if (dep) for (const n of taken) add(dep, n);
    }
  }
  for (const [f, names] of out) {
    const values = await valueExports(f);
    // `*`: the whole namespace, marked so (a module taken whole is shared only whole).
    out.set(f, names.has('*') ? new Set([...values, '*']) : new Set([...names].filter((n) => values.has(n))));
  }
  return out;
}

/** A build's JavaScript output in its metafile (its source map is the other one). */
const jsOutput = (meta) => Object.entries(meta.outputs).find(([f]) => f.endsWith('.js'))[1];

const filesOf = (meta) =>
  Object.keys(meta.inputs)
    .filter((f) => !f.includes(':') && !f.startsWith('<'))
    .map((f) => resolve(root, f));

// A failed or stopped build leaves no half-built folder behind (scripts/generate.mjs would read
// it); a signal's default action would skip the exit handler, so a signal exits instead.
const building = new Set();
process.on('exit', () => building.forEach((d) => rmSync(d, { recursive: true, force: true })));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.once(signal, () => process.exit(128 + osConstants.signals[signal]));

/**
 * By module of src/, the top-level names a bundle kept of it: those under each `// <file>`
 * heading of its readable text (renamed ones with a number). A module esbuild wraps in an
 * initializer (`__esm`, set up on first use) is left out: its names are not set at load.
 */
function keptNames(outputFiles) {
  const has = new Map();
  let at = null;
  const wrapped = new Set();
  for (const line of outputFiles.find((o) => o.path.endsWith('.js')).text.split('\n')) {
    const file = /^\/\/ (src\/\S+\.ts)$/.exec(line);
    if (file) has.set((at = resolve(root, file[1])), has.get(resolve(root, file[1])) ?? new Set());
    if (at && /__esm\(/.test(line)) wrapped.add(at);
    const decl = /^(?:async )?(?:function\*? |var |let |const |class )([\w$]+)/.exec(line);
    if (decl && at) has.get(at).add(decl[1]).add(decl[1].replace(/\d+$/, ''));
  }
  for (const f of wrapped) has.delete(f);
  return has;
}

/** By module, the bytes the builds of `metas` wrote of it. */
function bytesOf(metas) {
  const copy = new Map();
  for (const m of metas)
    for (const [f, i] of Object.entries(jsOutput(m.metafile).inputs))
      copy.set(resolve(root, f), (copy.get(resolve(root, f)) ?? 0) + i.bytesInOutput);
  return copy;
}

/**
 * The modules worth handing over from the file `from` (module -> { given, rest, from, at }): of
 * those the later files take (`wants`), the ones `has` says that file kept, not in `skip`, whose
 * copy in the later files (`copy`) is larger than the stub that replaces it.
 */
function pick(wants, has, copy, from, skip) {
  const out = new Map();
  for (const [f, names] of [...wants].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!has.has(f) || skip.has(f)) continue;
    const all = [...names].filter((n) => n !== '*');
    const given = all.filter((n) => has.get(f).has(n)).sort();
    const rest = all.filter((n) => !has.get(f).has(n)).sort();
    // Taken whole with some of it still compiled here: the file compiles the module anyway
    // (aws4 takes all of sha256.ts, whose HMAC calls the sha256 index.js has), so a stub adds.
    if (names.has('*') && rest.length) continue;
    if (given.length && copy.get(f) > 60 + given.reduce((n, s) => n + 2 * s.length + 8, 0))
      out.set(f, { given, rest, from, at: out.size });
  }
  return out;
}

const same = (a, b) => JSON.stringify([...a]) === JSON.stringify([...b]);

const catalog = [];
for (const name of steps) {
  if (only.length && !only.includes(name)) continue;
  // Built beside dist/<step>/ and swapped in whole: a test or job running the step meanwhile
  // never finds half a folder (a removed post.js, a main.js of another build).
  const final = join(dist, name);
  const outdir = join(dist, `.${name}.build-${process.pid}`);
  const parts = ['main', 'post'].map((f) => join(root, 'src/steps', name, `${f}.ts`)).filter((f) => existsSync(f));
  // main.js exports what both export: a name both export would shadow the other.
  if (parts.length === 2) {
    const [a, b] = await Promise.all(parts.map(valueExports));
    const clash = [...a].filter((n) => b.has(n));
    if (clash.length) throw new Error(`src/steps/${name}: main.ts and post.ts both export ${clash.join(', ')}`);
  }
  const lazy = join(root, 'src/steps', name, 'lazy.ts');
  // First alone, to learn what index.js and main.js have and what the later files take; then
  // with the later files taking from index.js what it has, and lazy.js from main.js what main.js
  // has (main.js is loaded before it). The stubs' estimate can be wrong: the first plan whose
  // files come out no larger than alone is kept (both hand-overs, main.js's alone, index.js's
  // alone), else the files are built alone again.
  const plans = [{ fromIndex: new Map(), fromMain: new Map() }];
  let alone = 0;
  building.add(outdir);
  for (let round = 0; round < plans.length; round++) {
    const { fromIndex, fromMain } = plans[round];
    rmSync(outdir, { recursive: true, force: true });
    const seen = new Map();
    const sdkUsers = new Set();
    const plugins = [lazyPlugin, aws4CryptoPlugin, sdkChainPlugin(sdkUsers)];
    const index = handOver(fromIndex, 'mod');
    const indexBuild = (extra) =>
      build({
        ...common,
        // ESM imports, not require(): esbuild then hoists the step's modules into one scope
        // instead of wrapping each in a lazy initializer that every start calls (a smaller,
        // flatter bundle).
        stdin: {
          contents: [
            `import step from './src/steps/${name}/index.ts';`,
            `import { stepModule } from './src/runtime/entry.ts';`,
            ...index.imports,
            `const mod = stepModule(step);`,
            index.define,
            `module.exports = mod;`,
            `if (require.main === module) mod.exec();`,
          ].join('\n'),
          resolveDir: root,
          sourcefile: `entry-${name}.js`,
          loader: 'js',
        },
        outfile: join(outdir, 'index.js'),
        sourcemap: 'external',
        plugins: [mainChunkPlugin, ...plugins],
        ...extra,
      });
    await indexBuild({});
    const mainBuild = async (extra) =>
      build({
        ...common,
        metafile: true,
        stdin: {
          contents: await exportsOf(parts, fromMain),
          resolveDir: root,
          sourcefile: `main-${name}.js`,
          loader: 'js',
        },
        outfile: join(outdir, 'main.js'),
        sourcemap: 'external',
        plugins: [sharedPlugin(fromIndex, seen), ...plugins],
        ...extra,
      });
    const metas = oneFile ? [] : [await mainBuild({})];
    let lazyMeta;
    if (existsSync(lazy))
      metas.push(
        (lazyMeta = await build({
          ...common,
          metafile: true,
          stdin: { contents: await exportsOf([lazy]), resolveDir: root, sourcefile: `lazy-${name}.js`, loader: 'js' },
          outfile: join(outdir, 'lazy.js'),
          sourcemap: 'external',
          plugins: [sharedPlugin(new Map([...fromIndex, ...fromMain]), seen), ...plugins],
        })),
      );
    if (sdkUsers.size)
      metas.push(
        await build({
          ...common,
          metafile: true,
          entryPoints: [SDK_CHAIN],
          outfile: join(outdir, 'aws-sdk.js'),
          plugins: [sharedPlugin(fromIndex, seen)],
        }),
      );
    if (oneFile) break;
    const bytes = readdirSync(outdir)
      .filter((f) => !f.endsWith('.map'))
      .reduce((n, f) => n + statSync(join(outdir, f)).size, 0);
    if (round > 0 && bytes <= alone) break;
    if (round > 0) continue;
    alone = bytes;
    // What each file kept of each module (esbuild drops the exports nothing calls), from its
    // readable text; what the later files take, and their bytes of each module.
    const indexHas = keptNames((await indexBuild({ minify: false, write: false })).outputFiles);
    const wants = await namesTaken(
      metas.flatMap((m) => filesOf(m.metafile)),
      seen,
    );
    const toIndex = pick(wants, indexHas, bytesOf(metas), './index.js', new Set());
    const plan = [];
    if (lazyMeta && parts.length) {
      const mainHas = keptNames((await mainBuild({ minify: false, write: false, metafile: false })).outputFiles);
      const lazyWants = await namesTaken(filesOf(lazyMeta.metafile), seen);
      const toMain = (skip) => pick(lazyWants, mainHas, bytesOf([lazyMeta]), './main.js', new Set(skip.keys()));
      plan.push([toIndex, toMain(toIndex)], [new Map(), toMain(new Map())]);
    }
    plan.push([toIndex, new Map()]);
    for (const [i, m] of plan)
      if ((i.size || m.size) && !plans.some((p) => same(p.fromIndex, i) && same(p.fromMain, m)))
        plans.push({ fromIndex: i, fromMain: m });
    if (plans.length > 1) plans.push({ fromIndex: new Map(), fromMain: new Map() });
  }
  // The functions the bench's runs call are compiled with the file (scripts/lib/compile-hints.cjs);
  // --maps keeps the bundles as esbuild wrote them, with their source maps, to learn which.
  if (!opts.maps)
    for (const f of readdirSync(outdir).filter((f) => f.endsWith('.js'))) {
      const file = join(outdir, f);
      if (!existsSync(`${file}.map`)) continue; // aws-sdk.js: not hinted
      const { code } = markEager(
        readFileSync(file, 'utf8'),
        readFileSync(`${file}.map`, 'utf8'),
        outdir,
        root,
        hints[f] ?? {},
      );
      writeFileSync(file, code);
      rmSync(`${file}.map`);
    }
  if (require(join(outdir, 'index.js')).step.post)
    writeFileSync(
      join(outdir, 'post.js'),
      `// Generated by scripts/build.mjs: the GitHub post entry of ${name}.\nrequire('./index.js').exec({ post: true });\n`,
    );
  const old = `${outdir}.old`;
  if (existsSync(final)) renameSync(final, old);
  renameSync(outdir, final);
  building.delete(outdir);
  rmSync(old, { recursive: true, force: true });
}
for (const name of steps) {
  // With named steps, others keep their committed bundles (if any).
  if (!existsSync(join(dist, name, 'index.js'))) continue;
  catalog.push({ name, description: require(join(dist, name, 'index.js')).step.description });
}

await build({
  ...common,
  entryPoints: [join(root, 'src/cli.ts')],
  outfile: join(dist, 'cli.js'),
  banner: { js: '#!/usr/bin/env node' },
  define: {
    ...common.define,
    SHIPLINE_CATALOG: JSON.stringify(catalog),
    SHIPLINE_VERSION: JSON.stringify(pkg.version),
  },
});

chmodSync(join(dist, 'cli.js'), 0o755);
const kb = (n, f) => (existsSync(join(dist, n, f)) ? (readFileSync(join(dist, n, f)).length / 1024).toFixed(0) : '-');
const sizes = catalog.map(({ name: n }) => `${n} ${kb(n, 'index.js')}+${kb(n, 'main.js')} KB`);
console.log(`built ${relative(root, dist) || dist} (index.js+main.js): ${sizes.join(', ')}`);
