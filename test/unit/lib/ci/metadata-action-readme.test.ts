// Every example of docker/metadata-action's README tables (tags, semver, pep440, match,
// ref, schedule, the global expressions, date formats) gives the same tags here, on GitHub
// and on GitLab contexts of the same situation. Clock: 2020-01-10T00:30:00Z, like its tests.
import { computeTags, parseRules } from '../../../../src/lib/ci/tags';
import { parseFlavor } from '../../../../src/lib/ci/flavor';
import { situationContext, type Provider, type Situation } from '../../../fixtures/ci/situations';

const NOW = new Date('2020-01-10T00:30:00Z');
/** metadata-action's rules when `tags` is empty (shipline's own defaults differ: see README). */
const ANCHOR_DEFAULTS = ['type=schedule', 'type=ref,event=branch', 'type=ref,event=tag', 'type=ref,event=pr'];
const SEMVER_EXAMPLE = [
  'type=ref,event=branch',
  'type=ref,event=pr',
  'type=semver,pattern={{version}}',
  'type=semver,pattern={{major}}.{{minor}}',
];

const pr2: Situation = { kind: 'pr', number: '2' };
const master: Situation = { kind: 'branch', name: 'master' };
const tag = (name: string): Situation => ({ kind: 'tag', name });
const branch = (name: string): Situation => ({ kind: 'branch', name });

interface Row {
  table: string;
  s: Situation;
  rules: string[];
  flavor?: string[];
  want: string[];
  /** Where GitLab has no such signal (a tag push's base_ref). */
  gitlab?: string[];
}

