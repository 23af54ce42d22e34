#!/usr/bin/env node
/* global fetch, ReadableStream */
// Retag benchmark (DESIGN §7): time to give an image a new tag at several image sizes,
// ours (dist/retag) against `skopeo copy` (same repository) and docker pull+tag+push,
// all in the same run; then a cross-repository copy on a "fresh runner": ours (blob
// mount) against skopeo with an empty blob-info cache (a private tmpfs over its cache dir).
//
//   node bench/retag.mjs [--sizes 10M,200M,2G] [--runs 7] [--copy-runs 3] [--no-docker] [--registry 127.0.0.1:5001] [--out FILE]
//
// Without --registry it starts its own Distribution registry (`docker-registry serve`,
// Debian's docker-registry package) on a free loopback port with storage in a temp dir,
// and stops it and removes the storage at the end: a 2 GB run leaves nothing behind.
// Images are pushed straight to the (open) bench registry as random tar layers plus a
// config and an OCI manifest (no docker build), so a 2 GB image costs only its upload.
// Every command is timed under `env -i PATH HOME` (TESTBED: NODE_EXTRA_CA_CERTS makes a
// plain node start ~2.5x slower). Medians of --runs; docker runs once per size (it pulls).
// CI-time runs: --sizes 1M,20M --runs 3 --copy-runs 1 --no-docker.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { median } from './lib/measure.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const sizes = opt('sizes', '10M,200M,2G').split(',').map(parseSize);
const runs = Number(opt('runs', '7'));
const copyRuns = Number(opt('copy-runs', '3'));
let registry = opt('registry', undefined);
const withDocker = !args.includes('--no-docker');
const outFile = opt('out', undefined);
const bundle = join(root, 'dist/retag/index.js');
if (!existsSync(bundle)) fail(`${bundle} is missing: run node scripts/build.mjs retag`);
const run = randomBytes(3).toString('hex');
const repoBase = `retag-bench-${run}`;
const cleanEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)B?$/i.exec(s.trim());
  if (!m) fail(`bad size '${s}' (use e.g. 10M, 200M, 2G)`);
  return Math.round(Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()]);
}
function fail(msg) {
  console.error(`bench/retag: ${msg}`);
  process.exit(1);
}
const fmtSize = (n) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GB` : `${Math.round(n / 1024 ** 2)} MB`);

/** Wall time of a command under env -i; throws with its output when it fails. */
function timed(cmd, argv, extraEnv = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env: { ...cleanEnv, ...extraEnv }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return ms;
}

// ------------------------------------------------------------------ registry
let ownRegistry;
if (!registry) {
  const port = await new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => res(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'retag-bench-registry-'));
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  ownRegistry = { child, dir };
  registry = `127.0.0.1:${port}`;
  const stop = () => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${registry}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i === 99) fail('the bench registry did not start within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ------------------------------------------------------------------ image generation
const base = `http://${registry}`;

/** One tar layer holding a single file of `size` pseudo-random bytes, streamed and hashed. */
function tarLayer(size, nonce) {
  const header = Buffer.alloc(512);
  const name = `data-${nonce}.bin`;
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(size.toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = (512 - (size % 512)) % 512;
  const total = 512 + size + pad + 1024;
  const chunk = randomBytes(1024 * 1024);
  const hash = createHash('sha256');
  let sent = 0;
  let i = 0;
  const stream = new ReadableStream({
    pull(controller) {
      let piece;
      if (i === 0) piece = header;
      else if (sent < 512 + size) {
        const n = Math.min(chunk.length, 512 + size - sent);
        piece = Buffer.from(chunk.subarray(0, n));
        piece.writeUInt32BE(i, 0); // unique content per chunk and per layer
        piece.write(nonce.slice(0, 8), 4);
      } else if (sent < total) piece = Buffer.alloc(total - sent);
      else {
        controller.close();
        return;
      }
      i++;
      sent += piece.length;
      hash.update(piece);
      controller.enqueue(piece);
    },
  });
  return { stream, total, digest: () => `sha256:${hash.digest('hex')}` };
}

async function uploadStream(repo, stream) {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) fail(`upload start: ${start.status}`);
  const patch = await fetch(new URL(start.headers.get('location'), base), {
    method: 'PATCH',
    body: stream.stream,
    duplex: 'half',
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (patch.status !== 202) fail(`upload PATCH: ${patch.status} ${await patch.text()}`);
  const digest = stream.digest();
  const url = new URL(patch.headers.get('location'), base);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, { method: 'PUT' });
  if (put.status !== 201) fail(`upload PUT: ${put.status} ${await put.text()}`);
  return digest;
}

async function uploadBytes(repo, bytes) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const url = new URL(start.headers.get('location'), base);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) fail(`blob PUT: ${put.status}`);
  return digest;
}

