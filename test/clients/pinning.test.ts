// A pinned include runs the pinned code (#14 item 7). A component project is served from a
// local bare repository: a git `insteadOf` rewrite (in a GIT_CONFIG_GLOBAL file, which
// gitlab-ci-local's own git commands and the job's git both read) turns the URLs a real
// instance would serve into file:// URLs:
//   - gitlab-ci-local 4.73 clones a component at another ref with
//     `git clone --branch <ref> -n --depth=1 --filter=tree:0 https://<origin host>:443/<project>.git`
//     and resolves `$[[ component.sha ]]` with `git ls-remote https://<fqdn>:443/<project>.git`;
//   - the template's job (SHIPLINE_HOME unset, as in an image without shipline) fetches
//     `dist/<step>` at `$[[ component.sha ]]` from `$CI_SERVER_URL/<shipline-project>.git`.
// The project has three commits whose behaviour differs: 1.0.0 (image-tags' `mr-prefix`
// default `MR-`), 1.1.0 (`PR-`) and an untagged commit (`SHA-`); each commit's
// dist/image-tags/index.js also prints which commit it is. An MR pipeline (iid 7) with the
// default tag rules then tags `…:MR-7`, `…:PR-7` or `…:SHA-7` and prints the marker of the
// commit its pin names.
//
// A SHA pin: gitlab-ci-local 4.73 clones with `git clone --branch <ref>`, which git refuses
// for a commit ("Remote branch <sha> not found in upstream origin"), so the test puts that
// commit's template where gitlab-ci-local keeps fetched includes
// (.gitlab-ci-local/includes/<host>/<project>/<sha>/), read from the same bare repository
// (`git show <sha>:templates/image-tags.yml`); `$[[ component.sha ]]` is then the pinned sha itself, and the job's
// fetch of dist/ at that sha goes through the bare repository like the tags'.
//
// Not run here: the job image of each version (the docker executor with
// `$CI_REGISTRY/vendor/shipline/job:<sha>`); the test asserts the image reference each pin
// resolves to (--preview) and runs the jobs on the shell executor.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot, runOk } from '../support/exec';
import { runGitlabCiLocal, type GitlabRunResult } from '../support/gitlab';

jest.setTimeout(300_000);

const PROJECT = 'vendor/shipline';
const HOST = 'gitlab.example.com';
const IMAGE = 'registry.example.com/team/app';
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Shipline Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Shipline Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

interface Pin {
  /** The include's ref. */
  ref: string;
  job: string;
  prefix: string;
  marker: string;
  sha: string;
}

let work: string;
let gitConfig: string;
let pins: Pin[];
let run: GitlabRunResult;
let preview: GitlabRunResult;

/** Write one commit of the component project: templates/ and dist/image-tags with its behaviour. */
function writeVersion(src: string, prefix: string, marker: string): void {
  const tpl = path.join(src, 'templates', 'image-tags.yml');
  const text = fs.readFileSync(path.join(repoRoot, 'templates', 'image-tags.yml'), 'utf8');
  const changed = text.replace(/(\n {4}mr-prefix:\n {6}description: .*\n {6}default: )MR-\n/, `$1${prefix}\n`);
  if (prefix !== 'MR-') expect(changed).not.toBe(text); // the default really changed
  fs.writeFileSync(tpl, changed);
  // the step's whole folder (index.js requires main.js once the inputs are valid)
  for (const f of fs.readdirSync(path.join(repoRoot, 'dist', 'image-tags')))
    fs.copyFileSync(path.join(repoRoot, 'dist', 'image-tags', f), path.join(src, 'dist', 'image-tags', f));
  const bundle = fs.readFileSync(path.join(repoRoot, 'dist', 'image-tags', 'index.js'), 'utf8');
  fs.writeFileSync(
    path.join(src, 'dist', 'image-tags', 'index.js'),
    `process.stderr.write(${JSON.stringify(`pinned-code=${marker}\n`)});\n${bundle}`,
  );
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await runOk('git', ['-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args], {
    cwd,
    env: { ...process.env, ...GIT_ENV },
  });
  return r.stdout.trim();
}

