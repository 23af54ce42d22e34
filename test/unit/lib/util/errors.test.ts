// The one error vocabulary: kinds, exit codes, recognition across bundles, hints added by a step.
import { causes, hinted, isShiplineError, ofKind, ShiplineError, withHint } from '../../../../src/lib/util/errors';

test('kind decides retryable and the default exit code', () => {
  expect(new ShiplineError('x').exitCode).toBe(1);
  expect(new ShiplineError('x', { kind: 'input' }).exitCode).toBe(2);
  expect(new ShiplineError('x', { kind: 'transient' }).retryable).toBe(true);
  expect(new ShiplineError('x', { kind: 'auth' }).retryable).toBe(false);
});

test('an error of another bundle’s copy of the class is recognised by its brand', () => {
  const foreign = new Error('from lazy.js') as Error & Record<symbol, unknown>;
  expect(isShiplineError(foreign)).toBe(false);
  foreign[Symbol.for('shipline.error')] = true;
  expect(isShiplineError(foreign)).toBe(true);
});

test('withHint and hinted keep message, kind, data and exit code; hinted leaves others alone', () => {
  const e = new ShiplineError('denied', { kind: 'denied', data: { code: 'AccessDenied' }, exitCode: 3 });
  const h = withHint(e, 'grant it');
  expect([h.message, h.kind, h.data.code, h.exitCode, h.hint, h.cause]).toEqual([
    'denied',
    'denied',
    'AccessDenied',
    3,
    'grant it',
    e,
  ]);
  expect((hinted(e, (x) => (x.kind === 'denied' ? 'ask for access' : undefined)) as ShiplineError).hint).toBe(
    'ask for access',
  );
  expect(hinted(e, () => undefined)).toBe(e);
  const plain = new Error('plain');
  expect(hinted(plain, () => 'never')).toBe(plain);
  expect(ofKind(e, 'auth', 'denied')).toBe(e);
  expect(ofKind(e, 'transient')).toBeUndefined();
});

test('causes walks the chain, bounded', () => {
  const inner = new Error('inner');
  const outer = new ShiplineError('outer', { cause: inner });
  expect([...causes(outer)]).toEqual([outer, inner]);
  const loop: { cause?: unknown } = {};
  loop.cause = loop;
  expect([...causes(loop, 4)]).toHaveLength(4);
});
