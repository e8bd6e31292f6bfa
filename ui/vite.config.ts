import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  // Component tests run Svelte's browser build in jsdom.
  resolve: mode === 'test' ? { conditions: ['browser'] } : undefined,
  // `npm run dev` talks to a headless server on its default port. The server answers only pages
  // of its own origin, so the dev server's own pages are passed on as that origin (and no other).
  server: {
    proxy: {
      '/api': {
        target: 'http://127.0.0.1:8180',
        ws: true,
        changeOrigin: true,
        configure: (proxy) => {
          const asServer = (req: { getHeader(n: string): unknown; setHeader(n: string, v: string): void }) => {
            if (/^http:\/\/(localhost|127\.0\.0\.1):5173$/.test(String(req.getHeader('origin') ?? ''))) req.setHeader('origin', 'http://127.0.0.1:8180');
          };
          const events = proxy as unknown as { on(event: string, handler: typeof asServer): void };
          events.on('proxyReq', asServer);
          events.on('proxyReqWs', asServer);
        },
      },
    },
  },
  test: { environment: 'jsdom', include: ['src/**/*.test.ts'] },
}));
