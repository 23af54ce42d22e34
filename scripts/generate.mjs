// Writes every wrapper from the step declarations in dist/<step>/index.js:
//   components/<step>/action.yml   GitHub action (node24, main/post in dist/)
//   templates/<step>.yml           GitLab CI/CD component (spec:inputs + one job)
//   README.md                      the generated step reference between markers
// `--check` exits 1 listing files that differ from what would be written.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const check = process.argv.includes('--check');
const HEADER = '# Generated from src/steps/%s/index.ts by `npm run generate`: do not edit.\n';

const yaml = (obj) => stringify(obj, { lineWidth: 0, singleQuote: false, aliasDuplicateObjects: false });

function loadModules() {
  return readdirSync(join(root, 'dist'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'dist', d.name, 'index.js')))
    .map((d) => d.name)
    .sort()
    .map((name) => require(join(root, 'dist', name, 'index.js')));
}
const modules = loadModules();
// The runtime's own naming rule, so templates and the CLI agree on SHIPLINE_INPUT_<NAME>.
const envName = (n) => modules[0].envName(n);
const loadSteps = () => modules.map((m) => m.step);

function githubAction(step, dir = '../../dist') {
  const inputs = {};
  for (const [name, spec] of Object.entries(step.inputs)) {
    const i = { description: spec.description, required: spec.required === true };
    const def = spec.githubDefault ?? (spec.default !== undefined ? String(spec.default) : undefined);
    if (def !== undefined) i.default = def;
    inputs[name] = i;
  }
  const outputs = {};
  for (const [name, out] of Object.entries(step.outputs)) outputs[name] = { description: out.description };
  const runs = { using: 'node24', main: `${dir}/${step.name}/index.js` };
  if (step.post) Object.assign(runs, { post: `${dir}/${step.name}/post.js`, 'post-if': 'always()' });
  return (
    HEADER.replace('%s', step.name) +
    yaml({
      name: `shipline ${step.name}`,
      description: step.description,
      author: 'shipline',
      inputs,
      outputs,
      runs,
      branding: { icon: 'package', color: 'blue' },
    })
  );
}

// The one piece of shell a template carries: get the pinned dist/ of this component
// project at component.sha (unless SHIPLINE_HOME already holds it, e.g. a local run or
// a tool image), with the job token supplied by a credential helper that reads it from
// the environment, so it is never in argv or the log.
const FETCH =
  '[ -f "$SHIPLINE_HOME/dist/$SHIPLINE_STEP/index.js" ] || ( export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper ' +
  'GIT_CONFIG_VALUE_0=\'!f() { echo username=gitlab-ci-token; echo "password=$CI_JOB_TOKEN"; }; f\' && ' +
  'git init -q "$SHIPLINE_HOME" && cd "$SHIPLINE_HOME" && ' +
  'git fetch -q --depth 1 --filter=blob:none "$CI_SERVER_URL/$SHIPLINE_PROJECT.git" "$SHIPLINE_REF" && ' +
  'git checkout -q FETCH_HEAD -- "dist/$SHIPLINE_STEP" )';

// Docker-CLI images (docker:27-cli, the default of docker steps) are Alpine without node:
// add node and git there; any other image must bring them.
const NODE =
  'command -v node >/dev/null 2>&1 && command -v git >/dev/null 2>&1 || { command -v apk >/dev/null 2>&1 && apk add -q --no-cache nodejs git; } || ' +
  '{ echo "shipline: the job image needs node >= 20 and git (set the image input)" >&2; exit 1; }';

