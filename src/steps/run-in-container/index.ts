import { relative } from 'node:path';
import { defineStep, type GitlabJobHints } from '../../runtime/define';
import type { PullPolicy } from '../../lib/docker/container';
import { InputError, ShiplineError, errorMessage } from '../../lib/util/errors';
import { ENV_NAME_RE, NAME_RE, parseCopyIn, parseCopyOut, parseRunOptions, splitWords } from './plan';

/** The docker and naming code, loaded once the inputs are valid (bad input fails at bare-node speed). */
async function load() {
  const [{ Docker }, container, naming] = await Promise.all([import('../../lib/docker/docker'), import('../../lib/docker/container'), import('./naming')]);
  return { Docker, ...container, ...naming };
}

const MODES = ['run', 'start', 'exec', 'stop'] as const;
type Mode = (typeof MODES)[number];

/** Values shorter than this are not masked: they would redact ordinary words in the log. */
const MASK_MIN = 6;

// The generator also reads `image` (the job image, input `job-image` here since the step has
// its own `image`) and `needsDocker` (see scripts/generate.mjs).
const gitlab: GitlabJobHints & { image: string; needsDocker: boolean } = {
  stage: 'test',
  image: 'docker:27-cli',
  needsDocker: true,
  sourceEnv: true,
  userScript: true,
};

