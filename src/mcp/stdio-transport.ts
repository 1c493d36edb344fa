/**
 * @module mcp/stdio-transport
 * The stdio wire that `serveStdio` (./stdio.ts) serves over, in place of the SDK's own
 * `StdioServerTransport` (@modelcontextprotocol/server 2.4), which falls short of two things a
 * host writing to our stdin can expect:
 *
 * - End of input is not the end of the work. The SDK's transport closes the moment stdin ends and
 *   drops the requests still running (its documentation says so), so `printf ... | taskchat-mcp`
 *   made every change and answered none of them. Here the transport closes only once every request
 *   it read has been answered; then `onclose` fires and the process exits.
 * - A line that is not JSON is answered `-32700` (id null), and JSON that is no JSON-RPC message
 *   `-32600` (with its id when one can be read), as POST /mcp answers them. The SDK's transport
 *   only reports them to `onerror`, and a client waits for an answer that never comes.
 *
 * One JSON-RPC message a line (the MCP stdio binding): no batches.
 */

import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  ProtocolErrorCode,
  parseJSONRPCMessage,
  serializeMessage,
  type Transport,
} from '@modelcontextprotocol/server';

type RequestId = string | number;

export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  /** Requests read and not answered yet: the transport stays open for them after end of input. */
  readonly #unanswered = new Set<RequestId>();
  readonly #input: Readable;
  readonly #output: Writable;
  /** Answers being written: a refusal of the last line read goes out before the transport closes. */
  #writing = 0;
  #inputEnded = false;
  #closed = false;
  #lines: ReturnType<typeof createInterface> | undefined;
  #markClosed: () => void = () => {};
  /** Settles when the transport has closed: after end of input, once everything read is answered. */
  readonly closed = new Promise<void>((resolve) => {
    this.#markClosed = resolve;
  });

  constructor(input: Readable = process.stdin, output: Writable = process.stdout) {
    this.#input = input;
    this.#output = output;
  }

  async start(): Promise<void> {
    this.#lines = createInterface({ input: this.#input, crlfDelay: Number.POSITIVE_INFINITY });
    this.#lines.on('line', (line) => this.#receive(line));
    this.#lines.on('close', () => {
      this.#inputEnded = true;
      this.#closeIfDone();
    });
    this.#input.on('error', (error) => this.onerror?.(error));
    this.#output.on('error', (error) => {
      if (this.#closed) return;
      // Nobody reads the answers any more: nothing left to wait for.
      this.onerror?.(error);
      void this.close();
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new Error('The stdio transport is closed');
    this.#writing++;
    try {
      await new Promise<void>((resolve, reject) =>
        this.#output.write(serializeMessage(message), (error) => (error ? reject(error) : resolve())),
      );
    } finally {
      this.#writing--;
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
        if (message.id !== undefined) this.#unanswered.delete(message.id);
      }
      this.#closeIfDone();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lines?.close();
    this.#input.pause();
    this.onclose?.();
    this.#markClosed();
  }

  #receive(line: string): void {
    if (this.#closed || line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.#refuse(null, ProtocolErrorCode.ParseError, 'Parse error: Invalid JSON');
      return;
    }
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(value);
    } catch {
      this.#refuse(
        readableId(value),
        ProtocolErrorCode.InvalidRequest,
        'Invalid Request: a line must be one JSON-RPC 2.0 message',
      );
      return;
    }
    if (isJSONRPCRequest(message)) this.#unanswered.add(message.id);
    this.onmessage?.(message);
  }

  #refuse(id: RequestId | null, code: ProtocolErrorCode, message: string): void {
    // JSON-RPC answers an id it could not read with null; the SDK's types have no room for that.
    const answer = { jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage;
    this.send(answer).catch((error: unknown) => this.onerror?.(error as Error));
  }

  #closeIfDone(): void {
    if (this.#inputEnded && this.#unanswered.size === 0 && this.#writing === 0) void this.close();
  }
}

/** The id of a message that is not valid JSON-RPC, when it has one a client could match. */
function readableId(value: unknown): RequestId | null {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
