/**
 * Builds the MCP app (web/mcp-app.html, the task list hosts render for `list_tasks`) into ONE
 * self-contained file, web/dist/mcp-app.html, which src/mcp/app-resource.ts serves as the
 * `ui://taskchat/tasks` resource. A host loads that document into a sandboxed iframe with no
 * origin to fetch assets from, and the resource's CSP allows no loads at all, so every script and
 * style is inlined (vite-plugin-singlefile). Runs after the chat page's build (./vite.config.ts),
 * which empties web/dist; this one adds its file and keeps the rest.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react(), viteSingleFile()],
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    rollupOptions: { input: fileURLToPath(new URL('mcp-app.html', import.meta.url)) },
    chunkSizeWarningLimit: 2048,
  },
});
