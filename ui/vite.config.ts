import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  // Component tests run Svelte's browser build in jsdom.
  resolve: mode === 'test' ? { conditions: ['browser'] } : undefined,
  // `npm run dev` talks to a headless server on its default port.
  server: { proxy: { '/api': { target: 'http://127.0.0.1:8180', ws: true } } },
  test: { environment: 'jsdom', include: ['src/**/*.test.ts'] },
}));
