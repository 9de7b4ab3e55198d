import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globMatch, literalPrefix } from '../../src/domain/glob.ts';

describe('username patterns', () => {
  it('matches * as any run of characters and everything else literally, case-sensitive', () => {
    const cases: [string, string, boolean][] = [
      ['*', '', true],
      ['*', 'anything', true],
      ['jo*', 'john', true],
      ['*jo*', 'major', true],
      ['*jo*', 'JOHN', false],
      ['a*b*c', 'aXbYc', true],
      ['a*b*c', 'aXbY', false],
      ['a.c', 'abc', false],
      ['a.c', 'a.c', true],
      ['(a+)+$', '(a+)+$', true],
      ['**', 'x', true],
      ['x', 'xx', false],
    ];
    for (const [pattern, text, expected] of cases) assert.equal(globMatch(pattern, text), expected, `${pattern} ~ ${text}`);
  });

  it('answers a hostile pattern against a long name in bounded work, not by backtracking', () => {
    // This pattern took 52 s against such a name through a regular expression.
    const text = `${'a'.repeat(127)}c`;
    let steps = 0;
    // The same characters, counting each read of one.
    const counting = new Proxy([...text], {
      get: (target, key) => {
        if (typeof key === 'string' && /^\d+$/.test(key)) steps++;
        return Reflect.get(target, key);
      },
    });
    assert.equal(globMatch('*a*a*a*a*a*a*a*a*a*a*b', counting as unknown as string), false);
    assert.ok(steps < 128 * 22 * 2, `${steps} character reads`);
  });

  it('gives the literal start of a pattern for an index range', () => {
    assert.equal(literalPrefix('jo*n*'), 'jo');
    assert.equal(literalPrefix('*jo'), '');
    assert.equal(literalPrefix('john'), 'john');
  });
});
