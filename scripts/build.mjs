// Bundles every src/steps/<step> into dist/<step>/ (index.js, main.js, lazy.js and aws-sdk.js
// where the step has them, post.js when it has a post) and src/cli.ts into dist/cli.js.
// Deterministic: same sources, same bytes.
// Usage: node scripts/build.mjs [step ...] [--readable DIR]
//   --readable DIR: the same bundles unminified into DIR/dist (for `bench/steps.mjs --profile`,
//   whose function names then read as the sources'); the committed dist/ is not touched.
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
} from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { values: opts, positionals: only } = parseArgs({
  options: { readable: { type: 'string' } },
  allowPositionals: true,
});
const dist = opts.readable ? join(resolve(opts.readable), 'dist') : join(root, 'dist');

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
  // `import('./lazy')` becomes `Promise.resolve().then(() => require('./lazy.js'))`: a CJS
  // require, not node's ESM loader, which costs a module-format detection pass over the whole
  // file (dist/<step>/aws-sdk.js is 400 KB) and, on Node 20, ~7 ms to start.
  supported: { 'dynamic-import': false },
  // The AWS SDK's own switch for its "NodeVersionSupportWarning" (a block of lines on stderr on
  // Node < 22 when a client is built): the bundled SDK reads it as set. Nothing else reads it.
  define: { 'process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED': '"true"' },
};

// A step may keep heavy dependencies (the AWS SDK) in src/steps/<step>/lazy.ts, imported as
// `import('./lazy')` only after its inputs validate: that file becomes dist/<step>/lazy.js
// and stays a runtime require of index.js, so a bad input fails without parsing the SDK.
const lazyPlugin = {
  name: 'shipline-lazy',
  setup(b) {
    b.onResolve({ filter: /^\.\/lazy$/ }, () => ({ path: './lazy.js', external: true }));
  },
};

// A step's index.ts holds what runs before its inputs validate (the declaration, the checks);
// its main.ts and post.ts, imported there as `import('./main')` / `import('./post')`, become
// one more file, dist/<step>/main.js, required once the inputs are valid: a bad input then
// compiles only the declaration and the runtime (compiling costs ~50 ns a byte, most of a
// fail-fast run's time over bare node).
const mainChunkPlugin = {
  name: 'shipline-main',
  setup(b) {
    b.onResolve({ filter: /^\.\/(main|post)$/ }, (args) => {
      if (!/\/src\/steps\/[^/]+\/index\.ts$/.test(args.importer)) return undefined;
      if (args.kind !== 'dynamic-import')
        throw new Error(
          `${args.importer}: import ${args.path} lazily, as import('${args.path}'), or it loads before the inputs validate`,
        );
      return { path: './main.js', external: true };
    });
  },
};

/** The names main.ts and post.ts both export: one would shadow the other in dist/<step>/main.js. */
async function sharedExports(files) {
  const r = await build({
    entryPoints: files,
    bundle: false,
    write: false,
    metafile: true,
    format: 'esm',
    outdir: 'x',
    logLevel: 'silent',
  });
  const seen = new Map();
  const shared = [];
  for (const out of Object.values(r.metafile.outputs))
    for (const name of out.exports) {
      if (seen.has(name)) shared.push(name);
      seen.set(name, true);
    }
  return shared;
}

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

const catalog = [];
for (const name of steps) {
  if (only.length && !only.includes(name)) continue;
  // Built beside dist/<step>/ and swapped in whole: a test or job running the step meanwhile
  // never finds half a folder (a removed post.js, a main.js of another build).
  const final = join(dist, name);
  const outdir = join(dist, `.${name}.build-${process.pid}`);
  const sdkUsers = new Set();
  rmSync(outdir, { recursive: true, force: true });
  await build({
    ...common,
    // ESM imports, not require(): esbuild then hoists the step's modules into one scope instead
    // of wrapping each in a lazy initializer that every start calls (a smaller, flatter bundle).
    stdin: {
      contents: [
        `import step from './src/steps/${name}/index.ts';`,
        `import { stepModule } from './src/runtime/entry.ts';`,
        `const mod = stepModule(step);`,
        `module.exports = mod;`,
        `if (require.main === module) mod.exec();`,
      ].join('\n'),
      resolveDir: root,
      sourcefile: `entry-${name}.js`,
      loader: 'js',
    },
    outfile: join(outdir, 'index.js'),
    plugins: [lazyPlugin, mainChunkPlugin, aws4CryptoPlugin, sdkChainPlugin(sdkUsers)],
  });
  const parts = ['main', 'post'].map((f) => join(root, 'src/steps', name, `${f}.ts`)).filter((f) => existsSync(f));
  const shared = await sharedExports(parts);
  if (shared.length) throw new Error(`src/steps/${name}: main.ts and post.ts both export ${shared.join(', ')}`);
  await build({
    ...common,
    stdin: {
      contents: parts.map((f) => `export * from ${JSON.stringify(f)};`).join('\n'),
      resolveDir: root,
      sourcefile: `main-${name}.js`,
      loader: 'js',
    },
    outfile: join(outdir, 'main.js'),
    plugins: [lazyPlugin, aws4CryptoPlugin, sdkChainPlugin(sdkUsers)],
  });
  const lazy = join(root, 'src/steps', name, 'lazy.ts');
  if (existsSync(lazy))
    await build({
      ...common,
      entryPoints: [lazy],
      outfile: join(outdir, 'lazy.js'),
      plugins: [aws4CryptoPlugin, sdkChainPlugin(sdkUsers)],
    });
  if (sdkUsers.size) await build({ ...common, entryPoints: [SDK_CHAIN], outfile: join(outdir, 'aws-sdk.js') });
  if (require(join(outdir, 'index.js')).step.post)
    writeFileSync(
      join(outdir, 'post.js'),
      `// Generated by scripts/build.mjs: the GitHub post entry of ${name}.\nrequire('./index.js').exec({ post: true });\n`,
    );
  const old = `${outdir}.old`;
  if (existsSync(final)) renameSync(final, old);
  renameSync(outdir, final);
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
const kb = (n, f) => (readFileSync(join(dist, n, f)).length / 1024).toFixed(0);
const sizes = catalog.map(({ name: n }) => `${n} ${kb(n, 'index.js')}+${kb(n, 'main.js')} KB`);
console.log(`built ${relative(root, dist) || dist} (index.js+main.js): ${sizes.join(', ')}`);
