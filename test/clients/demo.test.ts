// `npm run demo -- --quick` end to end on the bench: seed pipeline A under gitlab-ci-local
// (merge request + the manual stop of its review environment) and the reuse measurement
// with K=1 on both engines. Exit 0, the job table and the measured table printed, the
// Markdown and SVG written (the SVG well-formed), and nothing left behind: no container,
// image, fresh engine, temp dir or registry tag of the run, no job run dir or credential.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLValidator } from 'fast-xml-parser'; // a dependency of the AWS SDK (devDependencies)
import { repoRoot, run, type RunResult } from '../support/exec';
import { describeBench } from '../support/testbed';
import { danglingImages, danglingImagesOf, jobTracer, leftoversOf, type JobTracer } from '../support/seeds';

jest.setTimeout(1_500_000);

describeBench(
  ['dockerd', 'registry-open', 'registry-basic', 'sts', 'ecr', 'oidc', 'oidc-key'],
  'npm run demo -- --quick',
  (bench) => {
    const id = `dq${crypto.randomBytes(4).toString('hex')}`;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-demo-test-'));
    let r: RunResult;
    let tracer: JobTracer;
    let dangling = new Set<string>();

    beforeAll(async () => {
      tracer = jobTracer();
      dangling = await danglingImages();
      r = await run('bash', [path.join(repoRoot, 'scripts/demo'), '--quick', '--out', out], {
        env: tracer.env({ ...process.env, SHIPLINE_DEMO_ID: id }),
        timeoutMs: 1_200_000,
      });
    });
    afterAll(() => {
      tracer?.cleanup();
      fs.rmSync(out, { recursive: true, force: true });
    });

    const status = () =>
      `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stdout.slice(-5000)}\n${r.stderr.slice(-5000)}`;

    test('exits 0 with progress for every part', () => {
      expect(status()).toMatch(/^exit 0\n/);
      for (const part of [
        'scripts/testbed up',
        'scripts/job-image base',
        'pipeline A under gitlab-ci-local',
        'node bench/reuse.mjs --k 1',
      ])
        expect(r.stderr).toContain(part);
      expect(r.stderr).toMatch(/== pipeline: merge request !42 \(commit [0-9a-f]{8}\)/);
      expect(r.stderr).toMatch(/build-app: finished in/);
      expect(r.stderr).toMatch(/\[reuse\] fresh run 1 job 1\/1: reinstall/);
    });

    test('prints the job table: pipeline, job, result, tags, digest, seconds', () => {
      const lines = r.stdout.split('\n');
      const head = lines.findIndex((l) => /^pipeline\s+job\s+result\s+tags\s+digest\s+seconds$/.test(l));
      expect(head).toBeGreaterThanOrEqual(0);
      const rows = lines.slice(
        head + 2,
        lines.findIndex((l, i) => i > head && l.trim() === ''),
      );
      const row = (job: string) => rows.find((l) => new RegExp(`\\s${job}\\s`).test(` ${l} `)) ?? '';
      expect(row('build-app')).toMatch(/^merge request !42\s+build-app\s+pass\s+app: MR-42\s+[0-9a-f]{12}\s+[\d.]+$/);
      expect(row('build-tools')).toMatch(/build-tools\s+pass\s+tools: MR-42\s+[0-9a-f]{12}\s+[\d.]+$/);
      expect(row('test')).toMatch(/test\s+pass\s+ran app@digest\s+[0-9a-f]{12}/);
      expect(row('deploy-review')).toMatch(/deploy-review\s+pass\s+ran tools@digest\s+[0-9a-f]{12}/);
      expect(row('stop-review')).toMatch(
        /^stop review\/42 \(manual\)\s+stop-review\s+pass\s+MR-42 removed \(app, tools\)/,
      );
      // test ran exactly the image build-app pushed
      const digest = (l: string) => /\s([0-9a-f]{12})\s/.exec(l)?.[1];
      expect(digest(row('test'))).toBe(digest(row('build-app')));
      expect(digest(row('deploy-review'))).toBe(digest(row('build-tools')));
    });

    test('prints the measured answer and writes it as Markdown and a well-formed SVG', () => {
      const md = fs.readFileSync(path.join(out, 'reuse.md'), 'utf8');
      expect(r.stdout).toContain(md);
      expect(md).toContain(
        '| engine | way | once per pipeline | one job (median) | 1 job | pipeline total | reuse / reinstall |',
      );
      expect(md).toMatch(
        /\| warm engine \(base image cached\) \| reuse: .* \| \*\*[\d.]+×\*\* \(jobs only [\d.]+×\) \|/,
      );
      expect(md).toMatch(/\| fresh engine per job \(nothing cached\) \| reinstall: .* \| 1 \(baseline\) \|/);
      const svg = fs.readFileSync(path.join(out, 'reuse.svg'), 'utf8');
      expect(XMLValidator.validate(svg)).toBe(true);
      expect(svg).toContain('>warm engine (base image cached)</text>');
      expect(svg).toContain('>fresh engine per job (nothing cached)</text>');
      expect(svg.match(/<rect [^>]*height="22"/g)!.length).toBeGreaterThanOrEqual(8);
      // the committed figures are not touched by the quick mode
      expect(r.stderr).not.toContain('docs/reuse.svg');
    });

    test('no secret of the bench in its output', () => {
      for (const secret of [bench.TB_ECR_PASSWORD, bench.TB_REGISTRY_BASIC_PASSWORD, bench.TB_AWS_SECRET_ACCESS_KEY]) {
        expect(secret.length).toBeGreaterThan(8);
        expect(r.stdout + r.stderr).not.toContain(secret);
      }
    });

    test('leaves nothing behind', async () => {
      // the pipeline's jobs: containers, /tmp/shipline-<job id>, credentials in their docker configs
      const jobs = tracer.jobs();
      expect([...jobs.keys()].sort()).toEqual(['build-app', 'build-tools', 'deploy-review', 'stop-review', 'test']);
      expect(await leftoversOf(jobs.values())).toEqual({ containers: [], runDirs: [], credentials: [] });
      const commits = /commits ((?:[0-9a-f]{40} ?)+)/.exec(r.stderr)?.[1]?.trim().split(' ') ?? [];
      expect(commits).toHaveLength(2);
      expect(await danglingImagesOf(dangling, commits)).toEqual([]);
      // the demo's and the measurement's own: containers, images, engines, temp dirs
      const ps = await run('docker', ['ps', '-a', '--format', '{{.Names}}']);
      expect(ps.stdout.split('\n').filter((n) => n.includes(id))).toEqual([]);
      const images = await run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
      expect(images.stdout.split('\n').filter((n) => n.includes(id))).toEqual([]);
      for (const commit of commits) {
        const labelled = await run('docker', [
          'image',
          'ls',
          '-q',
          '--filter',
          `label=org.opencontainers.image.revision=${commit}`,
        ]);
        expect(labelled.stdout.trim()).toBe('');
      }
      expect(fs.readdirSync(os.tmpdir()).filter((n) => n.includes(id))).toEqual([]);
      const engines = fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
          } catch {
            return '';
          }
        })
        .filter((c) => c.includes(`shipline-reuse-${id}`));
      expect(engines).toEqual([]);
      // registry: no tag left in the run's repositories
      const basic = `Basic ${Buffer.from(`${bench.TB_REGISTRY_BASIC_USER}:${bench.TB_REGISTRY_BASIC_PASSWORD}`).toString('base64')}`;
      const tags = async (registry: string, repo: string, auth?: string) => {
        const res = await fetch(
          `http://${registry}/v2/${repo}/tags/list`,
          auth ? { headers: { Authorization: auth } } : {},
        );
        if (res.status === 404) return [];
        expect(res.status).toBe(200);
        return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
      };
      expect(await tags(bench.TB_ECR_REGISTRY, `demo/seed-a-${id}/app`, basic)).toEqual([]);
      expect(await tags(bench.TB_ECR_REGISTRY, `demo/seed-a-${id}/tools`, basic)).toEqual([]);
      expect(await tags(bench.TB_REGISTRY_OPEN, `shipline-reuse-${id}/debian`)).toEqual([]);
      expect(await tags(bench.TB_REGISTRY_OPEN, `shipline-reuse-${id}/app`)).toEqual([]);
    });
  },
);
