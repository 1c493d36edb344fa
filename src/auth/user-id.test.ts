import { describe, expect, it } from 'vitest';
import { USER_ID_PATTERN } from './user-id.ts';

describe('USER_ID_PATTERN', () => {
  it('accepts the ids people and identity providers use', () => {
    for (const id of [
      'alice',
      'user-1',
      'a.b_c',
      'auth0|5f7c8ec7',
      'google-oauth2:123',
      'bob@example.com',
      'x'.repeat(128),
    ]) {
      expect(id).toMatch(USER_ID_PATTERN);
    }
  });

  it('refuses empty, too long, spaces, control characters and anything outside the rule', () => {
    for (const id of [
      '',
      'x'.repeat(129),
      'user 1',
      'tab\there',
      'new\nline',
      'é',
      'a/b',
      "o'brien",
      'a;drop',
    ]) {
      expect(id).not.toMatch(USER_ID_PATTERN);
    }
  });
});
