// collateEnUs against ICU (localeCompare 'en-US', what metadata-action's sort uses): every pair
// of printable ASCII characters, random keys from a label-like alphabet, and non-ASCII keys.
import { collateEnUs } from '../../../../src/lib/ci/labels';

const icu = (a: string, b: string) => Math.sign(a.localeCompare(b, 'en-US'));

test('every pair of printable ASCII characters, alone and before a common tail', () => {
  const chars = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
  const wrong: string[] = [];
  for (const a of chars)
    for (const b of chars)
      for (const [x, y] of [
        [a, b],
        [`k${a}x`, `k${b}x`],
        [`${a}Z`, `${b}a`],
      ])
        if (collateEnUs(x!, y!) !== icu(x!, y!)) wrong.push(`${JSON.stringify(x)} ${JSON.stringify(y)}`);
  expect(wrong).toEqual([]);
});

test('random keys: the same sign as ICU for 200000 pairs (seeded)', () => {
  let seed = 0x5eed;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const alphabet = 'abcxyzABCXYZ0123456789.-_/:= ~$@';
  const key = () => Array.from({ length: rnd(9) }, () => alphabet[rnd(alphabet.length)]).join('');
  const wrong: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const a = key();
    const b = rnd(4) === 0 ? a.toUpperCase() : rnd(3) === 0 ? a + key() : key();
    if (collateEnUs(a, b) !== icu(a, b)) wrong.push(`${JSON.stringify(a)} ${JSON.stringify(b)}`);
  }
  expect(wrong.slice(0, 10)).toEqual([]);
});

test('keys beyond ASCII are left to ICU', () => {
  for (const [a, b] of [
    ['é', 'f'],
    ['org.é', 'org.e'],
    ['a\tb', 'a b'],
    ['Ä', 'a'],
  ])
    expect(collateEnUs(a!, b!)).toBe(icu(a!, b!));
});
