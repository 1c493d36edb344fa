// An MCP host's side of OAuth, for tests: an `OAuthClientProvider` for the official MCP SDK client
// that keeps everything in memory and "opens the browser" with `completeAuthorization`, and
// `connectWithOAuth`, which starts from the MCP URL alone and lets the SDK do what a real host
// does: meet the 401 and its `WWW-Authenticate` challenge, read the RFC 9728 resource metadata,
// discover the authorization server, register by DCR, run code + PKCE for the resource, then
// reconnect with the token. Nothing here knows the authorization server's URLs in advance.
import { randomUUID } from 'node:crypto';
import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { completeAuthorization } from './oauth-server.ts';

// Where the authorization server sends the browser back. Never requested: `completeAuthorization`
// stops at the redirect, as a host's local callback listener would receive it.
const REDIRECT_URL = 'http://127.0.0.1/mcp-oauth-test/callback';

export type TestOAuthClientOptions = {
  /** The user who signs in on the login page; becomes the token's `sub`. */
  login: string;
  /** The scopes left ticked on the consent page. Default: all the client asked for. */
  grant?: readonly string[];
  /** `client_name` sent at registration. */
  clientName?: string;
};

export class TestOAuthClientProvider implements OAuthClientProvider {
  readonly login: string;
  readonly grant: readonly string[] | undefined;
  readonly clientName: string;
  /** The code of the last authorization, for `transport.finishAuth(code)` (SDK 1.x). */
  authorizationCode: string | undefined;
  /**
   * The whole redirect of the last authorization (`code`, `state`, `iss`). SDK 2.x clients need
   * it: `transport.finishAuth(provider.authorizationResponse.searchParams)` checks the RFC 9207
   * `iss`, which this authorization server always sends.
   */
  authorizationResponse: URL | undefined;
  /** How often the SDK sent the user to the authorization server. */
  authorizations = 0;
  #clientInformation: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #codeVerifier: string | undefined;
  #state: string | undefined;
  #discovery: OAuthDiscoveryState | undefined;

  constructor(options: TestOAuthClientOptions) {
    this.login = options.login;
    this.grant = options.grant;
    this.clientName = options.clientName ?? 'taskchat MCP test host';
  }

  get redirectUrl(): string {
    return REDIRECT_URL;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.clientName,
      redirect_uris: [REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    this.#state = randomUUID();
    return this.#state;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#clientInformation;
  }

  saveClientInformation(clientInformation: OAuthClientInformationMixed): void {
    this.#clientInformation = clientInformation;
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    this.authorizations += 1;
    const back = await completeAuthorization(authorizationUrl, { login: this.login, grant: this.grant });
    const error = back.searchParams.get('error');
    if (error) {
      const description = back.searchParams.get('error_description');
      throw new Error(`authorization refused: ${error}${description ? `: ${description}` : ''}`);
    }
    if (back.searchParams.get('state') !== this.#state)
      throw new Error('authorization answered another state');
    const code = back.searchParams.get('code');
    if (!code) throw new Error(`no code in ${back.href}`);
    this.authorizationCode = code;
    this.authorizationResponse = back;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#codeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (!this.#codeVerifier) throw new Error('no code verifier saved');
    return this.#codeVerifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.#clientInformation = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#codeVerifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }
}

export type ConnectWithOAuthOptions = TestOAuthClientOptions & {
  /** Reuse a provider (its registration and tokens), or inspect it afterwards. */
  provider?: TestOAuthClientProvider;
};

/**
 * Connects the SDK client to an MCP endpoint protected by OAuth, starting from its URL alone.
 * The first attempt meets the 401; the SDK discovers, registers and sends the user through the
 * authorization server (our provider completes that at once), then throws `UnauthorizedError`
 * as it does in a real host waiting for the browser. The code is exchanged with `finishAuth`,
 * and a second connection carries the token. With a provider that already holds a valid token,
 * the first attempt simply succeeds.
 */
export async function connectWithOAuth(
  mcpUrl: string | URL,
  options: ConnectWithOAuthOptions,
): Promise<Client> {
  const url = new URL(mcpUrl);
  const provider = options.provider ?? new TestOAuthClientProvider(options);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  const firstClient = new Client({ name: 'taskchat-oauth-test', version: '1.0.0' });
  try {
    await firstClient.connect(first);
    return firstClient;
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  const code = provider.authorizationCode;
  if (!code) throw new Error('the SDK asked for authorization but no code came back');
  provider.authorizationCode = undefined;
  await first.finishAuth(code);
  await firstClient.close();

  const client = new Client({ name: 'taskchat-oauth-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return client;
}