// One stage per pin: on the shell executor the jobs share the checkout, and with it the
// `.shipline/outputs.env` each writes fresh; jobs of one stage would run at once.
const include = (pin: Pin) => ({
  component: `$CI_SERVER_FQDN/${PROJECT}/image-tags@${pin.ref}`,
  inputs: { 'job-name': pin.job, stage: pin.job, images: IMAGE, 'shipline-project': PROJECT },
});

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'shipline-pinning-'));
  const src = path.join(work, 'src');
  fs.mkdirSync(path.join(src, 'templates'), { recursive: true });
  fs.mkdirSync(path.join(src, 'dist', 'image-tags'), { recursive: true });
  await git(src, 'init', '-q', '-b', 'main');
  const commit = async (prefix: string, marker: string, tag?: string) => {
    writeVersion(src, prefix, marker);
    await git(src, 'add', '-A');
    await git(src, 'commit', '-q', '-m', `component project at ${marker}`);
    if (tag) await git(src, 'tag', '-a', tag, '-m', `shipline ${tag}`);
    return git(src, 'rev-parse', 'HEAD');
  };
  const sha100 = await commit('MR-', '1.0.0', '1.0.0');
  const sha110 = await commit('PR-', '1.1.0', '1.1.0');
  const shaPin = await commit('SHA-', 'untagged', undefined);
  pins = [
    { ref: '1.0.0', job: 'tags-at-1-0-0', prefix: 'MR-', marker: '1.0.0', sha: sha100 },
    { ref: '1.1.0', job: 'tags-at-1-1-0', prefix: 'PR-', marker: '1.1.0', sha: sha110 },
    { ref: shaPin, job: 'tags-at-sha', prefix: 'SHA-', marker: 'untagged', sha: shaPin },
  ];

  const bare = path.join(work, 'server', `${PROJECT}.git`);
  await runOk('git', ['clone', '-q', '--bare', src, bare]);
  await git(bare, 'config', 'uploadpack.allowFilter', 'true');
  await git(bare, 'config', 'uploadpack.allowAnySHA1InWant', 'true');
  // Both spellings: gitlab-ci-local's clone and ls-remote (with :443) and the job's fetch
  // ($CI_SERVER_URL, without). The consumer's own origin (shipline/shipline) is not rewritten.
  gitConfig = path.join(work, 'gitconfig');
  fs.writeFileSync(
    gitConfig,
    [
      '[user]',
      '\tname = Shipline Test',
      '\temail = test@example.com',
      `[url "file://${bare}"]`,
      `\tinsteadOf = https://${HOST}:443/${PROJECT}.git`,
      `\tinsteadOf = https://${HOST}/${PROJECT}.git`,
      '[protocol "file"]',
      '\tallow = always',
      '',
    ].join('\n'),
  );

  // The SHA pin's template, where gitlab-ci-local would have put it had it been able to clone it.
  const seedRel = path.join('.gitlab-ci-local', 'includes', HOST, PROJECT, shaPin, 'templates', 'image-tags.yml');
  const seeded = (await runOk('git', ['--git-dir', bare, 'show', `${shaPin}:templates/image-tags.yml`])).stdout;

  const ciYml = { stages: pins.map((p) => p.job), include: pins.map(include) };
  const common = {
    ciYml,
    copy: [] as string[], // the consumer has no shipline of its own
    files: { [seedRel]: seeded },
    pipeline: { kind: 'mr' as const, mrIid: '7' },
    shiplineHome: null,
    env: { ...process.env, GIT_CONFIG_GLOBAL: gitConfig },
  };
  const id = crypto.randomBytes(3).toString('hex');
  [preview, run] = await Promise.all([
    runGitlabCiLocal({ ...common, cwd: path.join(work, `preview-${id}`), extraArgs: ['--preview'] }),
    runGitlabCiLocal({ ...common, cwd: path.join(work, `run-${id}`) }),
  ]);
});

afterAll(() => {
  preview?.cleanup();
  run?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const status = (r: GitlabRunResult) => `exit ${r.exitCode}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`;

test('the pipeline runs every pin offline, from the bare repository', () => {
  expect(status(run)).toMatch(/^exit 0/);
  expect(status(preview)).toMatch(/^exit 0/);
  // the tags were cloned through the rewrite (the SHA pin's template was put in place)
  for (const tag of ['1.0.0', '1.1.0'])
    expect(run.stderr).toContain(`downloaded ${PROJECT} ${tag} templates/image-tags`);
  expect(run.stderr).not.toContain(`downloaded ${PROJECT} ${pins[2]!.sha}`);
});

describe.each([
  ['@1.0.0 runs 1.0.0', 0],
  ['@1.1.0 runs 1.1.0', 1],
  ['a SHA pin runs that commit', 2],
])('%s', (_title, i) => {
  test('its template, its component.sha and the job image of that sha', () => {
    const pin = pins[i]!;
    const job = (
      parseYaml(preview.stdout) as Record<string, { image: { name: string }; variables: Record<string, string> }>
    )[pin.job];
    expect(job).toBeDefined();
    expect(job!.variables.SHIPLINE_REF).toBe(pin.sha);
    expect(job!.variables.SHIPLINE_INPUT_MR_PREFIX).toBe(pin.prefix);
    expect(job!.variables.SHIPLINE_DEFAULT_IMAGE).toBe(`$CI_REGISTRY/${PROJECT}/job:${pin.sha}`);
    expect(job!.image.name).toBe('$SHIPLINE_DEFAULT_IMAGE');
  });

  test('its code: the dist/ fetched at that sha, and the tags its defaults make', () => {
    const pin = pins[i]!;
    const log = run.jobLog(pin.job);
    expect(log).toContain(`pinned-code=${pin.marker}`);
    for (const other of pins.filter((p) => p !== pin)) expect(log).not.toContain(`pinned-code=${other.marker}`);
    expect(log).toMatch(new RegExp(`^tags=${IMAGE}:${pin.prefix}7$`, 'm'));
    // named for the job (`tags-at-1-0-0` → TAGS_AT_1_0_0_TAGS)
    const key = `${pin.job.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_TAGS`;
    expect(run.dotenv(pin.job)?.[key]).toBe(`${IMAGE}:${pin.prefix}7`);
  });
});
