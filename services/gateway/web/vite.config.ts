// The labelling web app: built into the gateway's dist/public, which the gateway serves at `/`
// (src/web-app.ts). `npm run dev:web -w @labelloop/gateway` serves it with hot reload and sends
// API calls to a gateway on :8080 (GATEWAY_URL to change).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/public', import.meta.url)),
    emptyOutDir: true,
    // Everything as files: the Content-Security-Policy allows no data: URLs.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(['/v1', '/openapi.json', '/healthz', '/readyz'].map((path) => [path, gateway])),
  },
});
