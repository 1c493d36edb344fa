/**
 * @module usage/statements
 * What a turn's ending writes about its model usage, as CTEs the endings add to their one
 * statement (END TURN, the failure ending: ../chat/store/statements.ts): the attempt's usage row,
 * written once whatever retries the ending takes (keyed by attempt), and the user's daily counter
 * for their local day, which BEGIN TURN reads for the budget. And the reads of `GET /usage`.
 */
import { type SQL, sql } from 'drizzle-orm';
import { userZoneCte } from '../time/statements.ts';

/** One attempt's usage, as the ending stores it. */
export type UsageValues = {
  userId: string;
  /** The user's effective zone (from BEGIN TURN): `endedAt`'s local date is the usage's day. */
  timezone: string;
  endedAt: string;
  model: string;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number | null;
};

type Params<T> = { [K in keyof T]: unknown };

/** The usage CTEs of an ending (name them first in its WITH; they return nothing it reads). */
export function usageCtes(attempt: { turnId: unknown; attemptId: unknown }, u: Params<UsageValues>): SQL {
  return sql`usage_row as (
        -- Written once per attempt: an ending tried again, or END TURN then the failure ending, adds nothing.
        insert into turn_usage (attempt_id, user_id, turn_id, day, model, input_tokens, cached_input_tokens,
                                output_tokens, reasoning_tokens)
        values (${attempt.attemptId}::uuid, ${u.userId}, ${attempt.turnId}::uuid,
                (${u.endedAt}::timestamptz at time zone ${u.timezone}::text)::date, ${u.model},
                ${u.inputTokens}::bigint, ${u.cachedInputTokens}::bigint, ${u.outputTokens}::bigint,
                ${u.reasoningTokens}::bigint)
        on conflict (attempt_id) do nothing
        returning user_id, day, input_tokens + output_tokens as tokens
      ),
      usage_day as (
        insert into usage_daily as d (user_id, day, tokens)
        select user_id, day, tokens from usage_row
        on conflict (user_id, day) do update set tokens = d.tokens + excluded.tokens
        returning 1
      ),`;
}

/** `GET /usage`'s one statement: the user's zone, today's counter and the last `days` days by model. */
export function usageReportStatement(
  zone: { userId: string; requestedZone: string | null; fallbackZone: string; clock: string },
  days: number,
) {
  return sql`
    with ${userZoneCte(zone)}
    select z.name as timezone, to_char(z.today, 'YYYY-MM-DD') as today, (extract(epoch from z.midnight) * 1000)::float8 as resets_at_ms,
      coalesce((select d.tokens from usage_daily d where d.user_id = ${zone.userId} and d.day = z.today), 0)::float8
        as used_today,
      coalesce((select json_agg(r order by r.day desc, r.model) from (
        select to_char(u.day, 'YYYY-MM-DD') as day, u.model, count(*)::int as turns,
               sum(u.input_tokens)::float8 as "inputTokens", sum(u.cached_input_tokens)::float8 as "cachedInputTokens",
               sum(u.output_tokens)::float8 as "outputTokens"
        from turn_usage u
        where u.user_id = ${zone.userId} and u.day > z.today - ${days}::int
        group by u.day, u.model) r), '[]'::json) as rows
    from zone z`;
}
