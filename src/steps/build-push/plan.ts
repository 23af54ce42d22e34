// Turns build-push's inputs and the CI context into one checked plan, before any docker
// call: the Dockerfile exists, target/smoke-target are real stages, every reference is
// valid, extract items are well formed, secrets parse and their files exist. Every problem
// is an InputError (exit 2).
import { statSync } from 'node:fs';
import type { CiContext } from '../../lib/ci/context';
import type { Stage } from '../../lib/docker/dockerfile';
import { parseExtract, type DockerBuild, type ExtractItem } from '../../lib/docker/build';
import { parseReference, ReferenceError, registryOf, repositoryName } from '../../lib/registry/reference';
import { errorMessage, isShiplineError } from '../../lib/util/errors';
import { InputError } from '../../runtime/inputs';
import { inWorkspace, planDockerfile, withFormHint, workspaceDestination } from '../shared/dockerfile';
import { isFullReference, planTags, TAG_INPUTS } from '../shared/tag-inputs';
import type { Inputs } from './index';

/** What every build of the step shares (the smoke build and the target build differ in target, tags, cache). */
export interface BuildPushPlan extends Pick<
  DockerBuild,
  'context' | 'file' | 'buildArgs' | 'labels' | 'pull' | 'network' | 'cacheFrom' | 'cacheTo' | 'platforms'
> {
  stages: Stage[];
  /** The Dockerfile's text (for the one LABEL line of the classic builder). */
  dockerfileText: string;
  target: string | undefined;
  smokeTarget: string | undefined;
  /** Full references to tag and (with push) push, in order. */
  refs: string[];
  push: boolean;
  builder: Inputs['builder'];
  extract: ExtractItem[];
  login: { registries: string[]; username: string; password: string } | undefined;
  options: BuildOptions;
  /** Secrets for `RUN --mount=type=secret` (BuildKit). */
  secrets: BuildSecret[];
  /** `--ssh` items (BuildKit). */
  ssh: string[];
  load: boolean;
}

/** Shorter credentials cannot be masked in a log (each character would be); they are refused. */
export const MIN_CREDENTIAL = 4;

/** `check` of the password input (the value is never shown). */
export const credentialCheck = (v: string): string | undefined =>
  v.trim().length > 0 && v.trim().length < MIN_CREDENTIAL
    ? `is shorter than ${MIN_CREDENTIAL} characters: a value that short cannot be masked in the log`
    : undefined;

/** `check` of cache-to: a buildx `type=…` export, never something docker would read as an option. */
export function cacheToCheck(v: string): string | undefined {
  return /^type=[a-z0-9-]+(,|$)/.test(v) ? undefined : `'${v}' is not a buildx cache export (type=…)`;
}

