// A JWKS endpoint the test controls, on 127.0.0.1 and a free port: it serves whatever keys the
// test sets (or an HTTP error), and counts how often it was fetched, so tests can watch the key
// cache (rotation, rate limit) from outside, as an identity provider would see it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type JwksServer = {
  /** The URL to use as AUTH_JWKS_URL. */
  url: string;
  /** How many requests the endpoint has answered. */
  readonly fetches: number;
  setKeys(keys: JsonWebKey[]): void;
  /** Answer every request with this HTTP status instead of the keys (`undefined`: serve keys). */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
};

export async function startJwksServer(initialKeys: JsonWebKey[] = []): Promise<JwksServer> {
  let keys = initialKeys;
  let failure: number | undefined;
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches += 1;
    if (failure !== undefined) {
      res.writeHead(failure).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return fetches;
    },
    setKeys(next) {
      keys = next;
    },
    failWith(status) {
      failure = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
