// known_hosts lines for StrictHostKeyChecking=yes without ssh-keyscan (which trusts
// whatever answers first): lines are given, checked, and bare `<type> <key>` lines get
// the `host` input as their host field.
import { ShiplineError } from '../util/errors';

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `host` or `host:port` as known_hosts writes it (`[host]:port` for a port other than 22). */
export function hostPattern(host: string): string {
  const m = /^\[?([^\]\s]+?)\]?(?::(\d+))?$/.exec(host.trim());
  if (!m || /[\s,]/.test(host.trim())) throw new ShiplineError(`host: '${host}' is not a host name or host:port`, { hint: 'e.g. gitlab.example.com or gitlab.example.com:2222' });
  const port = m[2];
  return port && port !== '22' ? `[${m[1]}]:${port}` : m[1]!;
}

/** The known_hosts file text; throws naming the first bad line (these lines are public). */
export function buildKnownHosts(lines: string[], host?: string): string {
  const pattern = host ? hostPattern(host) : undefined;
  const out: string[] = [];
  let coversHost = false;
  let hashed = false;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let rest = f;
    let marker = '';
    if (f[0] === '@cert-authority' || f[0] === '@revoked') {
      marker = `${f[0]} `;
      rest = f.slice(1);
    }
    let hosts: string;
    if (KEY_TYPE.test(rest[0] ?? '')) {
      if (!pattern) throw new ShiplineError(`known-hosts line ${i + 1} has no host field`, { hint: 'write `<host> <type> <key>`, or set the host input for bare `<type> <key>` lines' });
      hosts = pattern;
      rest = [pattern, ...rest];
    } else hosts = rest[0] ?? '';
    if (!KEY_TYPE.test(rest[1] ?? '') || !B64.test(rest[2] ?? '')) {
      throw new ShiplineError(`known-hosts line ${i + 1} is not '<host> <key-type> <base64-key>'`, { hint: 'copy the lines from `ssh-keyscan <host>` run somewhere you trust, or from your Git host\'s published fingerprints' });
    }
    if (hosts.startsWith('|1|')) hashed = true;
    if (pattern && hosts.split(',').includes(pattern)) coversHost = true;
    out.push(marker + rest.join(' '));
  });
  if (out.length === 0) throw new ShiplineError('known-hosts is empty', { hint: 'StrictHostKeyChecking=yes needs the server host keys: give known_hosts lines' });
  if (pattern && !coversHost && !hashed) throw new ShiplineError(`no known-hosts line is for '${pattern}'`, { hint: 'add that host\'s key lines, or give bare `<type> <key>` lines with the host input' });
  return out.join('\n') + '\n';
}