/** An image of `size` bytes in layers of at most 512 MB, tagged `tag`; returns its digest. */
async function pushImage(repo, tag, size) {
  const layerMax = 512 * 1024 ** 2;
  const layers = [];
  for (let left = size, n = 0; left > 0; left -= layerMax, n++) {
    const s = Math.min(left, layerMax);
    const t = tarLayer(s, `${run}${tag}${n}`);
    layers.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: await uploadStream(repo, t),
      size: t.total,
    });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const cfg = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: await uploadBytes(repo, config),
    size: config.length,
  };
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers }),
  );
  const put = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (put.status !== 201) fail(`manifest PUT: ${put.status} ${await put.text()}`);
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}

async function digestAt(repo, tag) {
  const r = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return r.headers.get('docker-content-digest');
}

// ------------------------------------------------------------------ measurements
const ours = (src, dst) => timed(process.execPath, [bundle, '--source', src, ...dst]);
const skopeo = (src, dst) =>
  timed('skopeo', [
    'copy',
    '--quiet',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${src}`,
    `docker://${dst}`,
  ]);
// A fresh runner: skopeo's blob-info cache (which lets it mount known blobs) starts empty.
const skopeoCold = (src, dst) =>
  timed('unshare', [
    '-m',
    'sh',
    '-c',
    'mkdir -p /var/lib/containers/cache && mount -t tmpfs tmpfs /var/lib/containers/cache && exec skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "$0" "$1"',
    `docker://${src}`,
    `docker://${dst}`,
  ]);

function dockerRetag(src, dst) {
  const t =
    timed('docker', ['pull', '-q', src]) + timed('docker', ['tag', src, dst]) + timed('docker', ['push', '-q', dst]);
  spawnSync('docker', ['rmi', '-f', src, dst], { stdio: 'ignore' });
  return t;
}

// The floor for any node implementation: node:http doing exactly the same-repo retag's
// GET (source manifest) + HEAD (new tag) + PUT and nothing else. When this is slower than
// skopeo, "ours <= skopeo" is out of reach for node on this machine, whatever the code.
const FLOOR = `const http = require('node:http'); const [host, port] = process.argv[1].split(':'); const repo = process.argv[2]; const tag = process.argv[3];
const agent = new http.Agent({ keepAlive: true });
const accept = 'application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json';
const req = (method, ref, headers, body) => new Promise((ok, no) => { const r = http.request({ host, port, method, path: '/v2/' + repo + '/manifests/' + ref, headers, agent }, (m) => { const c = []; m.on('data', (d) => c.push(d)); m.on('end', () => ok({ status: m.statusCode, type: m.headers['content-type'], body: Buffer.concat(c) })); }); r.on('error', no); r.end(body); });
(async () => { const g = await req('GET', 'src', { accept }); await req('HEAD', tag, { accept }); const p = await req('PUT', tag, { 'content-type': g.type }, g.body); process.exit(p.status === 201 ? 0 : 1); })();`;

