/**
 * Builds the chat page (web/) into web/dist, which src/page/routes.ts serves. Vite hashes every
 * asset name, so the server can cache /assets/* forever and only index.html must be revalidated.
 * `npm run build` runs this; the server never imports Vite.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The page is small; one chunk keeps the asset list (and the cache story) trivial.
    chunkSizeWarningLimit: 1024,
  },
});
