// The host side of MCP Apps, in the browser: what Claude, ChatGPT or VS Code do with a tool's
// `ui://` resource, with the ext-apps SDK's own host module (`AppBridge`). The document goes into
// a sandboxed iframe (scripts only, an opaque origin), the bridge speaks the extension's JSON-RPC
// over postMessage, hands the view the tool's input and result once it has initialized, and
// passes the view's `tools/call` requests on to the server through `window.hostCallTool`, which
// the test binds to a real MCP client. Bundled by ./page.ts.
import type { CallToolRequest, CallToolResult } from '@modelcontextprotocol/client';
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

declare global {
  interface Window {
    hostCallTool(params: CallToolRequest['params']): Promise<CallToolResult>;
    showApp(html: string, input: Record<string, unknown>, result: CallToolResult): Promise<void>;
  }
}

window.showApp = async (html, input, result) => {
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.title = 'taskchat tasks';
  document.body.append(iframe);
  const view = iframe.contentWindow;
  if (!view) throw new Error('the iframe has no window');

  const bridge = new AppBridge(
    null,
    { name: 'taskchat-test-host', version: '1.0.0' },
    { serverTools: {} },
    { hostContext: { theme: 'light', displayMode: 'inline' } },
  );
  bridge.oncalltool = (params) => window.hostCallTool(params);
  bridge.onsizechange = ({ height }) => {
    if (height !== undefined) iframe.style.height = `${height}px`;
  };
  const initialized = new Promise<void>((resolve) => {
    bridge.oninitialized = () => resolve();
  });
  await bridge.connect(new PostMessageTransport(view, view));
  iframe.srcdoc = html;
  await initialized;
  await bridge.sendToolInput({ arguments: input });
  await bridge.sendToolResult(result);
};