// Push every image first, then time the retags in rounds over all sizes, so load drift on
// a shared machine falls on every size alike (flatness is a comparison across sizes).
const images = [];
for (const size of sizes) {
  const repo = `${repoBase}/img-${fmtSize(size).replace(/\s/g, '').toLowerCase()}`;
  process.stderr.write(`pushing a ${fmtSize(size)} image to ${registry}/${repo} … `);
  const t0 = Date.now();
  const digest = await pushImage(repo, 'src', size);
  process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  images.push({
    size,
    repo,
    digest,
    src: `${registry}/${repo}:src`,
    ours: [],
    skopeo: [],
    oursCopy: [],
    skopeoCopy: [],
  });
}
const bare = [];
const floor = [];
for (let i = 0; i < runs; i++) {
  bare.push(timed(process.execPath, ['-e', '']));
  floor.push(timed(process.execPath, ['-e', FLOOR, registry, images[0].repo, `floor-${i}`]));
  for (const im of images) {
    im.ours.push(ours(im.src, ['--tags', `ours-${i}`]));
    im.skopeo.push(skopeo(im.src, `${registry}/${im.repo}:skopeo-${i}`));
  }
}
const nodeBare = median(bare);
const rows = [];
for (const im of images) {
  for (let i = 0; i < runs; i++)
    if ((await digestAt(im.repo, `ours-${i}`)) !== im.digest) fail(`ours-${i} does not hold ${im.digest}`);
  process.stderr.write(`${fmtSize(im.size)}: docker pull+tag+push, cross-repository copies …\n`);
  const d = withDocker ? dockerRetag(im.src, `${registry}/${im.repo}:docker-0`) : undefined;
  // cross-repository copy on a fresh runner
  for (let i = 0; i < copyRuns; i++) {
    im.oursCopy.push(ours(im.src, ['--destinations', `${registry}/${repoBase}/copy-ours-${i}-${im.size}:v1`]));
    im.skopeoCopy.push(skopeoCold(im.src, `${registry}/${repoBase}/copy-skopeo-${i}-${im.size}:v1`));
  }
  if ((await digestAt(`${repoBase}/copy-ours-0-${im.size}`, 'v1')) !== im.digest)
    fail('the cross-repository copy changed the digest');
  rows.push({
    size: im.size,
    ours: median(im.ours),
    oursMin: Math.min(...im.ours),
    skopeo: median(im.skopeo),
    skopeoMin: Math.min(...im.skopeo),
    docker: d,
    oursCopy: median(im.oursCopy),
    skopeoCopy: median(im.skopeoCopy),
  });
}

const ms = (x) => (x === undefined ? '—' : `${x.toFixed(0)} ms`);
const lines = [
  `# bench/retag.mjs — ${new Date().toISOString()}`,
  `registry ${registry}; medians of ${runs} runs in rounds over all sizes (min in brackets), cross-repo ${copyRuns} runs, docker 1; node -e '' = ${ms(nodeBare)}; all under env -i PATH HOME`,
  '',
  '| image | ours retag | skopeo copy (same repo) | ours / skopeo | docker pull+tag+push | ours / docker | cross-repo: ours (mount) | skopeo, empty cache | ours / skopeo |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${fmtSize(r.size)} | ${ms(r.ours)} (${ms(r.oursMin)}) | ${ms(r.skopeo)} (${ms(r.skopeoMin)}) | ${(r.ours / r.skopeo).toFixed(2)} | ${ms(r.docker)} | ${r.docker ? (r.ours / r.docker).toFixed(3) : '—'} | ${ms(r.oursCopy)} | ${ms(r.skopeoCopy)} | ${(r.oursCopy / r.skopeoCopy).toFixed(2)} |`,
  ),
  '',
  `ours, largest / smallest image: ${(rows.at(-1).ours / rows[0].ours).toFixed(2)} (flat ≈ 1); ours overhead over bare node: ${(rows[0].ours / nodeBare).toFixed(2)}x`,
  `node floor (node:http, the same GET + HEAD + PUT, nothing else): ${ms(median(floor))} = ${(median(floor) / rows[0].skopeo).toFixed(2)}x skopeo (${fmtSize(rows[0].size)}); ours / floor ${(rows[0].ours / median(floor)).toFixed(2)}`,
  `ours minus a bare node start, over skopeo: ${rows.map((r) => `${fmtSize(r.size)} ${((r.ours - nodeBare) / r.skopeo).toFixed(2)}`).join(', ')} (node's own start is the rest)`,
];
console.log(lines.join('\n'));
if (outFile) writeFileSync(outFile, lines.join('\n') + '\n');
if (!ownRegistry) console.error(`(bench images left in ${registry}/${repoBase}/*)`);
process.exit(0); // stops our registry (exit handler)
