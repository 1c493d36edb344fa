// The signature against a value computed by hand from the contract's words (openssl would agree:
// printf '%s' '1700000000.{"id":"d1"}' | openssl dgst -sha256 -hmac whsec_test).
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signatureHeader } from './signature.ts';

describe('signatureHeader', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const header = signatureHeader('whsec_test', '{"id":"d1"}', new Date(1_700_000_000_500));
    expect(header).toBe(`t=1700000000,v1=${EXPECTED}`);
  });

  it('makes a new 256-bit secret each time', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(a);
  });
});

const EXPECTED = '7aa818774b12d07b487b77188a423aa42da8d52da13f1fface316ecdf0a91f53';
