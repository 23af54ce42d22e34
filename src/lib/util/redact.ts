// Secret registry shared by every logger of a process: once a value is registered it is
// replaced in every line written afterwards, whatever the platform.
// Held on globalThis: a step's dist/<step>/lazy.js bundles its own copy of this module,
// and both copies must redact the same values.
const KEY = Symbol.for('shipline.secrets');
const holder = globalThis as unknown as Record<symbol, Set<string> | undefined>;
const secrets: Set<string> = (holder[KEY] ??= new Set<string>());

export function registerSecret(value: string | undefined): void {
  if (!value) return;
  // Very short values would redact ordinary words; GitHub masks them but we refuse to log
  // them instead (steps never log secret values anyway).
  secrets.add(value);
  // Multi-line secrets (keys): each line too, as GitHub does.
  for (const line of value.split(/\r?\n/)) if (line.trim().length >= 4) secrets.add(line.trim());
}

export function redact(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  // Longest first, so a secret containing another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join('***');
  }
  return out;
}
