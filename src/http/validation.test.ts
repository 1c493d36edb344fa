import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError, describeError, errorBody } from './errors.ts';
import { invalidRequest, invalidTextError, validate } from './validation.ts';

// A route the way the app builds them, with errors answered as the app's error handler does.
const app = new Hono()
  .post(
    '/things',
    validate('json', z.object({ title: z.string().min(1, { error: 'title must not be empty' }) })),
    (c) => c.json(c.req.valid('json')),
  )
  .get(
    '/things',
    validate('query', z.object({ tag: z.union([z.string(), z.array(z.string())]).optional() })),
    (c) => c.json(c.req.valid('query')),
  )
  .onError((error, c) => {
    const { code, message } = describeError(error);
    return c.json(errorBody(code, message), error instanceof ApiError ? error.status : 500);
  });

const post = (body: string) =>
  app.request('/things', { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('validate', () => {
  it('passes a valid body through as the schema parsed it', async () => {
    const res = await post(JSON.stringify({ title: 'buy milk' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ title: 'buy milk' });
  });

  it('answers 400 invalid_request naming the field and the problem', async () => {
    const res = await post(JSON.stringify({ title: '' }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'invalid_request', message: 'title: title must not be empty' },
    });
  });

  it('refuses U+0000 or a lone surrogate anywhere, keys too, naming where, before the schema', async () => {
    const nul = await post('{"title":"ok","extra":{"note":"a\\u0000b"}}');
    expect(nul.status).toBe(400);
    expect((await nul.json()).error.message).toMatch(/^extra\.note: text must not contain NUL/);
    const key = await post('{"title":"ok","\\ud800":1}');
    expect((await key.json()).error.message).toMatch(/^\ud800: text must not contain/);
  });

  it('checks every value of a query parameter given twice', async () => {
    const ok = await app.request('/things?tag=a&tag=b');
    expect(await ok.json()).toEqual({ tag: ['a', 'b'] });
    const bad = await app.request('/things?tag=a&tag=%00');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/^tag\.1: /);
  });
});

describe('invalidRequest', () => {
  it('names the first issue with its dotted path', () => {
    const error = invalidRequest({
      issues: [{ message: 'must be a number', path: ['items', 0, 'qty'] }, { message: 'later' }],
    });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toBe('items.0.qty: must be a number');
  });

  it('reads Standard Schema path segments given as { key }', () => {
    expect(invalidRequest({ issues: [{ message: 'required', path: [{ key: 'title' }] }] }).message).toBe(
      'title: required',
    );
  });

  it('says only the problem when it has no path, and something when there is no issue', () => {
    expect(invalidRequest({ issues: [{ message: 'body must be an object' }] }).message).toBe(
      'body must be an object',
    );
    expect(invalidRequest({ issues: [] }).message).toBe('invalid request');
  });
});

describe('invalidTextError', () => {
  it('is the contract 400 naming where the text is', () => {
    const error = invalidTextError(['messages', 2, 'text']);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^messages\.2\.text: text must not contain NUL characters \(U\+0000\)/);
    expect(invalidTextError([]).message).toMatch(/^text must not contain/);
  });
});
