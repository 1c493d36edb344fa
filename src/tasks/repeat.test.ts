import { describe, expect, it } from 'vitest';
import { canonicalRepeat, firstOccurrence, nextOccurrence } from './repeat.ts';

describe('canonicalRepeat', () => {
  it('stores each form of the subset in one spelling', () => {
    expect(canonicalRepeat('rrule:freq=weekly;byday=fr,mo')).toEqual({ rule: 'FREQ=WEEKLY;BYDAY=MO,FR' });
    expect(canonicalRepeat('FREQ=WEEKLY;INTERVAL=1')).toEqual({ rule: 'FREQ=WEEKLY' });
    expect(canonicalRepeat('FREQ=MONTHLY;BYMONTHDAY=15,1,-1')).toEqual({
      rule: 'FREQ=MONTHLY;BYMONTHDAY=-1,1,15',
    });
    expect(canonicalRepeat('FREQ=DAILY;COUNT=05')).toEqual({ rule: 'FREQ=DAILY;COUNT=5' });
    expect(canonicalRepeat('FREQ=WEEKLY;UNTIL=20270301T000000Z')).toEqual({
      rule: 'FREQ=WEEKLY;UNTIL=20270301',
    });
    expect(canonicalRepeat('FREQ=YEARLY;INTERVAL=2')).toEqual({ rule: 'FREQ=YEARLY;INTERVAL=2' });
  });

  it('refuses what the completing statement cannot follow, naming the part', () => {
    const refusal = (text: string) =>
      'error' in canonicalRepeat(text) ? (canonicalRepeat(text) as { error: string }).error : '';
    expect(refusal('every monday')).toContain('NAME=VALUE');
    expect(refusal('FREQ=HOURLY')).toContain('FREQ=');
    expect(refusal('FREQ=DAILY;INTERVAL=100')).toContain('INTERVAL');
    expect(refusal('FREQ=WEEKLY;BYDAY=2MO')).toContain('BYDAY');
    expect(refusal('FREQ=MONTHLY;BYMONTHDAY=0')).toContain('BYMONTHDAY');
    expect(refusal('FREQ=DAILY;COUNT=0')).toContain('COUNT');
    expect(refusal('FREQ=DAILY;UNTIL=20270230')).toContain('UNTIL');
    expect(refusal('FREQ=DAILY;COUNT=2;UNTIL=20270101')).toContain('not both');
    expect(refusal('FREQ=DAILY;FREQ=WEEKLY')).toContain('twice');
    expect(refusal('FREQ=DAILY;WKST=SU')).toContain('not WKST');
  });
});

describe('occurrences', () => {
  it('finds the first matching day on or after a date, and the one after an occurrence', () => {
    // 2026-12-05 is a Saturday.
    expect(firstOccurrence('FREQ=WEEKLY;BYDAY=MO', '2026-12-05')).toBe('2026-12-07');
    expect(firstOccurrence('FREQ=DAILY', '2026-12-05')).toBe('2026-12-05');
    expect(firstOccurrence('FREQ=MONTHLY;BYMONTHDAY=1', '2026-12-05')).toBe('2027-01-01');
    expect(nextOccurrence('FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', '2026-12-11')).toBe('2026-12-14');
    expect(nextOccurrence('FREQ=DAILY;COUNT=1', '2026-12-11')).toBeNull();
    expect(nextOccurrence('FREQ=DAILY;UNTIL=20261211', '2026-12-11')).toBeNull();
  });
});
