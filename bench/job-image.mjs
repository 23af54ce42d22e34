// The shipline job image: its size, and a step's cold start inside it as a ratio to bare
// `node -e ''` in the same image. All cases run interleaved inside ONE container (a node
// driver spawning each case in turn), so container start-up is excluded and machine noise
// hits every case alike. The children get only PATH and HOME (the image sets no
// NODE_EXTRA_CA_CERTS; this keeps it so). Build the image first: bash scripts/job-image build
// Usage: node bench/job-image.mjs [--image local/shipline:dev] [--runs 30]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { image: { type: 'string', default: 'local/shipline:dev' }, runs: { type: 'string', default: '30' } },
});
const { image } = values;
const runs = Number(values.runs);

const docker = (args, opts = {}) => {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 600_000, ...opts });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status}: ${r.stderr || r.error}`);
  return r.stdout;
};

const info = JSON.parse(docker(['image', 'inspect', '--format', '{{json .}}', image]));
const layers = docker(['history', '--no-trunc', '--format', '{{.Size}}\t{{.CreatedBy}}', image])
  .trim()
  .split('\n')
  .map((l) => l.split('\t'))
  .filter(([size]) => size !== '0B');

const SHA = '0123456789abcdef0123456789abcdef01234567';
const gitlab = {
  GITLAB_CI: 'true',
  CI_PROJECT_DIR: '/tmp/job',
  CI_COMMIT_SHA: SHA,
  CI_COMMIT_BRANCH: 'main',
  CI_DEFAULT_BRANCH: 'main',
  CI_PIPELINE_SOURCE: 'push',
};
const cases = [
  { name: "node -e ''", args: ['-e', ''], code: 0 },
  {
    name: 'image-tags fail-fast (--latest maybe)',
    args: ['/opt/shipline/dist/image-tags/index.js', '--latest', 'maybe'],
    code: 2,
  },
  {
    name: 'shipline image-tags fail-fast (cli.js)',
    args: ['/opt/shipline/dist/cli.js', 'image-tags', '--latest', 'maybe'],
    code: 2,
  },
  {
    name: 'image-tags happy path (GitLab main)',
    args: ['/opt/shipline/dist/image-tags/index.js', '--images', 'registry.example.com/app'],
    code: 0,
    env: gitlab,
  },
];

// The driver runs inside the container: interleaved runs, medians in ms as JSON.
const driver = `
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const cases = JSON.parse(process.argv[1]); const runs = Number(process.argv[2]);
fs.mkdirSync('/tmp/job', { recursive: true });
const samples = cases.map(() => []);
const base = { PATH: process.env.PATH, HOME: '/root' };
for (let i = 0; i < runs + 2; i++) cases.forEach((c, j) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, c.args, { env: { ...base, ...(c.env || {}) }, cwd: '/tmp/job', stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== c.code) { console.error(c.name + ': exit ' + r.status + ', wanted ' + c.code + ': ' + r.stderr); process.exit(1); }
  if (i >= 2) samples[j].push(ms); // two warm-up rounds (page cache)
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({ node: process.version, medians: samples.map(median) }));
`;
const out = docker([
  'run',
  '--rm',
  '--network',
  'none',
  '--entrypoint',
  'node',
  image,
  '-e',
  driver,
  JSON.stringify(cases),
  String(runs),
]);
const { node, medians } = JSON.parse(out.trim().split('\n').pop());

console.log(`image ${image}: ${(info.Size / 1e6).toFixed(1)} MB (${info.Size} bytes), limit 500 MB`);
for (const [size, by] of layers)
  console.log(
    `  ${size.padStart(8)}  ${(by || '(base image)')
      .replace(/^\/bin\/sh -c (#\(nop\) )?/, '')
      .replace(/(dir|file):[0-9a-f]{64} /, '')
      .replace(/\s+/g, ' ')
      .slice(0, 90)}`,
  );
console.log(
  `cold start inside one container of the image: node ${node}, ${runs} runs each, interleaved, median, ratio to the first row`,
);
const width = Math.max(...cases.map((c) => c.name.length)) + 2;
cases.forEach((c, j) =>
  console.log(
    `${c.name.padEnd(width)} ${medians[j].toFixed(1).padStart(7)} ms  ${(medians[j] / medians[0]).toFixed(2)}x`,
  ),
);
