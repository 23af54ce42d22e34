// What signing costs a start: the SHA-256 and HMAC-SHA256 chain of one SigV4 signature (five
// HMACs and two hashes), computed with node:crypto and with src/lib/util/sha256.ts (what aws4
// uses in the bundles), each bundled alone by esbuild and run as a whole process, interleaved
// against an empty script, on this node and on Node 24 ($TB_NODE24, or --node24 BIN).
// Usage: node bench/sha256.mjs [--runs 40] [--node24 BIN]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compareCases } from './lib/measure.mjs';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    node24: { type: 'string', default: process.env.TB_NODE24 ?? '' },
  },
});
const work = mkdtempSync(join(tmpdir(), 'shipline-bench-sha256-'));

// The signature's chain as aws4 computes it; the digest is printed so both must agree.
const chain = (imports) => `${imports}
let k = H('AWS4' + 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20261201');
for (const s of ['eu-west-1', 'sts', 'aws4_request']) k = H(k, s);
const body = D('Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fci');
const canonical = D('POST\\n/\\n\\ncontent-type:application/x-www-form-urlencoded\\nhost:sts.eu-west-1.amazonaws.com\\n' + 'x'.repeat(400) + body);
require('node:fs').writeSync(1, Buffer.from(H(k, 'AWS4-HMAC-SHA256\\n20261201T120000Z\\n' + canonical)).toString('hex') + '\\n');`;
const variants = {
  'node:crypto': `import { createHash, createHmac } from 'node:crypto';
const H = (key, s) => createHmac('sha256', key).update(s).digest(); const D = (s) => createHash('sha256').update(s).digest('hex');`,
  'src/lib/util/sha256.ts': `import { createHash, createHmac } from './src/lib/util/sha256.ts';
const H = (key, s) => createHmac('sha256', key).update(s).digest(); const D = (s) => createHash('sha256').update(s).digest('hex');`,
};
const files = {};
for (const [name, imports] of Object.entries(variants)) {
  files[name] = join(work, `${name.replace(/\W+/g, '-')}.js`);
  await build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    minify: true,
    logLevel: 'warning',
    outfile: files[name],
    stdin: { contents: chain(imports), resolveDir: root, loader: 'ts' },
  });
}
const empty = join(work, 'empty.js');
writeFileSync(empty, '');

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const nodes = [process.execPath, ...(values.node24 && existsSync(values.node24) ? [values.node24] : [])];
for (const node of nodes) {
  const digests = Object.values(files).map((f) => spawnSync(node, [f], { encoding: 'utf8' }).stdout.trim());
  if (new Set(digests).size !== 1) throw new Error(`the variants disagree: ${digests.join(' ')}`);
  compareCases(
    [
      { name: 'empty script', args: [empty], env, code: 0 },
      ...Object.entries(files).map(([name, f]) => ({ name: `SigV4 hashes, ${name}`, args: [f], env, code: 0 })),
    ],
    { runs: Number(values.runs), node, note: ', env -i; ratios to the empty script' },
  );
}
rmSync(work, { recursive: true, force: true });
