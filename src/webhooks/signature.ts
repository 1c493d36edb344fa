/**
 * @module webhooks/signature
 * How a receiver knows a delivery is ours and fresh, the way Stripe signs its webhooks (receivers
 * already know how to check it): `Taskchat-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>" keyed with the webhook's secret>`. The time is signed with the body, so a
 * receiver that refuses old timestamps cannot be replayed an old delivery; the delivery id in the
 * body (the same on every retry) is what it deduplicates by.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SIGNATURE_HEADER = 'Taskchat-Signature';

/** A new webhook secret: `whsec_` and 32 random bytes, base64url (256 bits, as the HMAC key). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The header's value for `body` sent at `at`. */
export function signatureHeader(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}
