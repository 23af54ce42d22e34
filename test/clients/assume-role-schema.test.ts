// The generated wrappers of assume-role and ecr-login against their platforms' own schemas
// (GitHub's action schema via @actions/workflow-parser; GitLab's CI schema), plus the rules
// the generator must keep: post with post-if always(), inputs only as job variables, the
// env file sourced and removed, secrets never given defaults.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/exec';
import { validateActionYml, validateGitlabTemplate } from '../support/schema';

describe.each(['assume-role', 'ecr-login'])('%s wrappers', (step) => {
  const actionFile = path.join(repoRoot, 'components', step, 'action.yml');
  const templateText = fs.readFileSync(path.join(repoRoot, 'templates', `${step}.yml`), 'utf8');

  test("action.yml passes GitHub's schema and runs main + post on node24", () => {
    const r = validateActionYml(actionFile);
    expect(r.errors).toEqual([]);
    const yml = parse(fs.readFileSync(actionFile, 'utf8')) as { runs: Record<string, string> };
    expect(yml.runs).toEqual({
      using: 'node24',
      main: `../../dist/${step}/index.js`,
      post: `../../dist/${step}/post.js`,
      'post-if': 'always()',
    });
    // the bundles next to index.js that the action's checkout must carry
    expect(fs.existsSync(path.join(repoRoot, 'dist', step, 'main.js'))).toBe(true);
  });

  test("GitLab template passes GitLab's schema; inputs reach the job as variables only", () => {
    // The helper interpolates text: an empty default would leave `VAR:` (null) where GitLab
    // keeps an empty string, so empty-default inputs get a value.
    const header = parse(templateText.split('\n---')[0]!) as {
      spec: { inputs: Record<string, { default?: unknown }> };
    };
    const values = Object.fromEntries(
      Object.entries(header.spec.inputs)
        .filter(([, d]) => d.default === '')
        .map(([k]) => [k, 'x']),
    );
    const r = validateGitlabTemplate(templateText, { ...values, script: ['echo hi'] });
    // spec:component (GitLab 17.x) is newer than the schema gitlab-ci-local 4.73 carries
    expect(r.errors.filter((e) => !/additionalProperty\\?":\\?"component/.test(e))).toEqual([]);
    const body = templateText.slice(templateText.indexOf('\n---') + 4);
    const job = Object.values(parse(body) as Record<string, { script: string[]; after_script: string[] }>)[0]!;
    expect(job.script.filter((l) => l.includes('$[[ inputs.') && l !== '$[[ inputs.script ]]')).toEqual([]);
    expect(job.after_script.join('\n')).toContain(`dist/${step}/index.js" --post`);
    // The env file lives in the job's private directory (never the checkout), which the
    // first line creates fresh and after_script removes.
    expect(job.script[0]).toMatch(/^mkdir -m 700 "\$SHIPLINE_RUN_DIR" \|\|/);
    expect(job.after_script.join('\n')).toMatch(/rm -rf "\$SHIPLINE_RUN_DIR"$/);
    if (step === 'assume-role')
      expect(job.script).toContain(
        '[ ! -f "${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}" ] || . "${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}"',
      );
    expect(job.script.join('\n')).not.toContain('.shipline/env');
  });
});
