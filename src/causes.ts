/**
 * @module causes
 * An error and the errors behind it (`cause`), as one bounded list. Drivers, Drizzle and the AI SDK
 * wrap what went wrong, so the code, errno or kind that decides what we answer is often a few
 * causes down; every reader walks the chain this same way (at most six deep, so a cycle ends).
 */

const MAX_DEPTH = 6;

/** `error`, then its cause, then that one's, up to six in all. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e && chain.length < MAX_DEPTH; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}
