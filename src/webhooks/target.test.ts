// The SSRF guard's decisions, without a network: the ranges, the URL rules, and hosts whose DNS
// answers include a refused address.
import { describe, expect, it } from 'vitest';
import { checkTarget, refusedKind, TargetRefused } from './target.ts';

const strict = { allowPrivate: false, httpsOnly: false };
const answers =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('refusedKind', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.255.254', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['10.20.30.40', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.0.1', 'a private address'],
    ['fd12:3456::1', 'a private address'],
    ['100.127.255.255', 'a shared (carrier-grade NAT) address'],
    ['169.254.169.254', 'a link-local address'],
    ['fe80::abcd', 'a link-local address'],
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['239.1.1.1', 'a multicast address'],
    ['ff05::2', 'a multicast address'],
    ['255.255.255.255', 'a reserved address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['::ffff:a9fe:a9fe', 'a link-local address'],
  ])('%s is %s', (address, kind) => {
    expect(refusedKind(address)).toBe(kind);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    (address) => {
      expect(refusedKind(address)).toBeUndefined();
    },
  );
});

describe('checkTarget', () => {
  it('connects to the first address of a host whose every address is public', async () => {
    const target = await checkTarget(
      'https://hooks.example.com/x',
      strict,
      answers('93.184.215.14', '2606:2800::1'),
    );
    expect(target).toMatchObject({ address: '93.184.215.14', family: 4 });
    expect(target.url.hostname).toBe('hooks.example.com');
  });

  it('refuses a host with one private address among public ones', async () => {
    await expect(
      checkTarget('https://hooks.example.com/x', strict, answers('93.184.215.14', '10.0.0.7')),
    ).rejects.toThrow("url's host hooks.example.com resolves to 10.0.0.7, a private address");
  });

  it('allows private answers when the operator does', async () => {
    const target = await checkTarget(
      'http://hooks.internal/x',
      { allowPrivate: true, httpsOnly: false },
      answers('10.0.0.7'),
    );
    expect(target.address).toBe('10.0.0.7');
  });

  it('refuses http when https is required, before any lookup', async () => {
    const lookups: string[] = [];
    const refusal = checkTarget(
      'http://hooks.example.com/',
      { allowPrivate: false, httpsOnly: true },
      async (h) => {
        lookups.push(h);
        return [];
      },
    );
    await expect(refusal).rejects.toBeInstanceOf(TargetRefused);
    expect(lookups).toEqual([]);
  });

  it('refuses a host that resolves to nothing', async () => {
    await expect(checkTarget('https://nowhere.example/', strict, answers())).rejects.toThrow(
      "url's host nowhere.example does not resolve to an address",
    );
  });
});