/** `check` of the refs and cache-from inputs: a full reference with a tag (or a buildx `type=…` source, or `none`). */
export function refCheck(v: string): string | undefined {
  if (v === 'none') return undefined; // cache-from none
  if (v.includes('=')) return cacheToCheck(v) && `'${v}' is not a reference or a buildx cache source (type=…)`;
  try {
    if (!parseReference(v, { allowDigest: false }).tag) return `'${v}' has no tag`;
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** A full reference with a tag, normalised (`host/repo:tag`); InputError naming it otherwise. */
function checkRef(input: string, ref: string): string {
  try {
    const r = parseReference(ref, { allowDigest: false });
    if (!r.tag) throw new ReferenceError(`'${ref}' has no tag`);
    return `${repositoryName(r)}:${r.tag}`;
  } catch (err) {
    if (err instanceof ReferenceError)
      throw new InputError(input, err.message, 'give full references like registry.example.com/team/app:tag');
    throw err;
  }
}

/**
 * Default cache sources: the tags this pipeline pushes that move (MR-<iid>, a branch
 * slug — not the commit's own sha, which cannot exist yet), then `latest`, per image.
 */
export function defaultCacheFrom(refs: string[], ci: CiContext, shaLength: number): string[] {
  const sha = ci.sha?.slice(0, shaLength);
  const out: string[] = [];
  for (const ref of refs) {
    const tag = ref.slice(ref.lastIndexOf(':') + 1);
    if (tag !== sha && tag !== ci.sha) out.push(ref);
  }
  for (const ref of refs) out.push(`${ref.slice(0, ref.lastIndexOf(':'))}:latest`);
  return [...new Set(out)];
}

export function planBuild(inputs: Inputs, ci: CiContext, workspace: string): BuildPushPlan {
  const { context, file, stages, text } = planDockerfile(workspace, inputs);

  // Full references among the tags (metadata-action's output) are pushed as they are; the
  // other lines are rules applied to the images.
  const given = inputs.tags.filter(isFullReference);
  const rules = inputs.tags.filter((t) => !isFullReference(t));
  const tagPlan = withFormHint(
    () => planTags(ci, { ...inputs, tags: given.length && rules.length === 0 ? ['defaults'] : rules }),
    TAG_INPUTS,
  );
  const fromRules = inputs.images.length && !(given.length && rules.length === 0) ? tagPlan.refs : [];
  const refs = [...new Set([...fromRules, ...given].map((r) => checkRef('tags', r)))];
  for (const r of inputs.refs) {
    const ref = checkRef('refs', r);
    if (!refs.includes(ref)) refs.push(ref);
  }
  if (inputs.push && refs.length === 0) {
    throw new InputError(
      'images',
      `nothing to push: ${inputs.images.length ? `no tag rule applies to this pipeline (${ci.provider}, event ${ci.event})` : 'no images and no refs were given'}`,
      inputs.images.length
        ? 'add a rule that applies (e.g. type=sha or type=raw,value=dev) or set push: false'
        : 'set images (GitLab default $CI_REGISTRY_IMAGE) or refs, or push: false',
    );
  }

  const { builder } = inputs;
  if (builder === 'docker' && inputs.platforms.length > 1) {
    throw new InputError(
      'platforms',
      `the classic builder builds one platform, not ${inputs.platforms.join(', ')}`,
      'use builder: buildx (or auto on a runner with buildx)',
    );
  }
  if (inputs.load && inputs.platforms.length > 1) {
    throw new InputError(
      'load',
      `an image of several platforms (${inputs.platforms.join(', ')}) cannot be loaded into the engine`,
      'build one platform with load: true, or drop load (buildx pushes a multi-platform image itself)',
    );
  }
  if (builder === 'docker' && inputs.cacheTo.length) {
    throw new InputError(
      'cache-to',
      'the classic builder cannot export a cache',
      'drop cache-to (the pushed image is the cache for --cache-from) or use builder: buildx',
    );
  }

  let cacheFrom: string[];
  if (inputs.cacheFrom.length === 1 && inputs.cacheFrom[0] === 'none') cacheFrom = [];
  else if (inputs.cacheFrom.length === 0) cacheFrom = defaultCacheFrom(refs, ci, inputs.shaLength);
  else cacheFrom = inputs.cacheFrom.map((c) => (c.includes('=') ? c : checkRef('cache-from', c)));

  const extract = inputs.extract.map((item) => {
    let e: ExtractItem;
    try {
      e = parseExtract(item);
    } catch (err) {
      if (!isShiplineError(err)) throw err;
      throw new InputError(
        'extract',
        err.message,
        'use lines like /src/deps.lock:deps.lock (path in the image : destination in the workspace)',
      );
    }
    return { from: e.from, to: workspaceDestination('extract', workspace, e.to) };
  });

  let login: BuildPushPlan['login'];
  if (inputs.password) {
    if (!inputs.username)
      throw new InputError(
        'username',
        'is required when password is given',
        'give the registry user too, or no password',
      );
    const short = credentialCheck(inputs.password);
    if (short) throw new InputError('password', short, 'give the registry password or token itself');
    const registries = inputs.loginRegistry.length
      ? inputs.loginRegistry
      : [...new Set(refs.map(registryOf).filter((r) => r !== undefined))];
    if (registries.length === 0)
      throw new InputError('login-registry', 'no registry to log in to', 'set login-registry or images/refs');
    login = { registries, username: inputs.username, password: inputs.password };
  }

  const secrets = planSecrets(inputs, workspace);

  return {
    context,
    file,
    stages,
    dockerfileText: text,
    target: inputs.target || undefined,
    smokeTarget: inputs.smokeTarget || undefined,
    buildArgs: inputs.buildArgs,
    labels: tagPlan.labels,
    refs,
    push: inputs.push,
    pull: inputs.pull,
    network: inputs.network,
    cacheFrom,
    cacheTo: inputs.cacheTo,
    platforms: inputs.platforms,
    builder,
    extract,
    login,
    options: {
      noCache: inputs.noCache,
      addHosts: inputs.addHosts.map((h) => {
        const a = parseAddHost(h)!;
        return `${a.host}:${a.ip}`;
      }),
      shmSize: inputs.shmSize || undefined,
      ulimits: inputs.ulimit,
      cgroupParent: inputs.cgroupParent || undefined,
    },
    secrets,
    ssh: inputs.ssh.map(unquote),
    load: inputs.load,
  };
}

// ---------------------------------------------------------------------------------------
// docker/build-push-action's build options: checks (used by the declaration) and parsing.

/** `add-hosts` item: `host:ip` or `host=ip` (IPv4, IPv6, or docker's `host-gateway`). */
export function parseAddHost(v: string): { host: string; ip: string } | undefined {
  const sep = /^[^:=]*[:=]/.exec(v);
  if (!sep) return undefined;
  const host = v.slice(0, sep[0].length - 1);
  let ip = v.slice(sep[0].length);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (!/^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/.test(host) || host.endsWith('.') || host.includes('..'))
    return undefined;
  if (ip === 'host-gateway' || isIPv4(ip) || isIPv6(ip)) return { host, ip };
  return undefined;
}

const isIPv4 = (s: string) => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s);

function isIPv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(s) || !s.includes(':')) return false;
  try {
    // the WHATWG URL parser checks an IPv6 literal strictly
    return new URL(`http://[${s}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

export const addHostCheck = (v: string): string | undefined =>
  parseAddHost(v) ? undefined : `'${v}' is not host:ip (e.g. registry.internal:10.0.0.5, or host-gateway as the ip)`;

/** `shm-size`: docker's byte sizes (`64m`, `2g`, `1.5GB`, `512`). */
export const shmSizeCheck = (v: string): string | undefined =>
  /^[0-9]{1,15}(\.[0-9]{1,6})?[kKmMgGtTpP]?[iI]?[bB]?$/.test(v) ? undefined : `'${v}' is not a size like 64m or 2g`;

const ULIMITS = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
];

/** `ulimit` item: `name=soft[:hard]` (docker's names; -1 is unlimited; soft ≤ hard). */
export function ulimitCheck(v: string): string | undefined {
  const m = /^([a-z]+)=(-1|[0-9]{1,18})(?::(-1|[0-9]{1,18}))?$/.exec(v);
  if (!m) return `'${v}' is not name=soft[:hard] (e.g. nofile=1024:2048)`;
  if (!ULIMITS.includes(m[1]!)) return `'${m[1]}' is not a ulimit (use one of ${ULIMITS.join(', ')})`;
  const n = (x: string) => (x === '-1' ? Number.POSITIVE_INFINITY : Number(x));
  if (m[3] !== undefined && n(m[2]!) > n(m[3])) return `'${v}': the soft limit is above the hard limit`;
  return undefined;
}

/** `cgroup-parent`: a cgroup path or systemd slice, never an option. */
export const cgroupParentCheck = (v: string): string | undefined =>
  /^[A-Za-z0-9_./:@][A-Za-z0-9_./:@-]{0,254}$/.test(v) && !v.includes('..')
    ? undefined
    : `'${v}' is not a cgroup path (e.g. /ci-builds or ci.slice)`;

const SECRET_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/** A whole-item CSV quote (`"id=a,b"`, a doubled quote inside) taken off, as build-push-action reads list items. */
function unquote(item: string): string {
  return item.length >= 2 && item.startsWith('"') && item.endsWith('"') ? item.slice(1, -1).replace(/""/g, '"') : item;
}

/** `id=rest` of a secret-envs / secret-files line; the id names the secret in `RUN --mount=type=secret,id=…`. */
function idPair(item: string): { id: string; rest: string } | undefined {
  const v = unquote(item);
  const eq = v.indexOf('=');
  if (eq <= 0) return undefined;
  const id = v.slice(0, eq);
  return SECRET_ID.test(id) ? { id, rest: v.slice(eq + 1) } : undefined;
}

export const secretEnvCheck = (v: string): string | undefined => {
  const p = idPair(v);
  return p && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p.rest)
    ? undefined
    : `'${v}' is not id=VARIABLE (the secret's id, then the name of the job variable holding it)`;
};

export const secretFileCheck = (v: string): string | undefined => {
  const p = idPair(v);
  return p && p.rest.trim() !== '' && !/[\r\n]/.test(p.rest)
    ? undefined
    : `'${v}' is not id=path (the secret's id, then the file holding it)`;
};

/** `ssh` item: `default`, `default=<socket or key>[,…]`, `<id>=<socket or key>[,…]`. */
export const sshCheck = (v: string): string | undefined => {
  const u = unquote(v);
  const m = /^([A-Za-z0-9_.-]{1,128})(=(.+))?$/.exec(u);
  if (!m || (m[3] !== undefined && m[3].split(',').some((p) => p.trim() === '' || p.startsWith('-'))))
    return `'${v}' is not default or id=path (an ssh agent socket or key file)`;
  return undefined;
};

/** One secret the build gets: a value (written to a 0600 file by main), a job variable, or a file. */
export type BuildSecret =
  | { id: string; kind: 'value'; value: string }
  | { id: string; kind: 'env'; variable: string }
  | { id: string; kind: 'file'; path: string };

/**
 * The `secrets` input as docker/build-push-action reads it: one `id=value` per line, a
 * record in double quotes may hold commas, quotes (doubled) and line breaks. The errors
 * never show a value: only the line number and the id.
 */
export function parseSecrets(text: string): { id: string; value: string }[] {
  const records: string[] = [];
  let cur = '';
  let inQuote = false;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inQuote) {
      if (c === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') inQuote = false;
      else cur += c;
      continue;
    }
    if (c === '"' && fieldStart) {
      inQuote = true;
      fieldStart = false;
      continue;
    }
    if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      records.push(cur);
      cur = '';
      fieldStart = true;
      continue;
    }
    cur += c;
    fieldStart = c === ',';
  }
  if (inQuote)
    throw new InputError('secrets', 'a quoted secret is not closed', 'end it with a double quote: "id=value"');
  records.push(cur);
  const out: { id: string; value: string }[] = [];
  records.forEach((raw, n) => {
    const rec = raw.trim();
    if (rec === '' || rec.startsWith('#')) return;
    const eq = rec.indexOf('=');
    const id = eq > 0 ? rec.slice(0, eq).trim() : '';
    if (!SECRET_ID.test(id))
      throw new InputError(
        'secrets',
        `record ${n + 1} is not id=value (an id of letters, digits, '_', '.', '-', then '=')`,
        'one secret per line: id=value, or "id=a value with, commas or line breaks"',
      );
    const value = rec.slice(eq + 1);
    if (value === '')
      throw new InputError(
        'secrets',
        `secret '${id}' has an empty value`,
        'give the value (an unset CI variable expands to nothing), or drop the line',
      );
    out.push({ id, value });
  });
  return out;
}

