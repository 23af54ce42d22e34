import { defineStep, type GitlabJobHints, type InputSpecs } from '../../runtime/define';
import type { main as Main } from './main';
import type { post as Post } from './post';
import { ENV_NAME_RE, imageCheck, MODES, NAME_RE } from './plan';
const post: typeof Post = async (ctx) => (require('./post') as typeof import('./post')).post(ctx);
const main: typeof Main = async (ctx) => (require('./main') as typeof import('./main')).main(ctx);

// The generator also reads `image` (the job image, input `job-image` here since the step has
// its own `image`) and `needsDocker` (see scripts/generate.mjs).
const gitlab: GitlabJobHints & { image: string; needsDocker: boolean } = {
  stage: 'test',
  image: 'docker:27-cli',
  needsDocker: true,
  registryCredentials: true,
  sourceEnv: true,
  userScript: true,
};

export const inputs = {
  mode: {
    description:
      '`run`: start, copy in, run the commands, copy out, remove (kept with `keep`). `start`: the same but the container stays for later `exec` steps or script lines until the job ends. `exec`: run commands in the container a `start` made earlier in this job. `stop`: remove it now.',
    default: 'run',
    options: MODES,
  },
  image: {
    description: 'Image to run (required for run/start), e.g. the image an earlier job built and pushed.',
    form: 'an image reference like registry.example.com/team/app:tag',
    check: imageCheck,
  },
  pull: {
    description: '`always` pull; `missing`: pull only when the engine lacks the image; `never`: fail when it lacks it.',
    default: 'missing',
    options: ['always', 'missing', 'never'],
  },
  name: {
    description:
      'Container name. Default: unique per job (`shipline-<job id>-<hash>`), so parallel jobs on one engine never collide, and the same for every step of one job.',
    regex: NAME_RE,
    form: 'a docker container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)',
    defaultDoc: '`shipline-<job id>-<hash>`',
  },
  run: {
    type: 'list',
    lines: true,
    description:
      'Commands, one per line, each run as `<shell> -c <line>` inside the container in `workdir` (a line is one shell: `cd`/`export` do not carry to the next line). `$VAR` is expanded by that shell from the container environment: see README.',
  },
  shell: { description: 'Shell and its flags that run each command (the command follows `-c`).', default: 'sh -e' },
  workdir: {
    description: 'Working directory in the container; copy-in goes there by default.',
    default: '/app',
    regex: '/[^\\0]*',
    form: 'an absolute path',
  },
  'copy-in': {
    type: 'list',
    description:
      'Workspace paths to stream into the container as one tar, `path` or `path:container-dir`, honouring the `.dockerignore` at each path (`.shipline/` is never copied). Default: the workspace into `workdir` for run/start, nothing for exec. `none`: copy nothing.',
    defaultDoc: '`.` (run/start)',
  },
  'copy-out': {
    type: 'list',
    description:
      'Results to copy out after the commands, `container-path:workspace-path` (a relative container path is under `workdir`). Also tried when a command failed (test reports); then a missing path only warns.',
  },
  env: {
    type: 'list',
    description:
      "Names of job variables to pass into every command (`docker exec --env NAME`): the value travels in the docker client's environment, never in argv. Their values are not masked (except the platforms' own credentials, see README): list secrets in `secret-env`.",
    regex: ENV_NAME_RE,
    form: 'variable names (letters, digits, _)',
  },
  'secret-env': {
    type: 'list',
    description:
      'Names of job variables holding secrets, passed into every command like `env` and masked wherever their values would appear in the log.',
    regex: ENV_NAME_RE,
    form: 'variable names (letters, digits, _)',
  },
  network: {
    description:
      'Network of the container: `host` (default: shares the engine host network, works on docker engines without a bridge), `none`, `bridge` or a network name.',
    default: 'host',
    regex: '[a-zA-Z0-9][a-zA-Z0-9_.-]*',
    form: 'host, none, bridge or a network name',
  },
  options: {
    description:
      'Extra `docker run` options from an allow-list (e.g. `--memory 1g --user 1000 --tmpfs /tmp`); anything else is refused, naming the option.',
  },
  privileged: {
    type: 'boolean',
    description: 'Run the container with `--privileged` (only when this is true).',
    default: false,
  },
  keep: {
    type: 'boolean',
    description:
      'mode run: leave the container running after the step for later steps; it is still removed when the job ends (GitHub post, GitLab after_script).',
    default: false,
  },
  'fail-fast': {
    type: 'boolean',
    description: "Stop at the first failing command (otherwise run all and fail with the first failure's exit code).",
    default: true,
  },
} as const satisfies InputSpecs;

export default defineStep({
  name: 'run-in-container',
  description:
    "Run a job's commands in one long-lived container of an image: copy the workspace in, exec each command, copy results out, clean up",
  inputs,
  outputs: {
    container: { description: 'Name of the container (removed when the job ends).', local: true },
    'exit-code': {
      description:
        'Exit code of the first failing command, or 0 when all passed; not set when no command ran (a failed pull or start, mode stop).',
    },
  },
  exports: {
    SHIPLINE_CONTAINER:
      'The container name, for later script lines (`docker exec "$SHIPLINE_CONTAINER" …`), only while the container stays (mode start, or run with keep); set empty by mode stop, removed by the cleanup.',
  },
  gitlab,

  main,
  post,
});
