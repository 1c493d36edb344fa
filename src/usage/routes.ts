/**
 * @module usage/routes
 * `GET /usage?days=`: the user's model usage per local day (newest first, days without turns left
 * out), the total, and today's budget. One statement (./statements.ts): the days are the ones
 * each turn ended on in the user's zone then; "today" and the budget's reset are in their zone
 * now (../time/zone.ts). Cost is summed per model from `MODEL_PRICES` (./prices.ts): a day with
 * a model of unknown price has no cost.
 */
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import { type Database, queryRows } from '../db/client.ts';
import type { AppEnv } from '../http/env.ts';
import { errorResponses, jsonResponse } from '../http/openapi.ts';
import { validate } from '../http/validation.ts';
import { requestZone } from '../time/zone.ts';
import { costUsd, type Prices, type TokenCounts } from './prices.ts';
import { usageReportStatement } from './statements.ts';

const Totals = z.object({
  turns: z.int().meta({ description: 'Model runs: failed, stopped and regenerated ones included.' }),
  inputTokens: z.int().meta({ description: 'All input, cached included, as the AI SDK reports it.' }),
  cachedInputTokens: z.int(),
  outputTokens: z.int(),
  costUsd: z.number().nullable().meta({ description: 'null when a model’s price is not in `MODEL_PRICES`.' }),
});
const Usage = z
  .object({
    days: z.array(Totals.extend({ date: z.iso.date() })),
    total: Totals,
    budget: z.object({
      tokensPerDay: z
        .int()
        .nullable()
        .meta({ description: '`USAGE_BUDGET_TOKENS_PER_DAY`; null: no budget.' }),
      usedToday: z.int().meta({ description: 'Input + output tokens today, in the user’s time zone.' }),
      resetsAt: z.iso
        .datetime()
        .nullable()
        .meta({ description: 'The user’s next midnight; null without a budget.' }),
    }),
  })
  .meta({ id: 'Usage' });

const Query = z.object({
  days: z
    .preprocess(
      (value) => (value === undefined ? value : Number(value)),
      z
        .int('days must be a whole number')
        .min(1, 'days must be at least 1')
        .max(366, 'days must be at most 366'),
    )
    .default(30),
});

type Row = TokenCounts & { day: string; model: string; turns: number };
type Totals = TokenCounts & { turns: number; costUsd: number | null };

export function usageRoutes(
  database: Database,
  settings: { defaultTimezone: string; budgetTokensPerDay: number; prices: Prices; now: () => Date },
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/usage',
    describeRoute({
      tags: ['Usage'],
      summary: 'Model usage and budget',
      description:
        'Tokens per day in the user’s time zone (newest first; days without turns are left out), the total, and today’s budget. MCP tool calls use no model tokens and are not counted.',
      responses: { ...jsonResponse(200, 'The usage', Usage), ...errorResponses(400, 401, 503) },
    }),
    validate('query', Query),
    async (c) => {
      const userId = c.get('userId');
      const zone = requestZone(c, settings.defaultTimezone);
      const statement = usageReportStatement(
        {
          userId,
          requestedZone: zone.requested,
          fallbackZone: zone.fallback,
          clock: settings.now().toISOString(),
        },
        c.req.valid('query').days,
      );
      const [report] = await database.run((db) =>
        queryRows<{ used_today: number; resets_at_ms: number; rows: Row[] }>(db, statement),
      );
      const days = new Map<string, Totals>();
      const total = emptyTotals();
      for (const row of report?.rows ?? []) {
        const day = days.get(row.day) ?? emptyTotals();
        days.set(row.day, day);
        const cost = costUsd(settings.prices, row.model, row);
        for (const sum of [day, total]) add(sum, row, cost);
      }
      const budget = settings.budgetTokensPerDay;
      return c.json({
        days: [...days].map(([date, totals]) => ({ date, ...totals })),
        total,
        budget: {
          tokensPerDay: budget > 0 ? budget : null,
          usedToday: report?.used_today ?? 0,
          resetsAt: budget > 0 && report ? new Date(report.resets_at_ms).toISOString() : null,
        },
      });
    },
  );
  return app;
}

function emptyTotals(): Totals {
  return { turns: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0 };
}

function add(sum: Totals, row: Row, cost: number | null): void {
  sum.turns += row.turns;
  sum.inputTokens += row.inputTokens;
  sum.cachedInputTokens += row.cachedInputTokens;
  sum.outputTokens += row.outputTokens;
  sum.costUsd = sum.costUsd === null || cost === null ? null : sum.costUsd + cost;
}