function gitlabTemplate(step) {
  const hints = step.gitlab ?? {};
  // A step whose own input is `image` (run-in-container) gets the job image as `job-image`.
  const jobImage = step.inputs.image ? 'job-image' : 'image';
  const inputs = {
    'job-name': {
      description: 'Name of the job this component adds (two includes need two names).',
      default: step.name,
    },
    stage: { description: 'Stage of the job.', default: hints.stage ?? 'build' },
    [jobImage]: {
      description:
        'Job image: needs node >= 20 and git (an Alpine image without them gets them with apk)' +
        (hints.needsDocker ? ', and the docker CLI' : '') +
        '.',
      default: hints.image ?? 'node:24',
    },
    'shipline-project': {
      description:
        'Path of the shipline component project on this instance, where the job fetches the pinned dist/ from.',
      default: 'shipline/shipline',
    },
    ...(hints.extraInputs ?? {}),
  };
  const variables = {
    SHIPLINE_STEP: step.name,
    SHIPLINE_REF: '$[[ component.sha ]]',
    SHIPLINE_PROJECT: '$[[ inputs.shipline-project ]]',
    SHIPLINE_HOME: '$CI_PROJECT_DIR/.shipline/code',
  };
  for (const [name, spec] of Object.entries(step.inputs)) {
    const i = { description: spec.description };
    const type = spec.type ?? 'string';
    if (type === 'boolean') {
      i.type = 'boolean';
      i.default = spec.default ?? false;
    } else if (type === 'number' && spec.default !== undefined) {
      i.type = 'number';
      i.default = spec.default;
    } else {
      i.default = spec.gitlabDefault ?? (spec.default !== undefined ? String(spec.default) : '');
      if (spec.options && !spec.options.includes('')) i.options = [...spec.options];
    }
    inputs[name] = i;
    // Inputs reach the job as variables, never as text inside script.
    variables[`SHIPLINE_INPUT_${envName(name)}`] = `$[[ inputs.${name} ]]`;
  }
  const call = `node "$SHIPLINE_HOME/dist/${step.name}/index.js"`;
  const script = [NODE, FETCH, call];
  if (hints.sourceEnv) script.push('. "${SHIPLINE_ENV_FILE:-.shipline/env}"');
  if (hints.userScript) script.push('$[[ inputs.script ]]');
  const job = {
    stage: '$[[ inputs.stage ]]',
    image: `$[[ inputs.${jobImage} ]]`,
    variables,
    script,
    after_script: [`[ ! -f "$SHIPLINE_HOME/dist/${step.name}/index.js" ] || ${call} --post`],
    artifacts: { reports: { dotenv: '.shipline/outputs.env' }, ...(hints.artifacts ? { paths: hints.artifacts } : {}) },
  };
  if (hints.rules) job.rules = hints.rules;
  if (hints.userScript)
    inputs.script = { type: 'array', description: 'Commands to run in the same job after the step.', default: [] };
  return (
    HEADER.replace('%s', step.name) +
    yaml({ spec: { component: ['name', 'sha', 'version'], inputs } }) +
    '---\n' +
    yaml({ '$[[ inputs.job-name ]]': job })
  );
}

const mdEscape = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function readmeSection(step) {
  const lines = [`### \`${step.name}\``, '', step.description + '.', ''];
  const doc = join(root, 'src/steps', step.name, 'README.md');
  if (existsSync(doc)) lines.push(readFileSync(doc, 'utf8').trim(), '');
  lines.push('| input | type | default | description |', '|---|---|---|---|');
  for (const [name, spec] of Object.entries(step.inputs)) {
    const type = (spec.type ?? 'string') + (spec.required ? ', required' : '') + (spec.secret ? ', secret' : '');
    const def =
      spec.default !== undefined && spec.default !== ''
        ? `\`${spec.default}\``
        : (spec.defaultDoc ?? (spec.gitlabDefault ? `GitLab: \`${spec.gitlabDefault}\`` : ''));
    const opts = spec.options ? ` One of: ${spec.options.map((o) => `\`${o}\``).join(', ')}.` : '';
    lines.push(`| \`${name}\` | ${type} | ${mdEscape(def)} | ${mdEscape(spec.description + opts)} |`);
  }
  if (step.exports && Object.keys(step.exports).length) {
    lines.push('', '| exported variable | when / what |', '|---|---|');
    for (const [name, what] of Object.entries(step.exports)) lines.push(`| \`${name}\` | ${mdEscape(what)} |`);
  }
  lines.push('', '| output | description |', '|---|---|');
  for (const [name, out] of Object.entries(step.outputs))
    lines.push(`| \`${name}\` | ${mdEscape(out.description)}${out.secret ? ' (secret)' : ''} |`);
  lines.push('');
  return lines.join('\n');
}

const files = new Map();
const steps = loadSteps();
for (const step of steps) {
  files.set(`components/${step.name}/action.yml`, githubAction(step));
  files.set(`templates/${step.name}.yml`, gitlabTemplate(step));
}
// The root action: build-push when it exists, else the first step.
const rootStep = steps.find((s) => s.name === 'build-push') ?? steps[0];
if (rootStep) files.set('action.yml', githubAction(rootStep, './dist'));

const readmePath = join(root, 'README.md');
if (existsSync(readmePath)) {
  const readme = readFileSync(readmePath, 'utf8');
  const start = '<!-- steps:start (generated by npm run generate) -->';
  const end = '<!-- steps:end -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a >= 0 && b > a) {
    files.set(
      'README.md',
      readme.slice(0, a + start.length) + '\n\n' + steps.map(readmeSection).join('\n') + '\n' + readme.slice(b),
    );
  }
}

const stale = [];
for (const [rel, text] of files) {
  const path = join(root, rel);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === text) continue;
  stale.push(rel);
  if (!check) {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
}
if (check && stale.length) {
  console.error(`generated files differ from the declarations (run npm run generate):\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
console.log(check ? 'generated files are up to date' : `generated ${files.size} files (${stale.length} changed)`);
