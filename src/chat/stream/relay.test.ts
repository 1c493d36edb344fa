import { describe, expect, it } from 'vitest';
import { localRelay, MAX_RELAYED_BYTES } from './relay.ts';

const chunk = (i: number) => JSON.stringify({ type: 'text-delta', id: 't', delta: ` word ${i}\n` });

/** Reads a follower to its end. */
async function readAll(chunks: AsyncIterable<string> | undefined): Promise<string[]> {
  if (!chunks) throw new Error('nothing to follow');
  const out: string[] = [];
  for await (const text of chunks) out.push(text);
  return out;
}

describe('the same-instance relay', () => {
  it('gives a follower every chunk from the first, those kept before it came and those after', async () => {
    const relay = localRelay();
    const writer = relay.open('a');
    const sent = Array.from({ length: 100 }, (_, i) => chunk(i));
    for (const text of sent.slice(0, 37)) writer.write(text);
    const early = readAll(relay.follow('a', async () => true));
    // One follower that reads as the chunks come, one that starts late and reads slowly.
    const iterator = (relay.follow('a', async () => true) as AsyncIterable<string>)[Symbol.asyncIterator]();
    const slow: string[] = [];
    for (let i = 0; i < 5; i++) slow.push((await iterator.next()).value as string);
    for (const text of sent.slice(37)) {
      writer.write(text);
      await Promise.resolve();
    }
    writer.end();
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) slow.push(next.value);
    expect(await early).toEqual(sent);
    expect(slow).toEqual(sent);
    // The turn is over: there is nothing left to follow here.
    expect(relay.follow('a', async () => false)).toBeUndefined();
  });

  it('carries on where it was when the chunks it was reading are joined into a block', async () => {
    const relay = localRelay();
    const writer = relay.open('c');
    const sent = Array.from({ length: 50 }, (_, i) => chunk(i));
    const iterator = (relay.follow('c', async () => true) as AsyncIterable<string>)[Symbol.asyncIterator]();
    const read: string[] = [];
    for (const [from, to] of [
      [0, 3],
      [3, 20],
      [20, 21],
      [21, 50],
    ] as const) {
      for (const text of sent.slice(from, to)) writer.write(text);
      while (read.length < to) read.push((await iterator.next()).value as string);
    }
    writer.end();
    expect((await iterator.next()).done).toBe(true);
    expect(read).toEqual(sent);
  });

  it('gives back every text delta byte for byte, whatever its id and text', async () => {
    const relay = localRelay();
    const writer = relay.open('d');
    const json = (chunk: object) => JSON.stringify(chunk);
    const texts = [' word', '', '"quoted", "delta":', '\\', 'line\nbreak', 'é漢🙂', '}', ',"delta":"x"}'];
    const sent = [
      json({ type: 'start', messageId: 'm' }),
      ...['t1', 'a"b', 't1', 'c\\', 'x","delta":"y'].flatMap((id) => [
        json({ type: 'text-start', id }),
        ...texts.map((delta) => json({ type: 'text-delta', id, delta })),
        json({ type: 'tool-input-available', toolCallId: 'c', toolName: 'add_task', input: { title: id } }),
        ...texts.map((delta) => json({ type: 'text-delta', id, delta })),
        json({ type: 'text-delta', id, delta: 'more', extra: { a: 1 } }),
        json({ type: 'text-end', id }),
      ]),
      json({ type: 'finish' }),
    ];
    const following = readAll(relay.follow('d', async () => true));
    for (const text of sent) writer.write(text);
    writer.end();
    expect(await following).toEqual(sent);
  });

  it('stops relaying a turn past its bound: a follower ends where the relay stopped', async () => {
    const relay = localRelay();
    const writer = relay.open('b');
    const big = 'x'.repeat(1000);
    const following = readAll(relay.follow('b', async () => true));
    const fits = Math.floor(MAX_RELAYED_BYTES / big.length);
    for (let i = 0; i <= fits; i++) writer.write(big);
    writer.write(big);
    writer.end();
    expect(await following).toEqual(Array.from({ length: fits }, () => big));
    expect(relay.follow('b', async () => true)).toBeUndefined();
  });
});