/** Every secret of the three inputs, each id once. */
export function planSecrets(
  inputs: Pick<Inputs, 'secrets' | 'secretEnvs' | 'secretFiles'>,
  workspace: string,
): BuildSecret[] {
  const out: BuildSecret[] = [];
  const seen = new Map<string, string>();
  const add = (input: string, s: BuildSecret) => {
    const was = seen.get(s.id);
    if (was) throw new InputError(input, `secret id '${s.id}' is also given in '${was}'`, 'give each secret id once');
    seen.set(s.id, input);
    out.push(s);
  };
  for (const s of parseSecrets(inputs.secrets ?? '')) add('secrets', { id: s.id, kind: 'value', value: s.value });
  for (const item of inputs.secretEnvs) {
    const p = idPair(item)!;
    add('secret-envs', { id: p.id, kind: 'env', variable: p.rest });
  }
  for (const item of inputs.secretFiles) {
    const p = idPair(item)!;
    const path = inWorkspace(workspace, p.rest.trim());
    let file = false;
    try {
      file = statSync(path).isFile();
    } catch {
      // missing: said below
    }
    if (!file)
      throw new InputError(
        'secret-files',
        `secret '${p.id}': ${path} is not a file`,
        'give the path of the file holding the secret, relative to the workspace or absolute',
      );
    add('secret-files', { id: p.id, kind: 'file', path });
  }
  return out;
}

/** The build options build-push passes as they are (validated by the declaration). */
export interface BuildOptions {
  noCache: boolean;
  addHosts: string[];
  shmSize: string | undefined;
  ulimits: string[];
  cgroupParent: string | undefined;
}