// prettier-ignore
const rows: Row[] = [
  // Usage / Basic
  { table: 'basic', s: pr2, rules: ANCHOR_DEFAULTS, want: ['pr-2'] },
  { table: 'basic', s: master, rules: ANCHOR_DEFAULTS, want: ['master'] },
  { table: 'basic', s: branch('releases/v1'), rules: ANCHOR_DEFAULTS, want: ['releases-v1'] },
  { table: 'basic', s: tag('v1.2.3'), rules: ANCHOR_DEFAULTS, want: ['v1.2.3', 'latest'] },
  { table: 'basic', s: tag('v2.0.8-beta.67'), rules: ANCHOR_DEFAULTS, want: ['v2.0.8-beta.67', 'latest'] },
  { table: 'basic', s: { kind: 'branch', name: 'master', event: 'workflow_dispatch' }, rules: ANCHOR_DEFAULTS, want: ['master'] },
  // Usage / Semver
  { table: 'semver usage', s: pr2, rules: SEMVER_EXAMPLE, want: ['pr-2'] },
  { table: 'semver usage', s: master, rules: SEMVER_EXAMPLE, want: ['master'] },
  { table: 'semver usage', s: branch('releases/v1'), rules: SEMVER_EXAMPLE, want: ['releases-v1'] },
  { table: 'semver usage', s: tag('v1.2.3'), rules: SEMVER_EXAMPLE, want: ['1.2.3', '1.2', 'latest'] },
  { table: 'semver usage', s: tag('v2.0.8-beta.67'), rules: SEMVER_EXAMPLE, want: ['2.0.8-beta.67'] },
  // Bake definition example (refs/tags/v1.2.3, with type=sha)
  { table: 'bake', s: tag('v1.2.3'), rules: [...SEMVER_EXAMPLE, 'type=sha'], want: ['1.2.3', '1.2', 'sha-4f9c2b7', 'latest'] },
  // type=schedule
  { table: 'schedule', s: { kind: 'branch', name: 'master', event: 'schedule' }, rules: ['type=schedule'], want: ['nightly'] },
  { table: 'schedule', s: { kind: 'branch', name: 'master', event: 'schedule' }, rules: ["type=schedule,pattern={{date 'YYYYMMDD'}}"], want: ['20200110'] },
  { table: 'schedule', s: { kind: 'branch', name: 'master', event: 'schedule' }, rules: ["type=schedule,pattern={{date 'YYYYMMDD-HHmmss' tz='Asia/Tokyo'}}"], want: ['20200110-093000'] },
  // type=semver
  ...([
    ['v1.2.3', '{{raw}}', '', 'v1.2.3'],
    ['v1.2.3', '{{version}}', '', '1.2.3'],
    ['v1.2.3', '{{major}}.{{minor}}', '', '1.2'],
    ['v1.2.3', 'v{{major}}', '', 'v1'],
    ['v1.2.3', '{{minor}}', '', '2'],
    ['v1.2.3', '{{patch}}', '', '3'],
    ['p1/v1.2.3', '{{version}}', 'v(\\d.\\d.\\d)$', '1.2.3'],
    ['v2.0.8-beta.67', '{{raw}}', '', 'v2.0.8-beta.67'],
    ['v2.0.8-beta.67', '{{version}}', '', '2.0.8-beta.67'],
    ['v2.0.8-beta.67', '{{major}}', '', '2.0.8-beta.67'],
    ['v2.0.8-beta.67', '{{major}}.{{minor}}', '', '2.0.8-beta.67'],
  ] as const).map(([t, pattern, match, out]): Row => ({
    table: 'semver', s: tag(t), rules: [`type=semver,pattern=${pattern}${match ? `,match=${match}` : ''}`], flavor: ['latest=false'], want: [out],
  })),
  // type=pep440
  ...([
    ['1.2.3', '{{raw}}', '', '1.2.3'],
    ['1.2.3', '{{version}}', '', '1.2.3'],
    ['v1.2.3', '{{version}}', '', '1.2.3'],
    ['1.2.3', '{{major}}.{{minor}}', '', '1.2'],
    ['1.2.3', 'v{{major}}', '', 'v1'],
    ['v1.2.3rc2', '{{raw}}', '', 'v1.2.3rc2'],
    ['1.2.3rc2', '{{version}}', '', '1.2.3rc2'],
    ['p1/v1.2.3', '{{version}}', 'v(\\d.\\d.\\d)$', '1.2.3'],
    ['1.2.3rc2', '{{major}}.{{minor}}', '', '1.2.3rc2'],
    ['1.2.3post1', '{{major}}.{{minor}}', '', '1.2.3.post1'],
    ['1.2.3beta2', '{{major}}.{{minor}}', '', '1.2.3b2'],
    ['1.0dev4', '{{major}}.{{minor}}', '', '1.0.dev4'],
  ] as const).map(([t, pattern, match, out]): Row => ({
    table: 'pep440', s: tag(t), rules: [`type=pep440,pattern=${pattern}${match ? `,match=${match}` : ''}`], flavor: ['latest=false'], want: [out],
  })),
  // type=match
  ...([
    ['v1.2.3', '\\d.\\d.\\d', '0', '1.2.3'],
    ['v2.0.8-beta.67', 'v(.*)', '1', '2.0.8-beta.67'],
    ['v2.0.8-beta.67', 'v(\\d.\\d)', '1', '2.0'],
    ['20200110-RC2', '\\d+', '0', '20200110'],
    ['p1/v1.2.3', 'p1/v(\\d.\\d.\\d)', '1', '1.2.3'],
  ] as const).map(([t, pattern, group, out]): Row => ({
    table: 'match', s: tag(t), rules: [`type=match,pattern=${pattern},group=${group}`], flavor: ['latest=false'], want: [out],
  })),
  // type=edge
  { table: 'edge', s: master, rules: ['type=edge'], want: ['edge'] },
  { table: 'edge', s: branch('dev'), rules: ['type=edge'], want: [] },
  { table: 'edge', s: branch('dev'), rules: ['type=edge,branch=dev'], want: ['edge'] },
  // type=ref
  { table: 'ref', s: pr2, rules: ['type=ref,event=pr'], want: ['pr-2'] },
  { table: 'ref', s: master, rules: ['type=ref,event=branch'], want: ['master'] },
  { table: 'ref', s: branch('my/branch'), rules: ['type=ref,event=branch'], want: ['my-branch'] },
  { table: 'ref', s: tag('v1.2.3'), rules: ['type=ref,event=tag'], flavor: ['latest=false'], want: ['v1.2.3'] },
  { table: 'ref', s: tag('v2.0.8-beta.67'), rules: ['type=ref,event=tag'], flavor: ['latest=false'], want: ['v2.0.8-beta.67'] },
  { table: 'ref', s: { kind: 'branch', name: 'master', event: 'workflow_dispatch' }, rules: ['type=ref,event=branch'], want: ['master'] },
  // type=raw: the three spellings
  { table: 'raw', s: master, rules: ['type=raw,value=foo', 'type=raw,value=bar'], want: ['foo', 'bar'] },
  { table: 'raw', s: master, rules: ['type=raw,foo', 'type=raw,bar'], want: ['foo', 'bar'] },
  { table: 'raw', s: master, rules: ['foo', 'bar'], want: ['foo', 'bar'] },
  // type=sha
  { table: 'sha', s: master, rules: ['type=sha'], want: ['sha-4f9c2b7'] },
  { table: 'sha', s: master, rules: ['type=sha,format=long'], want: ['sha-4f9c2b7e1a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d'] },
  // Latest tag notes
  { table: 'latest', s: master, rules: ['type=raw,value=latest,enable={{is_default_branch}}'], want: ['latest'] },
  { table: 'latest', s: branch('dev'), rules: ['type=raw,value=latest,enable={{is_default_branch}}'], want: [] },
  // Global expressions
  { table: 'expressions', s: master, rules: ['type=sha,prefix={{branch}}-'], want: ['master-4f9c2b7'] },
  { table: 'expressions', s: master, rules: ['type=raw,value=mytag-{{branch}}-{{sha}}'], want: ['mytag-master-4f9c2b7'] },
  { table: '{{branch}}', s: pr2, rules: ['type=raw,value=b-{{branch}}'], want: ['b-'] },
  { table: '{{branch}}', s: master, rules: ['type=raw,value={{branch}}'], want: ['master'] },
  { table: '{{branch}}', s: branch('my/branch'), rules: ['type=raw,value={{branch}}'], want: ['my-branch'] },
  { table: '{{branch}}', s: tag('v1.2.3'), rules: ['type=raw,value=b-{{branch}}'], want: ['b-'] },
  { table: '{{tag}}', s: pr2, rules: ['type=raw,value=t-{{tag}}'], want: ['t-'] },
  { table: '{{tag}}', s: master, rules: ['type=raw,value=t-{{tag}}'], want: ['t-'] },
  { table: '{{tag}}', s: branch('my/branch'), rules: ['type=raw,value=t-{{tag}}'], want: ['t-'] },
  { table: '{{tag}}', s: tag('v1.2.3'), rules: ['type=raw,value={{tag}}'], want: ['v1.2.3'] },
  { table: '{{sha}}', s: master, rules: ['type=raw,value={{sha}}'], want: ['4f9c2b7'] },
  { table: '{{base_ref}}', s: pr2, rules: ['type=raw,value=r-{{base_ref}}'], want: ['r-master'] },
  { table: '{{base_ref}}', s: master, rules: ['type=raw,value=r-{{base_ref}}'], want: ['r-'] },
  { table: '{{base_ref}}', s: branch('my/branch'), rules: ['type=raw,value=r-{{base_ref}}'], want: ['r-'] },
  { table: '{{base_ref}}', s: { kind: 'tag', name: 'v1.2.3', baseRef: 'master' }, rules: ['type=raw,value=r-{{base_ref}}'], want: ['r-master'], gitlab: ['r-'] },
  { table: '{{is_default_branch}}', s: master, rules: ['type=raw,value={{is_default_branch}}'], want: ['true'] },
  { table: '{{is_default_branch}}', s: branch('dev'), rules: ['type=raw,value={{is_default_branch}}'], want: ['false'] },
  { table: '{{is_not_default_branch}}', s: branch('dev'), rules: ['type=raw,value={{is_not_default_branch}}'], want: ['true'] },
  { table: '{{date}}', s: master, rules: ["type=raw,value={{date 'YYYYMMDD'}}"], want: ['20200110'] },
  { table: '{{date}}', s: master, rules: ["type=raw,value={{date 'YYYYMMDD-HHmmss' tz='Asia/Tokyo'}}"], want: ['20200110-093000'] },
  // 'dddd, MMMM Do YYYY, h:mm:ss a' at 00:30:00Z: "Friday, January 10th 2020, 12:30:00 am", sanitised
  { table: '{{date}}', s: master, rules: ["type=raw,\"value={{date 'dddd, MMMM Do YYYY, h:mm:ss a'}}\""], want: ['Friday-January-10th-2020-12-30-00-am'] },
  { table: '{{commit_date}}', s: master, rules: ["type=raw,value={{commit_date 'YYYYMMDD'}}"], want: ['20261120'] },
  { table: '{{commit_date}}', s: master, rules: ["type=raw,value={{commit_date 'YYYYMMDD-HHmmss' tz='Asia/Tokyo'}}"], want: ['20261120-181530'] },
  // Major version zero: {{major}} on v0.1.2 gives 0, as metadata-action does
  { table: 'major zero', s: tag('v0.1.2'), rules: ['type=semver,pattern={{version}}', 'type=semver,pattern={{major}}.{{minor}}', 'type=semver,pattern={{major}}'], want: ['0.1.2', '0.1', '0', 'latest'] },
  // priority: the highest first; it gives the version
  { table: 'priority', s: tag('v1.2.3'), rules: ['type=sha', 'type=ref,event=tag', 'type=raw,value=first,priority=2000'], flavor: ['latest=false'], want: ['first', 'v1.2.3', 'sha-4f9c2b7'] },
  // flavor
  { table: 'flavor', s: tag('v1.2.3'), rules: ['type=semver,pattern={{version}}'], flavor: ['prefix=app-'], want: ['app-1.2.3', 'latest'] },
  { table: 'flavor', s: tag('v1.2.3'), rules: ['type=semver,pattern={{version}}'], flavor: ['prefix=app-,onlatest=true'], want: ['app-1.2.3', 'app-latest'] },
  { table: 'flavor', s: tag('v1.2.3'), rules: ['type=semver,pattern={{version}}'], flavor: ['suffix=-alpine,onlatest=true'], want: ['1.2.3-alpine', 'latest-alpine'] },
  { table: 'flavor', s: tag('v1.2.3'), rules: ['type=semver,pattern={{version}}', 'type=sha'], flavor: ['prefix=app-', 'suffix=-slim'], want: ['app-1.2.3-slim', 'sha-4f9c2b7-slim', 'latest'] },
  { table: 'flavor', s: tag('v1.2.3'), rules: ['type=semver,pattern={{version}},prefix=own-'], flavor: ['prefix=app-'], want: ['own-1.2.3', 'latest'] },
  { table: 'flavor', s: master, rules: ['type=ref,event=branch'], flavor: ['latest=true'], want: ['master', 'latest'] },
  { table: 'flavor', s: tag('v1.2.3'), rules: ['type=ref,event=tag'], flavor: ['latest=false'], want: ['v1.2.3'] },
  { table: 'flavor', s: pr2, rules: ['type=ref,event=pr'], flavor: ['latest=auto'], want: ['pr-2'] },
];

describe.each<Provider>(['github', 'gitlab'])('%s', (provider) => {
  test.each(rows)('$table: $rules on $s.kind $s.name$s.number -> $want', (row) => {
    const ctx = situationContext(provider, row.s);
    const r = computeTags(ctx, parseRules(row.rules), {
      mrPrefix: 'MR-',
      shaLength: 8,
      latest: 'auto',
      flavor: parseFlavor(row.flavor ?? []),
      now: NOW,
    });
    expect(r.tags).toEqual(provider === 'gitlab' && row.gitlab ? row.gitlab : row.want);
  });
});
