// Semantic versions as the `semver` package's strict `valid()` reads them (an optional
// leading `v`, no leading zeros, at most 256 characters, numbers within 2^53): the part of
// that package docker/metadata-action's `type=semver` rules use, in 40 lines.
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated identifiers; empty for a release. */
  prerelease: string[];
  build: string[];
  /** `major.minor.patch[-prerelease]` (no build metadata), as semver's `version`. */
  version: string;
  /** What was parsed, as written. */
  raw: string;
}

const NUM = '0|[1-9]\\d*';
const PRE_ID = `(?:${NUM}|\\d*[a-zA-Z-][a-zA-Z0-9-]*)`;
const SEMVER_RE = new RegExp(
  `^v?(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`,
);

export function parseSemver(input: string): SemVer | undefined {
  const text = input.trim();
  if (text.length > 256) return undefined;
  const m = SEMVER_RE.exec(text);
  if (!m) return undefined;
  const [major, minor, patch] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  const prerelease = m[4] ? m[4].split('.') : [];
  if (prerelease.some((id) => /^\d+$/.test(id) && !Number.isSafeInteger(Number(id)))) return undefined;
  return {
    major,
    minor,
    patch,
    prerelease,
    build: m[5] ? m[5].split('.') : [],
    version: `${major}.${minor}.${patch}${prerelease.length ? `-${prerelease.join('.')}` : ''}`,
    raw: input,
  };
}
