import { describe, expect, it } from 'vitest';
import {
  cleanDeep,
  cleanText,
  createDeltaCleaner,
  findInvalidText,
  isValidText,
  truncateText,
} from './text.ts';

const NUL = '\u0000';
const HIGH = '\ud83d'; // the first half of 😀
const LOW = '\ude00'; // its second half
const SMILE = `${HIGH}${LOW}`;

describe('isValidText', () => {
  it('accepts ordinary text, emoji and the empty string', () => {
    for (const text of ['', 'buy milk', 'café ☕', `party ${SMILE}`]) expect(isValidText(text)).toBe(true);
  });

  it('refuses U+0000 and a lone surrogate of either half', () => {
    for (const text of [`a${NUL}b`, `a${HIGH}b`, `a${LOW}b`, HIGH]) expect(isValidText(text)).toBe(false);
  });
});

describe('cleanText', () => {
  it('drops U+0000 and turns a lone surrogate into U+FFFD', () => {
    expect(cleanText(`a${NUL}b${HIGH}c`)).toBe('ab\ufffdc');
  });

  it('leaves valid text, pairs included, exactly as it was', () => {
    expect(cleanText(`party ${SMILE}`)).toBe(`party ${SMILE}`);
  });
});

describe('cleanDeep', () => {
  it('cleans every string of a nested value, object keys too', () => {
    expect(cleanDeep({ [`k${NUL}`]: [`a${NUL}`, { note: HIGH }, 3, null, true] })).toEqual({
      k: ['a', { note: '\ufffd' }, 3, null, true],
    });
  });

  it('returns the very same value when nothing needs cleaning', () => {
    const value = { title: 'buy milk', tags: ['home', { at: 'noon' }] };
    expect(cleanDeep(value)).toBe(value);
  });

  it('copies only what changed, keeping the order of the keys', () => {
    const untouched = { a: 1 };
    const value = { first: untouched, second: `x${NUL}`, third: 'y' };
    const cleaned = cleanDeep(value);
    expect(Object.keys(cleaned)).toEqual(['first', 'second', 'third']);
    expect(cleaned.first).toBe(untouched);
    expect(value.second).toBe(`x${NUL}`); // the input is not modified
  });
});

describe('findInvalidText', () => {
  it('names the path of the first invalid string', () => {
    expect(findInvalidText({ messages: [{ text: 'ok' }, { text: `bad${NUL}` }] })).toEqual([
      'messages',
      1,
      'text',
    ]);
  });

  it('names an invalid object key', () => {
    expect(findInvalidText({ args: { [`ti${HIGH}tle`]: 'x' } })).toEqual(['args', `ti${HIGH}tle`]);
  });

  it('finds nothing in valid values and in non-strings', () => {
    expect(findInvalidText({ a: [1, true, null, SMILE], b: 'text' })).toBeUndefined();
    expect(findInvalidText(42)).toBeUndefined();
  });

  it('reports the root as an empty path', () => {
    expect(findInvalidText(NUL)).toEqual([]);
  });
});

describe('createDeltaCleaner', () => {
  it('keeps a pair split across two pieces', () => {
    const cleaner = createDeltaCleaner();
    expect(cleaner.push(`hi ${HIGH}`)).toBe('hi ');
    expect(cleaner.push(`${LOW}!`)).toBe(`${SMILE}!`);
    expect(cleaner.flush()).toBe('');
  });

  it('adds up to cleanText of the whole, however the text is cut', () => {
    const whole = `a${NUL}${SMILE}b${HIGH}c${LOW}${SMILE}`;
    for (let cut = 0; cut <= whole.length; cut++) {
      const cleaner = createDeltaCleaner();
      const pieces = cleaner.push(whole.slice(0, cut)) + cleaner.push(whole.slice(cut)) + cleaner.flush();
      expect(pieces).toBe(cleanText(whole));
    }
  });

  it('flushes a high surrogate the text ended on as U+FFFD', () => {
    const cleaner = createDeltaCleaner();
    expect(cleaner.push(`end${HIGH}`)).toBe('end');
    expect(cleaner.flush()).toBe('\ufffd');
  });
});

describe('truncateText', () => {
  it('keeps a text that fits', () => {
    expect(truncateText('short', 5)).toBe('short');
  });

  it('cuts to the limit', () => {
    expect(truncateText('abcdef', 3)).toBe('abc');
  });

  it('never cuts a surrogate pair in half', () => {
    expect(truncateText(`ab${SMILE}`, 3)).toBe('ab');
    expect(truncateText(`ab${SMILE}c`, 4)).toBe(`ab${SMILE}`);
  });
});
