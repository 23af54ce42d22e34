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

/**
 * The anchors' names every wrapper also declares: aliases (same input), negated aliases
 * (booleans meaning the opposite) and refused anchor inputs, each with no default, so a
 * workflow written for the anchor passes unchanged and the runtime decides (aliases.ts).
 */
function anchorInputs(step) {
  const out = [];
  for (const [name, spec] of Object.entries(step.inputs)) {
    const also = [...(spec.aliases ?? []), ...(spec.negatedAliases ?? [])];
    if (also.length && (spec.githubDefault || spec.gitlabDefault)) {
      throw new Error(`${step.name}: input ${name} has aliases and a platform default; give it a plain default`);
    }
    for (const a of spec.aliases ?? []) out.push([a, `Same as \`${name}\` (the anchor action's name for it).`]);
    for (const a of spec.negatedAliases ?? []) out.push([a, `The opposite of \`${name}\` (the anchor action's name).`]);
  }
  for (const [name, u] of Object.entries(step.unsupported ?? {}))
    out.push([name, `Not supported by shipline: ${u.why}`]);
  return out;
}

function githubAction(step, dir = '../../dist') {
  const inputs = {};
  for (const [name, spec] of Object.entries(step.inputs)) {
    const i = { description: spec.description, required: spec.required === true };
    const def = spec.githubDefault ?? (spec.default !== undefined ? String(spec.default) : undefined);
    if (def !== undefined) i.default = def;
    inputs[name] = i;
  }
  for (const [name, description] of anchorInputs(step)) inputs[name] = { description, required: false };
  const outputs = {};
  for (const [name, out] of Object.entries(step.outputs)) {
    outputs[name] = { description: out.description };
    for (const a of out.aliases ?? []) outputs[a] = { description: `Same as \`${name}\` (the anchor action's name).` };
  }
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

// The job's private directory (src/runtime/private.ts): outside the checkout, created
// fresh by the job's first line; a directory already there (planted by a checkout, left by
// another job) fails the job instead of being used. after_script removes it.
const RUN_DIR = '/tmp/shipline-$CI_JOB_ID';
const MAKE_RUN_DIR =
  'mkdir -m 700 "$SHIPLINE_RUN_DIR" || { echo "shipline: $SHIPLINE_RUN_DIR already exists; this job did not create it and will not use it" >&2; exit 1; }';

// The shipline job image (Dockerfile) sets SHIPLINE_HOME=/opt/shipline: nothing to fetch.
// Another image gets the pinned dist/ of this component project at component.sha into the
// private directory, with the job token supplied by a credential helper that reads it from
// the environment, so it is never in argv or the log. Never a path in the checkout.
const FETCH =
  'export SHIPLINE_HOME="${SHIPLINE_HOME:-$SHIPLINE_RUN_DIR/code}" && [ -f "$SHIPLINE_HOME/dist/$SHIPLINE_STEP/index.js" ] || ' +
  '( { command -v node && command -v git; } >/dev/null 2>&1 || ' +
  '{ echo "shipline: this image has no shipline (SHIPLINE_HOME) and no node >= 20 and git to fetch it: use the default image" >&2; exit 1; }; ' +
  'export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0=\'!f() { echo username=gitlab-ci-token; echo "password=$CI_JOB_TOKEN"; }; f\' && ' +
  'git init -q "$SHIPLINE_HOME" && cd "$SHIPLINE_HOME" && ' +
  'git fetch -q --depth 1 --filter=blob:none "$CI_SERVER_URL/$SHIPLINE_PROJECT.git" "$SHIPLINE_REF" && ' +
  'git checkout -q FETCH_HEAD -- "dist/$SHIPLINE_STEP" )';

// The env file the step wrote in the private directory (or SHIPLINE_ENV_FILE), for the
// job's later script lines.
const SOURCE_ENV =
  '[ ! -f "${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}" ] || . "${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}"';

// The job image by default: the shipline job image built from the included commit
// (`<registry>/<shipline-project>/job:<sha>`, pushed by the project's own pipeline).
const DEFAULT_IMAGE = '$CI_REGISTRY/$[[ inputs.shipline-project ]]/job:$[[ component.sha ]]';

function gitlabTemplate(step) {
  const hints = step.gitlab ?? {};
  // A step whose own input is `image` (run-in-container) gets the job image as `job-image`.
  const jobImage = step.inputs.image ? 'job-image' : 'image';
  const imageInput = {
    description:
      'Job image. Default: the shipline job image of this version (`$CI_REGISTRY/<shipline-project>/job:<component sha>`: ' +
      'node, git, the docker CLI, buildah and shipline; nothing is installed or fetched). Another image needs node >= 20 and git ' +
      '(the job then fetches the pinned dist/ with the job token)' +
      (hints.needsDocker ? ', and the docker CLI' : '') +
      '.',
    default: '$SHIPLINE_DEFAULT_IMAGE',
  };
  const extra = { ...(hints.extraInputs ?? {}) };
  // A step may word the image's needs (e.g. kaniko-build's buildah); the default stays the job image.
  if (extra[jobImage])
    imageInput.description = `${extra[jobImage].description} Default: the shipline job image of this version.`;
  delete extra[jobImage];
  const inputs = {
    'job-name': {
      description: 'Name of the job this component adds (two includes need two names).',
      default: step.name,
    },
    stage: { description: 'Stage of the job.', default: hints.stage ?? 'build' },
    [jobImage]: imageInput,
    'shipline-project': {
      description:
        'Path of the shipline component project on this instance (lowercase): its registry holds the default job image, and a job in another image fetches the pinned dist/ from it.',
      default: 'shipline/shipline',
    },
    ...extra,
  };
  const variables = {
    SHIPLINE_STEP: step.name,
    SHIPLINE_REF: '$[[ component.sha ]]',
    SHIPLINE_PROJECT: '$[[ inputs.shipline-project ]]',
    SHIPLINE_DEFAULT_IMAGE: DEFAULT_IMAGE,
    SHIPLINE_RUN_DIR: RUN_DIR,
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
  for (const [name, description] of anchorInputs(step)) {
    inputs[name] = { description, default: '' };
    variables[`SHIPLINE_INPUT_${envName(name)}`] = `$[[ inputs.${name} ]]`;
  }
  const call = `node "$SHIPLINE_HOME/dist/${step.name}/index.js"`;
  const script = [MAKE_RUN_DIR, FETCH, call];
  if (hints.sourceEnv) script.push(SOURCE_ENV);
  if (hints.userScript) script.push('$[[ inputs.script ]]');
  const job = {
    stage: '$[[ inputs.stage ]]',
    image: `$[[ inputs.${jobImage} ]]`,
    variables,
    script,
    // A new shell: SHIPLINE_HOME as the script set it; then the private directory goes.
    after_script: [
      `h="\${SHIPLINE_HOME:-$SHIPLINE_RUN_DIR/code}"; [ ! -f "$h/dist/${step.name}/index.js" ] || node "$h/dist/${step.name}/index.js" --post; rm -rf "$SHIPLINE_RUN_DIR"`,
    ],
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
    const also = [
      ...(spec.aliases ?? []).map((a) => `\`${a}\``),
      ...(spec.negatedAliases ?? []).map((a) => `\`${a}\` (negated)`),
    ];
    const names = also.length ? ` Also ${also.join(', ')}.` : '';
    lines.push(`| \`${name}\` | ${type} | ${mdEscape(def)} | ${mdEscape(spec.description + opts + names)} |`);
  }
  const refused = Object.entries(step.unsupported ?? {});
  if (refused.length) {
    lines.push('', '| refused anchor input | why |', '|---|---|');
    for (const [name, u] of refused) lines.push(`| \`${name}\` | ${mdEscape(u.why)} |`);
  }
  if (step.exports && Object.keys(step.exports).length) {
    lines.push('', '| exported variable | when / what |', '|---|---|');
    for (const [name, what] of Object.entries(step.exports)) lines.push(`| \`${name}\` | ${mdEscape(what)} |`);
  }
  lines.push('', '| output | description |', '|---|---|');
  for (const [name, out] of Object.entries(step.outputs)) {
    const also = out.aliases?.length ? ` Also \`${out.aliases.join('`, `')}\`.` : '';
    lines.push(`| \`${name}\` | ${mdEscape(out.description + also)}${out.secret ? ' (secret)' : ''} |`);
  }
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
