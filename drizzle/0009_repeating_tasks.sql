ALTER TABLE "tasks" ADD COLUMN "due_time" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "repeat" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "reminder" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_due_time_check" CHECK ("tasks"."due_time" is null or ("tasks"."due_time" ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' and "tasks"."due_date" is not null));--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_repeat_check" CHECK ("tasks"."repeat" is null or "tasks"."due_date" is not null);--> statement-breakpoint
-- The day after `after` that `rule` (tasks/repeat.ts's RRULE subset, canonical) falls on, with the
-- rule anchored at `after` (its DTSTART); null when none is left (COUNT=1, or past UNTIL). Used by
-- the statement that completes a task, where the rule and due date are only known to the database.
-- Walks the days after `after` and keeps the first one the rule's period and day filters allow;
-- the bound covers the longest gap the subset allows (a yearly 29 February: 8 years per INTERVAL).
CREATE FUNCTION task_next_occurrence(rule text, after date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  with r as (
    select substring(rule from 'FREQ=([A-Z]+)') as freq,
           coalesce(substring(rule from 'INTERVAL=([0-9]+)')::int, 1) as step,
           string_to_array(substring(rule from 'BYDAY=([A-Z,]+)'), ',') as byday,
           string_to_array(substring(rule from 'BYMONTHDAY=([-0-9,]+)'), ',')::int[] as bymonthday,
           substring(rule from 'COUNT=([0-9]+)')::int as count,
           to_date(substring(rule from 'UNTIL=([0-9]{8})'), 'YYYYMMDD') as until
  ), days as (
    select r.*, after + n as d,
           extract(day from after + n)::int as dom,
           extract(day from (date_trunc('month', (after + n)::timestamp) + interval '1 month - 1 day'))::int as month_days
    from r, generate_series(1, r.step * case r.freq when 'YEARLY' then 2930 else 400 end) as n
  )
  select d from days
  where (count is null or count > 1) and (until is null or d <= until)
    and case freq
      when 'DAILY' then (d - after) % step = 0
      when 'WEEKLY' then ((date_trunc('week', d::timestamp)::date - date_trunc('week', after::timestamp)::date) / 7) % step = 0
      when 'MONTHLY' then ((extract(year from d) - extract(year from after)) * 12
                           + extract(month from d) - extract(month from after))::int % step = 0
      when 'YEARLY' then (extract(year from d) - extract(year from after))::int % step = 0
                         and extract(month from d) = extract(month from after) and dom = extract(day from after)
      else false end
    and case when byday is not null
             then (array['MO','TU','WE','TH','FR','SA','SU'])[extract(isodow from d)::int] = any(byday)
             when freq = 'WEEKLY' then extract(isodow from d) = extract(isodow from after)
             else true end
    and case when bymonthday is not null then dom = any(bymonthday) or dom - month_days - 1 = any(bymonthday)
             when freq = 'MONTHLY' and byday is null then dom = extract(day from after)
             else true end
  order by d
  limit 1
$$;
