/**
 * @module usage/prices
 * What tokens cost, from `MODEL_PRICES` (USD per million tokens by model id): for `GET /usage` and
 * the cost counter in the metrics. A model without a price has no cost (null), not a zero one;
 * usage of no tokens costs nothing whatever the model (the offline model reports zero).
 */
import type { Config, ModelPrice } from '../config.ts';

export type Prices = Config['usage']['prices'];

export type TokenCounts = { inputTokens: number; cachedInputTokens: number; outputTokens: number };

/** USD for these tokens of `model`, or null when its price is unknown. Cached input is part of input. */
export function costUsd(prices: Prices, model: string, tokens: TokenCounts): number | null {
  if (tokens.inputTokens === 0 && tokens.outputTokens === 0) return 0;
  const price: ModelPrice | undefined = prices?.[model];
  if (!price) return null;
  const cached = Math.min(tokens.cachedInputTokens, tokens.inputTokens);
  return (
    ((tokens.inputTokens - cached) * price.inputPerMTok +
      cached * (price.cachedInputPerMTok ?? price.inputPerMTok) +
      tokens.outputTokens * price.outputPerMTok) /
    1_000_000
  );
}