export default defineStep({
  name: 'run-in-container',
  description: "Run a job's commands in one long-lived container of an image: copy the workspace in, exec each command, copy results out, clean up",
  inputs: {
    mode: {
      description:
        '`run`: start, copy in, run the commands, copy out, remove (kept with `keep`). `start`: the same but the container stays for later `exec` steps or script lines until the job ends. `exec`: run commands in the container a `start` made earlier in this job. `stop`: remove it now.',
      default: 'run',
      options: MODES,
    },
    image: { description: 'Image to run (required for run/start), e.g. the image an earlier job built and pushed.' },
    pull: { description: '`always` pull; `missing`: pull only when the engine lacks the image; `never`: fail when it lacks it.', default: 'missing', options: ['always', 'missing', 'never'] },
    name: {
      description: 'Container name. Default: unique per job (`shipline-<job id>-<hash>`), so parallel jobs on one engine never collide, and the same for every step of one job.',
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
    workdir: { description: 'Working directory in the container; copy-in goes there by default.', default: '/app', regex: '/[^\\0]*', form: 'an absolute path' },
    'copy-in': {
      type: 'list',
      description:
        'Workspace paths to stream into the container as one tar, `path` or `path:container-dir`, honouring the `.dockerignore` at each path (`.shipline/` is never copied). Default: the workspace into `workdir` for run/start, nothing for exec. `none`: copy nothing.',
      defaultDoc: '`.` (run/start)',
    },
    'copy-out': {
      type: 'list',
      description: 'Results to copy out after the commands, `container-path:workspace-path` (a relative container path is under `workdir`). Also tried when a command failed (test reports); then a missing path only warns.',
    },
    env: {
      type: 'list',
      description: 'Names of job variables to pass into every command (`docker exec --env NAME`): the value travels in the docker client\'s environment, never in argv; values of 6+ characters are masked in the log.',
      regex: ENV_NAME_RE,
      form: 'variable names (letters, digits, _)',
    },
    network: { description: 'Network of the container: `host` (default: shares the engine host network, works on docker engines without a bridge), `none`, `bridge` or a network name.', default: 'host', regex: '[a-zA-Z0-9][a-zA-Z0-9_.-]*', form: 'host, none, bridge or a network name' },
    options: { description: 'Extra `docker run` options from an allow-list (e.g. `--memory 1g --user 1000 --tmpfs /tmp`); anything else is refused, naming the option.' },
    privileged: { type: 'boolean', description: 'Run the container with `--privileged` (only when this is true).', default: false },
    keep: { type: 'boolean', description: 'mode run: leave the container running after the step for later steps; it is still removed when the job ends (GitHub post, GitLab after_script).', default: false },
    'fail-fast': { type: 'boolean', description: 'Stop at the first failing command (otherwise run all and fail with the first failure\'s exit code).', default: true },
  },
  outputs: {
    container: { description: 'Name of the container.' },
    'exit-code': { description: 'Exit code of the first failing command, or 0.' },
  },
  exports: {
    SHIPLINE_CONTAINER: 'The container name, for later script lines (`docker exec "$SHIPLINE_CONTAINER" …`) while the container stays (start, keep).',
  },
  gitlab,

  async main(ctx) {
    const inputs = ctx.inputs;
    const mode = inputs.mode as Mode;
    const workdir = inputs.workdir;
    const shell = splitWords(inputs.shell);
    if (shell.length === 0) throw new InputError('shell', 'is empty', "give a shell, e.g. 'sh -e' or 'bash -eo pipefail'");
    const opts = parseRunOptions(inputs.options ?? '');
    const starts = mode === 'run' || mode === 'start';
    const copyInItems = inputs.copyIn.length ? inputs.copyIn : starts ? ['.'] : [];
    const copies = copyInItems.length === 1 && copyInItems[0] === 'none' ? [] : parseCopyIn(copyInItems, ctx.workspace, workdir);
    const outs = parseCopyOut(inputs.copyOut, ctx.workspace, workdir);
    if (starts && !inputs.image) throw new InputError('image', `is required for mode ${mode}`, 'give the image to run, e.g. registry.example.com/team/app:MR-7');
    if (mode === 'exec' && inputs.run.length === 0 && copies.length === 0 && outs.length === 0) {
      throw new InputError('run', 'mode exec has nothing to do', 'give commands in run (or copy-in / copy-out)');
    }
    // Every input problem is raised above, before the CI context (outside CI: `git log`) is read.
    const { Docker, copyIn, copyOut, defaultName, ensureImage, execCommand, isRunning, ownerId, removeOwned, startContainer } = await load();
    const owner = ownerId(ctx.ci, ctx.workspace, ctx.env);
    const name = inputs.name ?? defaultName(ctx.ci.jobId, owner);
    const envNames = inputs.env;
    for (const n of envNames) {
      const v = ctx.env[n];
      if (v === undefined) ctx.log.warn(`variable ${n} (input env) is not set in the job; the commands will not see it`);
      else if (v.length >= MASK_MIN) ctx.secret(v);
    }

    const docker = new Docker({ env: ctx.env, cwd: ctx.workspace });
    const timings: { phase: string; ms: number }[] = [];
    const timed = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        return await fn();
      } finally {
        timings.push({ phase, ms: Date.now() - t0 });
      }
    };
    ctx.setOutput('container', name);

    if (mode === 'stop') {
      const removed = await docker.ping().then(() => removeOwned(docker, name, owner));
      ctx.log.info(removed ? `removed container ${name}` : `no container ${name} of this job to remove`);
      ctx.setOutput('exit-code', '0');
      return;
    }

    await docker.ping();
    let created = false;
    let failure: { code: number; command: string } | undefined;
    try {
      if (starts) {
        const image = inputs.image!;
        const pulled = await timed('pull', () =>
          ctx.log.group(`Image ${image}`, () => ensureImage(docker, image, inputs.pull as PullPolicy, (l) => ctx.log.info(l), { onRetry: (m) => ctx.log.warn(m) })),
        );
        ctx.log.info(pulled ? `pulled ${image}` : `${image} is on the engine (pull: ${inputs.pull})`);
        // Saved before the container exists, so cleanup finds it even if the job is cancelled mid-start.
        ctx.saveState('container', name);
        ctx.saveState('owner', owner);
        const network = opts.network ? [] : ['--network', inputs.network];
        await timed('start', () =>
          startContainer(docker, { image, name, workdir, owner, options: [...network, ...(inputs.privileged ? ['--privileged'] : []), ...opts.args] }),
        );
        created = true;
        ctx.log.info(`started container ${name} of ${image}`);
      } else if (!(await isRunning(docker, name))) {
        throw new ShiplineError(`no running container ${name} for mode ${mode}`, {
          hint: 'start it earlier in the same job with mode: start (and the same name input, if you set one)',
        });
      }

      for (const c of copies) {
        const { entries, bytes } = await timed(`copy-in ${relative(ctx.workspace, c.host) || '.'}`, () =>
          copyIn(docker, ctx.env, name, c.host, c.container, { exclude: c.host === ctx.workspace ? ['.shipline'] : [] }),
        );
        ctx.log.info(`copied ${c.host} -> ${name}:${c.container} (${entries} entries, ${(bytes / 1048576).toFixed(1)} MiB tar)`);
        if (opts.user) {
          // docker cp writes as root: hand the copy to the container's user so commands can write to it.
          const r = await docker.run(['exec', '--user', '0', name, 'chown', '-R', opts.user, c.container], { allowFailure: true });
          if (r.code !== 0) ctx.log.warn(`could not chown ${c.container} to ${opts.user}: ${r.stderr.trim()}`);
        }
      }

      for (const command of inputs.run) {
        const code = await timed(`\`${command}\``, () =>
          ctx.log.group(`$ ${command}`, () => execCommand(docker, { container: name, workdir, shell, command, envNames }, (line) => ctx.log.info(line))),
        );
        if (code !== 0) {
          ctx.log.error(`command exited with code ${code}: ${command}`);
          failure ??= { code, command };
          if (inputs.failFast) break;
        }
      }

      for (const o of outs) {
        try {
          await timed(`copy-out ${o.container}`, () => copyOut(docker, name, o.container, o.host));
          ctx.log.info(`copied ${name}:${o.container} -> ${o.host}`);
        } catch (err) {
          if (!failure) throw err;
          ctx.log.warn(`copy-out after a failed command: ${errorMessage(err)}`);
        }
      }
      // Always exported: a GitLab job sources the env file on its next line.
      ctx.exportVariable('SHIPLINE_CONTAINER', name);
      if (mode === 'start' || (mode === 'run' && inputs.keep)) {
        ctx.log.info(`container ${name} stays until the job ends (later steps: mode exec, or docker exec "$SHIPLINE_CONTAINER" …)`);
      }
    } finally {
      if (created && mode === 'run' && !inputs.keep) {
        await timed('remove', () => removeOwned(docker, name, owner)).catch((e: unknown) => ctx.log.warn(errorMessage(e)));
      }
      ctx.setOutput('exit-code', String(failure?.code ?? 0));
      if (timings.length) {
        ctx.summary(
          [`### run-in-container \`${name}\``, '', '| phase | seconds |', '|---|---:|', ...timings.map((t) => `| ${t.phase.replace(/\|/g, '\\|')} | ${(t.ms / 1000).toFixed(2)} |`), ''].join('\n'),
        );
      }
    }
    if (failure) {
      throw new ShiplineError(`command failed with exit code ${failure.code}: ${failure.command}`, {
        exitCode: failure.code,
        hint: 'the command output is in the group above; the step exits with the same code',
      });
    }
  },

  async post(ctx) {
    const { Docker, defaultName, ownerId, removeOwned } = await load();
    // The owner id and default name are recomputed from the job, so a state file another
    // job overwrote (a shared checkout dir) can never make this job remove a foreign container.
    const owner = ownerId(ctx.ci, ctx.workspace, ctx.env);
    const names = new Set<string>();
    const saved = ctx.getState('container');
    if (saved && ctx.getState('owner') === owner) names.add(saved);
    const mode = ctx.inputs.mode as Mode | undefined;
    if (mode === 'run' || mode === 'start') names.add(ctx.inputs.name ?? defaultName(ctx.ci.jobId, owner));
    if (names.size === 0) return;
    const docker = new Docker({ env: ctx.env });
    for (const name of names) {
      const removed = await removeOwned(docker, name, owner);
      ctx.log.info(removed ? `removed container ${name}` : `container ${name} already gone`);
    }
  },
});
