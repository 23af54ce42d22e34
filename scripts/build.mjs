// Bundles every src/steps/<step> into dist/<step>/index.js (+ post.js when the step has
// a post) and src/cli.ts into dist/cli.js. Deterministic: same sources, same bytes.
import { build } from 'esbuild';
import { chmodSync, readdirSync, rmSync, writeFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const only = process.argv.slice(2);

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
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

export function stepNames() {
  return readdirSync(join(root, 'src/steps'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'src/steps', d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

const steps = stepNames();
mkdirSync(join(root, 'dist'), { recursive: true });
// A full build drops bundles of steps that no longer exist; each step's own folder is
// replaced only when its bundle is built, so a failing build leaves the others in place.
if (only.length === 0) {
  for (const d of readdirSync(join(root, 'dist'), { withFileTypes: true })) {
    if (d.isDirectory() && !steps.includes(d.name))
      rmSync(join(root, 'dist', d.name), { recursive: true, force: true });
  }
}

const catalog = [];
for (const name of steps) {
  if (only.length && !only.includes(name)) continue;
  const outdir = join(root, 'dist', name);
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
    plugins: [lazyPlugin, sdkChainPlugin(sdkUsers)],
  });
  const lazy = join(root, 'src/steps', name, 'lazy.ts');
  if (existsSync(lazy))
    await build({
      ...common,
      entryPoints: [lazy],
      outfile: join(outdir, 'lazy.js'),
      plugins: [sdkChainPlugin(sdkUsers)],
    });
  if (sdkUsers.size) await build({ ...common, entryPoints: [SDK_CHAIN], outfile: join(outdir, 'aws-sdk.js') });
}
for (const name of steps) {
  // With named steps, others keep their committed bundles (if any).
  if (!existsSync(join(root, 'dist', name, 'index.js'))) continue;
  const mod = require(join(root, 'dist', name, 'index.js'));
  catalog.push({ name, description: mod.step.description });
  const postFile = join(root, 'dist', name, 'post.js');
  if (mod.step.post) {
    writeFileSync(
      postFile,
      `// Generated by scripts/build.mjs: the GitHub post entry of ${name}.\nrequire('./index.js').exec({ post: true });\n`,
    );
  } else rmSync(postFile, { force: true });
}

await build({
  ...common,
  entryPoints: [join(root, 'src/cli.ts')],
  outfile: join(root, 'dist/cli.js'),
  banner: { js: '#!/usr/bin/env node' },
  define: {
    ...common.define,
    SHIPLINE_CATALOG: JSON.stringify(catalog),
    SHIPLINE_VERSION: JSON.stringify(pkg.version),
  },
});

chmodSync(join(root, 'dist/cli.js'), 0o755);
const sizes = catalog
  .map(({ name: n }) => n)
  .map((n) => `${n} ${(readFileSync(join(root, 'dist', n, 'index.js')).length / 1024).toFixed(0)} KB`);
console.log(`built dist/: ${sizes.join(', ')}`);
