// The host page of MCP Apps tests (and of the README's screenshot): ./host.ts and the ext-apps
// SDK's host module as one browser script, built with the project's Vite in memory (nothing
// written), inlined into a page under the CSP the app's resource declares.
import { fileURLToPath } from 'node:url';
import { build, type Rollup } from 'vite';

const ENTRY = fileURLToPath(new URL('./host.ts', import.meta.url));

export async function bundleHost(): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: false,
      lib: { entry: ENTRY, formats: ['es'], fileName: 'host' },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  const chunks = outputs.flatMap((out) => out.output).filter((part) => part.type === 'chunk');
  if (chunks.length !== 1 || !chunks[0]) throw new Error(`expected one host chunk, got ${chunks.length}`);
  return chunks[0].code;
}

/**
 * The CSP a host builds from the resource's `_meta.ui.csp` (MCP Apps: no declared domains means
 * no connections and no loads; inline script and style are the document itself). The iframe's
 * srcdoc document inherits it from the host page.
 */
export function hostCsp(csp: { connectDomains?: string[]; resourceDomains?: string[] }): string {
  const connect = csp.connectDomains?.length ? csp.connectDomains.join(' ') : "'none'";
  const resources = csp.resourceDomains?.join(' ') ?? '';
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${resources}`.trim(),
    `style-src 'unsafe-inline' ${resources}`.trim(),
    `img-src data: ${resources}`.trim(),
    `connect-src ${connect}`,
    "frame-src 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The host page: nothing but the bundled host script, which `window.showApp` then uses. */
export function hostPage(hostScript: string, csp: string): string {
  return `<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>test host</title>
<style>body { margin: 16px; background: #f6f7f9; } iframe { width: 440px; border: 1px solid #e3e6eb; border-radius: 10px; background: #fff; }</style></head>
<body><script type="module">${hostScript}</script></body></html>`;
}
