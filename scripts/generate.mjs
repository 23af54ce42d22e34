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
  return (
    readdirSync(join(root, 'dist'), { withFileTypes: true })
      // dist/.<step>.build-<pid>/ is a build under way (scripts/build.mjs), not a step.
      .filter((d) => d.isDirectory() && !d.name.startsWith('.') && existsSync(join(root, 'dist', d.name, 'index.js')))
      .map((d) => d.name)
      .sort()
      .map((name) => require(join(root, 'dist', name, 'index.js')))
  );
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
    // `<prefix>*`: names known at run time, which GitHub passes on undeclared.
    if (name.endsWith('*')) continue;
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
const fetchLine = (also = []) =>
  'export SHIPLINE_HOME="${SHIPLINE_HOME:-$SHIPLINE_RUN_DIR/code}" && [ -f "$SHIPLINE_HOME/dist/$SHIPLINE_STEP/index.js" ] || ' +
  '( { command -v node && command -v git; } >/dev/null 2>&1 || ' +
  '{ echo "shipline: this image has no shipline (SHIPLINE_HOME) and no node >= 20 and git to fetch it: use the default image" >&2; exit 1; }; ' +
  'export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0=\'!f() { echo username=gitlab-ci-token; echo "password=$CI_JOB_TOKEN"; }; f\' && ' +
  'git init -q "$SHIPLINE_HOME" && cd "$SHIPLINE_HOME" && ' +
  'git fetch -q --depth 1 --filter=blob:none "$CI_SERVER_URL/$SHIPLINE_PROJECT.git" "$SHIPLINE_REF" && ' +
  `git checkout -q FETCH_HEAD -- "dist/$SHIPLINE_STEP"${also.map((a) => ` dist/${a}`).join('')} )`;

// The env file the step wrote in the private directory (or SHIPLINE_ENV_FILE), for the
// job's later script lines.
const SOURCE_ENV =
  '[ ! -f "${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}" ] || . "${SHIPLINE_ENV_FILE:-$SHIPLINE_RUN_DIR/env}"';

// Steps a registry-facing template runs before its own, in this order, each only when its
// input asks for it; their cleanups run in reverse in after_script. Inputs reach them as
// flags from the template's own variables, never as text in the script.
const COMPOSED = ['assume-role', 'ecr-login', 'registry-login'];
const PER_JOB_DOCKER_CONFIG = `${RUN_DIR}/docker`;
// With an empty config.json: buildah 1.28 refuses a DOCKER_CONFIG without one.
// Only the job's own (a DOCKER_CONFIG the user set is theirs: left as it is).
const MAKE_DOCKER_CONFIG =
  '{ [ "$DOCKER_CONFIG" != "$SHIPLINE_RUN_DIR/docker" ] || { mkdir -m 700 "$DOCKER_CONFIG" && ( umask 077 && echo "{}" > "$DOCKER_CONFIG/config.json" ); }; }';

function composedInputs(step) {
  // kaniko-build reads a docker config JSON variable itself (for kaniko's own config).
  const own = step.inputs['auth-config-variable'] !== undefined;
  return {
    'aws-role-arn': {
      description:
        'ARN of an AWS role to assume before the step, in this job (assume-role): with the id token `SHIPLINE_AWS_ID_TOKEN` the job declares (GitLab OIDC), else the AWS_* credentials of the job. The credentials are in the environment of the step and of `before-script`/`script`; after_script removes them.',
      default: '',
    },
    'aws-region': {
      description: 'AWS region of assume-role and ecr-login. Empty: AWS_REGION / AWS_DEFAULT_REGION of the job.',
      default: '',
    },
    'aws-audience': {
      description: 'Audience (`aud`) of the id token `SHIPLINE_AWS_ID_TOKEN` that `aws-role-arn` is assumed with.',
      default: 'sts.amazonaws.com',
    },
    'ecr-login': {
      description:
        "Log in to the ECR registry of the job's AWS credentials before the step (ecr-login; removed in after_script). `auto`: when `aws-role-arn` is set; `true`: also with credentials the job already has; `false`: never.",
      default: 'auto',
      options: ['auto', 'true', 'false'],
    },
    ...(own
      ? {}
      : {
          'auth-config-variable': {
            description:
              'NAME of a CI variable holding a docker config JSON, raw or base64 (e.g. `HARBOR_ROBOT_CREDS_JSON`): registry-login logs in to each of its `auths` before the step, in a private docker config removed in after_script.',
            default: '',
          },
        }),
    'before-script': {
      type: 'array',
      description:
        'Commands run in the job after the logins, before the step (AWS credentials and DOCKER_CONFIG are set).',
      default: [],
    },
  };
}

