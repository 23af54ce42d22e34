// Every generated wrapper against the platform's own schema: components/<step>/action.yml
// and the root action.yml with GitHub's parser (@actions/workflow-parser), templates with
// GitLab's CI schema; plus the rules the generator promises (inputs never interpolated into
// shell, entries exist, bundle size budgets of DESIGN §7).
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { repoRoot } from '../support/exec';
import { validateActionYml, validateGitlabTemplate } from '../support/schema';

const steps = fs
  .readdirSync(path.join(repoRoot, 'dist'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const stepDef = (name: string) =>
  (
    require(path.join(repoRoot, 'dist', name, 'index.js')) as {
      step: { post?: unknown; inputs: Record<string, unknown> };
    }
  ).step;
const AWS_STEPS = new Set(['assume-role', 'ecr-login', 'retag']);

test('every step under src/steps is built', () => {
  const src = fs
    .readdirSync(path.join(repoRoot, 'src/steps'))
    .filter((n) => fs.existsSync(path.join(repoRoot, 'src/steps', n, 'index.ts')));
  expect(steps).toEqual(src.sort());
});

describe.each(steps)('%s', (step) => {
  test('action.yml passes GitHub’s schema and points at the bundles', () => {
    const file = path.join(repoRoot, 'components', step, 'action.yml');
    const r = validateActionYml(file);
    expect(r.errors).toEqual([]);
    const action = parseYaml(fs.readFileSync(file, 'utf8')) as { runs: { using: string; main: string; post?: string } };
    expect(action.runs.using).toBe('node24');
    expect(fs.existsSync(path.join(path.dirname(file), action.runs.main))).toBe(true);
    expect(action.runs.post !== undefined).toBe(stepDef(step).post !== undefined);
    if (action.runs.post) expect(fs.existsSync(path.join(path.dirname(file), action.runs.post))).toBe(true);
  });

  test('template passes GitLab’s CI schema with its defaults', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates', `${step}.yml`), 'utf8');
    const r = validateGitlabTemplate(text);
    expect(r.errors).toEqual([]);
  });

  test('template never interpolates an input into shell', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates', `${step}.yml`), 'utf8');
    const body = parseAllDocuments(text)[1]!.toJS() as Record<string, Record<string, unknown>>;
    for (const job of Object.values(body)) {
      for (const key of ['script', 'before_script', 'after_script'] as const) {
        for (const line of (job[key] as string[] | undefined) ?? []) {
          // The one exception: the user's own commands, given as array inputs.
          if (line === '$[[ inputs.script ]]' || line === '$[[ inputs.before-script ]]') continue;
          expect([key, line]).toEqual([key, expect.not.stringContaining('$[[ inputs.')]);
        }
      }
      for (const [name, value] of Object.entries((job.variables as Record<string, string>) ?? {})) {
        if (name.startsWith('SHIPLINE_INPUT_') || /^SHIPLINE_(AWS_|ECR_|AUTH_)/.test(name))
          expect(value).toMatch(/^\$\[\[ inputs\.[a-z0-9-]+ \]\]$/);
      }
    }
  });

  test('template trusts nothing in the checkout and defaults to the job image of its version', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'templates', `${step}.yml`), 'utf8');
    const [head, body] = parseAllDocuments(text).map((d) => d.toJS()) as [
      { spec: { inputs: Record<string, { default?: unknown }> } },
      Record<string, Record<string, unknown>>,
    ];
    const jobImage = 'image' in stepDef(step).inputs ? 'job-image' : 'image';
    expect(head.spec.inputs[jobImage]?.default).toBe('$SHIPLINE_DEFAULT_IMAGE');
    const job = Object.values(body)[0]!;
    expect(job.image).toBe(`$[[ inputs.${jobImage} ]]`);
    const vars = job.variables as Record<string, string>;
    expect(vars.SHIPLINE_DEFAULT_IMAGE).toBe('$CI_REGISTRY/$[[ inputs.shipline-project ]]/job:$[[ component.sha ]]');
    expect(vars.SHIPLINE_RUN_DIR).toBe('/tmp/shipline-$CI_JOB_ID');
    expect(vars).not.toHaveProperty('SHIPLINE_HOME'); // the image's own, or the private dir
    const script = job.script as string[];
    const after = job.after_script as string[];
    // The private directory is made fresh first, removed last; nothing installed at job time.
    expect(script[0]).toMatch(/^mkdir -m 700 "\$SHIPLINE_RUN_DIR" \|\| /);
    expect(after[after.length - 1]).toMatch(/; rm -rf "\$SHIPLINE_RUN_DIR"$/);
    for (const line of [...script, ...after]) {
      expect(line).not.toMatch(/\bapk\b|apt-get|npm i/);
      expect(line).not.toContain('CI_PROJECT_DIR');
      expect(line).not.toContain('.shipline/');
    }
    expect((job.artifacts as { reports: { dotenv: string } }).reports.dotenv).toBe('.shipline/outputs.env');
  });

  test(`bundle within its size budget (${AWS_STEPS.has(step) ? '1 MB with AWS' : '150 KB'})`, () => {
    const size = fs.statSync(path.join(repoRoot, 'dist', step, 'index.js')).size;
    expect(size).toBeLessThanOrEqual(AWS_STEPS.has(step) ? 1024 * 1024 : 150 * 1024);
  });
});

test('root action.yml is build-push (or the first step) and passes the schema', () => {
  const r = validateActionYml(path.join(repoRoot, 'action.yml'));
  expect(r.errors).toEqual([]);
  const action = parseYaml(fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as { runs: { main: string } };
  expect(fs.existsSync(path.join(repoRoot, action.runs.main))).toBe(true);
});
