// IAM/STS names: role ARNs, the account inside an ARN, session names and session tags.
import {
  ROLE_ARN_RE,
  accountFromArn,
  ciTags,
  defaultSessionName,
  parseTags,
  sanitizeSessionName,
  sanitizeTagValue,
} from '../../../../src/lib/aws/arn';

describe('ARNs, session names and tags', () => {
  const re = new RegExp(`^(?:${ROLE_ARN_RE})$`);
  test.each([
    ['arn:aws:iam::123456789012:role/deploy', true],
    ['arn:aws:iam::123456789012:role/path/to/deploy-role_1', true],
    ['arn:aws-us-gov:iam::123456789012:role/x', true],
    ['arn:aws:iam::12345678901:role/deploy', false],
    ['arn:aws:iam::123456789012:user/deploy', false],
    ['deploy', false],
  ])('%s valid=%s', (arn, ok) => expect(re.test(arn)).toBe(ok));

  test('account from role and assumed-role ARNs', () => {
    expect(accountFromArn('arn:aws:sts::210987654321:assumed-role/r/s')).toBe('210987654321');
    expect(accountFromArn('arn:aws:iam::123456789012:role/r')).toBe('123456789012');
    expect(accountFromArn('nope')).toBeUndefined();
  });

  test('session names are made acceptable to STS', () => {
    expect(sanitizeSessionName('feature/JIRA-1 fix!')).toBe('feature-JIRA-1-fix-');
    expect(sanitizeSessionName('x')).toHaveLength(2);
    expect(sanitizeSessionName('a'.repeat(100))).toHaveLength(64);
    expect(defaultSessionName('gitlab', '6161')).toBe('shipline-gitlab-6161');
    expect(defaultSessionName('local', undefined, new Date('2024-01-02T03:04:05Z'))).toBe(
      'shipline-local-20240102030405',
    );
  });

  test("tag values: ASCII takes a short path that keeps what AWS's Unicode classes keep", () => {
    const unicode = (v: string) => v.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]+/gu, '_').slice(0, 256);
    const ascii = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c));
    // each ASCII character alone, all of them in one value, and in runs
    for (const v of [...ascii, ascii.join(''), `${ascii.join('')}${ascii.join('')}`.slice(40, 300)])
      expect(sanitizeTagValue(v)).toBe(unicode(v));
    // random values from ASCII and beyond it (letters, digits and spaces of other scripts)
    const pool = [...ascii, 'é', 'ß', 'Ж', '中', '٣', '\u00a0', '\u2003', '\u2028', '😀', '\u0301'];
    let seed = 17;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 3000; i++) {
      const v = Array.from({ length: next() % 40 }, () => pool[next() % (i % 2 ? pool.length : 128)]).join('');
      expect(sanitizeTagValue(v)).toBe(unicode(v));
    }
    expect(sanitizeTagValue('équipe 中 x')).toBe('équipe 中 x');
  });

  test('tag values and CI tags', () => {
    expect(sanitizeTagValue('feat/x#1 "q"')).toBe('feat/x_1 _q_');
    expect(parseTags(['Team=infra', 'Note=a=b'])).toEqual([
      { Key: 'Team', Value: 'infra' },
      { Key: 'Note', Value: 'a=b' },
    ]);
    const tags = ciTags({
      provider: 'gitlab',
      projectPath: 'g/p',
      sha: 'abc',
      refName: 'main',
      actor: undefined,
      jobId: '1',
    });
    expect(tags.map((t) => t.Key)).toEqual(['CI', 'Repository', 'Ref', 'Commit', 'Job']);
  });
});
