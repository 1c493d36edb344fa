/**
 * @module text
 * Everything stored is valid Postgres text. Postgres cannot hold U+0000 in `text` or `jsonb`
 * (22P05, 22021), and `jsonb` refuses the escape of a lone UTF-16 surrogate (22P02), so one such
 * character from a client, a model reply or a tool argument used to fail a whole statement, and
 * with it the turn (and every resend of it). Client input carrying them is refused
 * (`findInvalidText`, 400 naming the field); model output and tool arguments are cleaned
 * (`cleanText`, `cleanDeep`, `createDeltaCleaner`) before they are stored and answered, with the
 * same rule everywhere, so what a client sees and what is stored are the same.
 */

/** True when `text` can be stored as is: no U+0000, no lone surrogate. */
export function isValidText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/** `text` without U+0000, lone surrogates replaced by U+FFFD (as a UTF-8 encoder would). */
export function cleanText(text: string): string {
  return isValidText(text) ? text : text.replaceAll('\u0000', '').toWellFormed();
}

/** A JSON-like value with every string in it (object keys too) cleaned; the same value when clean. */
export function cleanDeep<T>(value: T): T {
  return clean(value) as T;
}

// Arrays and objects are copied only once something in them changes: almost every value is clean.
function clean(value: unknown): unknown {
  if (typeof value === 'string') return cleanText(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const cleaned = clean(value[i]);
      if (cleaned === value[i]) continue;
      out ??= value.slice();
      out[i] = cleaned;
    }
    return out ?? value;
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const item = record[key];
      const cleanKey = cleanText(key);
      const cleaned = clean(item);
      if (!out && cleanKey === key && cleaned === item) continue;
      if (!out) {
        out = {};
        for (const earlier of keys.slice(0, i)) out[earlier] = record[earlier];
      }
      out[cleanKey] = cleaned;
    }
    return out ?? value;
  }
  return value;
}

/**
 * Where the first string that is not valid text sits in `value` (`['messages', 0, 'text']`), or
 * undefined when every string is valid. Object keys count as text too.
 */
export function findInvalidText(
  value: unknown,
  path: (string | number)[] = [],
): (string | number)[] | undefined {
  if (typeof value === 'string') return isValidText(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findInvalidText(item, [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!isValidText(key)) return [...path, key];
      const found = findInvalidText(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Cleans a text streamed in pieces so that the pieces add up to `cleanText` of the whole: a high
 * surrogate ending one piece is held back until the next piece says whether it was half of a pair.
 */
export function createDeltaCleaner() {
  let pending = '';
  return {
    push(delta: string): string {
      let text = pending + delta;
      pending = '';
      const last = text.charCodeAt(text.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        pending = text.slice(-1);
        text = text.slice(0, -1);
      }
      return cleanText(text);
    },
    /** What is still held back, cleaned: call it when the text ends. */
    flush(): string {
      const rest = cleanText(pending);
      pending = '';
      return rest;
    },
  };
}

/** At most `max` UTF-16 units of `text`, never cutting a surrogate pair in half. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
