// ./host.ts and the ext-apps SDK's host module as one browser script, built with the project's
// Vite in memory (nothing written), for a test page to run inline.
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