const composedVariables = (step) => ({
  SHIPLINE_AWS_ROLE_ARN: '$[[ inputs.aws-role-arn ]]',
  SHIPLINE_AWS_REGION: '$[[ inputs.aws-region ]]',
  SHIPLINE_ECR_LOGIN: '$[[ inputs.ecr-login ]]',
  ...(step.inputs['auth-config-variable']
    ? {}
    : { SHIPLINE_AUTH_CONFIG_VARIABLE: '$[[ inputs.auth-config-variable ]]' }),
});

const REGION_FLAG = '${SHIPLINE_AWS_REGION:+--region "$SHIPLINE_AWS_REGION"}';
const composedCall = (name, flags) => `node "$SHIPLINE_HOME/dist/${name}/index.js" ${flags}`;

/**
 * One script line (one line in the job log) for the logins the inputs ask for, each step
 * failing the job at once (`|| exit`), its exports sourced for the next.
 */
function composedScript(step) {
  const parts = [
    `if [ -n "$SHIPLINE_AWS_ROLE_ARN" ]; then ${composedCall('assume-role', `--role-arn "$SHIPLINE_AWS_ROLE_ARN" ${REGION_FLAG} \${SHIPLINE_AWS_ID_TOKEN:+--web-identity-token-variable SHIPLINE_AWS_ID_TOKEN}`)} || exit $?; ${SOURCE_ENV}; fi`,
    `if [ "$SHIPLINE_ECR_LOGIN" = true ] || { [ "$SHIPLINE_ECR_LOGIN" = auto ] && [ -n "$SHIPLINE_AWS_ROLE_ARN" ]; }; then ${composedCall('ecr-login', REGION_FLAG)} || exit $?; fi`,
  ];
  if (!step.inputs['auth-config-variable'])
    parts.push(
      `if [ -n "$SHIPLINE_AUTH_CONFIG_VARIABLE" ]; then ${composedCall('registry-login', '--auth-config-variable "$SHIPLINE_AUTH_CONFIG_VARIABLE"')} || exit $?; ${SOURCE_ENV}; fi`,
    );
  return [parts.join('; ')];
}

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
  const composed = hints.registryCredentials === true;
  // Every template takes the user's own lines after the step (`script`).
  const userScript = true;
  if (composed) {
    Object.assign(inputs, composedInputs(step));
    Object.assign(variables, composedVariables(step));
  }
  // Dotenv outputs named for the job (`<JOB>_<OUTPUT>`), so two jobs of one step differ.
  variables.SHIPLINE_OUTPUT_PREFIX = '$[[ inputs.job-name ]]';
  if (composed || hints.dockerConfig) variables.DOCKER_CONFIG = PER_JOB_DOCKER_CONFIG;
  const call = `node "$SHIPLINE_HOME/dist/${step.name}/index.js"`;
  const script = [
    composed || hints.dockerConfig ? `${MAKE_RUN_DIR} && ${MAKE_DOCKER_CONFIG}` : MAKE_RUN_DIR,
    fetchLine(composed ? COMPOSED : []),
  ];
  if (composed) script.push(...composedScript(step), '$[[ inputs.before-script ]]');
  script.push(call);
  if (hints.sourceEnv) script.push(SOURCE_ENV);
  if (userScript) script.push('$[[ inputs.script ]]');
  // A new shell: SHIPLINE_HOME as the script set it. Each step's cleanup runs, the template's
  // own first and then the composed ones that left state, whatever failed; then the
  // private directory (state, env file, docker config) goes.
  const cleanup = composed
    ? `h="\${SHIPLINE_HOME:-$SHIPLINE_RUN_DIR/code}"; [ ! -f "$h/dist/${step.name}/index.js" ] || node "$h/dist/${step.name}/index.js" --post; for s in ${[...COMPOSED].reverse().join(' ')}; do [ ! -f "$SHIPLINE_RUN_DIR/state/$s.json" ] || [ ! -f "$h/dist/$s/index.js" ] || node "$h/dist/$s/index.js" --post; done; rm -rf "$SHIPLINE_RUN_DIR"`
    : `h="\${SHIPLINE_HOME:-$SHIPLINE_RUN_DIR/code}"; [ ! -f "$h/dist/${step.name}/index.js" ] || node "$h/dist/${step.name}/index.js" --post; rm -rf "$SHIPLINE_RUN_DIR"`;
  const job = {
    stage: '$[[ inputs.stage ]]',
    image: `$[[ inputs.${jobImage} ]]`,
    ...(composed ? { id_tokens: { SHIPLINE_AWS_ID_TOKEN: { aud: '$[[ inputs.aws-audience ]]' } } } : {}),
    variables,
    script,
    after_script: [cleanup],
    artifacts: { reports: { dotenv: '.shipline/outputs.env' }, ...(hints.artifacts ? { paths: hints.artifacts } : {}) },
  };
  if (hints.rules) job.rules = hints.rules;
  if (userScript)
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
    const shown = name.endsWith('*') ? `${name.slice(0, -1)}<…>` : name;
    lines.push(`| \`${shown}\` | ${mdEscape(out.description + also)}${out.secret ? ' (secret)' : ''} |`);
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
