// One version for every step. `node scripts/release.mjs X.Y.Z` on a clean main:
//   - sets package.json's version (the CLI and `shipline --version` embed it),
//   - turns CHANGELOG.md's "Unreleased" heading into "X.Y.Z — <date>" (a new empty
//     Unreleased section stays on top),
//   - rebuilds dist/ and the wrappers (`npm run build`) and commits "Release X.Y.Z",
//   - tags that commit `X.Y.Z` (GitLab catalog versions), `vX.Y.Z` and moves `vX` (GitHub).
// It pushes nothing: it prints the push command. `node scripts/release.mjs notes X.Y.Z`
// prints that version's CHANGELOG section (the GitHub release workflow uses it).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

function fail(message, code = 2) {
  process.stderr.write(`release: ${message}\n`);
  process.exit(code);
}

const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();

/** The section of CHANGELOG.md under `## <version>` (without its heading), or undefined. */
export function changelogSection(text, version) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === `## ${version}` || l.startsWith(`## ${version} `));
  if (start < 0) return undefined;
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  return lines
    .slice(start + 1, end)
    .join('\n')
    .trim();
}

/** CHANGELOG.md with Unreleased turned into the release, and a fresh Unreleased above it. */
export function cutChangelog(text, version, date) {
  const body = changelogSection(text, 'Unreleased');
  if (body === undefined) fail("CHANGELOG.md has no '## Unreleased' section");
  if (body === '') fail("CHANGELOG.md's Unreleased section is empty: say what this release changes");
  if (changelogSection(text, version) !== undefined) fail(`CHANGELOG.md already has a section for ${version}`);
  return text.replace(/^## Unreleased$/m, `## Unreleased\n\n## ${version} — ${date}`);
}

function release(version) {
  if (!SEMVER.test(version)) fail(`'${version}' is not a version X.Y.Z (no 'v', no pre-release suffix)`);
  if (git('status', '--porcelain') !== '') fail('the work tree has changes: commit or stash them first');
  for (const tag of [version, `v${version}`]) {
    if (git('tag', '-l', tag) !== '') fail(`tag ${tag} exists already`);
  }
  const pkgFile = join(root, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  const [maj, min, pat] = version.split('.').map(Number);
  const [cmaj, cmin, cpat] = pkg.version.split('.').map(Number);
  if (maj < cmaj || (maj === cmaj && (min < cmin || (min === cmin && pat <= cpat)))) {
    fail(`${version} is not above the current version ${pkg.version}`);
  }
  const date = new Date().toISOString().slice(0, 10);
  const changelogFile = join(root, 'CHANGELOG.md');
  writeFileSync(changelogFile, cutChangelog(readFileSync(changelogFile, 'utf8'), version, date));
  pkg.version = version;
  writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
  const lockFile = join(root, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  lock.version = version;
  if (lock.packages?.['']) lock.packages[''].version = version;
  writeFileSync(lockFile, JSON.stringify(lock, null, 2) + '\n');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  git('add', '-A');
  git('commit', '-q', '-m', `Release ${version}`);
  git('tag', '-a', version, '-m', `shipline ${version}`);
  git('tag', '-a', `v${version}`, '-m', `shipline ${version}`);
  git('tag', '-f', '-a', `v${maj}`, '-m', `shipline ${version} (moving major tag)`);
  process.stdout.write(
    `released ${version}: commit ${git('rev-parse', '--short', 'HEAD')}, tags ${version}, v${version}, v${maj}\n` +
      `push with: git push origin HEAD ${version} v${version} && git push -f origin v${maj}\n`,
  );
}

const [cmd, arg] = process.argv.slice(2);
if (cmd === 'notes') {
  if (!arg) fail('usage: node scripts/release.mjs notes X.Y.Z');
  const section = changelogSection(readFileSync(join(root, 'CHANGELOG.md'), 'utf8'), arg.replace(/^v/, ''));
  if (section === undefined) fail(`CHANGELOG.md has no section for ${arg}`);
  process.stdout.write(section + '\n');
} else if (cmd && cmd !== '--help') {
  release(cmd);
} else {
  process.stdout.write('usage: node scripts/release.mjs X.Y.Z | notes X.Y.Z\n');
  process.exit(cmd ? 0 : 2);
}
