// IAM/STS names and their rules: role ARNs, the account inside an ARN, session names and
// session tags sanitised to what STS accepts (so a branch name never fails a call).

/** arn:<partition>:iam::<12 digits>:role/<optional path/>name */
export const ROLE_ARN_RE = 'arn:aws(?:-[a-z]+)*:iam::\\d{12}:role/(?:[\\w+=,.@-]+/)*[\\w+=,.@-]{1,64}';
export const ROLE_ARN_FORM = 'an IAM role ARN like arn:aws:iam::123456789012:role/deploy';

export const ACCOUNT_ID_RE = '\\d{12}';

/** The 12-digit account of an IAM or STS ARN (e.g. AssumedRoleUser.Arn). */
export function accountFromArn(arn: string): string | undefined {
  return /^arn:[\w-]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
}

/** STS RoleSessionName: [\w+=,.@-], 2..64 characters. */
export function sanitizeSessionName(name: string): string {
  let s = name.replace(/[^\w+=,.@-]+/g, '-').slice(0, 64);
  if (s.length < 2) s = `${s}--`.slice(0, 2);
  return s;
}

/** Default session name from the CI context: `shipline-<provider>-<run>` or a time stamp. */
export function defaultSessionName(provider: string, jobId: string | undefined, now = new Date()): string {
  const id = jobId ?? now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return sanitizeSessionName(`shipline-${provider}-${id}`);
}

/** Session tag values: letters, digits, spaces and _.:/=+-@, at most 256 characters. */
export function sanitizeTagValue(value: string): string {
  // ASCII holds no other letters, separators or digits than these: the Unicode classes, whose
  // first use costs a start ~0.7 ms (ICU), only for text beyond ASCII.
  const kept = /^[\0-\x7f]*$/.test(value) ? /[^A-Za-z0-9 _.:/=+\-@]+/g : /[^\p{L}\p{Z}\p{N}_.:/=+\-@]+/gu;
  return value.replace(kept, '_').slice(0, 256);
}

export interface Tag {
  Key: string;
  Value: string;
}

/** `key=value` lines into STS tags; keys 1..128 characters of the same alphabet. */
export function parseTags(lines: string[]): Tag[] {
  return lines.map((line) => {
    const i = line.indexOf('=');
    return { Key: line.slice(0, i).trim(), Value: sanitizeTagValue(line.slice(i + 1).trim()) };
  });
}

/** Tags that say which pipeline holds the session (visible in CloudTrail). */
export function ciTags(ci: {
  provider: string;
  projectPath: string | undefined;
  sha: string | undefined;
  refName: string | undefined;
  actor: string | undefined;
  jobId: string | undefined;
}): Tag[] {
  const tags: Tag[] = [{ Key: 'CI', Value: ci.provider }];
  const add = (Key: string, v: string | undefined) => {
    if (v) tags.push({ Key, Value: sanitizeTagValue(v) });
  };
  add('Repository', ci.projectPath);
  add('Ref', ci.refName);
  add('Commit', ci.sha);
  add('Actor', ci.actor);
  add('Job', ci.jobId);
  return tags;
}
