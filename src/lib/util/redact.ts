// Secret registry shared by every logger of a process: once a value is registered it is
// replaced in every line written afterwards, whatever the platform.
// Held on globalThis: a step's dist/<step>/lazy.js bundles its own copy of this module,
// and both copies must redact the same values.
const KEY = Symbol.for('shipline.secrets');
const holder = globalThis as unknown as Record<symbol, Set<string> | undefined>;
const secrets: Set<string> = (holder[KEY] ??= new Set<string>());

/**
 * Values shorter than this are never registered: masking a 1–3 character value replaces
 * that text everywhere in the log, which garbles it and gives the value away (the runtime
 * warns that such a value cannot be hidden; steps refuse short credentials).
 */
export const MIN_SECRET_LENGTH = 4;

export function maskable(value: string | undefined): value is string {
  return value !== undefined && value.length >= MIN_SECRET_LENGTH;
}

/** Registers a value for redaction; false (nothing registered) when it is too short to mask. */
export function registerSecret(value: string | undefined): boolean {
  if (!maskable(value)) return false;
  secrets.add(value);
  // Multi-line secrets (keys): each line too, as GitHub does.
  for (const line of value.split(/\r?\n/)) if (maskable(line.trim())) secrets.add(line.trim());
  return true;
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
