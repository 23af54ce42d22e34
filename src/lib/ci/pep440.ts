// Python versions (PEP 440): parse, classify and normalise, as docker/metadata-action's
// `type=pep440` rules need them (what its @renovate/pep440 dependency gives it).
export interface Pep440 {
  epoch: number;
  release: number[];
  /** `a`, `b` or `rc` and its number. */
  pre: [string, number] | undefined;
  post: number | undefined;
  dev: number | undefined;
  local: string | undefined;
}

// The grammar of PEP 440's appendix (the regular expression `packaging` uses), case-insensitive.
const PEP440_RE = new RegExp(
  '^\\s*v?' +
    '(?:(\\d+)!)?' + // epoch
    '(\\d+(?:\\.\\d+)*)' + // release
    '(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\\d+)?)?' + // pre
    '(?:-(\\d+)|[-_.]?(post|rev|r)[-_.]?(\\d+)?)?' + // post
    '(?:[-_.]?(dev)[-_.]?(\\d+)?)?' + // dev
    '(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?' + // local
    '\\s*$',
  'i',
);

const PRE: Record<string, string> = {
  alpha: 'a',
  a: 'a',
  beta: 'b',
  b: 'b',
  c: 'rc',
  pre: 'rc',
  preview: 'rc',
  rc: 'rc',
};

export function parsePep440(input: string): Pep440 | undefined {
  const m = PEP440_RE.exec(input);
  if (!m) return undefined;
  return {
    epoch: m[1] ? Number(m[1]) : 0,
    release: m[2]!.split('.').map(Number),
    pre: m[3] ? [PRE[m[3].toLowerCase()]!, Number(m[4] ?? 0)] : undefined,
    post: m[5] !== undefined ? Number(m[5]) : m[6] ? Number(m[7] ?? 0) : undefined,
    dev: m[8] ? Number(m[9] ?? 0) : undefined,
    local: m[10]?.toLowerCase().replace(/[-_]/g, '.'),
  };
}

/** The normalised form: `1!2.0rc1.post2.dev3+local`. */
export function cleanPep440(v: Pep440): string {
  return (
    (v.epoch ? `${v.epoch}!` : '') +
    v.release.join('.') +
    (v.pre ? `${v.pre[0]}${v.pre[1]}` : '') +
    (v.post !== undefined ? `.post${v.post}` : '') +
    (v.dev !== undefined ? `.dev${v.dev}` : '') +
    (v.local ? `+${v.local}` : '')
  );
}

/** A development, pre- or post-release: floating tags never move to one. */
export const isPep440Special = (v: Pep440) => v.pre !== undefined || v.post !== undefined || v.dev !== undefined;
