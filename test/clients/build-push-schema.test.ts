// build-push's generated wrappers and its examples against the platforms' own schemas:
// action.yml (GitHub's workflow-parser), the GitLab template (GitLab's CI schema, header
// and interpolated body), and the example pipeline (GitLab's CI schema).
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/exec';
import { validateActionYml, validateGitlabCi, validateGitlabTemplate } from '../support/schema';

const read = (rel: string) => fs.readFileSync(path.join(repoRoot, rel), 'utf8');

test('components/build-push/action.yml and the root action.yml are valid actions with the step inputs', () => {
  for (const file of ['components/build-push/action.yml', 'action.yml']) {
    const r = validateActionYml(path.join(repoRoot, file));
    expect(r.errors).toEqual([]);
    const yml = parse(read(file)) as {
      inputs: Record<string, { default?: string }>;
      runs: { using: string; post?: string };
    };
    expect(yml.runs.using).toBe('node24');
    expect(yml.runs.post).toMatch(/build-push\/post\.js$/);
    expect(yml.inputs.push?.default).toBe('true');
    expect(Object.keys(yml.inputs)).toEqual(
      expect.arrayContaining([
        'context',
        'file',
        'target',
        'build-args',
        'images',
        'tags',
        'cache-from',
        'smoke-target',
        'extract',
        'builder',
      ]),
    );
  }
});

test('templates/build-push.yml: header and body valid; inputs reach the job as variables only', () => {
  const text = read('templates/build-push.yml');
  // The helper interpolates text, so an empty default would leave `VAR:` (null); GitLab
  // interpolates into the parsed string. Give empty-default inputs a value.
  const header = parse(text.split('\n---')[0]!) as { spec: { inputs: Record<string, { default?: unknown }> } };
  const values = Object.fromEntries(
    Object.entries(header.spec.inputs)
      .filter(([, d]) => d.default === '')
      .map(([k]) => [k, 'x']),
  );
  const r = validateGitlabTemplate(text, values);
  // spec:component (GitLab 17.x) is newer than the schema gitlab-ci-local 4.73 carries
  expect(r.errors.filter((e) => !/additionalProperty\\?":\\?"component/.test(e))).toEqual([]);
  const body = r.body as Record<string, { script: string[]; variables: Record<string, string>; image: string }>;
  const job = Object.values(body)[0]!;
  // The default image is the shipline job image of the pinned commit, nothing installed at job time.
  expect(job.image).toBe('$SHIPLINE_DEFAULT_IMAGE');
  expect(job.variables.SHIPLINE_DEFAULT_IMAGE).toMatch(/^\$CI_REGISTRY\/shipline\/shipline\/job:[0-9a-f]{40}$/);
  expect(job.variables.SHIPLINE_RUN_DIR).toBe('/tmp/shipline-$CI_JOB_ID');
  expect(job.variables.SHIPLINE_INPUT_IMAGES).toBe('$CI_REGISTRY_IMAGE');
  expect(job.variables.SHIPLINE_INPUT_PASSWORD).toBe('$CI_REGISTRY_PASSWORD');
  // the job's script runs the steps; only the user's own line arrays (before-script, script) are inputs there
  expect(text.split('\n---')[1]).not.toMatch(/script:[\s\S]*\$\[\[ inputs\.(?!(before-)?script\b)/);
});

test('examples/gitlab/build-push.yml is a valid pipeline', () => {
  const r = validateGitlabCi(read('examples/gitlab/build-push.yml'));
  expect(r.errors).toEqual([]);
});

test('examples/github/build-push.yml uses the step with inputs it declares', () => {
  const wf = parse(read('examples/github/build-push.yml')) as {
    jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }>;
  };
  const inputs = Object.keys(
    (parse(read('components/build-push/action.yml')) as { inputs: Record<string, unknown> }).inputs,
  );
  const uses = Object.values(wf.jobs)
    .flatMap((j) => j.steps)
    .filter((s) => s.uses?.includes('/components/build-push@'));
  expect(uses.length).toBe(2);
  for (const s of uses) for (const k of Object.keys(s.with ?? {})) expect(inputs).toContain(k);
});
