// The non-secret claims of an OIDC token and the kind of trust a rejection points at.
import { decodeClaims, publicClaims, shownClaims, trustProblem } from '../../../../src/lib/aws/claims';
import { jwt } from '../../../support/aws-fixtures';

const claims = {
  iss: 'https://gitlab.example.com',
  aud: 'sts.amazonaws.com',
  sub: 'project_path:g/p:ref_type:branch:ref:main',
  project_path: 'g/p',
  ref: 'main',
  ref_type: 'branch',
  user_email: 'someone@example.com',
};

test('decodes the payload and shows only pipeline-identifying claims', () => {
  const decoded = decodeClaims(jwt(claims))!;
  expect(decoded.sub).toBe(claims.sub);
  const shown = shownClaims(decoded).join('\n');
  expect(shown).toContain('project_path: g/p');
  expect(shown).not.toContain('someone@example.com');
  expect(decodeClaims('not-a-jwt')).toBeUndefined();
});

test('publicClaims keeps only the claims a log may show', () => {
  expect(publicClaims(jwt(claims))).toEqual({
    iss: claims.iss,
    aud: claims.aud,
    sub: claims.sub,
    project_path: 'g/p',
    ref: 'main',
    ref_type: 'branch',
  });
  expect(publicClaims('not-a-jwt')).toBeUndefined();
});

test('the kind of rejection', () => {
  expect(trustProblem('InvalidIdentityToken', 'Incorrect token audience')).toBe('audience');
  expect(trustProblem('InvalidIdentityToken', 'No OpenIDConnect provider found in your account for x')).toBe('issuer');
  expect(trustProblem('ExpiredTokenException', 'Token expired')).toBe('expired');
  expect(trustProblem('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity')).toBe('denied');
});
