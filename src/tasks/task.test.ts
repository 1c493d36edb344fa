import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  DESCRIPTION_MAX_CHARS,
  descriptionArg,
  dueDateArg,
  dueDateField,
  isCalendarDate,
  limitArg,
  MAX_LIST_LIMIT,
  MAX_TASK_ID,
  priorityArg,
  searchArg,
  statusArg,
  TITLE_MAX_CHARS,
  taskIdArg,
  taskIdParam,
  titleArg,
} from './task.ts';

/** What a caller is told when `schema` refuses `value` (the first issue's message). */
function refusal(schema: z.ZodType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  return result.success ? undefined : result.error.issues[0]?.message;
}

describe('isCalendarDate', () => {
  it('accepts real dates, 29 February of leap years included', () => {
    for (const date of ['2026-01-01', '2026-12-31', '2024-02-29', '2000-02-29', '2026-04-30']) {
      expect(isCalendarDate(date)).toBe(true);
    }
  });

  it('refuses days a month does not have, month 0 or 13, and 29 February of other years', () => {
    for (const date of ['2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00']) {
      expect(isCalendarDate(date)).toBe(false);
    }
  });
});

describe('the task arguments', () => {
  it('title: trimmed, 1 to TITLE_MAX_CHARS, valid text; every refusal says the rule', () => {
    expect(titleArg.parse('  buy milk  ')).toBe('buy milk');
    const rule = `title must be text of 1 to ${TITLE_MAX_CHARS} characters`;
    expect(refusal(titleArg, '   ')).toBe(rule);
    expect(refusal(titleArg, 'x'.repeat(TITLE_MAX_CHARS + 1))).toBe(rule);
    expect(refusal(titleArg, 42)).toBe(rule);
    expect(refusal(titleArg, 'a\u0000b')).toBe('title must not contain NUL characters or invalid Unicode');
    expect(titleArg.parse('x'.repeat(TITLE_MAX_CHARS))).toHaveLength(TITLE_MAX_CHARS);
  });

  it('description: may be empty, at most DESCRIPTION_MAX_CHARS, valid text', () => {
    expect(descriptionArg.parse('  ')).toBe('');
    expect(refusal(descriptionArg, 'x'.repeat(DESCRIPTION_MAX_CHARS + 1))).toMatch(
      /^description must be text/,
    );
    expect(refusal(descriptionArg, '\ud800')).toMatch(/^description must not contain NUL/);
  });

  it('due date: YYYY-MM-DD of a real day, named as the caller named the field', () => {
    expect(dueDateArg.parse('2026-11-24')).toBe('2026-11-24');
    expect(refusal(dueDateArg, '2026-02-30')).toBe(
      'due_date must be a real calendar date written YYYY-MM-DD',
    );
    expect(refusal(dueDateArg, 'tomorrow')).toMatch(/^due_date /);
    expect(refusal(dueDateField, '24/11/2026')).toBe(
      'dueDate must be a real calendar date written YYYY-MM-DD',
    );
  });

  it('priority and status: one of their values, the refusal listing them', () => {
    expect(priorityArg.parse('high')).toBe('high');
    expect(refusal(priorityArg, 'urgent')).toMatch(/^priority must be .*high/);
    expect(statusArg.parse('pending')).toBe('pending');
    expect(refusal(statusArg, 'done')).toBe('status must be all, pending, completed');
  });

  it('search: valid text', () => {
    expect(searchArg.parse('milk')).toBe('milk');
    expect(refusal(searchArg, 'a\u0000')).toMatch(/^search must not contain/);
  });

  it('limit: a whole number from 1 to MAX_LIST_LIMIT', () => {
    expect(limitArg.parse(MAX_LIST_LIMIT)).toBe(MAX_LIST_LIMIT);
    for (const bad of [0, MAX_LIST_LIMIT + 1, 2.5, '10']) {
      expect(refusal(limitArg, bad)).toBe(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    }
  });

  it('task_id: a positive whole number that fits a Postgres integer', () => {
    expect(taskIdArg.parse(MAX_TASK_ID)).toBe(MAX_TASK_ID);
    for (const bad of [0, -1, 1.5, MAX_TASK_ID + 1, '3']) {
      expect(refusal(taskIdArg, bad)).toMatch(/^task_id must be a positive whole number/);
    }
  });

  it('the id in a URL path: digits only, read as a number in the same range', () => {
    expect(taskIdParam.parse('42')).toBe(42);
    expect(taskIdParam.parse(String(MAX_TASK_ID))).toBe(MAX_TASK_ID);
    for (const bad of ['0', '007', '-1', '1e3', '4.0', String(MAX_TASK_ID + 1), '99999999999', ' 1']) {
      expect(refusal(taskIdParam, bad)).toMatch(/^id must be a positive whole number/);
    }
  });
});
