// `docker build` for both builders: the argv (buildx, or the classic builder where no
// buildx exists), and reading the builder's output (steps, cache hits, push progress).
// Pure functions here; running them is Docker.run's job.
import { ShiplineError } from '../util/errors';
import { parsePushDigest } from './docker';

export type DockerBuilder = 'buildx' | 'docker';

/** One `docker build` / `docker buildx build` run. */
export interface DockerBuild {
  context: string;
  file: string;
  target?: string | undefined;
  /** `KEY=value`, or `KEY` alone to take the value from the environment (secrets stay out of argv). */
  buildArgs: string[];
  labels: Record<string, string>;
  /** References to tag the result with (local; pushing is separate). */
  tags: string[];
  pull: boolean;
  /** `--network` for the build's RUN steps (e.g. `host` where the engine has no default bridge). */
  network?: string | undefined;
  cacheFrom: string[];
  cacheTo: string[];
  platforms: string[];
  /** Where the builder writes the image id. */
  iidFile: string;
  /** buildx only: write straight to the registry (multi-platform cannot be loaded). */
  push?: boolean;
  /** buildx only: where it writes the build metadata (digest). */
  metadataFile?: string;
}

export interface BuildCommand {
  args: string[];
  env: Record<string, string>;
}

export function buildCommand(builder: DockerBuilder, s: DockerBuild): BuildCommand {
  const common = [
    '--file',
    s.file,
    '--iidfile',
    s.iidFile,
    ...(s.target ? ['--target', s.target] : []),
    ...s.buildArgs.flatMap((a) => ['--build-arg', a]),
    ...Object.entries(s.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    ...s.tags.flatMap((t) => ['--tag', t]),
    ...(s.pull ? ['--pull'] : []),
    ...(s.network ? ['--network', s.network] : []),
  ];
  if (builder === 'docker') {
    // The classic builder: one platform at most, cache only from local images,
    // --force-rm so a failing RUN leaves no intermediate container behind.
    return {
      args: [
        'build',
        '--force-rm',
        ...common,
        ...s.cacheFrom.flatMap((c) => ['--cache-from', c]),
        ...s.platforms.flatMap((p) => ['--platform', p]),
        s.context,
      ],
      env: { DOCKER_BUILDKIT: '0' },
    };
  }
  const cacheFrom = s.cacheFrom.map((c) => (c.includes('=') ? c : `type=registry,ref=${c}`));
  // Inline cache metadata makes the pushed image itself the next build's cache.
  const cacheTo = s.cacheTo.length ? s.cacheTo : ['type=inline'];
  return {
    args: [
      'buildx',
      'build',
      '--progress',
      'plain',
      ...common,
      ...cacheFrom.flatMap((c) => ['--cache-from', c]),
      ...cacheTo.flatMap((c) => ['--cache-to', c]),
      ...(s.platforms.length ? ['--platform', s.platforms.join(',')] : []),
      ...(s.push ? ['--push'] : ['--load']),
      ...(s.metadataFile ? ['--metadata-file', s.metadataFile] : []),
      s.context,
    ],
    env: {},
  };
}

/** Build steps seen in the builder's output, and how many came from cache (FROM excluded). */
export interface CacheStats {
  steps: number;
  cached: number;
  /** Instructions that were not cached, as printed. */
  missed: string[];
}

/**
 * Counts steps and cache hits from classic (`Step n/m :`, `---> Using cache`) or buildx
 * (`#n [x 2/3] RUN`, `#n CACHED`) output. `labels`: the `--label` flags, which the classic
 * builder appends as LABEL steps (no layer; they change with every pipeline's version).
 */
export function cacheStats(lines: string[], labels: Record<string, string> = {}): CacheStats {
  const injected = new Set(Object.entries(labels).map(([k, v]) => `LABEL ${k}=${v}`));
  const stats: CacheStats = { steps: 0, cached: 0, missed: [] };
  let current: string | undefined;
  let currentCached = false;
  let currentRan = false;
  const close = () => {
    // Global ARGs print no '--->' line: they are not layers.
    if (current !== undefined && currentRan) {
      stats.steps++;
      if (currentCached) stats.cached++;
      else stats.missed.push(current);
    }
    current = undefined;
  };
  const buildxSteps = new Map<string, { text: string; cached: boolean }>();
  for (const raw of lines) {
    const line = raw.trimEnd();
    const classic = /^Step \d+\/\d+ : (.*)$/.exec(line);
    if (classic) {
      close();
      const ins = classic[1]!;
      if (/^FROM\s/i.test(ins) || injected.has(ins)) continue;
      current = ins;
      currentCached = false;
      currentRan = false;
      continue;
    }
    if (current !== undefined && /^\s*---> /.test(line)) currentRan = true;
    if (current !== undefined && /^\s*---> Using cache\s*$/.test(line)) currentCached = true;
    const bx = /^#(\d+) \[[^\]]*\d+\/\d+\] (.*)$/.exec(line);
    if (bx && !/^FROM\s/i.test(bx[2]!)) {
      buildxSteps.set(bx[1]!, { text: bx[2]!, cached: buildxSteps.get(bx[1]!)?.cached ?? false });
      continue;
    }
    const bxCached = /^#(\d+) CACHED\s*$/.exec(line);
    if (bxCached) {
      const s = buildxSteps.get(bxCached[1]!);
      if (s) s.cached = true;
    }
  }
  close();
  for (const s of buildxSteps.values()) {
    stats.steps++;
    if (s.cached) stats.cached++;
    else stats.missed.push(s.text);
  }
  return stats;
}

/**
 * Folds `docker push` output (a line per layer per state without a TTY) into one line per
 * layer's final state and a total, so a push of many layers logs a short list.
 */
export class PushProgress {
  private readonly layers = new Map<string, string>();

  /** Feeds one output line; returns a line worth logging now, if any (the digest line is not: the caller reports it). */
  feed(line: string): string | undefined {
    const l = line.trim();
    if (parsePushDigest(l)) return undefined;
    const m = /^([a-f0-9]{12}): (Pushed|Layer already exists|Mounted from .*)$/.exec(l);
    if (m) {
      this.layers.set(m[1]!, m[2]!);
      return `${m[1]}: ${m[2]}`;
    }
    const s = /^([a-f0-9]{12}): (Preparing|Waiting|Pushing.*|Retrying.*)$/.exec(l);
    if (s) {
      if (!this.layers.has(s[1]!)) this.layers.set(s[1]!, s[2]!.split(' ')[0]!);
      return /^Retrying/.test(s[2]!) ? `${s[1]}: ${s[2]}` : undefined;
    }
    return l === '' || /^The push refers to/.test(l) ? undefined : l;
  }

  summary(): string {
    const count = (re: RegExp) => [...this.layers.values()].filter((v) => re.test(v)).length;
    return `${this.layers.size} layers: ${count(/^Pushed$/)} pushed, ${count(/^Layer already exists$/)} already there, ${count(/^Mounted from/)} mounted`;
  }
}

/** One `extract` item: `/path/in/image:dest` (split at the first ':' after the absolute path). */
export interface ExtractItem {
  from: string;
  to: string;
}

export function parseExtract(item: string): ExtractItem {
  const i = item.indexOf(':');
  const from = i > 0 ? item.slice(0, i).trim() : '';
  const to = i > 0 ? item.slice(i + 1).trim() : '';
  if (!from.startsWith('/') || to === '')
    throw new ShiplineError(`'${item}' is not /path/in/image:dest`, { kind: 'invalid', data: { item } });
  return { from, to };
}

/**
 * Whether a failed `docker push` is worth another try, from its output: throttling, 5xx,
 * timeouts and connection resets are; auth, denied, invalid manifests and the rest are not.
 */
export function classifyPushFailure(output: string): { retry: false } | { retry: true; reason: string } {
  if (
    /unauthorized|authentication required|denied|forbidden|\b40[13]\b|manifest invalid|name unknown|no basic auth credentials/i.test(
      output,
    )
  )
    return { retry: false };
  const m =
    /toomanyrequests|429 Too Many Requests/i.exec(output) ??
    /\b5\d\d (?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b|unexpected HTTP status: 5\d\d/i.exec(
      output,
    ) ??
    /connection reset by peer|i\/o timeout|TLS handshake timeout|unexpected EOF|net\/http: request canceled|broken pipe/i.exec(
      output,
    );
  return m ? { retry: true, reason: m[0] } : { retry: false };
}
